"""One layer's forward without grad: nothing is kept for a backward.

Where the compiled loops are built (compiled.py), the LSTM (lstm_infer_kernel.cpp's one-pass
step in float32 at batches that fill its vectors, else lstm_kernel.cpp), the Elman RNN and
torch's GRU (rnn_kernel.cpp) run in C++, unmasked and without projection; everything else runs
the general loop of bptt.py. The compiled paths compute the input projections a chunk of steps
at a time into a scratch buffer kept between calls (chunked.py), so neither a (T, B, G*H)
tensor nor fresh memory is made per call: fresh memory costs a page fault per 4 KiB (~15,000
per call at T = 200, B = 64, H = 256, a third of the time), and a chunk of 1 MiB is still in the
cache when the loop reads it. Each is tested equal to the forward of the training path
(tests/functional).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.functional import compiled, gru_variant_seq, lstm_seq, lstm_variant_seq, rnn_seq
from rnnkit.functional.bptt import (
    LayerWeights,
    input_projection_into,
    projection_bias,
    sequence_forward,
)
from rnnkit.functional.chunked import chunks, kept_loop_weight, scratch

_CHUNK_ELEMENTS = 1 << 18  # input projections per chunk: 1 MiB of float32
# The one-pass LSTM step computes whole vectors of batch elements (16 with AVX-512), so a batch
# of 17 costs as much as one of 32. It runs where at most a quarter of the lanes are padding:
# measured against the chunked loop (Intel, 1 thread, T = 50, H = 64-512), it was slower at
# B = 1-8, 17 and 20 and faster at B = 12 (5 of 6 measurements), 16, 24, 28, 40 and 48.
MAX_PADDING = 0.25


def sequence_infer(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None,
                   reverse: bool = False) -> tuple[Tensor, tuple]:
    """(out (T, B, H_out), final state) of one layer in one direction."""
    if lstm_seq.can_run(cell, mask, w)[0]:  # unmasked, no projection
        if compiled.available(x)[0]:
            return lstm_infer(cell, x, state0, w, reverse)
        out, state, _ = lstm_seq.lstm_sequence_forward(cell, x, state0, w, mask, reverse)
        return out, state
    kind = rnn_seq.kernel_kind(cell)
    if kind is not None and mask is None and compiled.available(x)[0]:
        return rnn_infer(cell, x, state0[0], w, reverse, kind)
    if lstm_variant_seq.can_run(cell, mask, w, x)[0]:  # the training loop's forward
        out, state, _ = lstm_variant_seq.lstm_variant_forward(cell, x, state0, w, None, reverse)
        return out, state
    if gru_variant_seq.can_run(cell, mask, w, x)[0]:
        out, state, _ = gru_variant_seq.ln_gru_forward(cell, x, state0, w, None, reverse)
        return out, state
    out, state, _ = sequence_forward(cell, x, state0, w, mask, reverse, packed=True)
    return out, state


def lstm_infer(cell, x: Tensor, state0: tuple, w: LayerWeights, reverse: bool = False):
    """The compiled LSTM: the one-pass step (lstm_infer_kernel.cpp) in float32 where the batch
    fills its vectors (one_pass_fits), else the loop over chunks (lstm_kernel.cpp) with the
    biases folded into A."""
    if x.dtype == torch.float32 and one_pass_fits(x.shape[1]):
        return lstm_one_pass(cell, x, state0, w, reverse)
    h, c = state0[0].contiguous(), state0[1].contiguous()
    T, B, H = x.shape[0], x.shape[1], c.shape[-1]
    K = max(1, min(T, _CHUNK_ELEMENTS // (B * 4 * H)))  # steps per chunk
    A, C, TC = scratch(x, K * B * 6 * H).split([K * B * 4 * H, K * B * H, K * B * H])
    out = x.new_empty(T, B, H)
    weight, packed = kept_loop_weight(w.W_hh, x)
    bias = projection_bias(cell, w)
    for t0, t1 in chunks(T, K, reverse):
        n = t1 - t0
        a = input_projection_into(A[:n * B * 4 * H].view(n, B, 4 * H), x[t0:t1], w, bias)
        Cn, TCn = C[:n * B * H].view(n, B, H), TC[:n * B * H].view(n, B, H)
        compiled.forward_loop(a, weight, packed, h, c, reverse, Cn, TCn, out[t0:t1])
        last = 0 if reverse else n - 1
        h, c = out[t0 + last], Cn[last].clone()
    return out, (h.clone(), c)


def one_pass_fits(batch: int) -> bool:
    """Whether lstm_one_pass runs a batch this size: built for AVX-512 (16 lanes; a build for
    8-lane vectors measured slower than the chunked loop: BENCHMARKS.md, "Kernel design
    measurements") and padding at most MAX_PADDING of its lanes."""
    lanes = compiled.infer_lanes()
    if lanes < 16:
        return False
    padded = -(-batch // lanes) * lanes
    return padded - batch <= MAX_PADDING * padded


def lstm_one_pass(cell, x: Tensor, state0: tuple, w: LayerWeights, reverse: bool = False):
    """lstm_infer_kernel.cpp: input projection, recurrent product and gates of a step in one
    pass over register tiles, the state kept transposed. The weights are packed into this
    thread's scratch at each call, so the scratch grows to the size of the largest layer's
    weights (4H (I + H) floats) and stays that size."""
    h, c = state0[0].contiguous(), state0[1].contiguous()
    T, B, I = x.shape
    H = c.shape[-1]
    x = x if x.stride(2) == 1 else x.contiguous()  # any (T, B) strides; unit stride over I
    work = scratch(x, compiled.infer_workspace(B, I, H))
    out, c_n = x.new_empty(T, B, H), x.new_empty(B, H)
    compiled.infer_loop(x, w.W_ih.contiguous(), w.W_hh.contiguous(), projection_bias(cell, w),
                        h, c, reverse, work, out, c_n)
    return out, (out[0 if reverse else T - 1].clone(), c_n)


def rnn_infer(cell, x: Tensor, h0: Tensor, w: LayerWeights, reverse: bool, kind: int):
    """The compiled Elman / GRU loop (rnn_kernel.cpp) over chunks of _CHUNK_ELEMENTS input
    projections."""
    T, B = x.shape[0], x.shape[1]
    out = x.new_empty(T, B, h0.shape[-1])
    steps = max(1, min(T, _CHUNK_ELEMENTS // (B * w.W_hh.shape[0])))
    h_last = rnn_seq.forward_chunks(cell, x, h0, w, reverse, kind, out, None, steps,
                                    kept_loop_weight(w.W_hh, x))
    return out, (h_last.clone(),)
