"""The page in a real browser: Debian's headless Chromium driven by Selenium (no browser is
downloaded). It loads without console errors, picking a unit recolours the text, and hovering a
token shows the values the recording holds. `make setup` installs chromium and chromium-driver."""

from __future__ import annotations

import re
import shutil
import time

import numpy as np
import pytest
import torch

from rnnkit.data.tokenizers import CharTokenizer
from rnnkit.models.lm import LanguageModel
from rnnkit.viewer.build import inspect_data
from rnnkit.viewer.page import render, write_page
from rnnkit.viewer.record import record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no chromium / chromedriver installed (Debian: apt-get install chromium "
           "chromium-driver; `make setup` does it as root)")

TEXT = ('import os\n\n\ndef size(path):\n    """Bytes in (path)."""\n    return os.stat(path)'
        '[6]  # st_size\n\n\nclass A:\n    def f(self, x=[1, 2]):\n        return {"k": x}\n')


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    torch.manual_seed(0)
    tok = CharTokenizer.build(TEXT)
    model = LanguageModel(tok.vocab_size, 6, 8, 2, cell="lstm").eval()
    data = inspect_data(model, tok, TEXT, ("h", "c", "f"), top_k=3, title="browser test")
    path = tmp_path_factory.mktemp("page") / "page.html"
    write_page(path, render(data))
    rec = record(model, tok.encode(TEXT), ("h", "c", "f"), top_k=3)
    return path, data, rec


@pytest.fixture(scope="module")
def browser(page):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,800"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(page[0].as_uri())
        _wait(driver, "return document.body.dataset.ready === '1'")
        yield driver
    finally:
        driver.quit()


def _wait(driver, script: str, seconds: float = 60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if driver.execute_script(script):
            return
        time.sleep(0.05)
    raise AssertionError(f"the page never satisfied: {script}")


def _colours(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#text span[data-i]')]"
        ".map(s => s.style.backgroundColor)")


def test_loads_without_console_errors(browser):
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert len(_colours(browser)) == len(TEXT)
    assert browser.find_elements("css selector", "#units li")  # the ranked list is there


def test_picking_a_unit_changes_the_colours(browser):
    before, unit = _colours(browser), browser.execute_script("return document.body.dataset.unit")
    items = browser.find_elements("css selector", "#units li")
    other = next(li for li in items if li.get_attribute("data-u") != unit)
    other.click()
    _wait(browser, f"return document.body.dataset.unit === '{other.get_attribute('data-u')}'")
    after = _colours(browser)
    assert after != before and len(set(after)) > 1
    assert "on" in other.get_attribute("class")


def test_hovering_a_token_shows_its_values(browser, page):
    from selenium.webdriver.common.action_chains import ActionChains

    _, data, rec = page
    t = TEXT.index("stat")
    span = browser.find_element("css selector", f'#text span[data-i="{t}"]')
    ActionChains(browser).move_to_element(span).perform()
    _wait(browser, "return !document.getElementById('tip').hidden")
    tip = browser.find_element("id", "tip").text
    u = int(browser.execute_script("return document.body.dataset.unit"))
    assert f'token {t} "s"' in tip and "next:" in tip and "in_brackets" in tip
    H = data["hidden"]
    assert f"L{u // H + 1} #{u % H}" in tip
    for kind in ("h", "c", "f"):  # what the page decodes is what was recorded
        shown = float(re.search(rf"\b{kind} ([+-]\d+\.\d+)", tip).group(1))
        d = data["kinds"][kind]
        step = (d["hi"][u] - d["lo"][u]) / (data["levels"] - 1)
        assert abs(shown - rec.acts[kind][t, u]) <= step / 2 + 2e-3, kind
    best = data["vocab"][int(rec.top_ids[t, 0])]
    assert f"next: {best!r}".replace("'", '"') in tip or f'next: "{best}"' in tip
    assert np.isfinite(rec.top_probs[t, 0])
