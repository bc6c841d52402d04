"""`bible`: the verse-aligned King James Version (English) and Reina-Valera 1909 (Spanish) Bibles,
a real parallel corpus from Debian packages, read with the PyPI package `pysword`.

    apt-get install sword-text-kjv sword-text-sparv     # SWORD modules engKJV2006eb, spaRV1909eb
    pip install pysword                                  # (in rnnkit's `data` extra)

What goes in is pinned: the two modules at the versions in MODULES (a different version stops
with one line saying so), every verse that both modules have with text, whitespace collapsed and
the paragraph marks (¶) and bracketed editorial notes removed. Splits are drawn from the verses
with a seed: `valid` and `test` are VALID and TEST verses, `train` the rest (about 28,000).
`export` writes the splits as TSV files (`--data.train_path` etc. read them back as the same
pairs), for a machine without the modules.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.files import make_dir, write_json, write_text

SWORD_PATH = "/usr/share/sword"
# module -> (Debian package, module version in mods.d/<module>.conf)
MODULES = {"engKJV2006eb": ("sword-text-kjv", "14.3"), "spaRV1909eb": ("sword-text-sparv", "2.60")}
SOURCE, TARGET = "engKJV2006eb", "spaRV1909eb"
VALID, TEST = 1000, 2000
_SPACES = re.compile(r"\s+")
_NOTES = re.compile(r"\[[^\]]*\]|¶")


def clean(text: str) -> str:
    return _SPACES.sub(" ", _NOTES.sub(" ", text)).strip()


def module_version(sword_path: str | Path, module: str) -> str:
    """The module's Version= in mods.d/<module>.conf; one line naming the package if missing."""
    package, _ = MODULES[module]
    conf = Path(sword_path) / "mods.d" / f"{module.lower()}.conf"
    if not conf.is_file():
        conf = Path(sword_path) / "mods.d" / f"{module}.conf"
    if not conf.is_file():
        raise RnnkitError(f"the bible data set needs the SWORD module {module} from the Debian "
                          f"package {package}: apt-get install sword-text-kjv sword-text-sparv")
    for line in conf.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Version="):
            return line.split("=", 1)[1].strip()
    return "unknown"


def _open(sword_path: str | Path, module: str):
    try:
        from pysword.modules import SwordModules
    except ImportError:
        raise RnnkitError("the bible data set needs pysword: pip install pysword "
                          "(or pip install 'rnnkit[data]')") from None
    package, pinned = MODULES[module]
    found = module_version(sword_path, module)
    if found != pinned:
        raise RnnkitError(f"the bible data set is pinned to {module} version {pinned} "
                          f"({package}); this machine has version {found}")
    modules = SwordModules(str(sword_path))
    modules.parse_modules()
    return read_blocks_once(modules.get_bible_from_module(module))


def read_blocks_once(bible):
    """The module with each compressed block decompressed once, not once per verse.

    A zText module stores its verses in zlib blocks of a chapter or a book each; pysword
    decompresses a verse's whole block for every verse it reads (0.2.8: `_decompressed_text`), so
    the two bibles took 62,000 decompressions, about 3 minutes alone and 9 on a loaded machine.
    Verses are read in order, so a one-block memo makes it one decompression per block (~10 s,
    most of it pysword's markup cleaner). The text is pysword's own, byte for byte (tested); a
    module without that method (not zText, another pysword) is left as it is: slower, not
    different."""
    raw = getattr(bible, "_decompressed_text", None)
    if raw is None:
        return bible
    last: dict = {}

    def decompressed_text(testament, buf_num):
        key = (testament, buf_num)
        if key not in last:
            last.clear()
            last[key] = raw(testament, buf_num)
        return last[key]

    bible._decompressed_text = decompressed_text
    return bible


def verse_keys(bible) -> list[tuple[str, int, int]]:
    """(book, chapter, verse) of every verse in the module's versification, in order."""
    books = bible.get_structure().get_books()
    return [(book.osis_name, c + 1, v + 1)
            for testament in ("ot", "nt") for book in books[testament]
            for c, n in enumerate(book.chapter_lengths) for v in range(n)]


def aligned_verses(source, target) -> list[tuple[str, str]]:
    """(source verse, target verse) for every verse both bibles have with text."""
    keys = verse_keys(source)
    texts = [list(b.get_iter(clean=True)) for b in (source, target)]
    if len(texts[0]) != len(keys) or len(texts[1]) != len(keys):
        raise RnnkitError(f"bible: the modules disagree on the verses ({len(texts[0])} and "
                          f"{len(texts[1])}, expected {len(keys)})")
    pairs = [(clean(s), clean(t)) for s, t in zip(*texts, strict=True)]
    return [(s, t) for s, t in pairs if s and t]


def split(pairs: list[tuple[str, str]], name: str, seed: int = 0) -> list[tuple[str, str]]:
    """The `train`, `valid` or `test` verses (drawn with `seed`, kept in biblical order)."""
    order = np.random.default_rng([seed, 7]).permutation(len(pairs))
    parts = {"valid": order[:VALID], "test": order[VALID:VALID + TEST],
             "train": order[VALID + TEST:]}
    if name not in parts:
        raise RnnkitError(f"bible: unknown split {name!r}; expected train, valid or test")
    return [pairs[i] for i in np.sort(parts[name])]


@lru_cache(maxsize=2)
def _all_pairs(sword_path: str) -> tuple[tuple[str, str], ...]:
    # Reading the two modules takes ~10 s (read_blocks_once): once per process.
    return tuple(aligned_verses(_open(sword_path, SOURCE), _open(sword_path, TARGET)))


def bible_pairs(name: str, seed: int = 0, sword_path: str | Path = SWORD_PATH):
    """The English -> Spanish verse pairs of split `name`."""
    return split(list(_all_pairs(str(sword_path))), name, seed)


def describe(sword_path: str | Path = SWORD_PATH) -> str:
    return "bible: " + ", ".join(f"{m} {module_version(sword_path, m)} ({p})"
                                 for m, (p, _) in MODULES.items())


SPLITS = ("train", "valid", "test")


def export(out_dir: str | Path, seed: int = 0, sword_path: str | Path = SWORD_PATH) -> dict:
    """The train, valid and test splits as OUT_DIR/{split}.tsv (source<TAB>target a line, UTF-8),
    and OUT_DIR/manifest.json (modules, seed, pairs per split). A verse holds no tab or line
    break (whitespace is collapsed), so the files read back as exactly these pairs."""
    out = make_dir(out_dir)
    manifest = {"data": describe(sword_path), "seed": seed, "pairs": {}}
    for name in SPLITS:
        pairs = bible_pairs(name, seed, sword_path)
        write_text(out / f"{name}.tsv", "".join(f"{s}\t{t}\n" for s, t in pairs))
        manifest["pairs"][name] = len(pairs)
    write_json(out / "manifest.json", manifest)
    return manifest
