"""Hashed character n-grams (sub-words) and the classify vocabulary's url_token."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnkit.data.subwords import check_buckets, ngram_bucket, subword_matrix, word_buckets
from rnnkit.data.text_vocab import TextVocab
from rnnkit.errors import ConfigError
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier


def test_buckets_are_stable_across_processes():
    """Python's hash() is salted per process; the buckets must not be."""
    grams = ["<wh", "whe", "here>", "<ü>", "ere"]
    here = [ngram_bucket(g, 65536) for g in grams]
    code = ("from rnnkit.data.subwords import ngram_bucket; "
            f"print([ngram_bucket(g, 65536) for g in {grams!r}])")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": str(seed), "PYTHONPATH":
                                            ":".join(sys.path)}).stdout.strip()
            for seed in (1, 2)}
    assert runs == {str(here)}
    assert all(1 <= b <= 65536 for b in here) and len(set(here)) == len(here)


def test_word_buckets_cover_the_marked_ngrams():
    # "<cat>": 3-grams <ca cat at>, 4-grams <cat cat>, 5-gram <cat>: 6 distinct n-grams
    grams = ["<ca", "cat", "at>", "<cat", "cat>", "<cat>"]
    assert word_buckets("cat", 1 << 20) == tuple(ngram_bucket(g, 1 << 20) for g in grams)
    assert len(word_buckets("a", 1 << 20)) == 1  # only "<a>"


def test_subword_matrix_pads_with_zero():
    m = subword_matrix(np.array([5, 1]), ["cat", "a"], 1 << 20)
    assert m.shape == (2, 1 + 6) and m[:, 0].tolist() == [5, 1]
    assert (m[1, 2:] == 0).all() and m[1, 1] > 0


@pytest.mark.parametrize("bad", [-1, 2.5, True, "8"])
def test_bad_bucket_counts_are_rejected(bad):
    with pytest.raises(ConfigError, match=r"data.subword_buckets: expected 0 \(off\) or a "
                                          r"positive integer, got"):
        check_buckets(bad)


def test_unknown_words_get_their_own_nonzero_vectors():
    vocab = TextVocab.build(["the cat sat", "the dog sat"], "word")
    buckets = 64
    ids, pieces = vocab.encode_pieces("the zebra quokka")
    assert ids.tolist()[1:] == [1, 1]  # both unknown: <unk>
    x = torch.from_numpy(subword_matrix(ids, pieces, buckets)).long().unsqueeze(0)
    torch.manual_seed(0)
    model = SequenceClassifier(ClassifierConfig(vocab_size=vocab.size, embed_dim=8,
                                                subword_buckets=buckets, n_outputs=2))
    e = model._embed(x)[0]  # (3, 8)
    assert e.abs().sum(1).min() > 0
    assert not torch.allclose(e[1], e[2])  # two unknown words, two vectors
    unk_only = model.embed(torch.tensor([1]))[0]
    assert not torch.allclose(e[1], unk_only)


def test_url_token_normalises_urls_and_mentions():
    vocab = TextVocab.build(["x"], "word", url_token=True)
    # a URL runs to the next space
    text = "Hi @Bob_1, see https://t.co/AbC?x=1 or www.Foo.com/a ! mail a@b.com"
    assert vocab.split(text) == ["hi", "<user>", ",", "see", "<url>", "or", "<url>", "!",
                                 "mail", "a", "@", "b", ".", "com"]
    plain = TextVocab.build(["x"], "word")
    assert "<url>" not in plain.split(text) and "bob_1" in plain.split(text)
    again = TextVocab.from_dict(vocab.to_dict())
    assert again.url_token and again.split(text) == vocab.split(text)
    built = TextVocab.build(["@a hi", "@b hi http://x.y"], "word", min_freq=2, url_token=True)
    assert "<user>" in built.pieces and "<url>" not in built.pieces  # one URL: below min_freq
