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


class FakeZText:
    """pysword's zText reading, reduced to what read_blocks_once wraps: every verse read calls
    `_decompressed_text(testament, block)`."""

    def __init__(self, blocks):
        self.blocks, self.calls = blocks, []

    def _decompressed_text(self, testament, buf_num):
        self.calls.append((testament, buf_num))
        return self.blocks[(testament, buf_num)]


def test_each_block_is_decompressed_once_while_its_verses_are_read():
    fake = FakeZText({("ot", 0): b"Gen", ("ot", 1): b"Exo", ("nt", 0): b"Mat"})
    fast = bible.read_blocks_once(fake)
    reads = [("ot", 0)] * 3 + [("ot", 1)] * 2 + [("nt", 0), ("ot", 0)]
    assert [fast._decompressed_text(*r) for r in reads] == [fake.blocks[r] for r in reads]
    assert fake.calls == [("ot", 0), ("ot", 1), ("nt", 0), ("ot", 0)]


def test_a_module_without_blocks_is_left_as_it_is():
    plain = SimpleNamespace(get_iter=lambda clean=True: iter(["a"]))
    assert bible.read_blocks_once(plain) is plain


def _real_modules():
    pysword = pytest.importorskip("pysword.modules", reason="needs pysword: pip install pysword")
    for module in bible.MODULES:
        try:
            bible.module_version(bible.SWORD_PATH, module)
        except RnnkitError:
            pytest.skip("needs the SWORD modules: apt-get install sword-text-kjv sword-text-sparv")
    modules = pysword.SwordModules(bible.SWORD_PATH)
    modules.parse_modules()
    return modules


@pytest.mark.parametrize("module", [bible.SOURCE, bible.TARGET])
def test_the_real_modules_read_the_same_text_with_one_decompression_per_book(module):
    modules = _real_modules()
    plain = modules.get_bible_from_module(module)
    counted = modules.get_bible_from_module(module)
    raw, calls = counted._decompressed_text, []
    counted._decompressed_text = lambda *key: calls.append(key) or raw(*key)
    fast = bible.read_blocks_once(counted)
    refs = {"books": ["gen", "ruth", "matt"], "chapters": [1, 2]}
    expected = list(plain.get_iter(**refs))
    assert list(fast.get_iter(**refs)) == expected
    assert len(expected) > 100 and len(calls) == 3  # BlockType=BOOK: one block per book
