"""Ranges the config types cannot express, checked when a run config is resolved, before any
run directory exists. Each refusal is one line: the key, the allowed range, the value.

The engine's sections are checked key by key (`engine_checks`). A task's own Config is checked by
field name wherever the field sits, so every task gets the same rules without repeating them:
`*dropout` in [0, 1], sizes (`hidden_size`, `num_layers`, `batch_size`, ...) >= 1, `*seed` in
[0, 2^63 - 1]. Non-finite floats and ints beyond 64 bits never get this far (rnnkit.config).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rnnkit.devices import MAX_THREADS, check_device
from rnnkit.errors import ConfigError

SEED_MAX = 2**63 - 1  # torch.manual_seed takes at most this (numpy: less; the seed is folded)
SEED_RANGE = "an integer in [0, 2^63 - 1]"
SIZES = ("hidden_size", "num_layers", "batch_size", "eval_batch_size", "seq_len")


def _seed_ok(value: int) -> bool:
    return 0 <= value <= SEED_MAX


def engine_checks(cfg) -> list[tuple[str, Any, bool, str]]:
    """(key, value, ok, expected) for the engine's sections of RunConfig `cfg`."""
    t, g, o, s = cfg.train, cfg.guard, cfg.optim, cfg.sched
    betas_ok = len(o.betas) == 2 and all(0 <= b < 1 for b in o.betas)
    return [
        ("train.steps", t.steps, t.steps >= 0, ">= 0"),
        ("train.minutes", t.minutes, t.minutes >= 0, ">= 0"),
        ("train.epochs", t.epochs, t.epochs >= 0, ">= 0"),
        ("train.seed", t.seed, _seed_ok(t.seed), SEED_RANGE),
        ("train.threads", t.threads, t.threads == "auto" or 0 <= t.threads <= MAX_THREADS,
         f"an integer in [0, {MAX_THREADS}] (0 = torch's default) or auto"),
        ("train.clip_norm", t.clip_norm, t.clip_norm >= 0, ">= 0 (0 = off)"),
        ("train.clip_value", t.clip_value, t.clip_value >= 0, ">= 0 (0 = off)"),
        ("train.eval_every", t.eval_every, t.eval_every >= 0, ">= 0 (0 = at the end only)"),
        ("train.ckpt_every", t.ckpt_every, t.ckpt_every >= 0, ">= 0"),
        ("train.log_every", t.log_every, t.log_every >= 1, ">= 1"),
        ("train.diag_every", t.diag_every, t.diag_every >= 0, ">= 0 (0 = off)"),
        ("train.early_stop", t.early_stop, t.early_stop >= 0, ">= 0 (0 = off)"),
        ("train.best_metric", t.best_metric, bool(t.best_metric.strip()),
         "a metric name the task's evaluate() returns, e.g. loss"),
        ("train.ensemble", t.ensemble, t.ensemble >= 0,
         ">= 1 (1 = one model) or 0 (auto: the task chooses)"),
        ("train.steps", t.steps, t.steps > 0 or t.epochs > 0 or t.minutes > 0,
         ">= 1 unless train.epochs or train.minutes limits the run (0 = no step limit, and "
         "with no other limit the run would never stop)"),
        ("guard.max_bad_in_row", g.max_bad_in_row, g.max_bad_in_row >= 1, ">= 1"),
        ("guard.max_restores", g.max_restores, g.max_restores >= 0, ">= 0"),
        ("guard.lr_factor", g.lr_factor, 0 < g.lr_factor <= 1, "in (0, 1]"),
        ("guard.explode_factor", g.explode_factor, g.explode_factor > 1, "> 1"),
        ("guard.ref_steps", g.ref_steps, g.ref_steps >= 1, ">= 1"),
        ("optim.lr", o.lr, o.lr > 0, "> 0"),
        ("optim.eps", o.eps, o.eps >= 0, ">= 0"),
        ("optim.weight_decay", o.weight_decay, o.weight_decay >= 0, ">= 0"),
        ("optim.momentum", o.momentum, o.momentum >= 0, ">= 0"),
        ("optim.alpha", o.alpha, o.alpha >= 0, ">= 0"),
        ("optim.betas", o.betas, betas_ok, "two numbers, each in [0, 1)"),
        ("optim.nesterov", o.nesterov, not (o.nesterov and o.name == "sgd" and o.momentum <= 0),
         "false unless optim.momentum > 0 (Nesterov momentum needs a momentum)"),
        ("sched.warmup_steps", s.warmup_steps, s.warmup_steps >= 0, ">= 0 (0 = none)"),
        ("sched.gamma", s.gamma, 0 < s.gamma <= 1, "a decay factor in (0, 1]"),
        ("sched.start_epoch", s.start_epoch, s.start_epoch >= 0, ">= 0"),
        ("sched.every_epochs", s.every_epochs, s.every_epochs >= 1, ">= 1"),
        ("sched.total_steps", s.total_steps, s.total_steps >= 0, ">= 0 (0 = train.steps)"),
        ("sched.min_lr", s.min_lr, s.min_lr >= 0, ">= 0"),
        ("sched.patience", s.patience, s.patience >= 0, ">= 0"),
    ]


def task_checks(obj, prefix: str = "") -> list[tuple[str, Any, bool, str]]:
    """The rules by field name, over every field of the task's (nested) Config `obj`."""
    out = []
    for f in dataclasses.fields(obj):
        key, value = prefix + f.name, getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out += task_checks(value, key + ".")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            continue
        elif f.name == "dropout" or f.name.endswith("_dropout"):
            out.append((key, value, 0 <= value <= 1, "a probability in [0, 1]"))
        elif f.name in SIZES:
            out.append((key, value, value >= 1, ">= 1"))
        elif f.name == "seed" or f.name.endswith("_seed"):
            out.append((key, value, _seed_ok(value), SEED_RANGE))
    return out


def validate(cfg):
    """`cfg` (a RunConfig) if every range holds, else ConfigError for the first that does not."""
    for key, value, ok, expected in engine_checks(cfg) + task_checks(cfg.task, ""):
        if not ok:
            shown = list(value) if isinstance(value, tuple) else value
            raise ConfigError(f"{key}: expected {expected}, got {shown}")
    check_device(cfg.train.device, "train.device")
    return cfg
