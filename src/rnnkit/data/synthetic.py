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


# --- The classic long-range tasks (Le, Jaitly & Hinton 2015; Arjovsky et al. 2016) -------------


def adding_batch(batch: int, length: int, generator=None) -> tuple[Tensor, Tensor]:
    """The adding problem in the form of Le, Jaitly & Hinton (2015).

    x (T, B, 2): channel 0 holds values drawn uniformly from [0, 1); channel 1 is 0 except for two
    1s, one at a uniform step of the first half and one of the second half. The target (B,) is the
    sum of the two marked values. Its mean is 1 and its variance 2/12, so predicting 1 gives MSE
    1/6 = 0.1667 (`adding_baseline`).
    """
    if length < 2:
        raise ValueError(f"adding needs length >= 2, got {length}")
    half = length // 2
    values = torch.rand(length, batch, generator=generator)
    first = torch.randint(half, (batch,), generator=generator)
    second = half + torch.randint(length - half, (batch,), generator=generator)
    marks = torch.zeros(length, batch)
    rows = torch.arange(batch)
    marks[first, rows] = 1.0
    marks[second, rows] = 1.0
    target = values[first, rows] + values[second, rows]
    return torch.stack((values, marks), dim=-1), target


def adding_baseline() -> float:
    """MSE of always predicting the mean sum 1: the variance of U(0,1) + U(0,1), 2/12."""
    return 1.0 / 6.0


COPY_SYMBOLS = 8  # data symbols 1..8; 0 is the blank, 9 the "now recall" marker
COPY_CLASSES = COPY_SYMBOLS + 2


def copy_batch(batch: int, length: int, generator=None, n_copy: int = 10) -> tuple[Tensor, Tensor]:
    """The copy task of Arjovsky, Shah & Bengio (2016), T = `length` blanks between.

    Tokens (T + 20 steps for n_copy 10): n_copy symbols from 1..8, then T - 1 blanks (0), the marker
    9, and n_copy blanks. The target is blank for the first T + n_copy steps, then the n_copy
    symbols. Returns x (T + 2 n_copy, B, 10) one-hot and the targets (T + 2 n_copy, B) as ints.
    """
    if length < 1 or n_copy < 1:
        raise ValueError(f"copy needs length >= 1 and n_copy >= 1, got {length}, {n_copy}")
    total = length + 2 * n_copy
    data = torch.randint(1, COPY_SYMBOLS + 1, (n_copy, batch), generator=generator)
    tokens = torch.zeros(total, batch, dtype=torch.long)
    tokens[:n_copy] = data
    tokens[length + n_copy - 1] = COPY_SYMBOLS + 1
    target = torch.zeros(total, batch, dtype=torch.long)
    target[-n_copy:] = data
    x = torch.nn.functional.one_hot(tokens, COPY_CLASSES).float()
    return x, target


def copy_baseline(length: int, n_copy: int = 10) -> float:
    """Cross-entropy per step (nats) of the memoryless strategy: blanks for the first T + n_copy
    steps (no loss), then a uniform guess over the 8 symbols: n_copy ln 8 / (T + 2 n_copy)."""
    return n_copy * math.log(COPY_SYMBOLS) / (length + 2 * n_copy)


def blocks_batch(batch: int, length: int, colours: int = 4, max_period: int = 6,
                 generator=None) -> tuple[Tensor, Tensor, Tensor]:
    """Coloured blocks: each row repeats its own random pattern (e.g. blue, red, yellow, ...).

    Every row draws a period p in 2..max_period and a pattern of p colours out of `colours`
    (colours may repeat inside a pattern, so the last colour alone does not tell the next one),
    and repeats it for `length` + 1 blocks. x (T, B, colours) one-hot of blocks 0..T-1, target
    (T, B) the colour of blocks 1..T, and the period per row (B,). From block p on the next colour
    is determined by what came p blocks before; before it, nothing can tell.
    """
    if length < 2 or colours < 2 or not 2 <= max_period:
        raise ValueError(f"blocks needs length >= 2, colours >= 2, max_period >= 2; got "
                         f"{length}, {colours}, {max_period}")
    period = torch.randint(2, max_period + 1, (batch,), generator=generator)
    pattern = torch.randint(colours, (batch, max_period), generator=generator)
    steps = torch.arange(length + 1)[:, None] % period[None, :]  # (T + 1, B)
    seq = pattern.t().gather(0, steps)  # (T + 1, B) colour of each block
    x = torch.nn.functional.one_hot(seq[:-1], colours).float()
    return x, seq[1:], period


def blocks_baseline(colours: int = 4) -> float:
    """Cross-entropy (nats per block) of a memoryless guess: ln(colours)."""
    return math.log(colours)
