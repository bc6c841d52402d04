"""What the DNA tasks share: the `dna.*` settings (embedding, strands) and reverse-complement
augmentation of a padded batch of base ids.

Strands (`dna.strands`):
- `forward`: sequences are read as given;
- `augment`: during training each sequence is replaced by its reverse complement with
  probability 1/2 (drawn from (data.seed, epoch, batch): the same on a resumed run), per-step
  targets reversed with it and their strand tags swapped;
- `average`: the model reads both strands and averages their logits, in training and in
  prediction (twice the compute), so a sequence and its reverse complement get the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from rnnkit.models.dna import DnaModelConfig, reverse_complement, reverse_steps


@dataclass
class DnaConfig:
    embedding: Literal["onehot", "kmer"] = "onehot"  # DNA data: one-hot bases or k-mer vectors
    k: int = 3  # DNA data, embedding=kmer: bases per k-mer (centred on each step)
    embed_dim: int = 32  # DNA data, embedding=kmer: width of a k-mer vector
    # DNA data: read as given, reverse-complement half of the training sequences, or average
    # the logits of both strands
    strands: Literal["forward", "augment", "average"] = "forward"

    def model_config(self) -> DnaModelConfig:
        return DnaModelConfig(self.embedding, self.k, self.embed_dim, self.strands)


def augment_strands(batch: dict, rng: np.random.Generator, swap: list[int] | None = None) -> dict:
    """Each row of batch['x'] (B, T) replaced by its reverse complement with probability 1/2.
    With `swap` (per-step targets batch['y'] (B, T)), the flipped rows' targets are reversed and
    mapped through `swap` (e.g. [0, 2, 1]: + strand <-> - strand)."""
    x, lengths = batch["x"], batch["lengths"]
    flip = torch.from_numpy(rng.random(x.shape[0]) < 0.5)
    if not flip.any():
        return batch
    out = dict(batch)
    out["x"] = torch.where(flip.unsqueeze(1), reverse_complement(x, lengths), x)
    if swap is not None:
        y = batch["y"]
        table = torch.tensor(swap, dtype=y.dtype)
        rev = reverse_steps(y, lengths)  # padding (an ignore mark < 0) stays in place
        flipped = torch.where(rev >= 0, table[rev.clamp(min=0)], rev)
        out["y"] = torch.where(flip.unsqueeze(1), flipped, y)
    return out
