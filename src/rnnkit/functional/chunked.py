"""Chunks of steps, the buffers kept from call to call that they run in, and the gradient sums
of a backward that runs chunk by chunk.

Fresh memory costs a page fault per 4 KiB, and a tensor over 32 MiB is always fresh (glibc maps
it anew and unmaps it when freed). A large training step whose input projections and their
gradients were whole-sequence tensors made several times the faults of one that reuses its
memory, and its time against torch.nn's swung with the cost of a fault. So the compiled loops
work a chunk of steps at a time in buffers kept per thread (`scratch`): the inference loops
(infer.py), and the training paths of the Elman RNN, the GRU (rnn_seq.py) and the LSTM's
backward (lstm_seq.py), where a chunk is CHUNK_ROWS rows (steps x batch), enough rows for the
products to run about as fast as over the whole sequence. The memory these temporaries take no
longer grows with T. Faults, times and memory: BENCHMARKS.md, "Training step: page faults and
memory" and "Kernel design measurements".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import torch
from torch import Tensor

from rnnkit.functional import compiled
from rnnkit.functional.matmul import add_weight_grad, loop_weight, mm_into

CHUNK_ROWS = 1024  # rows (steps x batch) per chunk of a training path; see the docstring
_SCRATCH = threading.local()


def scratch(like: Tensor, numel: int, slot: str = "work") -> Tensor:
    """A flat buffer of at least `numel` elements of like's dtype, this thread's own for this
    slot ("work": a loop's chunks or workspace; "weight": W_hh^T), reused from call to call (its
    contents are overwritten by every user, so nothing returned may be a view of it). It grows to
    the largest size asked for and stays that size. It is made a normal tensor even under
    torch.inference_mode, as torch forbids writing into an inference tensor outside that mode
    and the next call may be a training step."""
    buffers = _SCRATCH.__dict__.setdefault("buffers", {})
    buf = buffers.get((slot, like.dtype))
    if buf is None or buf.numel() < numel:
        with torch.inference_mode(False):
            buf = buffers[(slot, like.dtype)] = like.new_empty(numel)
    return buf[:numel]


# The most elements a whole-sequence temporary may keep in this thread's buffer (`kept_or_fresh`):
# 64 MiB of float32, so one very long sequence does not pin its size for the process's life.
MAX_KEPT = 1 << 24


def kept_or_fresh(like: Tensor, numel: int) -> Tensor:
    """A flat work buffer of `numel` elements: this thread's kept "work" buffer (`scratch`, no
    page faults) up to MAX_KEPT elements, a fresh tensor above (freed after use)."""
    return scratch(like, numel) if numel <= MAX_KEPT else like.new_empty(numel)


def kept_loop_weight(W: Tensor, like: Tensor) -> tuple[Tensor, bool]:
    """matmul.loop_weight(W, B) for a compiled loop over like (T, B, .): where BLAS takes W^T,
    it is written into this thread's "weight" buffer by the kernels' blocked transpose, faster
    than torch's copy into the same buffer, which at batch 1 was a large share of a short
    sequence's inference (BENCHMARKS.md, "Kernel design measurements")."""
    return loop_weight(W, like.shape[1], out=scratch(like, W.numel(), "weight"),
                       transpose_into=compiled.transpose_into)


def chunks(T: int, steps: int, reverse: bool) -> Iterator[tuple[int, int]]:
    """(t0, t1) ranges of `steps` steps covering 0..T, in time order or reversed."""
    starts = range(0, T, steps)
    for t0 in (reversed(starts) if reverse else starts):
        yield t0, min(t0 + steps, T)


def chunk_steps(T: int, B: int) -> int:
    """Steps per chunk of a training path: CHUNK_ROWS rows, at least one step, at most T."""
    return max(1, min(T, -(-CHUNK_ROWS // B)))


def state_before(seq: Tensor, first: Tensor, t0: int, t1: int, reverse: bool) -> Tensor:
    """The state (B, H) before the chunk t0..t1's first step in time: seq's step before it, or
    `first` (the initial state) where the chunk starts the sequence."""
    before = t1 if reverse else t0 - 1
    return first if before < 0 or before >= seq.shape[0] else seq[before]


class ChunkGrads:
    """dx and the weight gradients of a layer whose backward runs a chunk of steps at a time.
    Per chunk, from the gradients of its input projections dgx (n, B, G) and of its recurrent
    products dgh (the same tensor where they are equal, as in the LSTM and the Elman RNN):

        dx = dgx W_ih;  dW_ih += dgx^T x;  dW_hh += dgh^T h_prev;  db_ih += sum dgx;
        db_hh += sum dgh

    The weight gradients are summed transposed (matmul.add_weight_grad), the first chunk's
    products written without a zeroed buffer, and turned the right way round at the end by the
    kernels' blocked transpose: at batch 1 zeroing and torch's transposed copy were a visible
    share of a short sequence's training step (BENCHMARKS.md, "Kernel design measurements")."""

    def __init__(self, x: Tensor, W_ih: Tensor):
        self.x, self.W_ih = x, W_ih
        self.dx = x.new_empty(x.shape)
        self.dW_ih_t = self.dW_hh_t = None  # (I, G), (H, G) once the first chunk is in
        self.db_ih, self.db_hh = x.new_zeros(W_ih.shape[0]), None

    def add(self, t0: int, t1: int, dgx: Tensor, dgh: Tensor, out: Tensor, first: Tensor,
            reverse: bool) -> None:
        """The chunk t0..t1: out (n, B, H) its outputs, first (B, H) the state before it
        (`state_before`): h_prev of its first step in time; the others' are its own outputs."""
        n, B, G = dgx.shape
        flat = dgx.view(n * B, G)
        mm_into(self.dx[t0:t1].view(n * B, -1), flat, self.W_ih)
        self.dW_ih_t = add_weight_grad(self.dW_ih_t, flat, self.x[t0:t1].reshape(n * B, -1))
        self.db_ih += flat.sum(0)
        if dgh is not dgx:
            sums = dgh.view(n * B, G).sum(0)
            self.db_hh = sums if self.db_hh is None else self.db_hh.add_(sums)
        self.dW_hh_t = add_weight_grad(self.dW_hh_t, dgh[n - 1 if reverse else 0], first)
        if n > 1:  # two products, so no h_prev is copied together
            rest, prev = (dgh[:-1], out[1:]) if reverse else (dgh[1:], out[:-1])
            self.dW_hh_t = add_weight_grad(self.dW_hh_t, rest.reshape((n - 1) * B, G),
                                           prev.reshape((n - 1) * B, -1))

    def result(self, has_b_ih: bool, has_b_hh: bool) -> tuple[Tensor, dict]:
        """(dx, grads as bptt.sequence_backward returns them)."""
        db_hh = self.db_ih if self.db_hh is None else self.db_hh
        return self.dx, {
            "W_ih": _transposed(self.dW_ih_t),
            "W_hh": _transposed(self.dW_hh_t),
            "b_ih": self.db_ih if has_b_ih else None,
            "b_hh": db_hh if has_b_hh else None,
            "W_hr": None,
        }


def _transposed(t: Tensor) -> Tensor:
    """t^T, contiguous, by the kernels' blocked transpose (the callers run compiled loops)."""
    out = t.new_empty(t.shape[1], t.shape[0])
    compiled.transpose_into(t.contiguous(), out)
    return out
