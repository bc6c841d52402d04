"""Buffers kept from call to call, and the chunks of steps that run in them.

Fresh memory costs a page fault per 4 KiB, and a tensor over 32 MiB is always fresh (glibc maps
it anew and unmaps it when freed). Here a fault took 1.8-3.2 us: a two-layer GRU at T = 200,
B = 64, H = 512 made ~170,000 of them per training step when its input projections and their
gradients were whole-sequence tensors, and its time rose with the cost of a fault (0.76-1.27x
torch.nn's depending on the process's history). So the compiled loops work a chunk of steps at a
time in buffers kept per thread (`scratch`): the inference loops (infer.py) and the training
path of the Elman RNN and the GRU (rnn_seq.py), where the same step makes ~51,000 faults.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import torch
from torch import Tensor

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


def chunks(T: int, steps: int, reverse: bool) -> Iterator[tuple[int, int]]:
    """(t0, t1) ranges of `steps` steps covering 0..T, in time order or reversed."""
    starts = range(0, T, steps)
    for t0 in (reversed(starts) if reverse else starts):
        yield t0, min(t0 + steps, T)
