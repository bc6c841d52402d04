"""Parallel text: TSV and aligned files (with their errors), the vocabulary, batches."""

from __future__ import annotations

import pytest
import torch

from rnnkit.data.pairs import PairBatches, make_batch, read_aligned, read_pairs, read_tsv
from rnnkit.data.seq_vocab import BOS_ID, EOS_ID, UNK_ID, SeqVocab
from rnnkit.errors import ConfigError, DataError


def test_a_tsv_reads_into_pairs(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("ein Haus\ta house\r\nzwei\ttwo\n", encoding="utf-8")
    assert read_tsv(path) == [("ein Haus", "a house"), ("zwei", "two")]
    assert read_pairs(str(path)) == read_tsv(path)


@pytest.mark.parametrize("text, words", [
    ("a\tb\nonly one column\n", r"line 2: expected 2 tab-separated columns \(source<TAB>target\), "
                               r"got 1 column\(s\)"),
    ("a\tb\tc\n", "line 1: expected 2 tab-separated columns .* got 3 column"),
    ("a\tb\n\nc\td\n", "line 2: .* got an empty line"),
    ("a\tb\n \tc\n", "line 2: the source is empty"),
    ("a\t\n", "line 1: the target is empty"),
    ("", "no pairs"),
])
def test_a_bad_tsv_is_one_error_naming_file_and_line(tmp_path, text, words):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=f"bad.tsv {words}" if "line" in words else words) as err:
        read_tsv(path)
    assert "\n" not in str(err.value)


def test_a_file_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("a\tb\nSch\xf6n\tnice\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.tsv:2: not valid UTF-8"):
        read_tsv(path)
    with pytest.raises(DataError, match="no such file"):
        read_tsv(tmp_path / "missing.tsv")


def test_aligned_files(tmp_path):
    (tmp_path / "s.txt").write_text("eins\nzwei\n")
    (tmp_path / "t.txt").write_text("one\ntwo\n")
    assert read_pairs(str(tmp_path / "s.txt"), str(tmp_path / "t.txt")) == [
        ("eins", "one"), ("zwei", "two")]
    (tmp_path / "t.txt").write_text("one\n")
    with pytest.raises(DataError, match="s.txt has 2 lines but .*t.txt has 1"):
        read_aligned(tmp_path / "s.txt", tmp_path / "t.txt")
    (tmp_path / "t.txt").write_text("one\n\n")
    with pytest.raises(DataError, match="t.txt line 2: empty line"):
        read_aligned(tmp_path / "s.txt", tmp_path / "t.txt")


def test_char_vocabulary_round_trip_and_unknown_characters():
    vocab = SeqVocab.build(["abba", "cab"], "char")
    assert vocab.pieces[:6] == ["<pad>", "<unk>", "<s>", "</s>", "a", "b"]  # by frequency
    assert vocab.decode(vocab.encode("cab ab")) == "cab<unk>ab"
    assert vocab.encode("xa") == [UNK_ID, vocab.encode("a")[0]]
    assert vocab.unknown("x yx") == ["x", " ", "y"]
    assert vocab.decode([4, 5, EOS_ID, 4]) == "ab"  # stops at EOS
    assert SeqVocab.from_dict(vocab.to_dict()).pieces == vocab.pieces


def test_word_vocabulary_splits_punctuation_and_caps_its_size():
    vocab = SeqVocab.build(["the cat, the dog.", "the end"], "word", max_size=6)
    assert vocab.pieces == ["<pad>", "<unk>", "<s>", "</s>", "the", ","]
    assert vocab.decode(vocab.encode("the cat,")) == "the <unk> ,"
    with pytest.raises(ConfigError, match="data.max_vocab"):
        SeqVocab.build(["a"], "word", max_size=3)
    with pytest.raises(ConfigError, match="data.tokenizer"):
        SeqVocab.build(["a"], "bpe")
    with pytest.raises(DataError, match="min_freq"):
        SeqVocab.build(["a b"], "word", min_freq=2)


def test_batches_pad_and_wrap_targets_in_bos_and_eos():
    src, lengths, tgt = make_batch([[5, 6, 7], [8]], [[9], [10, 11]])
    assert src.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    assert tgt.tolist() == [[BOS_ID, 9, EOS_ID, 0], [BOS_ID, 10, 11, EOS_ID]]
    with pytest.raises(DataError, match="no tokens"):
        make_batch([[5], []])


def test_bucketed_batches_cover_every_pair_once_and_are_seeded():
    src = [[4 + i % 7] * (1 + i % 9) for i in range(500)]
    tgt = [[4 + i % 5, 4 + i % 3] for i in range(500)]
    batches = PairBatches(src, tgt, 16, seed=3)
    epoch0 = list(batches.epoch(0))
    seen = sorted(tuple(r[r > 0].tolist()) for s, _, _ in epoch0 for r in s)
    assert seen == sorted(tuple(s) for s in src)
    pad_fraction = sum(int((s == 0).sum()) for s, _, _ in epoch0) / sum(s.numel()
                                                                       for s, _, _ in epoch0)
    assert pad_fraction < 0.1  # sorted pools: little padding
    again = list(batches.epoch(0))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(epoch0, again, strict=True))
    other = list(batches.epoch(1))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(epoch0, other, strict=False))
    # ranks share out the batches
    halves = list(batches.epoch(0, 0, 2)) + list(batches.epoch(0, 1, 2))
    assert len(halves) == len(epoch0)
