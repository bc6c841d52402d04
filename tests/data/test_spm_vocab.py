"""Sub-word (sentencepiece) vocabularies: the special ids, round trips, <unk>, serialisation."""

from __future__ import annotations

import pytest

from rnnkit.data.seq_vocab import BOS_ID, EOS_ID, SeqVocab
from rnnkit.data.spm_vocab import SpmVocab, build_vocab, vocab_from_dict
from rnnkit.errors import ConfigError

TEXTS = [f"the quick brown fox jumps over the lazy dog {i}" for i in range(200)] + [
    "a house and a mouse, said the fox"] * 20


@pytest.fixture(scope="module")
def vocab():
    return SpmVocab.build(TEXTS, 60)


def test_specials_come_first_and_text_round_trips(vocab):
    assert vocab.pieces[:4] == ["<pad>", "<unk>", "<s>", "</s>"] and vocab.size == 60
    ids = vocab.encode("the lazy mouse jumps")
    assert min(ids) > EOS_ID and vocab.decode(ids) == "the lazy mouse jumps"
    assert vocab.decode([*ids, EOS_ID, *ids]) == "the lazy mouse jumps"  # stops at EOS
    assert vocab.decode([BOS_ID, *ids]) == "the lazy mouse jumps"
    assert len(vocab.split("the lazy mouse")) == len(vocab.encode("the lazy mouse"))


def test_unknown_characters_are_unk_and_named(vocab):
    assert vocab.unknown("the ☃ fox ☂") == ["☃", "☂"]
    assert 1 in vocab.encode("the ☃ fox")


def test_the_model_travels_in_the_dict_and_training_is_deterministic(vocab):
    again = vocab_from_dict(vocab.to_dict())
    assert isinstance(again, SpmVocab) and again.pieces == vocab.pieces
    assert SpmVocab.build(TEXTS, 60).model == vocab.model
    assert isinstance(vocab_from_dict(SeqVocab.build(["ab"]).to_dict()), SeqVocab)


def test_build_vocab_dispatches_and_checks_the_size():
    assert isinstance(build_vocab("char", ["ab"]), SeqVocab)
    with pytest.raises(ConfigError, match="data.max_vocab"):
        SpmVocab.build(TEXTS, -1)
