"""DNA in front of the recurrent models: base ids -> vectors, the reverse complement of a padded
batch, and a classifier that can average both strands.

Input: base ids (B, T) int64 as rnnkit.data.dna gives them (0 padding, 1..4 = A C G T, 5 = N)
and lengths (B,).

    one-hot:  A, C, G, T -> unit vectors (4,), N -> (1/4, 1/4, 1/4, 1/4), padding -> 0
    k-mer:    step t -> the k-mer of bases t - k//2 .. t + k - 1 - k//2 (centred, so the output
              stays aligned with the input), one row of a learned table of 4^k rows, plus one row
              for a k-mer holding an N or running past either end of the real sequence, plus a
              zero padding row for steps past the length. A step's vector depends on real bases
              only: padding never leaks in.

The reverse complement of a batch reverses each row's real steps and swaps A<->T, C<->G; padding
stays where it is. `DnaClassifier` with `strands="average"` returns the mean of the logits of a
sequence and of its reverse complement, so its prediction is the same for both strands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from rnnkit.data.dna import COMPLEMENT_IDS
from rnnkit.errors import ConfigError
from rnnkit.models.classifier import ClassifierConfig, build_classifier

EMBEDDINGS = ("onehot", "kmer")
STRANDS = ("forward", "augment", "average")


def reverse_complement(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> the reverse complement of each row's first `lengths[b]` steps, padding kept."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, T)
    real = steps < lengths.to(x.device).unsqueeze(1)  # (B, T)
    src = torch.where(real, lengths.to(x.device).unsqueeze(1) - 1 - steps, steps)  # (B, T)
    table = torch.as_tensor(COMPLEMENT_IDS, device=x.device)
    return table[torch.gather(x, 1, src)]


def reverse_steps(y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, ...) per-step outputs with each row's real steps reversed (padding kept): maps the
    outputs on a reverse complement back onto the steps of the original."""
    steps = torch.arange(y.shape[1], device=y.device).unsqueeze(0)
    real = steps < lengths.to(y.device).unsqueeze(1)
    src = torch.where(real, lengths.to(y.device).unsqueeze(1) - 1 - steps, steps)  # (B, T)
    index = src.view(*src.shape, *([1] * (y.dim() - 2))).expand_as(y)
    return torch.gather(y, 1, index)


class DnaEmbedding(nn.Module):
    """Base ids (B, T) and lengths (B,) -> (B, T, dim): one-hot (dim 4) or centred k-mers."""

    def __init__(self, kind: str = "onehot", k: int = 3, dim: int = 32):
        super().__init__()
        if kind not in EMBEDDINGS:
            raise ConfigError(f"dna.embedding: expected {' or '.join(EMBEDDINGS)}, got {kind!r}")
        if kind == "kmer" and not (isinstance(k, int) and 1 <= k <= 8):
            raise ConfigError(f"dna.k: expected an integer in 1..8, got {k!r}")
        self.kind, self.k = kind, k
        if kind == "onehot":
            table = torch.zeros(6, 4)
            table[1:5] = torch.eye(4)
            table[5] = 0.25
            self.register_buffer("table", table, persistent=False)
            self.dim = 4
        else:  # rows 0..4^k-1: k-mers, 4^k: holds N or runs off an end, 4^k+1: padding
            self.table = nn.Embedding(4 ** k + 2, dim, padding_idx=4 ** k + 1)
            self.dim = dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.kind == "onehot":
            return self.table[x]
        B, T = x.shape
        k, half = self.k, self.k // 2
        real = torch.arange(T, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)
        base = torch.where(real, x, torch.zeros_like(x))  # ids past the length read as padding
        padded = nn.functional.pad(base, (half, k - 1 - half))  # (B, T + k - 1), 0 outside
        code = torch.zeros_like(x)
        ok = torch.ones_like(real)
        for j in range(k):  # base t - half + j has weight 4^(k-1-j)
            b = padded[:, j:j + T]
            ok &= (b >= 1) & (b <= 4)
            code = code * 4 + (b - 1).clamp(min=0)
        ids = torch.where(ok, code, torch.full_like(code, 4 ** k))
        ids = torch.where(real, ids, torch.full_like(ids, 4 ** k + 1))
        return self.table(ids)


@dataclass
class DnaModelConfig:
    embedding: str = "onehot"
    k: int = 3
    embed_dim: int = 32
    strands: str = "forward"

    @property
    def width(self) -> int:
        """Features per step that the embedding gives."""
        return 4 if self.embedding == "onehot" else self.embed_dim

    def __post_init__(self):
        if self.strands not in STRANDS:
            raise ConfigError(f"dna.strands: expected {' or '.join(STRANDS)}, got "
                              f"{self.strands!r}")
        if self.embedding not in EMBEDDINGS:
            raise ConfigError(f"dna.embedding: expected {' or '.join(EMBEDDINGS)}, got "
                              f"{self.embedding!r}")
        if self.embedding == "kmer" and not (isinstance(self.k, int) and 1 <= self.k <= 8):
            raise ConfigError(f"dna.k: expected an integer in 1..8, got {self.k!r}")
        if self.embedding == "kmer" and not (isinstance(self.embed_dim, int)
                                             and self.embed_dim >= 1):
            raise ConfigError(f"dna.embed_dim: expected a positive integer, got "
                              f"{self.embed_dim!r}")


class DnaClassifier(nn.Module):
    """DnaEmbedding -> rnnkit.models.classifier.SequenceClassifier (as a series model over the
    embedded steps). `forward(x ids (B, T), lengths (B,))` -> logits (B, K)."""

    def __init__(self, dna: DnaModelConfig, head: ClassifierConfig):
        super().__init__()
        self.dna = dna
        self.embed = DnaEmbedding(dna.embedding, dna.k, dna.embed_dim)
        self.classifier = build_classifier(
            replace(head, input_kind="series", input_size=self.embed.dim, embed_dim=0))

    def _one_strand(self, x, lengths):
        return self.classifier(self.embed(x, lengths), lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ConfigError(f"input: expected base ids of shape (batch, time), got "
                              f"{tuple(x.shape)}")
        out = self._one_strand(x, lengths)
        if self.dna.strands == "average":
            out = 0.5 * (out + self._one_strand(reverse_complement(x, lengths), lengths))
        return out
