"""The Task contract: what the trainer needs from a task (see rnnkit.training.task for how task
modules are found). It lives here, below the trainer, so that task modules import nothing from
rnnkit.training."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch


@dataclass
class StepOutput:
    loss: torch.Tensor  # scalar, mean over this batch's items; the trainer calls backward on it
    n_items: int  # tokens/samples/steps the loss averages over (throughput, weighting)
    state: Any = None  # recurrent state to carry into the next batch (truncated BPTT); None if none
    metrics: dict[str, float] = field(default_factory=dict)  # extra per-step numbers to log


@runtime_checkable
class Task(Protocol):
    name: str  # "lm", "classify", "forecast", ...

    def build_model(self) -> torch.nn.Module: ...

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        """One epoch of batches for this rank (shard by rank for DDP). For streams (TBPTT):
        consecutive chunks of the same B streams, so the state that step() returns for one batch
        is the next batch's start state. Draw randomness from a generator seeded by the epoch
        (or from torch's global generator): a resumed run replays the epoch to its position."""
        ...

    def step(self, model: torch.nn.Module, batch: Any, state: Any) -> StepOutput:
        """Forward + loss. The trainer has moved the batch's tensors (in tuples, lists, dicts)
        to the model's device. `state` is None at the start of each epoch; the trainer detaches the
        returned state (rnnkit.training.tbptt.detach_state) before passing it on."""
        ...

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """Validation metrics, including "loss". Called under torch.no_grad() in eval mode, on
        rank 0 only; move the data to the model's device (next(model.parameters()).device)."""
        ...

    def metadata(self) -> dict:
        """JSON-serialisable things a checkpoint must keep: vocabulary, classes, scaler..."""
        ...
