"""LSTM BPTT over a whole sequence with the per-step work cut to the recurrence itself.

The same math as `lstm.py` + `bptt.py` (the specification, which it is tested equal to), arranged
for speed on the CPU, where every torch op costs a dispatch and a pass over memory:

forward, per step (7 in-place ops, no allocation):
    A[t] = gx[t] + h_{t-1} W_hh^T;  i, f, o = sigmoid(A[t]); g = tanh(A[t])      A: (T, B, 4H)
    C[t] = f * c_{t-1} + i * g;  TC[t] = tanh(C[t]);  out[t] = o * TC[t]
backward, first for all steps at once (the factors that do not depend on the upstream gradient):
    K = [g i (1-i), c_{t-1} f (1-f), i (1-g^2), tanh_c o (1-o)]                  (T, B, 4H)
    K1 = o (1 - tanh_c^2)                                                        (T, B, H)
then per step (5 ops):
    dc = dc_next + dh * K1[t]
    dA[t] = [dc, dc, dc, dh] * K[t]
    dc_next = dc * f[t];   dh = d_out[t-1] + dA[t] W_hh
Only for the unmasked LSTM without projection; `can_run` says when.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh_, tanh_out
from rnnkit.functional.bptt import LayerWeights, input_projection


def can_run(cell, mask, w: LayerWeights) -> tuple[bool, str]:
    if type(cell).__name__ != "LSTMCellMath":
        return False, "only the LSTM has a whole-sequence path"
    if mask is not None:
        return False, "variable lengths go through the general loop"
    if w.W_hr is not None:
        return False, "the projection (proj_size) goes through the general loop"
    return True, "unmasked LSTM without projection"


class LSTMSequenceCache:
    __slots__ = ("x", "A", "C", "TC", "c0", "out", "h0", "reverse")

    def __init__(self, x, A, C, TC, c0, out, h0, reverse):
        self.x, self.A, self.C, self.TC, self.c0 = x, A, C, TC, c0
        self.out, self.h0, self.reverse = out, h0, reverse


def lstm_sequence_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None,
                          reverse: bool = False):
    """(out (T, B, H), (h_T, c_T), cache) for the unmasked LSTM without projection; T >= 1."""
    h, c = state0
    T, B, H = x.shape[0], x.shape[1], c.shape[-1]
    A = input_projection(cell, x, w)  # (T, B, 4H), then the recurrent term is added in place
    C, TC, out = x.new_empty(T, B, H), x.new_empty(T, B, H), x.new_empty(T, B, H)
    W_hh_t = w.W_hh.t()
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        a = A[t].addmm_(h, W_hh_t)  # (B, 4H) pre-activations
        tanh_(a[:, 2 * H:3 * H])  # g
        a[:, :2 * H].sigmoid_()  # i, f
        a[:, 3 * H:].sigmoid_()  # o
        c = torch.mul(a[:, H:2 * H], c, out=C[t]).addcmul_(a[:, :H], a[:, 2 * H:3 * H])
        h = torch.mul(a[:, 3 * H:], tanh_out(c, TC[t]), out=out[t])
    cache = LSTMSequenceCache(x, A, C, TC, state0[1], out, state0[0], reverse)
    return out, (h.clone(), c.clone()), cache


def _shift(seq: Tensor, first: Tensor, reverse: bool) -> Tensor:
    """The previous step's value for every step: (first, seq[0..T-2]), or mirrored for reverse."""
    if reverse:
        return torch.cat((seq[1:], first.unsqueeze(0)))
    return torch.cat((first.unsqueeze(0), seq[:-1]))


def lstm_sequence_backward(cell, d_out: Tensor, d_state_final: tuple, w: LayerWeights,
                           cache: LSTMSequenceCache, dh_record: list | None = None):
    """(dx, (dh_0, dc_0), grads) for lstm_sequence_forward's cache."""
    x, A, TC, reverse = cache.x, cache.A, cache.TC, cache.reverse
    T, B, H = A.shape[0], A.shape[1], TC.shape[-1]
    i, f, g, o = A.view(T, B, 4, H).unbind(2)  # (T, B, H) each, activated
    c_prev = _shift(cache.C, cache.c0, reverse)
    K = torch.empty_like(A).view(T, B, 4, H)
    torch.mul(g, i * (1 - i), out=K[:, :, 0])  # through c = f c_prev + i g, then sigmoid
    torch.mul(c_prev, f * (1 - f), out=K[:, :, 1])
    torch.mul(i, 1 - g * g, out=K[:, :, 2])  # ... then tanh
    torch.mul(TC, o * (1 - o), out=K[:, :, 3])  # through h = o tanh(c), then sigmoid
    K1 = o * (1 - TC * TC)  # (T, B, H) through tanh(c)
    dA = torch.empty_like(A)  # (T, B, 4H)
    dA4 = dA.view(T, B, 4, H)
    order = range(T) if reverse else range(T - 1, -1, -1)
    dh_final, dc = d_state_final
    last = order[0]
    dh = dh_final + d_out[last]
    seen = [None] * T
    for k, t in enumerate(order):
        seen[t] = dh
        dc = torch.addcmul(dc, dh, K1[t])
        torch.mul(dc.unsqueeze(1), K[t, :, :3], out=dA4[t, :, :3])  # i, f, g
        torch.mul(dh, K[t, :, 3], out=dA4[t, :, 3])  # o
        dc = dc * f[t]
        nxt = order[k + 1] if k + 1 < T else None
        dh = torch.addmm(d_out[nxt], dA[t], w.W_hh) if nxt is not None else dA[t] @ w.W_hh
    if dh_record is not None:
        dh_record.extend(seen)
    flat = dA.view(T * B, 4 * H)
    dx = (flat @ w.W_ih).view_as(x)
    h_prev = _shift(cache.out, cache.h0, reverse)
    db = flat.sum(0) if w.b_ih is not None else None
    grads = {
        "W_ih": flat.t() @ x.reshape(T * B, -1),
        "W_hh": flat.t() @ h_prev.reshape(T * B, -1),
        "b_ih": db,
        "b_hh": db,
        "W_hr": None,
    }
    return dx, (dh, dc), grads
