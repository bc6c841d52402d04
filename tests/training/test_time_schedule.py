"""The cosine over train.minutes inside the training loop, with a fake clock."""

import math

import pytest

from rnnkit.training.trainer import Trainer

from .toyrun import records, run_toy


class FakeClock:
    """Each reading is `tick` seconds after the one before."""

    def __init__(self, tick: float):
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_the_cosine_ends_when_the_time_does(tmp_path, monkeypatch):
    monkeypatch.setattr(Trainer, "clock", FakeClock(3.0))  # 3 s a step: 20 steps in a minute
    result = run_toy(tmp_path / "run", "--train.steps=0", "--train.minutes=1",
                     "--sched.name=cosine", "--sched.warmup_steps=0", "--sched.min_lr=0",
                     "--optim.lr=1.0")
    assert result["stop"] == "time" and result["step"] == 20
    lrs = [r["lr"] for r in records(tmp_path / "run", "train")]
    # step k (from 1) runs after k - 1 clock readings past the start: t = 3 (k - 1) / 60
    expected = [0.5 * (1 + math.cos(math.pi * 3 * k / 60)) for k in range(20)]
    assert lrs == pytest.approx(expected, abs=1e-12)
    assert lrs[-1] < 0.01  # at the floor when the time is up, not still half-way
