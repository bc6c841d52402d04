"""LSTM BPTT over a whole sequence with the per-step work cut to the recurrence itself.

The same math as `lstm.py` + `bptt.py` (the specification, which it is tested equal to), arranged
for speed on the CPU, where every torch op costs a dispatch and a pass over memory:

forward, per step (a few in-place ops; the recurrent weight is packed once, see matmul.py):
    A[t] = gx[t] + h_{t-1} W_hh^T;  i, f, o = sigmoid(A[t]); g = tanh(A[t])      A: (T, B, 4H)
    C[t] = f * c_{t-1} + i * g;  TC[t] = tanh(C[t]);  out[t] = o * TC[t]
backward, first for all steps at once (the factors that do not depend on the upstream gradient):
    gate_factors = [g i (1-i), c_{t-1} f (1-f), i (1-g^2), tanh_c o (1-o)]       (T, B, 4H)
    cell_factor = o (1 - tanh_c^2)                                               (T, B, H)
then per step (5 ops):
    dc = dc_next + dh * cell_factor[t]
    dA[t] = [dc, dc, dc, dh] * gate_factors[t]
    dc_next = dc * f[t];   dh = d_out[t-1] + dA[t] W_hh
Only for the unmasked LSTM without projection; `can_run` says when.

Both loops run in C++ (lstm_kernel.cpp through compiled.py: the same math, one product and one
pass over the step's elements per step) where the kernel is built, else in Python as below;
`LSTMSequenceCache.loop` says which ran. The two are tested equal. The compiled backward runs a
chunk of steps at a time, dA in a kept buffer and its products summed chunk by chunk
(chunked.py); the Python one makes dA for all steps, then one product each. The forward
without grad, which keeps no cache, is in infer.py.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.functional import compiled
from rnnkit.functional.activations import tanh_out
from rnnkit.functional.bptt import LayerWeights, input_projection, previous_steps
from rnnkit.functional.chunked import (
    ChunkGrads,
    chunk_steps,
    chunks,
    kept_loop_weight,
    scratch,
    state_before,
)
from rnnkit.functional.matmul import StepMatmul, loop_weight, mm, weight_grad


def can_run(cell, mask, w: LayerWeights) -> tuple[bool, str]:
    if getattr(cell, "kernel", None) != "lstm":
        return False, "only the LSTM has a whole-sequence path"
    if mask is not None:
        return False, "variable lengths go through the general loop"
    if w.W_hr is not None:
        return False, "the projection (proj_size) goes through the general loop"
    return True, "unmasked LSTM without projection"


class LSTMSequenceCache:
    __slots__ = ("x", "A", "C", "TC", "c0", "out", "h0", "reverse", "loop")

    def __init__(self, x, A, C, TC, c0, out, h0, reverse, loop):
        self.x, self.A, self.C, self.TC, self.c0 = x, A, C, TC, c0
        self.out, self.h0, self.reverse = out, h0, reverse
        self.loop = loop  # "compiled" or "python": which forward loop filled the cache


def lstm_sequence_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None,
                          reverse: bool = False):
    """(out (T, B, H), (h_T, c_T), cache) for the unmasked LSTM without projection; T >= 1."""
    if compiled.available(x)[0]:
        return _compiled_forward(cell, x, state0, w, reverse)
    return _python_forward(cell, x, state0, w, reverse)


def _compiled_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, reverse: bool):
    h, c = state0
    T, B, H = x.shape[0], x.shape[1], c.shape[-1]
    A = input_projection(cell, x, w).contiguous()  # (T, B, 4H); becomes i, f, g, o in place
    C, TC, out = x.new_empty(T, B, H), x.new_empty(T, B, H), x.new_empty(T, B, H)
    weight, packed = kept_loop_weight(w.W_hh, x)  # h @ W_hh^T
    compiled.forward_loop(A, weight, packed, h.contiguous(), c.contiguous(), reverse, C, TC, out)
    last = 0 if reverse else T - 1
    cache = LSTMSequenceCache(x, A, C, TC, c, out, h, reverse, "compiled")
    return out, (out[last].clone(), C[last].clone()), cache


def _python_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, reverse: bool):
    h, c = state0
    T, B, H = x.shape[0], x.shape[1], c.shape[-1]
    # The g gate's pre-activations are doubled up front (in A and in a copy of W_hh), so one
    # sigmoid covers all four gates: tanh(z) = 2 sigmoid(2z) - 1.
    A = input_projection(cell, x, w)  # (T, B, 4H); the recurrent term is added in place
    A[:, :, 2 * H:3 * H].mul_(2)
    W_hh = w.W_hh.detach().clone()
    W_hh[2 * H:3 * H].mul_(2)
    recurrent = StepMatmul(W_hh, B)  # h @ W_hh^T, the weight packed once for all steps
    C, TC, out = x.new_empty(T, B, H), x.new_empty(T, B, H), x.new_empty(T, B, H)
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        a = A[t].add_(recurrent(h)).sigmoid_()  # (B, 4H): i, f, o, and sigmoid(2 g_pre)
        g = a[:, 2 * H:3 * H].mul_(2).sub_(1)  # g = tanh(g_pre)
        c = torch.mul(a[:, H:2 * H], c, out=C[t]).addcmul_(a[:, :H], g)
        h = torch.mul(a[:, 3 * H:], tanh_out(c, TC[t]), out=out[t])
    cache = LSTMSequenceCache(x, A, C, TC, state0[1], out, state0[0], reverse, "python")
    return out, (h.clone(), c.clone()), cache


def lstm_sequence_backward(cell, d_out: Tensor, d_state_final: tuple, w: LayerWeights,
                           cache: LSTMSequenceCache, dh_record: list | None = None):
    """(dx, (dh_0, dc_0), grads) for lstm_sequence_forward's cache."""
    if cache.loop == "compiled":
        return _compiled_backward(d_out, d_state_final, w, cache, dh_record)
    dA, d_state0 = _python_backward(d_out, d_state_final, w, cache, dh_record)
    return _whole_sequence_grads(dA, d_state0, w, cache)


