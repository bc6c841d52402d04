"""Parallel token streams for truncated BPTT.

A token array of N tokens is cut into `world_size * B` contiguous streams of L tokens each
(L = (N - 1) // (world_size * B); the last few tokens that do not fill a stream are dropped). Rank r
owns streams r*B .. r*B + B - 1. Each stream is read in consecutive chunks of T tokens, so row b of
chunk k+1 continues row b of chunk k and the recurrent state carries over:

    stream s = tokens[s*L : s*L + L + 1]          # one extra token: the last target
    chunk  k = inputs  stream[:, k*T     : k*T + T]       (B, T)
               targets stream[:, k*T + 1 : k*T + T + 1]   (B, T)

The last chunk is shorter when T does not divide L. Together, the chunks of all ranks predict every
token of tokens[1 : world_size*B*L + 1] exactly once. `position` (the next chunk) makes a partly
read epoch resumable: `state_dict()` / `load_state_dict()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch

from rnnkit.errors import ConfigError, DataError


class Chunk(NamedTuple):
    inputs: torch.Tensor  # (B, T) int64
    targets: torch.Tensor  # (B, T) int64, inputs shifted by one token


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


class TokenStreams:
    """B contiguous streams of `tokens` for one rank, read in chunks of `seq_len`."""

    def __init__(self, tokens, batch_size: int, seq_len: int, rank: int = 0, world_size: int = 1):
        self.batch_size = _positive_int("batch_size", batch_size)
        self.seq_len = _positive_int("seq_len", seq_len)
        world_size = _positive_int("world_size", world_size)
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
            raise ConfigError(f"rank: expected an integer in [0, {world_size}), got {rank!r}")
        tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.int64).reshape(-1)
        n_streams = world_size * self.batch_size
        self.stream_len = (tokens.numel() - 1) // n_streams  # L: targets per stream
        if self.stream_len < 1:
            raise DataError(
                f"{tokens.numel()} tokens cannot fill {n_streams} streams (batch_size "
                f"{self.batch_size} x world_size {world_size}); need at least {n_streams + 1}"
            )
        L = self.stream_len
        # (B, L + 1) view, no copy: row b is tokens[s*L : s*L + L + 1] of stream s = rank*B + b.
        tokens = tokens.contiguous()
        self.streams = tokens.as_strided(
            (self.batch_size, L + 1), (L, 1), tokens.storage_offset() + rank * self.batch_size * L
        )
        self.position = 0

    def __len__(self) -> int:
        return -(-self.stream_len // self.seq_len)  # chunks per epoch, the last one maybe shorter

    def chunk(self, k: int) -> Chunk:
        if not 0 <= k < len(self):
            raise IndexError(f"chunk {k} out of range [0, {len(self)})")
        lo = k * self.seq_len
        hi = min(lo + self.seq_len, self.stream_len)
        return Chunk(self.streams[:, lo:hi], self.streams[:, lo + 1 : hi + 1])

    def __iter__(self) -> Iterator[Chunk]:
        """Chunks from `position` to the end; `position` advances as they are taken."""
        while self.position < len(self):
            k = self.position
            self.position += 1
            yield self.chunk(k)

    def reset(self) -> None:
        self.position = 0

    def state_dict(self) -> dict:
        return {"position": self.position}

    def load_state_dict(self, state: dict) -> None:
        position = state.get("position")
        if not isinstance(position, int) or not 0 <= position <= len(self):
            raise DataError(
                f"streams position: expected an integer in [0, {len(self)}], got {position!r}"
            )
        self.position = position
