"""Guards: NaN/Inf loss or gradient and exploding losses are skipped and counted; repeated ones
restore the last checkpoint with a lower learning rate, or stop with a message; the disk stays
loadable."""

import math

import pytest
import torch
from toyrun import records, run_toy, toy_config

from rnnkit.tasks import toy
from rnnkit.training.checkpoint import checkpoint_dir, load_checkpoint, load_run
from rnnkit.training.guards import TrainingDiverged


class _NaNGrad(torch.autograd.Function):
    """Identity forward, NaN gradient backward: a finite loss with a broken gradient."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


class Faulty:
    """The toy task with its loss (or gradient) broken on chosen calls of step()."""

    def __init__(self, bad_calls, how="nan"):
        self.inner = toy.make_task(toy_config().task)
        self.bad_calls, self.how, self.calls = bad_calls, how, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def step(self, model, batch, state):
        self.calls += 1
        out = self.inner.step(model, batch, state)
        if self.calls in self.bad_calls:
            if self.how == "nan":
                out.loss = out.loss * float("nan")
            elif self.how == "grad":
                out.loss = _NaNGrad.apply(out.loss)
            else:  # explode
                out.loss = out.loss * 1000.0
        return out


def test_single_nan_step_is_skipped_and_counted(tmp_path):
    result = run_toy(tmp_path, "--train.steps=20", task=Faulty({8}))
    assert result["skipped"] == 1 and result["restores"] == 0 and result["step"] == 20
    train = records(tmp_path, "train")
    assert [r["step"] for r in train if r.get("skipped")] == [8]
    _, _, weights = load_run(tmp_path, "last")
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_nan_gradient_with_finite_loss_is_skipped(tmp_path):
    result = run_toy(tmp_path, "--train.steps=12", task=Faulty({5, 6}, how="grad"))
    assert result["skipped"] == 2
    skipped = [r for r in records(tmp_path, "train") if r.get("skipped")]
    assert all("gradient norm is nan" in r["reason"] for r in skipped)
    assert all(r["loss"] == r["loss"] for r in skipped)  # the loss itself was finite


def test_exploding_loss_is_caught(tmp_path):
    result = run_toy(tmp_path, "--train.steps=16", "--guard.ref_steps=5",
                     task=Faulty({10, 11}, how="explode"))
    assert result["skipped"] == 2
    skipped = [r for r in records(tmp_path, "train") if r.get("skipped")]
    assert [r["step"] for r in skipped] == [10, 11]
    assert "exploded" in skipped[0]["reason"]


def test_repeated_nan_restores_with_lower_lr_then_recovers(tmp_path):
    # checkpoints every 5 steps; calls 8..14 bad: the 5th in a row (call 12) restores step 5
    result = run_toy(tmp_path, "--train.steps=20", "--train.ckpt_every=5", "--optim.lr=0.01",
                     task=Faulty(set(range(8, 15))))
    assert result["restores"] == 1 and result["step"] == 20
    events = [r for r in records(tmp_path, "event") if r["event"] == "restore"]
    assert len(events) == 1 and events[0]["step"] == 5 and events[0]["from_step"] == 12
    last_lr = records(tmp_path, "train")[-1]["lr"]
    assert math.isclose(last_lr, 0.005)
    ckpt = load_checkpoint(checkpoint_dir(tmp_path, "last"))
    assert ckpt.state["step"] == 20 and ckpt.state["schedule"]["guard_scale"] == 0.5
    assert all(torch.isfinite(w).all() for w in ckpt.model.values())


def test_persistent_nan_stops_with_a_message_and_leaves_disk_loadable(tmp_path):
    task = Faulty(set(range(7, 10_000)))
    with pytest.raises(TrainingDiverged) as err:
        run_toy(tmp_path, "--train.steps=200", "--train.ckpt_every=5", "--guard.max_restores=2",
                task=task)
    message = str(err.value)
    assert "\n" not in message
    for hint in ("--optim.lr", "clip_norm", "initialisation", "the loss is nan"):
        assert hint in message
    events = [r for r in records(tmp_path, "event") if r["event"] == "restore"]
    assert len(events) == 2
    config, _, weights = load_run(tmp_path, "last")
    assert config["task_name"] == "toy"
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert load_checkpoint(checkpoint_dir(tmp_path, "last")).state["step"] == 5
    leftovers = [p.name for p in tmp_path.iterdir() if ".tmp" in p.name or p.name.endswith(".old")]
    assert leftovers == []
    assert (tmp_path / "curves.png").is_file()


def test_nan_validation_loss_is_logged_not_fatal(tmp_path):
    class NaNEval(Faulty):
        def evaluate(self, model):
            return {"loss": float("nan")}

    result = run_toy(tmp_path, "--train.steps=4", "--train.eval_every=2", task=NaNEval(set()))
    assert result["step"] == 4 and math.isinf(result["best_val_loss"])
    assert [r["loss"] for r in records(tmp_path, "eval")] == ["nan", "nan"]
    assert load_checkpoint(checkpoint_dir(tmp_path, "last")).state["metrics"] == {"loss": "nan"}
