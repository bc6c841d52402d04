"""Stroke-level perturbations: splits keep the line, retraces lie beside it, amount 0 is a no-op."""

from __future__ import annotations

import numpy as np

from rnnkit.data import pen_noise as pn
from rnnkit.data.handwriting import _font, render


def test_amount_zero_changes_nothing():
    strokes, _, _ = _font("scripts")["a"]
    out = pn.pen_noise(strokes, 0.0, np.random.default_rng(0))
    assert len(out) == len(strokes) and all(a is b for a, b in zip(out, strokes, strict=True))


def test_a_split_stroke_continues_where_it_stopped():
    stroke = np.stack([np.linspace(0, 1, 9), np.zeros(9)], 1)
    first, second = pn._split(stroke, np.random.default_rng(3))
    np.testing.assert_array_equal(first[-1], second[0])
    np.testing.assert_array_equal(np.concatenate([first, second[1:]]), stroke)


def test_a_retrace_runs_beside_its_stroke():
    stroke = np.stack([np.linspace(0, 1, 21), np.zeros(21)], 1)  # along x
    for seed in range(20):
        again = pn._retrace(stroke, np.random.default_rng(seed))
        gap = np.abs(again[:, 1])
        assert len(again) >= 6 and np.allclose(gap, gap[0]) and 0.03 <= gap[0] <= 0.07
        assert again[:, 0].min() >= 0 and again[:, 0].max() <= 1


def test_noise_adds_strokes_and_pen_lifts_on_training_items():
    rng = np.random.default_rng(0)
    strokes, _, _ = _font("scripts")["d"]
    counts = [len(pn.pen_noise(strokes, 1.0, rng)) for _ in range(200)]
    assert min(counts) >= len(strokes) and np.mean(counts) > len(strokes) * 1.3
    plain = render("hello", "scripts", np.random.default_rng(1))
    noisy = render("hello", "scripts", np.random.default_rng(1), pen_noise=1.0)
    assert noisy[:, 2].sum() > plain[:, 2].sum()
