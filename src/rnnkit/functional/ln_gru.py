"""Layer-normalised GRU (Ba, Kiros & Hinton 2016), with the placement of haste's LayerNormGRU:
the input and the recurrent pre-activations are normalised separately, each over all 3H gate
units, then the GRU of torch.nn (reset gate after the product) runs on them. A GRU has no cell,
so there is no third norm.

    a_x = LN(x_t W_ih^T) * ln_ih_weight + b_ih                           gate order r, z, n
    a_h = LN(h_{t-1} W_hh^T) * ln_hh_weight + b_hh
    r = sigmoid(a_x,r + a_h,r);  z = sigmoid(a_x,z + a_h,z)
    n = tanh(a_x,n + r * a_h,n)
    h_t = (1 - z) * n + z * h_{t-1}

LN as in ln_lstm.py (over the last dimension, eps 1e-5). Parameters: torch.nn.GRU's W_ih (3H, I),
W_hh (3H, H), b_ih, b_hh (3H,), then ln_ih_weight, ln_hh_weight (3H,) starting at 1. No torch
kernel: gru_variant_seq.py's compiled loop runs it where it can, else the general loop of bptt.py
(the specification).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh
from rnnkit.functional.bptt import LayerWeights, default_recurrent_weight_grad
from rnnkit.functional.gru import LN_GRU_KERNEL
from rnnkit.functional.ln_lstm import Norm, norm, norm_backward


class LNGRUCache(NamedTuple):
    x: Norm  # (B, 3H) the input part x W_ih^T and its norm
    h: Norm  # (B, 3H) the recurrent part h W_hh^T and its norm
    r: Tensor  # (B, H) each
    z: Tensor
    n: Tensor
    h_prev: Tensor
    hn: Tensor  # (B, H) a_h,n: what r multiplies


class LNGRUCellMath:
    gates = 3
    kernel = LN_GRU_KERNEL  # gru_variant_seq.py's compiled loop (unmasked), else bptt.py's
    fold_bias_hh = False
    owns_biases = True  # b_ih, b_hh are added after the norms, in the step
    same_dgx_dgh = False
    recurrent_weight_grad = staticmethod(default_recurrent_weight_grad)
    candidate_mask = None  # (B, H) dropout on n (Semeniuta et al. 2016; regularise.py)

    def step_forward(self, gx_t: Tensor, state: tuple, w: LayerWeights, recurrent):
        (h_prev,) = state
        g_ih, g_hh = w.extra
        H = h_prev.shape[-1]
        lx = norm(gx_t)  # gx_t = x_t W_ih^T, no bias (owns_biases)
        lh = norm(recurrent(h_prev))  # h W_hh^T
        ax, ah = lx.n * g_ih, lh.n * g_hh  # (B, 3H)
        if w.b_ih is not None:
            ax, ah = ax + w.b_ih, ah + w.b_hh
        rz = torch.sigmoid(ax[:, :2 * H] + ah[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        hn = ah[:, 2 * H:]
        n = tanh(torch.addcmul(ax[:, 2 * H:], r, hn))
        m = self.candidate_mask
        h = torch.lerp(n if m is None else n * m, h_prev, z)  # (1 - z) n + z h_prev
        return (h,), h_prev, LNGRUCache(lx, lh, r, z, n, h_prev, hn)

    def step_backward(self, dstate: tuple, cache: LNGRUCache, w: LayerWeights, grads: dict,
                      through_w):
        (dh,) = dstate
        lx, lh, r, z, n, h_prev, hn = cache
        g_ih, g_hh = w.extra
        m = self.candidate_mask
        dz = dh * (h_prev - (n if m is None else n * m))  # through the interpolation
        da_n = dh * (1 - z) * (1 - n * n)  # ... and through tanh
        if m is not None:
            da_n = da_n * m
        da_r = da_n * hn * r * (1 - r)  # through r * a_h,n, then sigmoid
        da_z = dz * z * (1 - z)
        dax = torch.cat((da_r, da_z, da_n), dim=1)  # (B, 3H) dL/da_x
        dah = torch.cat((da_r, da_z, da_n * r), dim=1)  # dL/da_h
        if w.b_ih is not None:
            grads["b_ih"].add_(dax.sum(0))
            grads["b_hh"].add_(dah.sum(0))
        grads["extra"][0].add_((dax * lx.n).sum(0))
        grads["extra"][1].add_((dah * lh.n).sum(0))
        dgx = norm_backward(dax * g_ih, lx)  # through the input norm, to x W_ih^T
        dgh = norm_backward(dah * g_hh, lh)  # through the recurrent norm, to h W_hh^T
        return dgx, dgh, (through_w(dgh).add_(dh * z),)  # the product + the direct path
