"""The loop's bookkeeping: evaluation grid, best checkpoint, early stopping, epoch limit."""

import tomllib
from pathlib import Path

from toyrun import records, run_toy, toy_config

from rnnkit.tasks import toy
from rnnkit.training.checkpoint import checkpoint_dir, load_checkpoint
from rnnkit.training.settings import resolve


class ScriptedEval:
    """The toy task whose validation losses follow a script."""

    def __init__(self, losses):
        self.inner, self.losses = toy.make_task(toy_config().task), list(losses)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def evaluate(self, model):
        return {"loss": self.losses.pop(0)}


def test_best_checkpoint_and_early_stopping(tmp_path):
    task = ScriptedEval([3.0, 1.0, 2.0, 1.5, 0.5, 9.0])
    result = run_toy(tmp_path, "--train.steps=100", "--train.eval_every=2",
                     "--train.early_stop=2", task=task)
    # evaluations at 2, 4, 6, 8: best 1.0 at step 4, then two without improvement: stop
    assert result["stop"] == "early stopping" and result["step"] == 8
    assert [r["loss"] for r in records(tmp_path, "eval")] == [3.0, 1.0, 2.0, 1.5]
    best = load_checkpoint(checkpoint_dir(tmp_path, "best")).state
    assert best["step"] == 4 and best["best_val"] == 1.0
    assert load_checkpoint(checkpoint_dir(tmp_path, "last")).state["step"] == 8


def test_epoch_limit(tmp_path):
    result = run_toy(tmp_path, "--train.steps=0", "--train.epochs=2", "--train.eval_every=0")
    assert result["stop"] == "epochs" and result["step"] == 14  # 7 chunks per epoch
    assert [r["epoch"] for r in records(tmp_path, "train")] == [0] * 7 + [1] * 7
    assert [r["step"] for r in records(tmp_path, "eval")] == [14]  # the closing evaluation


def test_shipped_toy_config_resolves():
    path = Path(__file__).parents[2] / "configs" / "toy.toml"
    cfg = resolve(toy, "toy", file_data=tomllib.loads(path.read_text()), file_name=str(path))
    assert cfg.optim.name == "sgd" and cfg.sched.name == "exponential"
