"""Checkpoints: round trips without pickle, atomic writes that survive SIGKILL mid-write."""

import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.errors import RnnkitError
from rnnkit.training.checkpoint import checkpoint_dir, load_checkpoint, load_run, save_checkpoint
from rnnkit.training.rng import get_rng_state, set_rng_state


@pytest.mark.parametrize("name", ["adamw", "sgd", "rmsprop"])
def test_optimizer_state_round_trip_continues_identically(tmp_path, name):
    def make():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2)
        opt = {"adamw": lambda p: torch.optim.AdamW(p, lr=0.1),
               "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
               "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.1, momentum=0.5)}[name]
        return model, opt(model.parameters())

    def train(model, opt, steps):
        for i in range(steps):
            opt.zero_grad()
            model(torch.full((4, 3), float(i))).pow(2).sum().backward()
            opt.step()

    model, opt = make()
    train(model, opt, 3)
    save_checkpoint(tmp_path, "last", model=model.state_dict(), optimizer=opt.state_dict(),
                    state={"step": 3})
    train(model, opt, 2)
    ckpt = load_checkpoint(tmp_path / "last")
    model2, opt2 = make()
    model2.load_state_dict(ckpt.model)
    opt2.load_state_dict(ckpt.optimizer)
    train(model2, opt2, 2)
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_rng_states_round_trip():
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = get_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(3))
    set_rng_state(state)
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])


def test_loading_never_unpickles(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, "best", model={"w": torch.ones(2)}, optimizer=None,
                    state={"step": 1, "metadata": {"vocab": ["a", "b"]}},
                    carry=[(torch.zeros(1, 2), torch.ones(1, 2))])
    (tmp_path / "config.json").write_text('{"task_name": "toy", "task": {}}')

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    config, metadata, weights = load_run(tmp_path, "best")
    assert metadata == {"vocab": ["a", "b"]} and torch.equal(weights["w"], torch.ones(2))
    carry = load_checkpoint(tmp_path / "best").carry[0]
    assert isinstance(carry, tuple) and torch.equal(carry[1], torch.ones(1, 2))


def test_missing_checkpoint_is_one_clear_error(tmp_path):
    with pytest.raises(RnnkitError, match="no checkpoint 'best'"):
        checkpoint_dir(tmp_path, "best")


def test_crash_between_renames_is_recovered(tmp_path):
    save_checkpoint(tmp_path, "last", model={"w": torch.ones(1)}, optimizer=None, state={"step": 1})
    os.replace(tmp_path / "last", tmp_path / "last.old")  # as if killed before the 2nd rename
    assert checkpoint_dir(tmp_path, "last") == tmp_path / "last.old"
    save_checkpoint(tmp_path, "last", model={"w": torch.full((1,), 2.0)}, optimizer=None,
                    state={"step": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]
    assert load_checkpoint(tmp_path / "last").state["step"] == 2


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import torch
    from rnnkit.training import checkpoint as ck

    run, mode = Path(sys.argv[1]), sys.argv[2]

    def save(i):  # every tensor holds the step number, so a torn checkpoint would show
        ck.save_checkpoint(run, "last", model={"w": torch.full((512, 512), float(i))},
                           optimizer={"state": {0: {"m": torch.full((512,), float(i))}},
                                      "param_groups": [{"lr": 0.1, "params": [0]}]},
                           state={"step": i})

    def stall(*args, **kwargs):
        print("WRITING", flush=True)
        time.sleep(60)

    save(1)
    if mode == "in-temp":
        ck._write_state_json = stall  # killed while the temporary directory is half written
    elif mode == "between-renames":
        ck._swap_in = stall  # killed after last -> last.old, before temp -> last
    else:
        print("WRITING", flush=True)
    for i in range(2, 10**6):
        save(i)
""")


@pytest.mark.parametrize("mode", ["in-temp", "between-renames", "anywhere"])
def test_sigkill_while_writing_leaves_a_loadable_checkpoint(tmp_path, mode):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(Path(rnnkit.__file__).parents[1]), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, str(script), str(run), mode],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "WRITING"
        if mode == "anywhere":
            import time
            time.sleep(random.uniform(0.05, 0.4))  # somewhere in a stream of saves
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    ckpt = load_checkpoint(checkpoint_dir(run, "last"))
    step = ckpt.state["step"]
    if mode != "anywhere":
        assert step == 1
    assert torch.all(ckpt.model["w"] == step) and torch.all(ckpt.optimizer["state"][0]["m"] == step)
    # the next save cleans up whatever the killed one left
    save_checkpoint(run, "last", model={"w": torch.zeros(1)}, optimizer=None, state={"step": 0})
    assert sorted(p.name for p in run.iterdir()) == ["last"]
