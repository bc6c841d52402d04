"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", section 3.1 / 6.x),
with the placement of haste's LayerNormLSTM: the input and the recurrent pre-activations are
normalised separately, each over all 4H gate units, and the cell is normalised on its way out.

    a_x = LN(x_t W_ih^T) * ln_ih_weight          LN over the 4H units; no bias inside the norm:
    a_h = LN(h_{t-1} W_hh^T) * ln_hh_weight      b_ih + b_hh are the betas
    i, f, g, o = split(a_x + a_h + b_ih + b_hh)                          gate order i, f, g, o
    i, f, o = sigmoid(.);  g = tanh(.)
    c_t = f * c_{t-1} + i * g                    the state keeps c un-normalised
    h_t = o * tanh(LN(c_t) * ln_c_weight + ln_c_bias)

LN(a) = (a - mean(a)) / sqrt(var(a) + 1e-5) over the last dimension (biased variance), by
torch's own layer-norm kernels (native_layer_norm and its backward, several times faster on the
CPU than var_mean and the backward written out: BENCHMARKS.md, "Cell variants"; `norm_backward`
is tested equal to the formula). Parameters: torch.nn.LSTM's W_ih (4H, I), W_hh (4H, H), b_ih,
b_hh (4H,), then ln_ih_weight, ln_hh_weight (4H,) and ln_c_weight (H,), starting at 1, and
ln_c_bias (H,), starting at 0. State (h, c). No projection, no torch kernel: lstm_variant_seq.py's
compiled loop runs it where it can, else the general loop of bptt.py (the specification).
`norm` / `norm_backward` are shared with ln_gru.py.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh
from rnnkit.functional.bptt import LayerWeights, default_recurrent_weight_grad
from rnnkit.functional.lstm import VARIANT_KERNEL, gate_grads

EPS = 1e-5  # as torch.nn.LayerNorm


class Norm(NamedTuple):
    """LN of a (B, N) over N: n = (a - mean) * rstd, rstd = 1 / sqrt(var + EPS); a kept for the
    backward."""

    a: Tensor
    n: Tensor
    mean: Tensor  # (B, 1)
    rstd: Tensor  # (B, 1)


def norm(a: Tensor) -> Norm:
    n, mean, rstd = torch.native_layer_norm(a, a.shape[-1:], None, None, EPS)
    return Norm(a, n, mean, rstd)


def norm_backward(dn: Tensor, ln: Norm) -> Tensor:
    """da from dn through n = (a - mean) * rstd, i.e. rstd * (dn - mean(dn) - n mean(dn n))."""
    return torch.ops.aten.native_layer_norm_backward(dn, ln.a, ln.a.shape[-1:], ln.mean, ln.rstd,
                                                     None, None, [True, False, False])[0]


class LNLSTMCache(NamedTuple):
    x: Norm  # (B, 4H) the input part x W_ih^T and its norm
    h: Norm  # (B, 4H) the recurrent part h W_hh^T and its norm
    i: Tensor  # (B, H) each, after their nonlinearities
    f: Tensor
    g: Tensor
    o: Tensor
    c_prev: Tensor
    c: Norm  # (B, H) the cell and its norm
    th: Tensor  # (B, H) tanh(LN(c) * ln_c_weight + ln_c_bias)


class LNLSTMCellMath:
    gates = 4
    kernel = VARIANT_KERNEL  # lstm_variant_seq.py's compiled loop (unmasked), else bptt.py's
    loop_extras = "layer_norm"
    fold_bias_hh = False
    owns_biases = True  # b_ih, b_hh are added after the norms, in the step
    same_dgx_dgh = False
    recurrent_weight_grad = staticmethod(default_recurrent_weight_grad)
    candidate_mask = None  # (B, H) dropout on g (Semeniuta et al. 2016; regularise.py)

    def step_forward(self, gx_t: Tensor, state: tuple, w: LayerWeights, recurrent):
        h_prev, c_prev = state
        g_ih, g_hh, g_c, b_c = w.extra
        lx = norm(gx_t)  # gx_t = x_t W_ih^T, no bias (owns_biases)
        lh = norm(recurrent(h_prev))  # h W_hh^T
        a = torch.addcmul(lx.n * g_ih, lh.n, g_hh)
        if w.b_ih is not None:
            a = a + w.b_ih + w.b_hh
        H = c_prev.shape[-1]
        act = torch.sigmoid(a)
        i, f, o = act[:, :H], act[:, H:2 * H], act[:, 3 * H:]
        g = tanh(a[:, 2 * H:3 * H])
        m = self.candidate_mask
        c = torch.addcmul(f * c_prev, i, g if m is None else g * m)
        lc = norm(c)
        th = tanh(torch.addcmul(b_c, lc.n, g_c))
        h = o * th
        return (h, c), h_prev, LNLSTMCache(lx, lh, i, f, g, o, c_prev, lc, th)

    def step_backward(self, dstate: tuple, cache: LNLSTMCache, w: LayerWeights, grads: dict,
                      through_w):
        dh, dc_next = dstate
        lx, lh, i, f, g, o, c_prev, lc, th = cache
        g_ih, g_hh, g_c, _ = w.extra
        d_extra = grads["extra"]
        do = dh * th  # through h = o * th
        dy = dh * o * (1 - th * th)  # ... and through tanh, to LN(c) * g_c + b_c
        d_extra[2].add_((dy * lc.n).sum(0))
        d_extra[3].add_(dy.sum(0))
        dc = dc_next + norm_backward(dy * g_c, lc)  # through LN(c)
        da = gate_grads(dc, do, i, f, g, o, c_prev, self.candidate_mask)  # (B, 4H)
        if w.b_ih is not None:
            db = da.sum(0)
            grads["b_ih"].add_(db)
            grads["b_hh"].add_(db)
        d_extra[0].add_((da * lx.n).sum(0))
        d_extra[1].add_((da * lh.n).sum(0))
        dgx = norm_backward(da * g_ih, lx)  # through the input norm, to x W_ih^T
        dgh = norm_backward(da * g_hh, lh)  # through the recurrent norm, to h W_hh^T
        return dgx, dgh, (through_w(dgh), dc * f)
