"""minLSTM (Feng et al. 2024, "Were RNNs all we needed?", section 3.2): an LSTM without the
output gate and the cell state, gates and candidate from the input only, the forget and input
gates normalised to sum to 1 (the paper's time-independent form), so the recurrence is the
linear scan h_t = a_t h_{t-1} + b_t (scan.py).

    f_t = sigmoid(x_t W_f^T + b_f),  i_t = sigmoid(x_t W_i^T + b_i)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    c_t = x_t W_c^T + b_c                          candidate h~_t: linear (the paper's)
    h_t = f'_t * h_{t-1} + i'_t * c_t              so a_t = f'_t,  b_t = i'_t * c_t

Parameters of a layer: weight (3H, I) with rows [W_f; W_i; W_c] and bias (3H,).

Computed stably: f + i can underflow to 0 in float32 (both pre-activations below about -88),
so coefficients() uses i' = sigmoid(u) and f' = sigmoid(-u) with
u = log i - log f = logsigmoid(k_i) - logsigmoid(k_f), which is f / (f + i) rewritten and finite
for every input (tested equal to the literal form, step() and reference(), in float64).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.functional.scan import ScanFamily


def coefficients(proj: Tensor) -> tuple[Tensor, Tensor]:
    """proj (..., 3H) -> (a, b) (..., H) of the scan."""
    k_f, k_i, c = proj.chunk(3, dim=-1)
    u = F.logsigmoid(k_i) - F.logsigmoid(k_f)
    return torch.sigmoid(-u), torch.sigmoid(u) * c


def coefficients_backward(proj: Tensor, da: Tensor, db: Tensor) -> Tensor:
    """d_proj (..., 3H) from the gradients of a and b."""
    k_f, k_i, c = proj.chunk(3, dim=-1)
    u = F.logsigmoid(k_i) - F.logsigmoid(k_f)
    z = torch.sigmoid(u)  # i'; a = f' = 1 - z = sigmoid(-u)
    du = (db * c - da) * z * torch.sigmoid(-u)  # b = z c, a = 1 - z; through the sigmoid
    # d logsigmoid(k)/dk = sigmoid(-k)
    return torch.cat([-du * torch.sigmoid(-k_f), du * torch.sigmoid(-k_i), db * z], dim=-1)


def step(x_t: Tensor, h: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """One step for generation: x_t (B, I), h (B, H) -> h_t (B, H). The same coefficients as
    the whole-sequence form, so the two agree, start state included."""
    a, b = coefficients(F.linear(x_t, weight, bias))
    return torch.addcmul(b, a, h)


def reference(x: Tensor, h0: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The paper's equations as written, one step at a time under autograd: the reference the
    hand-written backward is tested against. x (T, B, I), h0 (B, H) -> out (T, B, H)."""
    outs, h = [], h0
    for x_t in x:
        k_f, k_i, c = F.linear(x_t, weight, bias).chunk(3, dim=-1)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        h = f / (f + i) * h + i / (f + i) * c
        outs.append(h)
    return torch.stack(outs)


MINLSTM = ScanFamily("minlstm", 3, 1, ("f", "i", "c"), coefficients, coefficients_backward,
                      step)
