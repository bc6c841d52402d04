"""tanh as 2 sigmoid(2x) - 1.

torch's float32 tanh was several times slower than this form on the CPU measured, while sigmoid
is fast; the two agree to float rounding (BENCHMARKS.md, "Kernel design measurements"). Every
tanh of the step math goes through here, so the RNN, GRU and LSTM paths all benefit.
"""

from __future__ import annotations

import torch
from torch import Tensor


def tanh(x: Tensor) -> Tensor:
    """tanh(x), safe under autograd (no in-place step on a saved tensor)."""
    return 2 * torch.sigmoid(2 * x) - 1


def tanh_(x: Tensor) -> Tensor:
    """tanh(x) in place, for loops outside autograd."""
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


def tanh_out(x: Tensor, out: Tensor) -> Tensor:
    """tanh(x) written into out (x is left alone)."""
    return torch.mul(x, 2, out=out).sigmoid_().mul_(2).sub_(1)
