"""The `bible` corpus: cleaning, alignment, pinned module versions, seeded splits (on fakes; the
real modules are Debian packages that CI need not have)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rnnkit.data import bible
from rnnkit.errors import RnnkitError


def test_clean_drops_paragraph_marks_and_notes_and_collapses_spaces():
    assert bible.clean(" ¶ In the  beginning [Or, at first]\nGod ") == "In the beginning God"


class FakeBible:
    def __init__(self, verses, lengths=((2, 1),)):
        self.verses, self.lengths = verses, lengths

    def get_structure(self):
        books = [SimpleNamespace(osis_name=f"B{i}", chapter_lengths=list(ch))
                 for i, ch in enumerate(self.lengths)]
        return SimpleNamespace(get_books=lambda: {"ot": books, "nt": []})

    def get_iter(self, clean=True):
        return iter(self.verses)


def test_verses_align_by_position_and_empty_ones_are_dropped():
    en = FakeBible(["In the beginning ¶", "and the earth", "  "])
    es = FakeBible(["En el principio", "", "y dijo"])
    assert bible.verse_keys(en) == [("B0", 1, 1), ("B0", 1, 2), ("B0", 2, 1)]
    assert bible.aligned_verses(en, es) == [("In the beginning", "En el principio")]
    with pytest.raises(RnnkitError, match="disagree on the verses"):
        bible.aligned_verses(en, FakeBible(["one"]))


def test_splits_are_disjoint_seeded_and_in_order():
    pairs = [(f"s{i}", f"t{i}") for i in range(5000)]
    parts = {n: bible.split(pairs, n, seed=1) for n in ("train", "valid", "test")}
    assert (len(parts["valid"]), len(parts["test"])) == (bible.VALID, bible.TEST)
    assert sum(map(len, parts.values())) == 5000
    assert len({p for ps in parts.values() for p in ps}) == 5000
    assert parts["test"] == sorted(parts["test"], key=lambda p: int(p[0][1:]))
    assert bible.split(pairs, "test", seed=1) == parts["test"]
    assert bible.split(pairs, "test", seed=2) != parts["test"]
    with pytest.raises(RnnkitError, match="unknown split 'dev'"):
        bible.split(pairs, "dev")


def test_a_missing_module_names_the_debian_packages(tmp_path):
    with pytest.raises(RnnkitError, match="apt-get install sword-text-kjv sword-text-sparv"):
        bible.module_version(tmp_path, "engKJV2006eb")


def test_another_module_version_is_refused(tmp_path):
    (tmp_path / "mods.d").mkdir()
    (tmp_path / "mods.d" / "engkjv2006eb.conf").write_text("[engKJV2006eb]\nVersion=9.9\n")
    assert bible.module_version(tmp_path, "engKJV2006eb") == "9.9"
    with pytest.raises(RnnkitError, match="pinned to engKJV2006eb version 14.3 .* has version 9.9"):
        bible._open(tmp_path, "engKJV2006eb")
