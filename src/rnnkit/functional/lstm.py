"""LSTM (Hochreiter & Schmidhuber 1997, with forget gate), optional output projection (Sak 2014).

    i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)        gate order i, f, g, o
    i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);  g = tanh(g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)                       (then h_t = h_t W_hr^T if proj_size > 0)

Parameters as torch.nn.LSTM: W_ih (4H, I), W_hh (4H, P or H), b_ih, b_hh (4H,), W_hr (P, H).
State: (h (B, P or H), c (B, H)).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh
from rnnkit.functional.bptt import LayerWeights, default_recurrent_weight_grad

# The `kernel` of a step math that lstm_variant_seq.py's compiled loop runs: the LSTM-like cells
# with their `loop_extras` (None, "peephole" or "layer_norm"), and any of them with recurrent
# dropout or zoneout (regularise.py).
VARIANT_KERNEL = "lstm_variant"


class LSTMCache(NamedTuple):
    i: Tensor  # (B, H) each, after their nonlinearities
    f: Tensor
    g: Tensor
    o: Tensor
    c_prev: Tensor
    tanh_c: Tensor
    h_raw: Tensor | None  # o * tanh(c) before the projection, only with proj_size


class LSTMCellMath:
    gates = 4
    kernel = "lstm"  # the compiled loops of lstm_seq.py run it (unmasked, without projection)
    loop_extras = None  # in lstm_variant_seq.py's loop (with recurrent dropout or zoneout)
    fold_bias_hh = True
    same_dgx_dgh = True
    recurrent_weight_grad = staticmethod(default_recurrent_weight_grad)
    candidate_mask = None  # (B, H) dropout on g (Semeniuta et al. 2016; regularise.py)

    @staticmethod
    def state_sizes(w: LayerWeights) -> tuple[int, ...]:
        return (w.W_hh.shape[1], w.W_hh.shape[0] // 4)

    def step_forward(self, gx_t: Tensor, state: tuple, w: LayerWeights, recurrent):
        h_prev, c_prev = state
        gates = gx_t + recurrent(h_prev)  # (B, 4H); recurrent(h) = h W_hh^T
        H = c_prev.shape[-1]
        act = torch.sigmoid(gates)  # i, f, o used; the g slice is replaced by its tanh below
        i, f, o = act[:, :H], act[:, H:2 * H], act[:, 3 * H:]
        g = tanh(gates[:, 2 * H:3 * H])
        m = self.candidate_mask
        c = torch.addcmul(f * c_prev, i, g if m is None else g * m)
        tanh_c = tanh(c)
        h = o * tanh_c
        h_raw = None
        if w.W_hr is not None:
            h_raw, h = h, h @ w.W_hr.t()  # (B, P)
        return (h, c), h_prev, LSTMCache(i, f, g, o, c_prev, tanh_c, h_raw)

    def step_backward(self, dstate: tuple, cache: LSTMCache, w: LayerWeights, grads: dict,
                      through_w):
        dh, dc_next = dstate
        i, f, g, o, c_prev, tanh_c, h_raw = cache
        if h_raw is not None:
            grads["W_hr"].addmm_(dh.t(), h_raw)  # through the projection
            dh = dh @ w.W_hr
        do = dh * tanh_c  # through h = o * tanh(c)
        dc = torch.addcmul(dc_next, dh * o, 1 - tanh_c * tanh_c)  # ... and through tanh(c)
        da = gate_grads(dc, do, i, f, g, o, c_prev, self.candidate_mask)  # (B, 4H)
        dh_prev = through_w(da)  # through the recurrent matmul: da W_hh
        return da, da, (dh_prev, dc * f)


def gate_grads(dc: Tensor, do: Tensor, i: Tensor, f: Tensor, g: Tensor, o: Tensor,
               c_prev: Tensor, mask: Tensor | None) -> Tensor:
    """dL/d(gate pre-activations) (B, 4H), in torch's gate order i, f, g, o, from dL/dc and
    dL/do, for c = f c_prev + i (g m) with sigmoid i, f, o and tanh g (m: Semeniuta's candidate
    mask, or None). Shared by every LSTM-like cell whose gates enter the cell this way."""
    g_m = g if mask is None else g * mask
    dg = dc * i if mask is None else dc * i * mask
    return torch.cat((dc * g_m * i * (1 - i),  # through i, then sigmoid
                      dc * c_prev * f * (1 - f),  # through f
                      dg * (1 - g * g),  # through tanh
                      do * o * (1 - o)), dim=1)
