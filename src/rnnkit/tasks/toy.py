"""Toy task "delayed recall": a stream task that needs memory across truncated-BPTT chunks.

B streams of random symbols x_t in {0..V-1}; the target at step t is x_{t-delay}. The streams
are cut into chunks of `chunk_len` > `delay` steps, trained with truncated BPTT. Inside a chunk
the model can learn to hold `delay` symbols (the gradient reaches back far enough); the first
`delay` steps of a chunk need symbols of the previous chunk, which only a state carried across
the boundary holds. So with the state carried, the loss goes to ~0; without it, the first
`delay` steps of each chunk stay at chance, log(V). The metric `boundary_loss` is the loss on
those steps alone. The first `delay` steps of each whole stream have no target (ignored).

Also the engine's smoke task: `rnnkit train toy --steps 200`. Chance level is log(V).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

import rnnkit
from rnnkit.data.sharding import shard_rows, stream_chunks
from rnnkit.functional.registry import CellName
from rnnkit.tasks._contract import StepOutput

IGNORE = -100


@dataclass
class DataConfig:
    vocab: int = 4  # V symbols
    delay: int = 3  # target = the input `delay` steps back
    chunk_len: int = 8  # truncated BPTT: steps per chunk (> delay)
    batch_size: int = 16  # streams in the global batch (divides by the number of processes)
    chunks_per_epoch: int = 25  # stream length = chunks_per_epoch * chunk_len
    val_streams: int = 32  # streams in the validation set
    seed: int = 1234  # data seed (the streams of epoch e come from seed + e)


@dataclass
class ModelConfig:
    cell: CellName = "lstm"  # the recurrent layer (rnnkit.functional.registry; rnn = rnn_tanh)
    hidden_size: int = 32  # units per recurrent layer
    num_layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # on the recurrent output, before the readout
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # rnnkit's implementation


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)


TRAIN_DEFAULTS = {"train.steps": 300, "train.eval_every": 50, "optim.lr": 1e-2,
                  "train.log_every": 25}


class RecallNet(nn.Module):
    """Embedding -> recurrent layer -> dropout -> linear readout over V symbols."""

    def __init__(self, cfg: ModelConfig, vocab: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, cfg.hidden_size)
        self.rnn = rnnkit.Recurrent(cfg.cell, cfg.hidden_size, cfg.hidden_size, cfg.num_layers,
                                    batch_first=True, impl=cfg.impl)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size, vocab)

    def forward(self, x: torch.Tensor, state=None):
        out, state = self.rnn(self.embed(x), state)  # (B, T, H)
        return self.head(self.drop(out)), state  # (B, T, V)


class RecallTask:
    name = "toy"
    item_unit = "symbols"

    def __init__(self, cfg: Config):
        d = cfg.data
        if not 0 <= d.delay < d.chunk_len:
            raise ValueError(f"data.delay must be in [0, data.chunk_len={d.chunk_len}), "
                             f"got {d.delay}")
        self.cfg = cfg
        self.val = self._streams(d.val_streams, seed=d.seed + 1_000_003)

    def _streams(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.cfg.data
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(0, d.vocab, (n, d.chunks_per_epoch * d.chunk_len), generator=g)
        y = torch.full_like(x, IGNORE)
        y[:, d.delay:] = x[:, :x.shape[1] - d.delay]
        return x, y

    def build_model(self) -> nn.Module:
        return RecallNet(self.cfg.model, self.cfg.data.vocab)

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1) -> Iterator:
        d = self.cfg.data
        x, y = self._streams(d.batch_size, seed=d.seed + epoch)
        rows = shard_rows(d.batch_size, rank, world_size)
        yield from zip(stream_chunks(x[rows], d.chunk_len), stream_chunks(y[rows], d.chunk_len),
                       strict=True)

    def step(self, model: nn.Module, batch, state) -> StepOutput:
        x, y = batch
        logits, state = model(x, state)
        loss, n, acc, boundary = self._losses(logits, y)
        metrics = {"acc": acc}
        if boundary is not None:  # the first chunk of a stream has no target there
            metrics["boundary_loss"] = boundary
        return StepOutput(loss=loss, n_items=n, state=state, metrics=metrics)

    def _losses(self, logits: torch.Tensor, y: torch.Tensor):
        V, delay = self.cfg.data.vocab, self.cfg.data.delay
        per_step = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), ignore_index=IGNORE,
                                   reduction="none").view_as(y)  # (B, T), 0 where ignored
        valid = y != IGNORE
        n = int(valid.sum())
        loss = per_step.sum() / max(n, 1)
        acc = ((logits.argmax(-1) == y) & valid).sum().item() / max(n, 1)
        head_valid = valid[:, :delay]  # steps whose target lies in the previous chunk
        boundary = (per_step[:, :delay].sum() / head_valid.sum()).item() if head_valid.any() \
            else None
        return loss, n, acc, boundary

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        device = next(model.parameters()).device
        x, y = (t.to(device) for t in self.val)
        state, total, count, correct = None, 0.0, 0, 0
        for xc, yc in zip(stream_chunks(x, self.cfg.data.chunk_len),
                          stream_chunks(y, self.cfg.data.chunk_len), strict=True):
            logits, state = model(xc, state)
            loss, n, acc, _ = self._losses(logits, yc)
            total, count, correct = total + loss.item() * n, count + n, correct + acc * n
        return {"loss": total / count, "acc": correct / count}

    def metadata(self) -> dict:
        return {"vocab": self.cfg.data.vocab, "delay": self.cfg.data.delay}


def make_task(cfg: Config) -> RecallTask:
    return RecallTask(cfg)
