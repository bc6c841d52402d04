"""Elman RNN and GRU BPTT over a whole sequence, with the time loops compiled (rnn_kernel.cpp).

The same math as `rnn.py` / `gru.py` + `bptt.py` (the specification, which it is tested equal
to), for the unmasked Elman RNN and torch's GRU (reset gate after the product) where the
compiled loops are built; `can_run` says when. The forward keeps, per step, h_t (the output)
and for the GRU its gates r, z, n and hn = h_{t-1} W_hn^T + b_hn (T, B, 4H); the backward loop
returns dgx (T, B, G*H), the gradients of the input projections, and for the GRU dgh, those of
the recurrent products (they differ in the n block, which r multiplies); the weight gradients
of all steps are then one GEMM each, as in bptt.py:

    dx = dgx W_ih;  dW_ih = dgx^T x;  dW_hh = dgh^T h_prev;  db_ih = sum dgx;  db_hh = sum dgh
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from rnnkit.functional import compiled
from rnnkit.functional.bptt import LayerWeights, input_projection, previous_steps
from rnnkit.functional.matmul import loop_weight, mm, weight_grad


class RNNSequenceCache(NamedTuple):
    x: Tensor  # (T, B, I)
    out: Tensor  # (T, B, H): h_t of every step
    h0: Tensor  # (B, H)
    gates: Tensor | None  # (T, B, 4H) GRU: r, z, n, hn
    reverse: bool
    kind: int  # rnn_kernel.cpp's kind


def kernel_kind(cell) -> int | None:
    """rnn_kernel.cpp's `kind` for this cell math, or None where it has no loop for it."""
    name = type(cell).__name__
    if name == "ElmanCell":
        return compiled.RNN_KINDS[cell.nonlinearity]
    if name == "GRUCellMath" and cell.reset_after:
        return compiled.RNN_KINDS["gru"]
    return None


def can_run(cell, mask, w: LayerWeights, x: Tensor) -> tuple[bool, str]:
    if kernel_kind(cell) is None:
        return False, "only the Elman RNN and torch's GRU (reset_after=True) have this path"
    if mask is not None:
        return False, "variable lengths go through the general loop"
    ok, reason = compiled.available(x)  # where not, says once that the Python loop runs
    if not ok:
        return False, reason
    return True, "unmasked Elman RNN or GRU, compiled loops built"


def rnn_sequence_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None,
                         reverse: bool = False):
    """(out (T, B, H), (h_T,), cache); T >= 1."""
    kind = kernel_kind(cell)
    gru = kind == compiled.RNN_KINDS["gru"]
    h0 = state0[0].contiguous()
    T, B, H = x.shape[0], x.shape[1], h0.shape[-1]
    A = input_projection(cell, x, w).contiguous()  # (T, B, G*H); the Elman's folds b_hh
    out = x.new_empty(T, B, H)
    gates = x.new_empty(T, B, 4 * H) if gru else None
    weight, packed = loop_weight(w.W_hh, B)  # h @ W_hh^T
    b_hh = w.b_hh.detach() if gru and w.b_hh is not None else None
    compiled.rnn_forward_loop(A, weight, packed, b_hh, h0, reverse, kind, out, gates)
    last = 0 if reverse else T - 1
    return out, (out[last].clone(),), RNNSequenceCache(x, out, h0, gates, reverse, kind)


def rnn_sequence_backward(cell, d_out: Tensor, d_state_final: tuple, w: LayerWeights,
                          cache: RNNSequenceCache, dh_record: list | None = None):
    """(dx, (dh_0,), grads) as bptt.sequence_backward returns them."""
    x, out, reverse = cache.x, cache.out, cache.reverse
    T, B, H = out.shape
    gru = cache.gates is not None
    G_H = w.W_hh.shape[0]
    dgx = x.new_empty(T, B, G_H)
    dgh = x.new_empty(T, B, G_H) if gru else None
    seen = x.new_empty(T, B, H) if dh_record is not None else None
    weight, packed = loop_weight(w.W_hh.t(), B)  # d @ W_hh
    dh0 = compiled.rnn_backward_loop(d_out.contiguous(), d_state_final[0].contiguous(), out,
                                     cache.h0, cache.gates, weight, packed, reverse, cache.kind,
                                     dgx, dgh, seen)
    if dh_record is not None:
        dh_record.extend(seen.unbind(0))
    dgh = dgx if dgh is None else dgh
    flat_dgx, flat_dgh = dgx.view(T * B, G_H), dgh.view(T * B, G_H)
    h_prev = previous_steps(out, cache.h0, reverse)
    db_ih = flat_dgx.sum(0)
    grads = {
        "W_ih": weight_grad(flat_dgx, x.reshape(T * B, -1)),
        "W_hh": weight_grad(flat_dgh, h_prev.reshape(T * B, H)),
        "b_ih": None if w.b_ih is None else db_ih,
        "b_hh": None if w.b_hh is None else (flat_dgh.sum(0) if gru else db_ih),
        "W_hr": None,
    }
    return mm(flat_dgx, w.W_ih).view_as(x), (dh0,), grads
