"""Hashed character n-grams of words (fastText style) for sub-word embeddings.

A word w is read as "<w>" and cut into its character n-grams, n = 3..5 ("<wh", "whe", ...);
each n-gram goes to one of `buckets` rows of an embedding table by a stable hash (BLAKE2b, so
the same n-gram gets the same row in every process and on every machine; Python's `hash()` is
salted per process). Row 0 is padding, so bucket ids are 1..buckets. A word the vocabulary
lacks still has n-grams, hence a vector of its own (Bojanowski et al. 2017, "Enriching Word
Vectors with Subword Information").
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from rnnkit.errors import ConfigError

NGRAM_MIN, NGRAM_MAX = 3, 5


def check_buckets(buckets, where: str = "data.subword_buckets") -> int:
    if isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 0:
        raise ConfigError(f"{where}: expected 0 (off) or a positive integer, got {buckets!r}")
    return buckets


def ngram_bucket(gram: str, buckets: int) -> int:
    """The row (1..buckets) of one n-gram: BLAKE2b's first 8 bytes modulo `buckets`, plus 1."""
    digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % buckets + 1


@lru_cache(maxsize=1 << 18)
def word_buckets(word: str, buckets: int) -> tuple[int, ...]:
    """Distinct bucket rows of the n-grams of "<word>", in order of first appearance."""
    marked = f"<{word}>"
    grams = [marked[i:i + n] for n in range(NGRAM_MIN, NGRAM_MAX + 1)
             for i in range(len(marked) - n + 1)]
    return tuple(dict.fromkeys(ngram_bucket(g, buckets) for g in grams))


def subword_matrix(ids: np.ndarray, words: list[str], buckets: int) -> np.ndarray:
    """(T, 1 + G) int32 (half the memory of int64; batches widen it): column 0 the word ids,
    then each word's n-gram rows padded with 0 (G = the most n-grams of any word here)."""
    rows = [word_buckets(w, buckets) for w in words]
    width = max((len(r) for r in rows), default=0) or 1
    out = np.zeros((len(ids), 1 + width), dtype=np.int32)
    out[:, 0] = ids
    for t, r in enumerate(rows):
        out[t, 1:1 + len(r)] = r
    return out
