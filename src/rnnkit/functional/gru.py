"""GRU (Cho et al. 2014), in torch.nn's form by default.

    r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)                       gate order r, z, n
    z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))     reset_after=True (torch.nn, cuDNN)
    n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn)     reset_after=False (Cho et al. 2014)
    h_t = (1 - z) * n + z * h_{t-1}

torch.nn applies the reset gate after the recurrent matmul, so one `h @ W_hh^T` per step serves all
three gates; the paper's form needs a second matmul per step, on r * h, and no torch kernel has it.
Parameters as torch.nn.GRU: W_ih (3H, I), W_hh (3H, H), b_ih, b_hh (3H,).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh
from rnnkit.functional.bptt import LayerWeights, default_recurrent_weight_grad

# The `kernel` of the layer-normalised GRU's step math (ln_gru.py), alone or with recurrent
# dropout or zoneout: gru_variant_seq.py's compiled loop runs it.
LN_GRU_KERNEL = "ln_gru"

class GRUCache(NamedTuple):
    r: Tensor  # (B, H) each
    z: Tensor
    n: Tensor
    h_prev: Tensor
    hn: Tensor  # reset_after: h W_hn^T + b_hn; otherwise r * h (the input of the n matmul)


class GRUCellMath:
    gates = 3
    fold_bias_hh = False  # b_hn must stay inside r * (...)
    candidate_mask = None  # (B, H) dropout on n (Semeniuta et al. 2016; regularise.py)

    def __init__(self, reset_after: bool = True):
        self.reset_after = reset_after
        self.same_dgx_dgh = False
        # rnn_kernel.cpp has torch's form only (reset gate after the product)
        self.kernel = "gru" if reset_after else None
        self.single_product = reset_after  # W_hh multiplies h alone (recurrent dropout's mask)

    @staticmethod
    def state_sizes(w: LayerWeights) -> tuple[int, ...]:
        return (w.W_hh.shape[1],)

    def step_forward(self, gx_t: Tensor, state: tuple, w: LayerWeights, recurrent):
        (h_prev,) = state
        H = h_prev.shape[-1]
        if self.reset_after:
            gh = recurrent(h_prev)  # (B, 3H) h W_hh^T + b_hh
            rz = torch.sigmoid(gx_t[:, :2 * H] + gh[:, :2 * H])
            r, z = rz[:, :H], rz[:, H:]
            hn = gh[:, 2 * H:]  # (B, H) h W_hn^T + b_hn
            n = tanh(torch.addcmul(gx_t[:, 2 * H:], r, hn))
            rin = h_prev
        else:  # two products per step, on h and on r * h: `recurrent` does not apply
            W_rz, W_n = w.W_hh[:2 * H], w.W_hh[2 * H:]
            b_rz = None if w.b_hh is None else w.b_hh[:2 * H]
            b_n = None if w.b_hh is None else w.b_hh[2 * H:]
            a_rz = h_prev @ W_rz.t() if b_rz is None else torch.addmm(b_rz, h_prev, W_rz.t())
            rz = torch.sigmoid(gx_t[:, :2 * H] + a_rz)
            r, z = rz[:, :H], rz[:, H:]
            hn = r * h_prev  # (B, H) the reset state, input of the second matmul
            a_n = hn @ W_n.t() if b_n is None else torch.addmm(b_n, hn, W_n.t())
            n = tanh(gx_t[:, 2 * H:] + a_n)
            rin = torch.cat((h_prev, hn), dim=1)  # (B, 2H): W_rz sees h, W_n sees r * h
        m = self.candidate_mask
        h = torch.lerp(n if m is None else n * m, h_prev, z)  # (1 - z) n + z h_prev
        return (h,), rin, GRUCache(r, z, n, h_prev, hn)

    def step_backward(self, dstate: tuple, cache: GRUCache, w: LayerWeights, grads: dict,
                      through_w):
        (dh,) = dstate
        r, z, n, h_prev, hn = cache
        H = h_prev.shape[-1]
        m = self.candidate_mask
        dz = dh * (h_prev - (n if m is None else n * m))  # through the interpolation
        dn = dh * (1 - z) if m is None else dh * (1 - z) * m
        da_n = dn * (1 - n * n)  # through tanh
        if self.reset_after:
            da_r = da_n * hn * r * (1 - r)  # through r * (h W_hn^T + b_hn), then sigmoid
            da_z = dz * z * (1 - z)
            dgx = torch.cat((da_r, da_z, da_n), dim=1)  # (B, 3H)
            dgh = torch.cat((da_r, da_z, da_n * r), dim=1)
            dh_prev = through_w(dgh).add_(dh * z)  # recurrent matmul + the direct path
        else:
            d_hn = da_n @ w.W_hh[2 * H:]  # through the second matmul, to r * h
            da_r = d_hn * h_prev * r * (1 - r)
            da_z = dz * z * (1 - z)
            dgx = torch.cat((da_r, da_z, da_n), dim=1)
            dgh = dgx
            dh_prev = torch.addmm(dh * z + d_hn * r, dgx[:, :2 * H], w.W_hh[:2 * H])
        return dgx, dgh, (dh_prev,)

    def recurrent_weight_grad(self, dgh: Tensor, rin: Tensor) -> Tensor:
        if self.reset_after:
            return default_recurrent_weight_grad(dgh, rin)
        H = rin.shape[-1] // 2
        return torch.cat(
            (
                default_recurrent_weight_grad(dgh[..., :2 * H], rin[..., :H]),
                default_recurrent_weight_grad(dgh[..., 2 * H:], rin[..., H:]),
            ),
            dim=0,
        )
