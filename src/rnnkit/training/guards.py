"""Guards against divergence (on by default), after char-rnn's train.lua.

Each step's loss (the mean over all ranks) and gradient norm (before clipping) are checked:
  - a NaN or Inf loss or gradient norm: the step is skipped (no update) and counted;
  - an exploding loss, above `explode_factor` x the reference loss, is treated the same. The
    reference is the mean loss of the first `ref_steps` good steps of the run (kept across
    resumes and restores); with the default 10x, a loss that starts at log(V) must reach
    10 log(V) to count, which a healthy run never does.
After `max_bad_in_row` skipped steps in a row the trainer restores the last good checkpoint and
multiplies the learning rate by `lr_factor`; after `max_restores` restores it stops with a
message that says what to change.
"""

from __future__ import annotations

import math
from enum import Enum

from rnnkit.errors import RnnkitError
from rnnkit.training.settings import GuardConfig


class Verdict(Enum):
    OK = "ok"
    SKIP = "skip"  # do not update; count
    RESTORE = "restore"  # too many in a row: restore the last checkpoint, lower the lr
    STOP = "stop"  # restored too often: give up


class TrainingDiverged(RnnkitError):
    """Training diverged and the guards could not recover it."""


class Guard:
    def __init__(self, cfg: GuardConfig):
        self.cfg = cfg
        self.ref_losses: list[float] = []  # the first good losses, up to ref_steps
        self.bad_in_row = 0
        self.skipped = 0  # all skipped steps of the run
        self.restores = 0
        self.last_reason = ""

    @property
    def reference(self) -> float | None:
        return sum(self.ref_losses) / len(self.ref_losses) if self.ref_losses else None

    def check(self, loss: float, grad_norm: float) -> Verdict:
        """Judge one step (before the optimizer update)."""
        if not self.cfg.enabled:
            return Verdict.OK
        reason = self._problem(loss, grad_norm)
        if reason is None:
            self.bad_in_row = 0
            if len(self.ref_losses) < self.cfg.ref_steps:
                self.ref_losses.append(loss)
            return Verdict.OK
        self.last_reason = reason
        self.skipped += 1
        self.bad_in_row += 1
        if self.bad_in_row < self.cfg.max_bad_in_row:
            return Verdict.SKIP
        self.bad_in_row = 0
        if self.restores >= self.cfg.max_restores:
            return Verdict.STOP
        self.restores += 1
        return Verdict.RESTORE

    def _problem(self, loss: float, grad_norm: float) -> str | None:
        if not math.isfinite(loss):
            return f"the loss is {loss}"
        if not math.isfinite(grad_norm):
            return f"the gradient norm is {grad_norm}"
        ref = self.reference
        if ref is not None and len(self.ref_losses) >= self.cfg.ref_steps and ref > 0 \
                and loss > self.cfg.explode_factor * ref:
            return (f"the loss {loss:.4g} exploded above {self.cfg.explode_factor:g} x its "
                    f"start {ref:.4g}")
        return None

    def stop_message(self, lr: float, clip_norm: float) -> str:
        clip = f"--train.clip_norm={clip_norm:g}" if clip_norm > 0 else "no clipping"
        return (f"training diverged: {self.cfg.max_bad_in_row} bad steps in a row ("
                f"{self.last_reason}) after {self.restores} restores with the learning rate "
                f"x{self.cfg.lr_factor:g} each (now {lr:.3g}). Lower the learning rate "
                f"(--optim.lr), clip harder (now {clip}; try --train.clip_norm=0.25), or check "
                "the initialisation and the data (inputs with NaN/Inf, targets out of range)")

    def state_dict(self) -> dict:
        return {"ref_losses": self.ref_losses, "skipped": self.skipped,
                "restores": self.restores}

    def load_state_dict(self, state: dict) -> None:
        self.ref_losses = [float(x) for x in state["ref_losses"]]
        self.skipped = int(state["skipped"])
        self.restores = int(state["restores"])
        self.bad_in_row = 0
