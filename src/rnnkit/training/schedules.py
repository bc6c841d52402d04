"""Learning-rate schedules. The learning rate of a step is a pure function of the step, the
epoch and a small JSON state (plateau reductions), times the guards' factor:

    lr = optim.lr * guard_scale * warmup(step) * schedule(step, epoch)

  constant     1
  step         gamma ** (1 + (epoch - start_epoch) // every_epochs)  from start_epoch on
  exponential  gamma ** (1 + epoch - start_epoch)                    from start_epoch on
               (Zaremba et al. 2014: lr 1, gamma 0.5 from epoch 4 or 6 on; epochs count from 0)
  cosine       min_lr/lr + (1 - min_lr/lr) * (1 + cos(pi * t)) / 2, t = steps after warm-up
               over the cosine's length (sched.total_steps, or train.steps)
  plateau      gamma ** reductions; one reduction after `patience` evaluations without a new
               best validation loss
"""

from __future__ import annotations

import math

from rnnkit.errors import ConfigError
from rnnkit.training.settings import SchedConfig


class Schedule:
    def __init__(self, cfg: SchedConfig, base_lr: float, total_steps: int):
        if cfg.name == "cosine" and (cfg.total_steps or total_steps) <= cfg.warmup_steps:
            raise ConfigError("sched.name=cosine needs train.steps (or sched.total_steps) larger "
                              f"than sched.warmup_steps={cfg.warmup_steps}")
        if cfg.every_epochs < 1:
            raise ConfigError(f"sched.every_epochs: expected >= 1, got {cfg.every_epochs}")
        self.cfg, self.base_lr = cfg, base_lr
        self.total_steps = cfg.total_steps or total_steps
        self.guard_scale = 1.0  # lowered by the guards on each restore
        self.reductions = 0  # plateau
        self.best = math.inf  # plateau
        self.bad_evals = 0  # plateau

    def lr(self, step: int, epoch: int) -> float:
        """Learning rate for the step that follows `step` completed steps, in `epoch`."""
        c = self.cfg
        factor = 1.0
        if c.warmup_steps > 0 and step < c.warmup_steps:
            factor = (step + 1) / c.warmup_steps
        if c.name in ("step", "exponential") and epoch >= c.start_epoch:
            every = c.every_epochs if c.name == "step" else 1
            factor *= c.gamma ** (1 + (epoch - c.start_epoch) // every)
        elif c.name == "cosine" and step >= c.warmup_steps:
            t = min(1.0, (step - c.warmup_steps) / (self.total_steps - c.warmup_steps))
            floor = c.min_lr / self.base_lr
            factor *= floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
        elif c.name == "plateau":
            factor *= max(c.gamma ** self.reductions, c.min_lr / self.base_lr)
        return self.base_lr * self.guard_scale * factor

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
                "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict) -> None:
        self.guard_scale = float(state["guard_scale"])
        self.reductions = int(state["reductions"])
        self.best = math.inf if state["best"] is None else float(state["best"])
        self.bad_evals = int(state["bad_evals"])
