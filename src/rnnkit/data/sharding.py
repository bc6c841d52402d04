"""Cutting batches over DDP ranks and streams into truncated-BPTT chunks."""

from __future__ import annotations

from collections.abc import Iterator

import torch


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
