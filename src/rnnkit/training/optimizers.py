"""Optimizers from OptimConfig: AdamW (default), SGD with momentum, RMSprop."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from rnnkit.errors import ConfigError
from rnnkit.training.settings import OptimConfig


def build_optimizer(params: Iterable[torch.nn.Parameter],
                    cfg: OptimConfig) -> torch.optim.Optimizer:
    if not cfg.lr > 0:
        raise ConfigError(f"optim.lr: expected a number > 0, got {cfg.lr}")
    if cfg.name == "adamw":
        if len(cfg.betas) != 2:
            raise ConfigError(f"optim.betas: expected two numbers, got {list(cfg.betas)}")
        return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps,
                                 weight_decay=cfg.weight_decay)
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps,
                                   momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ConfigError(f"optim.name: expected adamw, sgd or rmsprop, got {cfg.name!r}")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
