"""Truncated BPTT helpers: carried state across chunks of the same streams, cut from the graph.

char-rnn's scheme: B streams are cut into consecutive chunks of `chunk_len` steps; the state
after chunk k starts chunk k+1 (so memory crosses chunks), but it is detached at the boundary
(so gradients, and the autograd graph kept for them, stop there and memory stays flat however
long the stream).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch


def detach_state(state: Any) -> Any:
    """The same structure with every tensor detached (tensors, tuples, named tuples, lists,
    dicts and None)."""
    if state is None:
        return None
    if torch.is_tensor(state):
        return state.detach()
    if isinstance(state, tuple) and hasattr(state, "_fields"):  # a named tuple, e.g. LSTMState
        return type(state)(*(detach_state(s) for s in state))
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


def shard_rows(n_rows: int, rank: int, world_size: int) -> slice:
    """Rows of a global batch that belong to `rank`: a contiguous block, equal sizes.

    The global batch must divide by the world size, so every rank averages its loss over the
    same number of rows and DDP's mean of gradients equals the single-process gradient.
    """
    if n_rows % world_size:
        raise ValueError(f"batch of {n_rows} rows does not divide over {world_size} processes; "
                         "choose a batch size that is a multiple of the number of processes")
    per = n_rows // world_size
    return slice(rank * per, (rank + 1) * per)


def stream_chunks(streams: torch.Tensor, chunk_len: int) -> Iterator[torch.Tensor]:
    """Consecutive chunks `(B, chunk_len, ...)` of `streams` `(B, L, ...)` along time.

    A final partial chunk is kept (shorter), so no step of the stream is dropped.
    """
    if chunk_len < 1:
        raise ValueError(f"chunk_len must be >= 1, got {chunk_len}")
    for start in range(0, streams.shape[1], chunk_len):
        yield streams[:, start:start + chunk_len]
