"""Elman RNN and GRU BPTT over a whole sequence, with the time loops compiled (rnn_kernel.cpp).

The same math as `rnn.py` / `gru.py` + `bptt.py` (the specification, which it is tested equal
to), for the unmasked Elman RNN and torch's GRU (reset gate after the product) where the
compiled loops are built; `can_run` says when. The forward keeps, per step, h_t (the output)
and for the GRU its gates r, z, n and hn = h_{t-1} W_hn^T + b_hn (T, B, 4H); the backward loop
returns dgx, the gradients of the input projections, and for the GRU dgh, those of the
recurrent products (they differ in the n block, which r multiplies); the weight gradients are
then products over many steps at once, as in bptt.py:

    dx = dgx W_ih;  dW_ih = dgx^T x;  dW_hh = dgh^T h_prev;  db_ih = sum dgx;  db_hh = sum dgh

Both directions run a chunk of steps at a time (chunked.py: why, and how long a chunk is), in
buffers kept per thread: the forward's input projections A, the backward's dgx and dgh, whose
products are summed chunk by chunk (`ChunkGrads`).
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from rnnkit.functional import compiled
from rnnkit.functional.bptt import LayerWeights, input_projection_into, projection_bias
from rnnkit.functional.chunked import (
    ChunkGrads,
    chunk_steps,
    chunks,
    kept_loop_weight,
    scratch,
    state_before,
)
from rnnkit.functional.matmul import loop_weight


class RNNSequenceCache(NamedTuple):
    x: Tensor  # (T, B, I)
    out: Tensor  # (T, B, H): h_t of every step
    h0: Tensor  # (B, H)
    gates: Tensor | None  # (T, B, 4H) GRU: r, z, n, hn
    reverse: bool
    kind: int  # rnn_kernel.cpp's kind


def kernel_kind(cell) -> int | None:
    """rnn_kernel.cpp's `kind` for this cell math, or None where it has no loop for it."""
    return compiled.RNN_KINDS.get(getattr(cell, "kernel", None))


def can_run(cell, mask, w: LayerWeights, x: Tensor) -> tuple[bool, str]:
    if kernel_kind(cell) is None:
        return False, "only the Elman RNN and torch's GRU (reset_after=True) have this path"
    if mask is not None:
        return False, "variable lengths go through the general loop"
    ok, reason = compiled.available(x)  # where not, says once that the Python loop runs
    if not ok:
        return False, reason
    return True, "unmasked Elman RNN or GRU, compiled loops built"


def forward_chunks(cell, x: Tensor, h0: Tensor, w: LayerWeights, reverse: bool, kind: int,
                   out: Tensor, gates: Tensor | None, steps: int, weight: tuple) -> Tensor:
    """The compiled forward loop over chunks of `steps` steps: per chunk, the input projections
    into a scratch buffer, then the loop. Writes out (T, B, H) and gates (T, B, 4H) if given;
    weight is chunked.kept_loop_weight(W_hh, x). Returns h of the last step in time (a view of
    out). The Elman RNN folds b_hh into A; the GRU's stays in the step (its n gate multiplies it
    by r)."""
    T, B = x.shape[0], x.shape[1]
    G = w.W_hh.shape[0]  # G*H: H (Elman) or 3H (GRU)
    bias = projection_bias(cell, w)
    b_hh = None if cell.fold_bias_hh or w.b_hh is None else w.b_hh.detach()
    A = scratch(x, steps * B * G)
    h = h0.contiguous()
    for t0, t1 in chunks(T, steps, reverse):
        n = t1 - t0
        a = input_projection_into(A[:n * B * G].view(n, B, G), x[t0:t1], w, bias)
        compiled.rnn_forward_loop(a, *weight, b_hh, h, reverse, kind, out[t0:t1],
                                  None if gates is None else gates[t0:t1])
        h = out[t0 if reverse else t1 - 1]
    return h


def rnn_sequence_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None,
                         reverse: bool = False):
    """(out (T, B, H), (h_T,), cache); T >= 1."""
    kind = kernel_kind(cell)
    h0 = state0[0].contiguous()
    T, B, H = x.shape[0], x.shape[1], h0.shape[-1]
    out = x.new_empty(T, B, H)
    gates = x.new_empty(T, B, 4 * H) if kind == compiled.RNN_KINDS["gru"] else None
    h_last = forward_chunks(cell, x, h0, w, reverse, kind, out, gates, chunk_steps(T, B),
                            kept_loop_weight(w.W_hh, x))
    return out, (h_last.clone(),), RNNSequenceCache(x, out, h0, gates, reverse, kind)


def rnn_sequence_backward(cell, d_out: Tensor, d_state_final: tuple, w: LayerWeights,
                          cache: RNNSequenceCache, dh_record: list | None = None):
    """(dx, (dh_0,), grads) as bptt.sequence_backward returns them. The chunks run against
    time; each hands its dh_0 to the one before it, as truncated BPTT's chunks do."""
    x, out, gates, reverse = cache.x, cache.out, cache.gates, cache.reverse
    T, B, H = out.shape
    G = w.W_hh.shape[0]
    steps = chunk_steps(T, B)
    work = scratch(x, steps * B * G * (1 if gates is None else 2))
    seen = x.new_empty(T, B, H) if dh_record is not None else None
    weight = loop_weight(w.W_hh.t(), B)  # d @ W_hh
    d_out = d_out.contiguous()
    sums = ChunkGrads(x, w.W_ih)
    dh = d_state_final[0].contiguous()
    for t0, t1 in chunks(T, steps, not reverse):
        n = t1 - t0
        dgx = work[:n * B * G].view(n, B, G)
        dgh = dgx if gates is None else work[n * B * G:2 * n * B * G].view(n, B, G)
        first = state_before(out, cache.h0, t0, t1, reverse)
        dh = compiled.rnn_backward_loop(
            d_out[t0:t1], dh, out[t0:t1], first, None if gates is None else gates[t0:t1],
            *weight, reverse, cache.kind, dgx, None if gates is None else dgh,
            None if seen is None else seen[t0:t1])
        sums.add(t0, t1, dgx, dgh, out[t0:t1], first, reverse)
    if dh_record is not None:
        dh_record.extend(seen.unbind(0))
    dx, grads = sums.result(w.b_ih is not None, w.b_hh is not None)
    return dx, (dh,), grads
