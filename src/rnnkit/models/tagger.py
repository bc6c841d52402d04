"""Many-to-many, aligned: one label per input step (a tagger).

    x (B, T) base ids, lengths (B,)  --DnaEmbedding-->  e (B, T, E)
    e  --rnnkit layers of any registered cell (bidirectional), real steps only-->  h (B, T, D*H)
    dropout, Linear  -->  logits (B, T, K), one row per step, aligned with the input

Steps past a row's length get logits too (from zero states); callers mask them. With
`strands="average"` the logits are the mean of those of the sequence and of its reverse
complement, mapped back onto the original steps (reversed) and classes (`strand_swap`: the class
a tag becomes on the other strand, e.g. [0, 2, 1] for non-coding / + / -).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.functional import registry
from rnnkit.layers import Recurrent
from rnnkit.models.dna import DnaEmbedding, DnaModelConfig, reverse_complement, reverse_steps


@dataclass
class TaggerConfig:
    n_tags: int = 3
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.0
    impl: str = "auto"
    strand_swap: tuple[int, ...] = ()  # () = the tags have no strand: classes kept under RC

    def __post_init__(self):
        registry.get(self.cell)  # an unknown name: the error lists the known ones
        for name in ("n_tags", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"model.{name}: expected a positive integer, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout: expected a number in [0, 1), got {self.dropout!r}")
        if self.strand_swap and sorted(self.strand_swap) != list(range(self.n_tags)):
            raise ConfigError(f"strand_swap: expected a permutation of 0..{self.n_tags - 1}, "
                              f"got {list(self.strand_swap)}")


class DnaTagger(nn.Module):
    """`forward(x (B, T) ids, lengths (B,))` -> logits (B, T, K)."""

    def __init__(self, dna: DnaModelConfig, cfg: TaggerConfig):
        super().__init__()
        self.dna, self.cfg = dna, cfg
        self.embed = DnaEmbedding(dna.embedding, dna.k, dna.embed_dim)
        self.rnn = Recurrent(cfg.cell, self.embed.dim, cfg.hidden_size,
                             num_layers=cfg.num_layers, batch_first=True,
                             bidirectional=cfg.bidirectional, impl=cfg.impl,
                             dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        width = (2 if cfg.bidirectional else 1) * cfg.hidden_size
        self.head = nn.Linear(width, cfg.n_tags)
        swap = list(cfg.strand_swap) or list(range(cfg.n_tags))
        self.register_buffer("swap", torch.tensor(swap), persistent=False)

    def _one_strand(self, x, lengths):
        out, _ = self.rnn(self.drop(self.embed(x, lengths)), lengths=lengths)  # (B, T, D*H)
        return self.head(self.drop(out))  # (B, T, K)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or lengths.dim() != 1 or lengths.shape[0] != x.shape[0]:
            raise ConfigError(f"input: expected ids (batch, time) and lengths (batch,), got "
                              f"{tuple(x.shape)} and {tuple(lengths.shape)}")
        if int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
            raise ConfigError(f"lengths: expected values in [1, {x.shape[1]}], got "
                              f"{int(lengths.min())}..{int(lengths.max())}")
        out = self._one_strand(x, lengths)
        if self.dna.strands == "average":
            other = reverse_steps(self._one_strand(reverse_complement(x, lengths), lengths),
                                  lengths)
            # class j on the other strand is class swap[j] here
            out = 0.5 * (out + other[..., self.swap])
        return out
