"""Stroke-level perturbations of pen trajectories: how one writer's strokes differ from another's
drawing of the same letter, beyond its shape.

A glyph's strokes (a list of (n, 2) point arrays, y up, letter height 1) change in three ways,
each with a probability or size proportional to `amount`:

- split: a stroke is cut in two at a random interior point and the pen lifted there (writers
  lift the pen mid-letter; fonts draw one letter as one or as several strokes);
- retrace: a random stretch of a stroke is drawn again right after it, beside it (0.03-0.07
  letter heights across), either way round (writers go over a stem twice; "duplex"/"complex"
  fonts thicken a line by a second pass);
- jitter: every control point moves a little (before resampling, so the line stays smooth).

Used on training items only (rnnkit.data.handwriting.render's `pen_noise`).
"""

from __future__ import annotations

import numpy as np

SPLIT_P = 0.2  # per stroke, x amount
RETRACE_P = 0.35  # per stroke, x amount
JITTER = 0.015  # control-point standard deviation, letter heights, x amount


def _split(stroke: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    if len(stroke) < 3:
        return [stroke]
    at = int(rng.integers(1, len(stroke) - 1))
    return [stroke[: at + 1], stroke[at:]]  # the second part starts where the first ended


def _retrace(stroke: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A stretch of `stroke` (at least 2 points, 30-100% of them) offset across its direction."""
    if len(stroke) < 2:
        return None
    n = max(2, int(round(len(stroke) * rng.uniform(0.3, 1.0))))
    start = int(rng.integers(0, len(stroke) - n + 1))
    part = stroke[start : start + n]
    along = part[-1] - part[0]
    norm = float(np.hypot(*along))
    if norm < 1e-6:  # a closed loop: offset towards any side
        along, norm = np.array([1.0, 0.0]), 1.0
    across = np.array([-along[1], along[0]]) / norm
    part = part + across * rng.uniform(0.03, 0.07) * rng.choice([-1.0, 1.0])
    return part[::-1] if rng.random() < 0.5 else part


def pen_noise(strokes: list, amount: float, rng: np.random.Generator) -> list:
    """The strokes of one glyph, split, retraced and jittered (see the module docstring)."""
    if amount <= 0:
        return list(strokes)
    out = []
    for stroke in strokes:
        stroke = stroke + rng.normal(0.0, JITTER * amount, stroke.shape)
        pieces = _split(stroke, rng) if rng.random() < SPLIT_P * amount else [stroke]
        for piece in pieces:
            out.append(piece)
            again = _retrace(piece, rng) if rng.random() < RETRACE_P * amount else None
            if again is not None:
                out.append(again)
    return out
