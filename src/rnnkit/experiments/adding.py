"""The adding problem (Le, Jaitly & Hinton 2015): sum the two marked values of T steps.

Predicting the mean (1) gives MSE 1/6 = 0.1667; a model that remembers both values reaches 0.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F

from rnnkit.data.synthetic import adding_baseline, adding_batch
from rnnkit.experiments.common import Problem


def _mse(out: Tensor, y: Tensor) -> Tensor:
    return F.mse_loss(out.squeeze(-1), y)


PROBLEM = Problem(
    name="adding", inputs=2, outputs=1, many_to_one=True,
    batch=lambda b, t, g: adding_batch(b, t, g),
    loss=_mse, baseline=lambda t: adding_baseline(), error_name="MSE",
)
