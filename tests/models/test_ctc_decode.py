"""Greedy and prefix beam search against brute-force enumeration of every path (tiny inputs)."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pytest

from rnnkit.models.ctc_decode import beam_search, decode_batch, greedy_decode


def collapse(path, blank=0):
    out, prev = [], None
    for k in path:
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return tuple(out)


def labelling_probs(lp, blank=0):
    """Total probability of every labelling, summed over all paths that map to it."""
    T, C = lp.shape
    total = defaultdict(float)
    for path in itertools.product(range(C), repeat=T):
        total[collapse(path, blank)] += math.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return total


def random_log_probs(T, C, seed, sharp=1.0):
    z = np.random.default_rng(seed).normal(size=(T, C)) * sharp
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


@pytest.mark.parametrize("seed", range(6))
def test_wide_beam_finds_the_most_probable_labelling(seed):
    lp = random_log_probs(5, 3, seed, sharp=1.5)
    probs = labelling_probs(lp)
    best = max(probs, key=probs.get)
    ranked = beam_search(lp, beam=10_000, prune=-math.inf, n_best=len(probs))
    assert tuple(ranked[0][0]) == best
    assert ranked[0][1] == pytest.approx(math.log(probs[best]), rel=1e-9)
    for labels, score in ranked:  # every prefix's score is its exact total probability
        assert score == pytest.approx(math.log(probs[tuple(labels)]), rel=1e-9)


def test_greedy_is_the_labelling_of_the_best_path():
    for seed in range(4):
        lp = random_log_probs(5, 3, seed)
        best_path = max(itertools.product(range(3), repeat=5),
                        key=lambda p: sum(lp[t, k] for t, k in enumerate(p)))
        assert tuple(greedy_decode(lp)) == collapse(best_path)


def test_beam_can_beat_greedy():
    # frames where the best path says "blank" but the label summed over its paths wins
    p = np.array([[0.4, 0.3, 0.3], [0.4, 0.3, 0.3]])
    lp = np.log(p)
    assert greedy_decode(lp) == []
    labels, score = beam_search(lp, beam=4)[0]
    assert labels == [1] or labels == [2]
    assert math.exp(score) == pytest.approx(0.3 * 0.3 + 0.3 * 0.4 * 2)


def test_repeated_label_needs_a_blank_between():
    lp = np.log(np.array([[0.01, 0.98, 0.01], [0.98, 0.01, 0.01], [0.01, 0.98, 0.01]]))
    assert greedy_decode(lp) == [1, 1]
    assert beam_search(lp, beam=8)[0][0] == [1, 1]


def test_language_model_fusion_reorders_and_bonus_lengthens():
    lp = np.log(np.array([[0.1, 0.5, 0.4]] * 1))
    assert beam_search(lp, beam=4)[0][0] == [1]

    def lm(prefix):  # prefers label 2 strongly
        return np.log(np.array([1e-9, 0.05, 0.95]))

    assert beam_search(lp, beam=4, lm=lm, lm_weight=1.0)[0][0] == [2]
    silent = np.log(np.array([[0.6, 0.4, 1e-9]]))
    assert beam_search(silent, beam=4)[0][0] == []
    assert beam_search(silent, beam=4, lm=lm, insertion_bonus=1.0)[0][0] == [1]


def test_decode_batch_uses_only_real_frames_and_rejects_a_bad_beam():
    lp = np.stack([random_log_probs(6, 4, 0), random_log_probs(6, 4, 1)])
    got = decode_batch(lp, [6, 3])
    assert got == [greedy_decode(lp[0]), greedy_decode(lp[1, :3])]
    assert decode_batch(lp, [6, 3], beam=16) == [beam_search(lp[0], 16)[0][0],
                                                 beam_search(lp[1, :3], 16)[0][0]]
    with pytest.raises(ValueError, match="beam"):
        beam_search(lp[0], beam=0)
