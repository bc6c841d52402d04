"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", section 3.1 / 6.x),
with the placement of haste's LayerNormLSTM: the input and the recurrent pre-activations are
normalised separately, each over all 4H gate units, and the cell is normalised on its way out.

    a_x = LN(x_t W_ih^T) * ln_ih_weight          LN over the 4H units; no bias inside the norm:
    a_h = LN(h_{t-1} W_hh^T) * ln_hh_weight      b_ih + b_hh are the betas
    i, f, g, o = split(a_x + a_h + b_ih + b_hh)                          gate order i, f, g, o
    i, f, o = sigmoid(.);  g = tanh(.)
    c_t = f * c_{t-1} + i * g                    the state keeps c un-normalised
    h_t = o * tanh(LN(c_t) * ln_c_weight + ln_c_bias)

LN(a) = (a - mean(a)) / sqrt(var(a) + 1e-5) over the last dimension (biased variance, as
torch.nn.functional.layer_norm). Parameters: torch.nn.LSTM's W_ih (4H, I), W_hh (4H, H), b_ih,
b_hh (4H,), then ln_ih_weight, ln_hh_weight (4H,) and ln_c_weight (H,), starting at 1, and
ln_c_bias (H,), starting at 0. State (h, c). No projection, no torch kernel: the general loop
of bptt.py runs it (`kernel` None). `norm` / `norm_backward` are shared with ln_gru.py.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh
from rnnkit.functional.bptt import LayerWeights, default_recurrent_weight_grad

EPS = 1e-5  # as torch.nn.LayerNorm


def norm(a: Tensor) -> tuple[Tensor, Tensor]:
    """(n, rstd): n = (a - mean) * rstd over the last dimension, rstd = 1 / sqrt(var + EPS)."""
    var, mean = torch.var_mean(a, dim=-1, keepdim=True, correction=0)
    rstd = torch.rsqrt(var + EPS)
    return (a - mean) * rstd, rstd


def norm_backward(dn: Tensor, n: Tensor, rstd: Tensor) -> Tensor:
    """da from dn through n = (a - mean) * rstd: rstd * (dn - mean(dn) - n * mean(dn * n))."""
    return rstd * (dn - dn.mean(-1, keepdim=True) - n * (dn * n).mean(-1, keepdim=True))


class LNLSTMCache(NamedTuple):
    nx: Tensor  # (B, 4H) the normalised input part, and its 1 / std (B, 1)
    rx: Tensor
    nh: Tensor  # (B, 4H) the normalised recurrent part, and its 1 / std
    rh: Tensor
    i: Tensor  # (B, H) each, after their nonlinearities
    f: Tensor
    g: Tensor
    o: Tensor
    c_prev: Tensor
    nc: Tensor  # (B, H) LN(c) before its gain, its 1 / std, and tanh of the scaled cell
    rc: Tensor
    th: Tensor


class LNLSTMCellMath:
    gates = 4
    kernel = None  # no compiled loop: the general loop of bptt.py
    fold_bias_hh = False
    owns_biases = True  # b_ih, b_hh are added after the norms, in the step
    same_dgx_dgh = False
    recurrent_weight_grad = staticmethod(default_recurrent_weight_grad)

    @staticmethod
    def step_forward(gx_t: Tensor, state: tuple, w: LayerWeights, recurrent):
        h_prev, c_prev = state
        g_ih, g_hh, g_c, b_c = w.extra
        nx, rx = norm(gx_t)  # gx_t = x_t W_ih^T, no bias (owns_biases)
        nh, rh = norm(recurrent(h_prev))  # h W_hh^T
        a = nx * g_ih + nh * g_hh
        if w.b_ih is not None:
            a = a + w.b_ih + w.b_hh
        H = c_prev.shape[-1]
        act = torch.sigmoid(a)
        i, f, o = act[:, :H], act[:, H:2 * H], act[:, 3 * H:]
        g = tanh(a[:, 2 * H:3 * H])
        c = torch.addcmul(f * c_prev, i, g)
        nc, rc = norm(c)
        th = tanh(nc * g_c + b_c)
        h = o * th
        return (h, c), h_prev, LNLSTMCache(nx, rx, nh, rh, i, f, g, o, c_prev, nc, rc, th)

    @staticmethod
    def step_backward(dstate: tuple, cache: LNLSTMCache, w: LayerWeights, grads: dict,
                      through_w):
        dh, dc_next = dstate
        nx, rx, nh, rh, i, f, g, o, c_prev, nc, rc, th = cache
        g_ih, g_hh, g_c, _ = w.extra
        d_extra = grads["extra"]
        do = dh * th  # through h = o * th
        dy = dh * o * (1 - th * th)  # ... and through tanh, to LN(c) * g_c + b_c
        d_extra[2].add_((dy * nc).sum(0))
        d_extra[3].add_(dy.sum(0))
        dc = dc_next + norm_backward(dy * g_c, nc, rc)  # through LN(c)
        da = torch.cat(
            (
                dc * g * i * (1 - i),  # through c = f c_prev + i g, then sigmoid
                dc * c_prev * f * (1 - f),
                dc * i * (1 - g * g),  # through tanh
                do * o * (1 - o),
            ),
            dim=1,
        )  # (B, 4H)
        if w.b_ih is not None:
            db = da.sum(0)
            grads["b_ih"].add_(db)
            grads["b_hh"].add_(db)
        d_extra[0].add_((da * nx).sum(0))
        d_extra[1].add_((da * nh).sum(0))
        dgx = norm_backward(da * g_ih, nx, rx)  # through the input norm, to x W_ih^T
        dgh = norm_backward(da * g_hh, nh, rh)  # through the recurrent norm, to h W_hh^T
        return dgx, dgh, (through_w(dgh), dc * f)
