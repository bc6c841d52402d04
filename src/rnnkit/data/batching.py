"""Batches of variable-length sequences: padding with lengths, bucketing, class weights.

A batch is `(x, lengths)` with `x` batch-first `(B, T_max, ...)` padded with zeros past each row's
length, and `lengths` a 1-D int64 tensor -- what `rnnkit.LSTM(..., lengths=)` takes. Bucketing
groups sequences of similar length so that little of each batch is padding, while the order of
batches stays random.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rnnkit.errors import ConfigError, DataError


def pad_batch(seqs: Sequence, pad_value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack sequences `(T_i, *F)` (arrays or tensors, same dtype and trailing shape) into
    `(B, T_max, *F)` padded with `pad_value`, and their lengths `(B,)` int64."""
    if len(seqs) == 0:
        raise DataError("pad_batch: expected at least one sequence, got none")
    tensors = [torch.as_tensor(s) for s in seqs]
    lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.int64)
    if int(lengths.min()) < 1:
        i = int(torch.argmin(lengths))
        raise DataError(f"pad_batch: sequence {i} is empty; every sequence needs a step")
    tail = tensors[0].shape[1:]
    for i, t in enumerate(tensors):
        if t.shape[1:] != tail:
            raise DataError(f"pad_batch: sequence {i} has step shape {tuple(t.shape[1:])}, "
                            f"expected {tuple(tail)} like sequence 0")
    out = tensors[0].new_full((len(tensors), int(lengths.max()), *tail), pad_value)
    for i, t in enumerate(tensors):
        out[i, : t.shape[0]] = t
    return out, lengths


def length_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """(B, T) bool, True at real steps (t < length)."""
    max_len = int(lengths.max()) if max_len is None else max_len
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def bucket_batches(
    lengths: Sequence[int],
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    bucket: bool = True,
    pool: int = 50,
) -> list[list[int]]:
    """Index lists, one per batch, covering every item once.

    With `bucket`, items are shuffled, cut into pools of `pool * batch_size`, sorted by length
    inside each pool and cut into batches; the batches are then shuffled. Sorting within pools
    (not globally) keeps the batches random from epoch to epoch while padding stays small.
    `seed` fixes the order (pass e.g. base_seed + epoch for a fresh order each epoch).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"data.batch_size: expected a positive integer, got {batch_size!r}")
    n = len(lengths)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n) if shuffle else np.arange(n)
    lengths = np.asarray(lengths)
    if bucket:
        chunk = pool * batch_size
        parts = [order[i : i + chunk] for i in range(0, n, chunk)]
        order = np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in parts]) \
            if parts else order
    batches = [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def shard_batches(batches: list, rank: int, world_size: int) -> list:
    """This rank's share: every world_size-th batch, the same count on every rank (a rank that
    ran one more step than the others would hang a distributed all-reduce)."""
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank: expected 0 <= rank < world_size={world_size}, got {rank}")
    per_rank = len(batches) // world_size
    if per_rank == 0 and world_size > 1:
        raise DataError(f"{len(batches)} batch(es) cannot be shared by {world_size} ranks; "
                        "use a smaller data.batch_size")
    return batches[rank :: world_size][:per_rank] if world_size > 1 else list(batches)


def padding_fraction(batches: list[list[int]], lengths: Sequence[int]) -> float:
    """Share of padded steps over all batches (0 = no padding)."""
    lengths = np.asarray(lengths)
    real = sum(int(lengths[b].sum()) for b in batches)
    total = sum(int(lengths[b].max()) * len(b) for b in batches)
    return 1.0 - real / total if total else 0.0


def class_weights(labels: Sequence[int], n_classes: int) -> torch.Tensor:
    """'Balanced' weights n / (K * count_k) for a weighted cross-entropy: each class then
    contributes equally to the loss. A class absent from `labels` gets weight 0."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    if len(counts) > n_classes:
        raise DataError(f"class_weights: label {len(counts) - 1} >= n_classes={n_classes}")
    present = counts > 0
    weights = np.zeros(n_classes, dtype=np.float64)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)
