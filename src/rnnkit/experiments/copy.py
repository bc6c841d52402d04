"""The copy task (Arjovsky, Shah & Bengio 2016): recall 10 symbols after T blanks.

Error: cross-entropy in nats per step over all T + 20 steps. The memoryless strategy (blanks,
then a uniform guess over the 8 symbols) scores 10 ln 8 / (T + 20).
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F

from rnnkit.data.synthetic import COPY_CLASSES, copy_baseline, copy_batch
from rnnkit.experiments.common import Problem


def _ce(out: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))  # out (T, B, C)


PROBLEM = Problem(
    name="copy", inputs=COPY_CLASSES, outputs=COPY_CLASSES, many_to_one=False,
    batch=lambda b, t, g: copy_batch(b, t, g),
    loss=_ce, baseline=copy_baseline, error_name="nats/step",
)
