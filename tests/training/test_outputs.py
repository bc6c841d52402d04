"""What a run leaves behind: a rebuildable model, TensorBoard events when tensorboard exists."""

import sys
import types

import torch
from toyrun import run_toy

from rnnkit.training.loading import load_trained


def test_load_trained_rebuilds_the_best_model(tmp_path):
    result = run_toy(tmp_path, "--train.steps=10", "--train.eval_every=5", "--model.cell=gru")
    trained = load_trained(tmp_path, "best")
    assert trained.metadata == {"vocab": 4, "delay": 3}
    assert trained.config["task"]["model"]["cell"] == "gru"
    with torch.no_grad():
        metrics = trained.task.evaluate(trained.model)
    assert abs(metrics["loss"] - result["best_val_loss"]) < 1e-6


class _FakeWriter:
    made: list = []

    def __init__(self, log_dir):
        self.log_dir, self.scalars, self.closed = log_dir, [], False
        _FakeWriter.made.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def close(self):
        self.closed = True


def test_tensorboard_events_when_installed(tmp_path, monkeypatch):
    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = _FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    run_toy(tmp_path, "--train.steps=4", "--train.eval_every=2")
    writer = _FakeWriter.made[-1]
    assert writer.log_dir == str(tmp_path / "tensorboard") and writer.closed
    tags = {tag for tag, _, _ in writer.scalars}
    assert {"train/loss", "train/grad_norm", "train/lr", "eval/loss"} <= tags
    assert sorted(s for t, _, s in writer.scalars if t == "train/loss") == [1, 2, 3, 4]
