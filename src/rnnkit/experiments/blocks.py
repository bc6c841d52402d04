"""Coloured blocks: predict the next block's colour in a repeating pattern (blue, red, yellow, ...).

Every sequence repeats its own random pattern of 2 to 6 colours out of 4. From the second period
on, the next colour is what came one period before, so a model that remembers a few steps makes
no mistakes there. Error: cross-entropy (nats per block) over the blocks after the first period
of each row; a memoryless guess scores ln 4 = 1.386.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.data.synthetic import blocks_baseline, blocks_batch
from rnnkit.experiments.common import Problem

COLOURS, MAX_PERIOD = 4, 6


def _batch(b: int, t: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    x, y, period = blocks_batch(b, t, COLOURS, MAX_PERIOD, g)
    # the first period of each row cannot be predicted: its targets are ignored (-100)
    steps = torch.arange(t)[:, None]
    y = torch.where(steps + 1 < period[None, :], torch.full_like(y, -100), y)
    return x, y


def _ce(out: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=-100)


PROBLEM = Problem(
    name="blocks", inputs=COLOURS, outputs=COLOURS, many_to_one=False,
    batch=_batch, loss=_ce, baseline=lambda t: blocks_baseline(COLOURS),
    error_name="nats/block",
)
