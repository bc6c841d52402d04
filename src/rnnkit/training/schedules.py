"""Learning-rate schedules. The learning rate of a step is a pure function of the step, the
epoch and a small JSON state (plateau reductions), times the guards' factor:

    lr = optim.lr * guard_scale * warmup(step) * schedule(step, epoch)

  constant     1
  step         gamma ** (1 + (epoch - start_epoch) // every_epochs)  from start_epoch on
  exponential  gamma ** (1 + epoch - start_epoch)                    from start_epoch on
               (Zaremba et al. 2014: lr 1, gamma 0.5 from epoch 4 or 6 on; epochs count from 0)
  cosine       min_lr/lr + (1 - min_lr/lr) * (1 + cos(pi * t)) / 2, t = the run's progress
               after the warm-up, in [0, 1]: the larger of
                 steps after warm-up / the cosine's length (sched.total_steps, or train.steps)
                 time after warm-up / the time left of train.minutes at the warm-up's end
               so the cosine ends when the run does, at whichever limit comes first. The time
               fraction is the step estimate re-made at every step: the steps that fit are
               step + time left / the mean step time so far, and step / that = the time
               fraction. A resumed run's time progress goes on from the checkpoint's
               (`--minutes` counts per invocation), so it spans what is left over the new time.
  plateau      gamma ** reductions; one reduction after `patience` evaluations without a new
               best validation loss
"""

from __future__ import annotations

import math

from rnnkit.errors import ConfigError
from rnnkit.training.settings import SchedConfig


class Schedule:
    """`minutes`: the time budget of this invocation (train.minutes; 0 = none); `lr` then takes
    the seconds elapsed since the invocation started (from the trainer's clock)."""

    def __init__(self, cfg: SchedConfig, base_lr: float, total_steps: int, minutes: float = 0.0):
        self.total_steps = cfg.total_steps or total_steps
        if cfg.name == "cosine" and self.total_steps <= cfg.warmup_steps and not minutes > 0:
            raise ConfigError("sched.name=cosine needs train.steps (or sched.total_steps) larger "
                              f"than sched.warmup_steps={cfg.warmup_steps}, or train.minutes "
                              "(--minutes M)")
        if cfg.every_epochs < 1:
            raise ConfigError(f"sched.every_epochs: expected >= 1, got {cfg.every_epochs}")
        self.cfg, self.base_lr = cfg, base_lr
        self.budget = 60.0 * minutes  # seconds
        self.guard_scale = 1.0  # lowered by the guards on each restore
        self.reductions = 0  # plateau
        self.best = math.inf  # plateau
        self.bad_evals = 0  # plateau
        self.progress = 0.0  # cosine: t of the last lr(); a checkpoint keeps it
        self.time_from = 0.0  # cosine: the time progress this invocation starts from
        self.warm_end: float | None = None  # seconds elapsed when this invocation's warm-up ended

    def lr(self, step: int, epoch: int, elapsed: float = 0.0) -> float:
        """Learning rate for the step that follows `step` completed steps, in `epoch`, after
        `elapsed` seconds of this invocation."""
        c = self.cfg
        factor = 1.0
        if c.warmup_steps > 0 and step < c.warmup_steps:
            factor = (step + 1) / c.warmup_steps
        if c.name in ("step", "exponential") and epoch >= c.start_epoch:
            every = c.every_epochs if c.name == "step" else 1
            factor *= c.gamma ** (1 + (epoch - c.start_epoch) // every)
        elif c.name == "cosine" and step >= c.warmup_steps:
            t = self.progress = self._cosine_progress(step, elapsed)
            floor = c.min_lr / self.base_lr
            factor *= floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
        elif c.name == "plateau":
            factor *= max(c.gamma ** self.reductions, c.min_lr / self.base_lr)
        return self.base_lr * self.guard_scale * factor

    def _cosine_progress(self, step: int, elapsed: float) -> float:
        """t in [0, 1]: the larger of the step and the time fractions after the warm-up."""
        c, fractions = self.cfg, []
        if self.total_steps:  # (a step limit within the warm-up: the cosine is at its end)
            span = self.total_steps - c.warmup_steps
            fractions.append((step - c.warmup_steps) / span if span > 0 else 1.0)
        if self.budget:
            if self.warm_end is None:  # the first step after the warm-up, in this invocation
                self.warm_end = elapsed
            span = self.budget - self.warm_end
            done = (elapsed - self.warm_end) / span if span > 0 else 1.0
            fractions.append(self.time_from + (1.0 - self.time_from) * done)
        return min(1.0, max(0.0, *fractions))

    def on_eval(self, val_loss: float) -> None:
        """Plateau bookkeeping after an evaluation."""
        if self.cfg.name != "plateau":
            return
        if val_loss < self.best:
            self.best, self.bad_evals = val_loss, 0
            return
        self.bad_evals += 1
        if self.bad_evals >= self.cfg.patience:
            self.reductions += 1
            self.bad_evals = 0

    def state_dict(self) -> dict:
        return {"guard_scale": self.guard_scale, "reductions": self.reductions,
                "best": self.best if math.isfinite(self.best) else None,
                "bad_evals": self.bad_evals, "progress": self.progress}

    def load_state_dict(self, state: dict) -> None:
        self.guard_scale = float(state["guard_scale"])
        self.reductions = int(state["reductions"])
        self.best = math.inf if state["best"] is None else float(state["best"])
        self.bad_evals = int(state["bad_evals"])
        # checkpoints written before the time-based cosine have no "progress": start at 0
        self.progress = self.time_from = float(state.get("progress", 0.0))
        self.warm_end = None
