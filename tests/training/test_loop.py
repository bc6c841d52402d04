"""The loop's bookkeeping: evaluation grid, best checkpoint, early stopping, epoch limit."""

import json
import tomllib
from pathlib import Path

import pytest
from toyrun import records, run_toy, toy_config

from rnnkit.errors import ConfigError, RnnkitError
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


class ScriptedMetrics(ScriptedEval):
    """The toy task whose validation metrics (dicts) follow a script."""

    def evaluate(self, model):
        return self.losses.pop(0)


def test_best_metric_picks_the_checkpoint_by_a_validation_metric(tmp_path):
    # the loss is lowest at step 2, macro_f1 highest at step 6: `best` follows macro_f1
    script = [{"loss": 0.5, "macro_f1": 0.6}, {"loss": 0.7, "macro_f1": 0.5},
              {"loss": 0.9, "macro_f1": 0.8}, {"loss": 0.6, "macro_f1": 0.7}]
    result = run_toy(tmp_path, "--train.steps=8", "--train.eval_every=2",
                     "--train.best_metric=macro_f1", "--train.best_mode=max",
                     task=ScriptedMetrics(script))
    best = load_checkpoint(checkpoint_dir(tmp_path, "best")).state
    assert best["step"] == 6 and best["best_val"] == 0.8
    assert result["best_metric"] == "macro_f1" and result["best_val"] == 0.8


def test_best_metric_min_mode_and_resume_keeps_the_best(tmp_path):
    script = [{"loss": 1.0, "err": 0.3}, {"loss": 1.0, "err": 0.1},
              {"loss": 1.0, "err": 0.2}, {"loss": 1.0, "err": 0.4}]
    args = ["--train.eval_every=2", "--train.best_metric=err"]
    run_toy(tmp_path, "--train.steps=4", *args, task=ScriptedMetrics(script[:2]))
    run_toy(tmp_path, "--train.steps=8", *args, task=ScriptedMetrics(script[2:]), resume=True)
    assert load_checkpoint(checkpoint_dir(tmp_path, "best")).state["step"] == 4


def test_unknown_best_metric_is_a_clear_error(tmp_path):
    task = ScriptedMetrics([{"loss": 1.0, "accuracy": 0.5}])
    with pytest.raises(RnnkitError, match=r"train.best_metric: expected one of the metrics "
                                          r"task 'toy' evaluates \(accuracy, loss\), got 'f1'"):
        run_toy(tmp_path, "--train.steps=4", "--train.eval_every=2", "--train.best_metric=f1",
                task=task)


@pytest.mark.parametrize("override,message", [
    ("--train.best_mode=up", "train.best_mode"),
    ("--train.ensemble=-1", r"train.ensemble: expected >= 1 \(1 = one model\) or 0 "
                            r"\(auto: the task chooses\), got -1"),
])
def test_bad_best_mode_and_ensemble_settings(override, message):
    with pytest.raises(ConfigError, match=message):
        toy_config(override)


def test_auto_ensemble_is_one_model_for_a_task_without_a_rule(tmp_path):
    run_toy(tmp_path / "run", "--train.steps=2", "--train.ensemble=0")  # toy: no auto_ensemble
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["train"]["ensemble"] == 1 and not (tmp_path / "run" / "members").exists()


def test_ensemble_needs_a_task_that_can_average(tmp_path):
    with pytest.raises(ConfigError, match=r"train.ensemble: task 'toy' cannot average members "
                                          r"\(it has no ensemble\(\)\); expected 1, got 2"):
        run_toy(tmp_path, "--train.steps=2", "--train.ensemble=2")
