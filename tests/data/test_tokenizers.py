import json

import numpy as np
import pytest

from rnnkit.data.tokenizers import (
    ByteTokenizer,
    CharTokenizer,
    WordTokenizer,
    build_tokenizer,
    tokenizer_from_dict,
)
from rnnkit.errors import ConfigError, DataError

TEXT = "def f(x):\n    return x + 1  # naïve — ok\n"


@pytest.mark.parametrize("kind", ["char", "byte", "word"])
def test_round_trip_through_json(kind):
    tok = build_tokenizer(kind, TEXT)
    ids = tok.encode(TEXT)
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < tok.vocab_size
    assert tok.decode(ids) == TEXT
    again = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.vocab_size == tok.vocab_size
    assert np.array_equal(again.encode(TEXT), ids)
    assert again.decode(ids) == TEXT


@pytest.mark.parametrize("kind", ["char", "byte", "word"])
def test_char_lengths_count_every_character_once(kind):
    tok = build_tokenizer(kind, TEXT)
    lengths = tok.char_lengths(TEXT)
    assert len(lengths) == len(tok.encode(TEXT))
    assert lengths.sum() == len(TEXT)


def test_char_vocabulary_is_sorted_characters():
    tok = CharTokenizer.build("banana")
    assert tok.chars == ["a", "b", "n"]
    assert tok.encode("nab").tolist() == [2, 0, 1]


def test_char_ids_follow_the_given_order_not_code_points():
    tok = CharTokenizer(["z", "a", "m"])
    assert tok.encode("amz").tolist() == [1, 2, 0]


def test_unknown_characters_name_them_and_suggest_bytes():
    tok = CharTokenizer.build("abc")
    with pytest.raises(DataError, match=r"'x'.*'é'.*byte tokenizer"):
        tok.encode("abxé")


def test_byte_tokenizer_encodes_anything():
    tok = ByteTokenizer()
    text = "日本 ✓ \x00"
    assert tok.encode(text).tolist() == list(text.encode("utf-8"))
    assert tok.decode(tok.encode(text)) == text


def test_byte_stream_decoder_waits_for_whole_characters():
    tok = ByteTokenizer()
    decode = tok.stream_decoder()
    pieces = [decode(b) for b in "é!".encode()]
    assert pieces == ["", "é", "!"]


def test_word_min_freq_makes_unk():
    tok = WordTokenizer.build("the cat the dog the", min_freq=2)
    assert "cat" not in tok.words and "the" in tok.words
    assert tok.decode(tok.encode("the cat")) == "the <unk>"
    # <unk> still counts the characters it replaced.
    assert tok.char_lengths("the cat").tolist() == [3, 1, 3]


def test_word_vocabulary_is_deterministic():
    a = WordTokenizer.build("b a c a b a")
    b = WordTokenizer.build("b a c a b a")
    assert a.words == b.words == ["<unk>", " ", "a", "b", "c"]  # by count, then alphabetical


def test_bad_kind_and_bad_min_freq():
    with pytest.raises(ConfigError, match="data.tokenizer"):
        build_tokenizer("bpe", "abc")
    with pytest.raises(ConfigError, match="min_freq"):
        build_tokenizer("word", "abc", min_freq=0)
    with pytest.raises(DataError, match="empty"):
        build_tokenizer("char", "")
    with pytest.raises(DataError, match="kind"):
        tokenizer_from_dict({"kind": "sentencepiece"})
