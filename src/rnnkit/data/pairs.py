"""Parallel text: source/target pairs read from a TSV or from two aligned files, and batched.

A TSV has one pair per line, `source<TAB>target`; two aligned files have the source of pair i on
line i of one and its target on line i of the other. Every line must hold a non-empty source and
target: anything else stops with one error naming the file and the line. Files are UTF-8.

Batches (`PairBatches`) are length-bucketed: the pairs are shuffled (a generator seeded by the
epoch), cut into pools of 50 batches, each pool sorted by source length and cut into batches,
and the batches shuffled, so each batch pads little. A batch is
    src (B, S) int64, right-padded with 0;  src_lengths (B,);
    tgt (B, T) int64: BOS, the target ids, EOS, then 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.files import read_text
from rnnkit.data.seq_vocab import BOS_ID, EOS_ID
from rnnkit.errors import DataError

Pair = tuple[str, str]


def _lines(path: str | Path) -> list[str]:
    lines = read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    return [line.removesuffix("\r") for line in lines]


def read_tsv(path: str | Path) -> list[Pair]:
    """Pairs from a TSV file: each line `source<TAB>target`, both non-empty."""
    pairs = []
    for n, line in enumerate(_lines(path), 1):
        cols = line.split("\t")
        if len(cols) != 2:
            what = "an empty line" if not line else f"{len(cols)} column(s)"
            raise DataError(f"{path} line {n}: expected 2 tab-separated columns "
                            f"(source<TAB>target), got {what}")
        for name, col in zip(("source", "target"), cols, strict=True):
            if not col.strip():
                raise DataError(f"{path} line {n}: the {name} is empty")
        pairs.append((cols[0], cols[1]))
    if not pairs:
        raise DataError(f"{path}: no pairs (the file is empty)")
    return pairs


def read_aligned(source_path: str | Path, target_path: str | Path) -> list[Pair]:
    """Pairs from two files with one sentence a line, line i of one translating line i of the
    other."""
    src, tgt = _lines(source_path), _lines(target_path)
    if len(src) != len(tgt):
        raise DataError(f"{source_path} has {len(src)} lines but {target_path} has {len(tgt)}; "
                        "expected one target line per source line")
    for path, lines in ((source_path, src), (target_path, tgt)):
        for n, line in enumerate(lines, 1):
            if not line.strip():
                raise DataError(f"{path} line {n}: empty line; every line needs a sentence")
    if not src:
        raise DataError(f"{source_path}: no pairs (the file is empty)")
    return list(zip(src, tgt, strict=True))


def read_pairs(path: str, target_path: str = "") -> list[Pair]:
    """A TSV, or two aligned files when `target_path` is given."""
    return read_aligned(path, target_path) if target_path else read_tsv(path)


def pad(rows: Sequence[Sequence[int]]) -> torch.Tensor:
    """(B, max length) int64, right-padded with 0."""
    out = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r, dtype=torch.int64)
    return out


def make_batch(src: Sequence[Sequence[int]], tgt: Sequence[Sequence[int]] | None = None):
    """(src, src_lengths[, tgt]) tensors; sources need at least one id."""
    lengths = torch.tensor([len(s) for s in src], dtype=torch.int64)
    if bool((lengths < 1).any()):
        raise DataError("a source sentence encodes to no tokens; every source needs one")
    if tgt is None:
        return pad(src), lengths
    return pad(src), lengths, pad([[BOS_ID, *t, EOS_ID] for t in tgt])


class PairBatches:
    """Length-bucketed batches of encoded pairs, shuffled by a generator seeded with the epoch."""

    POOL = 50  # batches per sorting pool

    def __init__(self, src: list[list[int]], tgt: list[list[int]], batch_size: int,
                 seed: int = 0):
        if len(src) != len(tgt) or not src:
            raise DataError(f"pairs: expected as many targets as sources (>= 1), got "
                            f"{len(src)} and {len(tgt)}")
        self.src, self.tgt, self.batch_size, self.seed = src, tgt, batch_size, seed

    def epoch(self, epoch: int, rank: int = 0, world_size: int = 1) -> Iterator[tuple]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.src))
        pool = self.batch_size * self.POOL
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start:start + pool].tolist(), key=lambda i: len(self.src[i]))
            batches += [chunk[i:i + self.batch_size]
                        for i in range(0, len(chunk), self.batch_size)]
        rng.shuffle(batches)
        for idx in batches[rank::world_size]:
            yield make_batch([self.src[i] for i in idx], [self.tgt[i] for i in idx])
