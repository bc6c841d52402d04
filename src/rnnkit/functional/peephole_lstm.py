"""LSTM with peephole connections (Gers & Schmidhuber 2000, "Recurrent nets that time and
count"; Gers, Schraudolph & Schmidhuber 2002): the gates also see the cell, through a diagonal
(elementwise) weight. The input and forget gates see the previous cell, the output gate the new
one:

    a_i, a_f, a_g, a_o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)   gate order i, f, g, o
    i = sigmoid(a_i + w_ci * c_{t-1});  f = sigmoid(a_f + w_cf * c_{t-1});  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g
    o = sigmoid(a_o + w_co * c_t)
    h_t = o * tanh(c_t)

This is the form of TensorFlow's LSTMCell(use_peepholes=True) and of Graves 2013. Parameters:
torch.nn.LSTM's, then weight_ci, weight_cf, weight_co (H,), drawn as the others (uniform in
+-1/sqrt(H)). State (h, c). No projection, no torch kernel: lstm_variant_seq.py's compiled loop
runs it where it can, else the general loop of bptt.py (the specification).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh
from rnnkit.functional.bptt import LayerWeights, default_recurrent_weight_grad
from rnnkit.functional.lstm import VARIANT_KERNEL


class PeepholeCache(NamedTuple):
    i: Tensor  # (B, H) each, after their nonlinearities
    f: Tensor
    g: Tensor
    o: Tensor
    c_prev: Tensor
    c: Tensor
    tanh_c: Tensor


class PeepholeLSTMCellMath:
    gates = 4
    kernel = VARIANT_KERNEL  # lstm_variant_seq.py's compiled loop (unmasked), else bptt.py's
    loop_extras = "peephole"
    fold_bias_hh = True
    same_dgx_dgh = True
    recurrent_weight_grad = staticmethod(default_recurrent_weight_grad)
    candidate_mask = None  # (B, H) dropout on g (Semeniuta et al. 2016; regularise.py)

    def step_forward(self, gx_t: Tensor, state: tuple, w: LayerWeights, recurrent):
        h_prev, c_prev = state
        w_ci, w_cf, w_co = w.extra
        a = gx_t + recurrent(h_prev)  # (B, 4H)
        H = c_prev.shape[-1]
        i = torch.sigmoid(torch.addcmul(a[:, :H], w_ci, c_prev))
        f = torch.sigmoid(torch.addcmul(a[:, H:2 * H], w_cf, c_prev))
        g = tanh(a[:, 2 * H:3 * H])
        m = self.candidate_mask
        c = torch.addcmul(f * c_prev, i, g if m is None else g * m)
        o = torch.sigmoid(torch.addcmul(a[:, 3 * H:], w_co, c))
        tanh_c = tanh(c)
        return (o * tanh_c, c), h_prev, PeepholeCache(i, f, g, o, c_prev, c, tanh_c)

    def step_backward(self, dstate: tuple, cache: PeepholeCache, w: LayerWeights, grads: dict,
                      through_w):
        dh, dc_next = dstate
        i, f, g, o, c_prev, c, tanh_c = cache
        w_ci, w_cf, w_co = w.extra
        da_o = dh * tanh_c * o * (1 - o)  # through h = o tanh(c), then sigmoid
        # c reaches the loss through tanh(c), through the output gate's peephole and onwards
        dc = dc_next + dh * o * (1 - tanh_c * tanh_c) + da_o * w_co
        m = self.candidate_mask
        da_i = dc * (g if m is None else g * m) * i * (1 - i)  # through c = f c_prev + i g m
        da_f = dc * c_prev * f * (1 - f)
        da_g = dc * i * (1 - g * g) * (1 if m is None else m)  # ... and through tanh
        d_extra = grads["extra"]
        d_extra[0].add_((da_i * c_prev).sum(0))
        d_extra[1].add_((da_f * c_prev).sum(0))
        d_extra[2].add_((da_o * c).sum(0))
        da = torch.cat((da_i, da_f, da_g, da_o), dim=1)  # (B, 4H)
        dc_prev = dc * f + da_i * w_ci + da_f * w_cf  # the direct path and the two peepholes
        return da, da, (through_w(da), dc_prev)
