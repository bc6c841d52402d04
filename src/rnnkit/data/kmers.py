"""k-mer counts of DNA: the features of the bag-of-k-mers baselines.

`kmer_profile(seq, k_max)` is one row of frequencies: for each k in 1..k_max, the count of every
k-mer (4^k of them, in the order of their base-4 code with A=0 C=1 G=2 T=3) divided by the number
of k-mers without an N in the sequence. The order of the k-mers in a sequence is lost: that is
the point of the baseline.
"""

from __future__ import annotations

import numpy as np

from rnnkit.data.dna import encode


def kmer_codes(ids: np.ndarray, k: int) -> np.ndarray:
    """Base-4 codes of the k-mers of base ids (T,) (1..4 = A C G T, 5 = N) that hold no N."""
    if len(ids) < k:
        return np.zeros(0, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(ids, k)  # (T-k+1, k)
    ok = (windows <= 4).all(1)
    powers = 4 ** np.arange(k - 1, -1, -1)
    return ((windows[ok] - 1) * powers).sum(1)


def n_features(k_max: int) -> int:
    return sum(4 ** k for k in range(1, k_max + 1))


def kmer_profile(sequence: str, k_max: int) -> np.ndarray:
    ids = encode(sequence)
    parts = []
    for k in range(1, k_max + 1):
        codes = kmer_codes(ids, k)
        counts = np.bincount(codes, minlength=4 ** k).astype(np.float64)
        parts.append(counts / max(len(codes), 1))
    return np.concatenate(parts)


def kmer_matrix(sequences, k_max: int) -> np.ndarray:
    """(N, n_features(k_max)) profiles of `sequences`."""
    out = np.empty((len(sequences), n_features(k_max)))
    for i, s in enumerate(sequences):
        out[i] = kmer_profile(s, k_max)
    return out


def window_profiles(sequence: str, k_max: int, half: int) -> np.ndarray:
    """(L, n_features(k_max)): for each base, the k-mer frequencies of the bases within `half`
    of it (the k-mers starting in [t - half, t + half - k + 1], clipped at the ends), by
    cumulative sums: one pass per k."""
    ids = encode(sequence)
    L = len(ids)
    parts = []
    for k in range(1, k_max + 1):
        onehot = np.zeros((L + 1, 4 ** k))
        if L >= k:
            windows = np.lib.stride_tricks.sliding_window_view(ids, k)
            ok = (windows <= 4).all(1)
            codes = ((np.minimum(windows, 4) - 1) * 4 ** np.arange(k - 1, -1, -1)).sum(1)
            rows = np.flatnonzero(ok)
            onehot[rows + 1, codes[ok]] = 1.0
        csum = np.cumsum(onehot, axis=0)  # csum[i] = k-mers starting before i
        t = np.arange(L)
        lo = np.clip(t - half, 0, L)
        hi = np.clip(t + half - k + 2, 0, L)
        hi = np.maximum(hi, lo)
        counts = csum[hi] - csum[lo]
        parts.append(counts / np.maximum(counts.sum(1, keepdims=True), 1.0))
    return np.concatenate(parts, axis=1)
