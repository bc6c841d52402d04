"""Many-to-one models: a sequence in, one label (or one number) out.

    x (B, T) token ids  --Embedding-->  e (B, T, E)
    x (B, T, 1+G) sub-words: word id, G n-gram rows (0 = none)
                        -->  e = Embedding(word) + mean of EmbeddingBag(n-grams)  (B, T, E)
    x (B, T, C) series  --Linear----->  e (B, T, E)     (or e = x when embed_dim = 0)
    e, lengths  --rnnkit RNN/LSTM/GRU (layers, bidirectional)-->  out (B, T, D*H), h_n (L*D, B, H)
    pooling over the real steps t < length  -->  z (B, D*H)
    dropout, Linear  -->  logits (B, K)   or   one number (B,) for regression

Series with `conv_filters` > 0 (an LSTM-FCN-style model, Karim et al. 2017): the input is first
average-pooled over time by `downsample` (1 = off; rnnkit.models.conv_frontend), and a fully
convolutional branch (FCNBlock) runs beside the RNN on that input; its features, averaged over the
real steps (B, F), are concatenated to the RNN's pooled vector before the head:

    x --downsample--> x' --Linear, RNN, pooling--> z_rnn (B, D*H)
                      x' --FCNBlock, masked mean--> z_fcn (B, F);   z = [z_rnn, z_fcn]

Deliberate difference from LSTM-FCN: the RNN reads the series step by step (the paper's LSTM
reads the whole series as one step of T features, its "dimension shuffle").

Pooling never sees padding:
- "last": the final state of each direction, i.e. the forward state at the last real step and
  the backward state at step 0 after reading the whole real sequence backwards (taking
  `out[b, length-1]` instead would give the backward direction a single step of context);
- "mean" / "max": over real steps only (padding is masked out, not averaged in as zeros);
- "attention": a learned score s_t = v . tanh(W out_t), softmax over real steps,
  z = sum_t a_t out_t (padded steps get weight exactly 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnkit.backends.dispatch import IMPLS
from rnnkit.data.batching import length_mask
from rnnkit.errors import ConfigError
from rnnkit.functional import registry
from rnnkit.layers import Recurrent
from rnnkit.models.conv_frontend import FCNBlock, downsample

POOLINGS = ("last", "mean", "max", "attention")


@dataclass
class ClassifierConfig:
    """Everything a many-to-one model is built from. `vocab_size` is for tokens, `input_size`
    (features per step) for series; `n_outputs` = classes, or 1 with `regression`."""

    input_kind: str = "tokens"  # "tokens" | "series"
    vocab_size: int = 0
    subword_buckets: int = 0  # tokens: rows of the hashed character n-gram table; 0 = off
    input_size: int = 0
    embed_dim: int = 64  # series: 0 feeds the features to the RNN as they are
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    pooling: str = "last"
    impl: str = "auto"  # rnnkit layer implementation: auto | reference | fused | native
    n_outputs: int = 2
    regression: bool = False
    conv_filters: int = 0  # series: filters of the FCN branch beside the RNN; 0 = none
    downsample: int = 1  # series: average-pool the input over this many steps; 1 = off

    def __post_init__(self):
        def need(ok: bool, field: str, expected: str, got) -> None:
            if not ok:
                raise ConfigError(f"model.{field}: expected {expected}, got {got!r}")

        need(self.input_kind in ("tokens", "series"), "input_kind", "tokens or series",
             self.input_kind)
        registry.get(self.cell)  # an unknown name: the error lists the known ones
        need(self.pooling in POOLINGS, "pooling", " or ".join(POOLINGS), self.pooling)
        need(self.impl in IMPLS, "impl", " or ".join(IMPLS), self.impl)
        for name in ("hidden_size", "num_layers", "n_outputs"):
            value = getattr(self, name)
            need(isinstance(value, int) and value >= 1, name, "a positive integer", value)
        need(0.0 <= self.dropout < 1.0, "dropout", "a number in [0, 1)", self.dropout)
        if self.input_kind == "tokens":
            need(self.vocab_size >= 2, "vocab_size", "at least 2 (padding + a token)",
                 self.vocab_size)
            need(self.embed_dim >= 1, "embed_dim", "a positive integer for tokens",
                 self.embed_dim)
            need(isinstance(self.subword_buckets, int) and self.subword_buckets >= 0,
                 "subword_buckets", "0 (off) or a positive integer", self.subword_buckets)
        else:
            need(self.input_size >= 1, "input_size", "a positive integer", self.input_size)
            need(self.embed_dim >= 0, "embed_dim", "0 or a positive integer", self.embed_dim)
            need(isinstance(self.conv_filters, int) and self.conv_filters >= 0, "conv_filters",
                 "0 (none) or a positive integer", self.conv_filters)
            need(isinstance(self.downsample, int) and self.downsample >= 1, "downsample",
                 "a positive integer (1 = off)", self.downsample)


def _make_rnn(cfg: ClassifierConfig, input_size: int) -> nn.Module:
    return Recurrent(cfg.cell, input_size, cfg.hidden_size, num_layers=cfg.num_layers,
                     batch_first=True, bidirectional=cfg.bidirectional, impl=cfg.impl,
                     dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)


class SequenceClassifier(nn.Module):
    """Encoder -> RNN -> masked pooling -> linear head. `forward(x, lengths)` -> (B, K) logits."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.input_kind == "tokens":
            self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=0)
            if cfg.subword_buckets:  # row 0: padding, left out of the mean
                self.subword = nn.EmbeddingBag(cfg.subword_buckets + 1, cfg.embed_dim,
                                               mode="mean", padding_idx=0)
            rnn_in = cfg.embed_dim
        elif cfg.embed_dim:
            self.embed = nn.Linear(cfg.input_size, cfg.embed_dim)
            rnn_in = cfg.embed_dim
        else:
            self.embed = nn.Identity()
            rnn_in = cfg.input_size
        self.rnn = _make_rnn(cfg, rnn_in)
        directions = 2 if cfg.bidirectional else 1
        width = directions * cfg.hidden_size
        series = cfg.input_kind == "series"
        self.fcn = FCNBlock(cfg.input_size, cfg.conv_filters) if series and cfg.conv_filters \
            else None
        self.steps = cfg.downsample if series else 1
        if cfg.pooling == "attention":
            self.attn_proj = nn.Linear(width, width)
            self.attn_score = nn.Linear(width, 1, bias=False)
        self.drop = nn.Dropout(cfg.dropout)
        extra = self.fcn.out_channels if self.fcn is not None else 0
        self.head = nn.Linear(width + extra, 1 if cfg.regression else cfg.n_outputs)

    def _check(self, x: torch.Tensor, lengths: torch.Tensor) -> None:
        tokens = self.cfg.input_kind == "tokens"
        want = 2 if tokens and not self.cfg.subword_buckets else 3
        if x.dim() != want:
            what = "sub-word tokens" if tokens and want == 3 else self.cfg.input_kind
            raise ConfigError(f"input: expected a {want}-D batch-first tensor for "
                              f"{what}, got shape {tuple(x.shape)}")
        if lengths.dim() != 1 or lengths.shape[0] != x.shape[0]:
            raise ConfigError(f"lengths: expected shape ({x.shape[0]},), got "
                              f"{tuple(lengths.shape)}")
        if int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
            raise ConfigError(f"lengths: expected values in [1, {x.shape[1]}], got "
                              f"{lengths.min().item()}..{lengths.max().item()}")

    def encode(self, x: torch.Tensor, lengths: torch.Tensor):
        """(out (B, T, D*H) zero past each length, h_n (L*D, B, H)) for real steps only."""
        self._check(x, lengths)
        e = self.drop(self._embed(x))  # (B, T, E)
        # rnnkit layers: outputs past each length are zero, h_n is each row's last real step
        # (for the backward direction: step 0 after reading from the true last step).
        out, h_n = self.rnn(e, lengths=lengths)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n); pooling uses h
            h_n = h_n[0]
        return out, h_n

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.input_kind != "tokens" or not self.cfg.subword_buckets:
            return self.embed(x)
        words = x[..., 0]  # (B, T)
        rows = x[..., 1:].reshape(words.numel(), -1)  # (B*T, G), 0-padded
        real = rows > 0
        counts = real.sum(1)
        # One flat bag per step, without the padding (most words have far fewer than G n-grams):
        # row-major order of rows[real] matches the bag offsets. An empty bag gives zeros.
        grams = self.subword(rows[real], torch.cumsum(counts, 0) - counts)  # (B*T, E)
        return self.embed(words) + grams.view(*words.shape, -1)

    def pool(self, out: torch.Tensor, h_n: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, D*H) summary of each sequence's real steps."""
        kind = self.cfg.pooling
        if kind == "last":
            directions = 2 if self.cfg.bidirectional else 1
            last = h_n.view(self.cfg.num_layers, directions, *h_n.shape[1:])[-1]  # (D, B, H)
            return last.transpose(0, 1).reshape(h_n.shape[1], -1)
        mask = length_mask(lengths.to(out.device), out.shape[1]).unsqueeze(-1)  # (B, T, 1)
        if kind == "mean":
            return (out * mask).sum(1) / lengths.to(out).unsqueeze(1)
        if kind == "max":
            return out.masked_fill(~mask, float("-inf")).amax(1)
        scores = self.attn_score(torch.tanh(self.attn_proj(out)))  # (B, T, 1)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        return (weights * out).sum(1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        self._check(x, lengths)
        x, lengths = downsample(x, lengths, self.steps)  # (B, T', C)
        out, h_n = self.encode(x, lengths)
        z = self.pool(out, h_n, lengths)
        if self.fcn is not None:
            f = self.fcn(x, lengths)  # (B, T', F), zero past each length
            z = torch.cat([z, f.sum(1) / lengths.to(f).unsqueeze(1)], dim=1)
        z = self.drop(z)
        y = self.head(z)  # (B, K) or (B, 1)
        return y.squeeze(-1) if self.cfg.regression else y


def build_classifier(cfg: ClassifierConfig) -> SequenceClassifier:
    """The model for `cfg`; with `cfg.regression` it returns one number per sequence (B,)."""
    return SequenceClassifier(cfg)
