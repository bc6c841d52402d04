"""Rebuilding a trained model from a run directory (for generate / predict / evaluate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.config import build
from rnnkit.models.ensemble import model_from_state
from rnnkit.training.checkpoint import load_run
from rnnkit.training.registry import load_task_module


@dataclass
class Trained:
    task: Any  # the Task, made again from the saved config
    model: torch.nn.Module  # in eval mode, weights of the checkpoint
    config: dict  # config.json
    metadata: dict  # the task's metadata saved in the checkpoint (vocabulary, classes, ...)


def load_trained(run_dir: str | Path, which: str = "best",
                 device: str | torch.device = "cpu") -> Trained:
    """The task and model of a run: `make_task(Config from config.json)`, `build_model()`, the
    checkpoint's weights. The task is made as for training, so its data must be where the
    config says; a task that can do without may use `metadata` instead. An ensemble run
    (train.ensemble > 1) gives `task.ensemble(members)`."""
    config, metadata, weights = load_run(run_dir, which)
    module = load_task_module(config["task_name"])
    task_cfg = build(module.Config, config["task"], source=f"{Path(run_dir) / 'config.json'}")
    task = module.make_task(task_cfg)
    model = model_from_state(task, weights)
    return Trained(task=task, model=model.to(device).eval(), config=config, metadata=metadata)
