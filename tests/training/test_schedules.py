import math

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.training.optimizers import build_optimizer
from rnnkit.training.schedules import Schedule
from rnnkit.training.settings import OptimConfig, SchedConfig


def test_constant_with_warmup():
    s = Schedule(SchedConfig(warmup_steps=4), 1.0, 100)
    assert [s.lr(i, 0) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_step_and_exponential_per_epoch():
    # Zaremba et al.: halve every epoch from epoch 4 on (epochs counted from 0)
    s = Schedule(SchedConfig(name="exponential", gamma=0.5, start_epoch=4), 1.0, 100)
    assert [s.lr(0, e) for e in range(7)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]
    s = Schedule(SchedConfig(name="step", gamma=0.1, start_epoch=2, every_epochs=2), 1.0, 100)
    assert [round(s.lr(0, e), 6) for e in range(6)] == [1, 1, 0.1, 0.1, 0.01, 0.01]


def test_cosine():
    s = Schedule(SchedConfig(name="cosine", warmup_steps=10, min_lr=0.1), 1.0, 110)
    assert s.lr(4, 0) == pytest.approx(0.5)
    assert s.lr(10, 0) == pytest.approx(1.0)
    assert s.lr(60, 0) == pytest.approx(0.55)
    assert s.lr(110, 0) == pytest.approx(0.1) and s.lr(500, 0) == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="cosine"):
        Schedule(SchedConfig(name="cosine", warmup_steps=10), 1.0, 5)


def test_plateau_and_guard_scale():
    s = Schedule(SchedConfig(name="plateau", patience=2, gamma=0.5), 1.0, 100)
    for loss in (3.0, 2.0, 2.5, 2.4):  # two evaluations without a new best: one reduction
        s.on_eval(loss)
    assert s.lr(0, 0) == 0.5
    s.on_eval(1.0)
    s.guard_scale = 0.5
    restored = Schedule(SchedConfig(name="plateau", patience=2, gamma=0.5), 1.0, 100)
    restored.load_state_dict(s.state_dict())
    assert restored.lr(0, 0) == 0.25 and restored.best == 1.0


def test_optimizers():
    params = [torch.nn.Parameter(torch.ones(2))]
    assert isinstance(build_optimizer(params, OptimConfig()), torch.optim.AdamW)
    sgd = build_optimizer(params, OptimConfig(name="sgd", lr=0.1, momentum=0.9))
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.9
    assert isinstance(build_optimizer(params, OptimConfig(name="rmsprop")), torch.optim.RMSprop)
    with pytest.raises(ConfigError, match="optim.lr"):
        build_optimizer(params, OptimConfig(lr=-1.0))
    assert math.isfinite(OptimConfig().lr)


def test_cosine_over_the_time_budget():
    # 10 minutes, 5 warm-up steps that took 60 s: the cosine spans the 540 s left after them
    cfg = SchedConfig(name="cosine", warmup_steps=5, min_lr=0.0)
    s = Schedule(cfg, 1.0, 0, minutes=10)
    assert s.lr(2, 0, elapsed=20.0) == pytest.approx(3 / 5)  # warm-up: by steps
    assert s.lr(5, 0, elapsed=60.0) == pytest.approx(1.0)
    assert s.lr(6, 0, elapsed=60.0 + 270.0) == pytest.approx(0.5)  # half the time: half-way
    assert s.lr(7, 0, elapsed=600.0) == pytest.approx(0.0)
    assert s.lr(8, 0, elapsed=900.0) == pytest.approx(0.0)  # past the end: the floor
    with pytest.raises(ConfigError, match="train.minutes"):
        Schedule(cfg, 1.0, 0)


def test_cosine_ends_at_the_first_limit_and_resumes_from_its_progress():
    cfg = SchedConfig(name="cosine", min_lr=0.0)
    s = Schedule(cfg, 1.0, 100, minutes=1)
    assert s.lr(0, 0, elapsed=0.0) == pytest.approx(1.0)
    assert s.lr(50, 0, elapsed=6.0) == pytest.approx(0.5)  # steps first: t = 0.5
    assert s.lr(60, 0, elapsed=45.0) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.75)))
    # a checkpoint at t = 0.75, resumed for 2 more minutes: the last quarter spans them
    resumed = Schedule(cfg, 1.0, 0, minutes=2)
    resumed.load_state_dict(s.state_dict())
    assert resumed.lr(61, 0, elapsed=0.0) == pytest.approx(s.lr(60, 0, elapsed=45.0))
    half = 0.5 * (1 + math.cos(math.pi * 0.875))
    assert resumed.lr(62, 0, elapsed=60.0) == pytest.approx(half)
    old = s.state_dict()
    del old["progress"]  # a checkpoint from before the time-based cosine
    resumed.load_state_dict(old)
    assert resumed.lr(62, 0, elapsed=0.0) == pytest.approx(1.0)
