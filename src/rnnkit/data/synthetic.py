"""Generated long-range tasks, seeded, with their memoryless baselines."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def recall_batch(
    batch: int, length: int, symbols: int = 8, generator=None
) -> tuple[Tensor, Tensor]:
    """Remember the first symbol through distractors.

    x (T, B, 2 * symbols + 1): step 0 holds one of `symbols` target symbols (one-hot in the first
    block); steps 1..T-2 hold random distractors (second block); step T-1 holds the query marker
    (last channel). The target (B,) is the first symbol; chance accuracy is 1 / symbols.
    """
    if length < 2 or symbols < 2:
        raise ValueError(f"recall needs length >= 2 and symbols >= 2, got {length}, {symbols}")
    rows = torch.arange(batch)
    target = torch.randint(symbols, (batch,), generator=generator)
    x = torch.zeros(length, batch, 2 * symbols + 1)
    x[0, rows, target] = 1.0
    if length > 2:
        noise = torch.randint(symbols, (length - 2, batch), generator=generator)
        x[1:-1].scatter_(2, (noise + symbols).unsqueeze(-1), 1.0)
    x[-1, :, -1] = 1.0
    return x, target


def recall_inputs(symbols: int = 8) -> int:
    return 2 * symbols + 1


def recall_chance(symbols: int = 8) -> tuple[float, float]:
    """(accuracy, cross-entropy in nats) of a model that has forgotten the symbol."""
    return 1.0 / symbols, math.log(symbols)