def _compiled_backward(d_out, d_state_final, w: LayerWeights, cache, dh_record):
    """The compiled loop a chunk of steps at a time against time (chunked.py), dA (n, B, 4H) in
    a kept buffer, its products summed chunk by chunk; each chunk hands (dh, dc) at its start to
    the one before it."""
    A, C, TC, out, reverse = cache.A, cache.C, cache.TC, cache.out, cache.reverse
    T, B, H = C.shape
    steps = chunk_steps(T, B)
    work = scratch(A, steps * B * 4 * H)
    seen = A.new_empty(T, B, H) if dh_record is not None else None
    weight = loop_weight(w.W_hh.t(), B)  # dA @ W_hh
    d_out = d_out.contiguous()
    dh, dc = d_state_final[0].contiguous(), d_state_final[1].contiguous()
    sums = ChunkGrads(cache.x, w.W_ih)
    for t0, t1 in chunks(T, steps, not reverse):
        n = t1 - t0
        dA = work[:n * B * 4 * H].view(n, B, 4 * H)
        c_first = state_before(C, cache.c0, t0, t1, reverse).contiguous()
        dh, dc = compiled.backward_loop(
            d_out[t0:t1], dh, dc, A[t0:t1], C[t0:t1], TC[t0:t1], c_first, *weight, reverse,
            dA, None if seen is None else seen[t0:t1])
        sums.add(t0, t1, dA, dA, out[t0:t1], state_before(out, cache.h0, t0, t1, reverse),
                 reverse)
    if dh_record is not None:
        dh_record.extend(seen.unbind(0))
    dx, grads = sums.result(w.b_ih is not None, w.b_hh is not None)
    return dx, (dh, dc), grads


def _python_backward(d_out, d_state_final, w: LayerWeights, cache, dh_record):
    A, TC, reverse = cache.A, cache.TC, cache.reverse
    T, B, H = A.shape[0], A.shape[1], TC.shape[-1]
    i, f, g, o = A.view(T, B, 4, H).unbind(2)  # (T, B, H) each, activated
    c_prev = previous_steps(cache.C, cache.c0, reverse)
    gate_factors = torch.empty_like(A).view(T, B, 4, H)
    torch.mul(g, i * (1 - i), out=gate_factors[:, :, 0])  # through c = f c_prev + i g, sigmoid
    torch.mul(c_prev, f * (1 - f), out=gate_factors[:, :, 1])
    torch.mul(i, 1 - g * g, out=gate_factors[:, :, 2])  # ... then tanh
    torch.mul(TC, o * (1 - o), out=gate_factors[:, :, 3])  # through h = o tanh(c), sigmoid
    cell_factor = o * (1 - TC * TC)  # (T, B, H) through tanh(c)
    dA = torch.empty_like(A)  # (T, B, 4H)
    dA4 = dA.view(T, B, 4, H)
    order = range(T) if reverse else range(T - 1, -1, -1)
    dh_final, dc = d_state_final
    last = order[0]
    dh = dh_final + d_out[last]
    through_w = StepMatmul(w.W_hh.t().contiguous(), B)  # dA @ W_hh, packed once
    seen = [None] * T
    for k, t in enumerate(order):
        seen[t] = dh
        dc = torch.addcmul(dc, dh, cell_factor[t])
        torch.mul(dc.unsqueeze(1), gate_factors[t, :, :3], out=dA4[t, :, :3])  # i, f, g
        torch.mul(dh, gate_factors[t, :, 3], out=dA4[t, :, 3])  # o
        dc = dc * f[t]
        nxt = order[k + 1] if k + 1 < T else None
        dh = through_w(dA[t])  # through the recurrent matmul
        if nxt is not None:
            dh = dh.add_(d_out[nxt])  # ... plus the output gradient of the step before
    if dh_record is not None:
        dh_record.extend(seen)
    return dA, (dh, dc)


def _whole_sequence_grads(dA: Tensor, d_state0: tuple, w: LayerWeights, cache):
    """dx and the weight gradients from dA (T, B, 4H) of the Python loop: one GEMM each over
    all steps."""
    x, reverse = cache.x, cache.reverse
    T, B, H4 = dA.shape
    flat = dA.view(T * B, H4)
    dx = mm(flat, w.W_ih).view_as(x)  # the three products over all steps at once
    h_prev = previous_steps(cache.out, cache.h0, reverse)
    db = flat.sum(0) if w.b_ih is not None else None
    grads = {
        "W_ih": weight_grad(flat, x.reshape(T * B, -1)),
        "W_hh": weight_grad(flat, h_prev.reshape(T * B, -1)),
        "b_ih": db,
        "b_hh": db,
        "W_hr": None,
    }
    return dx, d_state0, grads
