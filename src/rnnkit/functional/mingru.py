"""minGRU (Feng et al. 2024, "Were RNNs all we needed?", section 3.1): a GRU whose gate and
candidate see only the input, so every product is one GEMM over all steps and the recurrence is
the linear scan h_t = a_t h_{t-1} + b_t (scan.py).

    z_t = sigmoid(x_t W_z^T + b_z)                 update gate
    c_t = x_t W_c^T + b_c                          candidate h~_t: linear, no tanh (the paper's)
    h_t = (1 - z_t) * h_{t-1} + z_t * c_t          so a_t = 1 - z_t,  b_t = z_t * c_t

Parameters of a layer: weight (2H, I) with rows [W_z; W_c] and bias (2H,) [b_z; b_c]. The
input projection proj = x W^T + b (T, B, 2H) is all a step needs besides h_{t-1}.

This is the paper's sequential form ("minGRU", its algorithm 1 and 2 in linear space), not its
log-space form, whose candidate g(x) = x + 0.5 or sigmoid(x) only serves to keep h positive for
the logarithms; rnnkit scans in linear space (scan.py says why).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.functional.scan import ScanFamily


def coefficients(proj: Tensor) -> tuple[Tensor, Tensor]:
    """proj (..., 2H) -> (a, b) (..., H) of the scan."""
    k, c = proj.chunk(2, dim=-1)
    # 1 - z as sigmoid(-k): 1 - sigmoid(k) would lose z's digits where z is near 1 in float32
    return torch.sigmoid(-k), torch.sigmoid(k) * c


def coefficients_backward(proj: Tensor, da: Tensor, db: Tensor) -> Tensor:
    """d_proj (..., 2H) from the gradients of a and b."""
    k, c = proj.chunk(2, dim=-1)
    z = torch.sigmoid(k)
    dz = db * c - da  # a = 1 - z, b = z c
    dk = dz * z * torch.sigmoid(-k)  # through the sigmoid
    return torch.cat([dk, db * z], dim=-1)


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
        k, c = F.linear(x_t, weight, bias).chunk(2, dim=-1)
        z = torch.sigmoid(k)
        h = (1 - z) * h + z * c
        outs.append(h)
    return torch.stack(outs)


MINGRU = ScanFamily("mingru", 2, 0, ("z", "c"), coefficients, coefficients_backward,
                     step)
