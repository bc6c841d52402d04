"""Run directories: a new run only into a missing or empty directory, one process at a time
(a lock that says who holds it), checked with real processes where it matters."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from toyrun import run_toy

import rnnkit
from rnnkit.cli import main
from rnnkit.training.rundir import LOCK_NAME, RunLock

TINY = ["--steps", "2", "--train.eval_every=2", "--data.batch_size=4", "--model.hidden_size=8",
        "--data.chunks_per_epoch=3", "--plain"]


def _one_line_error(capsys, *needles) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnkit: error: "), err
    for needle in needles:
        assert needle in err, err
    return err


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def test_a_foreign_directory_is_refused_and_left_alone(tmp_path, capsys):
    mine = tmp_path / "mine"
    for name in ("best", "last"):  # the user's own folders, named as rnnkit's checkpoints
        (mine / name).mkdir(parents=True)
        (mine / name / "photo.jpg").write_bytes(b"\xff\xd8 holiday")
    (mine / "notes.txt").write_text("mine\n")
    before = _tree(mine)
    assert main(["train", "toy", "--out", str(mine), *TINY]) == 2
    _one_line_error(capsys, "not empty", "choose a new or empty directory")
    assert _tree(mine) == before
    assert not (mine / LOCK_NAME).exists()  # not even a lock file written into it


def test_a_run_that_lost_its_config_is_not_overwritten(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "toy", "--out", str(run), *TINY]) == 0
    (run / "config.json").unlink()
    before = _tree(run)
    assert main(["train", "toy", "--out", str(run), *TINY]) == 2
    _one_line_error(capsys, "without its config.json", "will not overwrite")
    assert _tree(run) == before


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    assert main(["train", "toy", "--out", str(tmp_path / "a_file"), *TINY]) == 2
    _one_line_error(capsys, "is a file")
    assert main(["train", "toy", "--out", str(tmp_path / "a_file" / "run"), *TINY]) == 2
    _one_line_error(capsys, "is a file")
    assert (tmp_path / "a_file").read_text() == "x"


def test_an_empty_directory_or_a_stale_lock_file_takes_a_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "toy", "--out", str(tmp_path / "empty"), *TINY]) == 0
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / LOCK_NAME).write_text('{"pid": 1, "host": "gone", "since": "then"}')
    assert main(["train", "toy", "--out", str(tmp_path / "stale"), *TINY]) == 0
    assert (tmp_path / "stale" / "last" / "state.json").is_file()


def test_a_locked_run_refuses_resume_and_says_who_holds_it(tmp_path, capsys):
    run = tmp_path / "run"
    run_toy(run, "--train.steps=2", "--train.eval_every=2")
    config = (run / "config.json").read_bytes()
    with RunLock(run):
        assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
        _one_line_error(capsys, "in use by another rnnkit process", f"pid {os.getpid()}")
    assert (run / "config.json").read_bytes() == config  # the refused resume changed nothing
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 0  # released


# ---------------------------------------------------------------- real processes

def _rnnkit(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(rnnkit.__file__).parents[1]), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "rnnkit", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_fresh_trainings_into_one_out_exactly_one_wins(tmp_path):
    run = tmp_path / "run"
    args = ["train", "toy", "--out", str(run), *TINY[:-1], "--steps", "20", "--plain"]
    procs = [_rnnkit(*args), _rnnkit(*args)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, 2], results
    err = next(e for rc, _, e in results if rc == 2)
    assert err.count("\n") == 1 and ("in use by another rnnkit process" in err
                                     or "already holds a run" in err), err
    state = json.loads((run / "last" / "state.json").read_text())
    assert state["step"] == 20
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if '"train"' in line]
    assert steps == list(range(1, 21))  # one run's records, not two interleaved


def test_resume_while_the_run_trains_is_refused(tmp_path):
    run = tmp_path / "run"
    trainer = _rnnkit("train", "toy", "--out", str(run), *TINY[:-1], "--steps", "100000",
                      "--plain")
    try:
        deadline = time.monotonic() + 120
        while not (run / "last" / "state.json").is_file():
            assert trainer.poll() is None and time.monotonic() < deadline, trainer.communicate()
            time.sleep(0.1)
        resumer = _rnnkit("train", "--resume", str(run), "--steps", "100001", "--plain")
        rc, (_, err) = resumer.wait(timeout=120), resumer.communicate()
        assert rc == 2 and err.count("\n") == 1, err
        assert f"in use by another rnnkit process (pid {trainer.pid} on " in err
        assert trainer.poll() is None  # the running training goes on
        assert "resumed" not in json.loads((run / "config.json").read_text())
    finally:
        trainer.terminate()
        trainer.wait(timeout=60)


@pytest.mark.parametrize("name", ["config.json", LOCK_NAME])
def test_a_planted_link_in_a_new_run_is_refused(tmp_path, capsys, name):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / name).symlink_to(outside)
    assert main(["train", "toy", "--out", str(run), *TINY]) == 2
    capsys.readouterr()
    assert outside.read_text() == "keep\n"


# ---------------------------------------------------------------- item 7: the ends of a run

def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(tmp_path, capsys):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(["train", "toy", "--out", str(straight), *TINY]) == 0
    killed.mkdir()  # what a kill right after config.json leaves: config.json (and the lock)
    (killed / "config.json").write_bytes((straight / "config.json").read_bytes())
    (killed / LOCK_NAME).write_text("")
    (killed / "metrics.jsonl").write_text('{"kind": "train", "step": 1, "loss": 9.0}\n{"ki')
    capsys.readouterr()
    assert main(["train", "--resume", str(killed), "--plain"]) == 0
    assert "stopped before its first checkpoint; training it from step 0" in \
        capsys.readouterr().err
    for name in ("model.safetensors", "optimizer.safetensors"):  # as if it had never stopped
        assert (killed / "last" / name).read_bytes() == (straight / "last" / name).read_bytes()
    steps = [json.loads(line)["step"] for line in (killed / "metrics.jsonl").read_text()
             .splitlines() if '"train"' in line]
    assert steps == [1, 2]


@pytest.mark.parametrize("limit, again, longer", [
    (["--steps", "2"], [], "--steps N with N > 2"),
    (["--train.steps=0", "--train.epochs=1"], [], "--train.epochs=E with E > 1"),
])
def test_resuming_a_finished_run_says_so_and_changes_nothing(tmp_path, capsys, limit, again,
                                                            longer):
    run = tmp_path / "run"
    assert main(["train", "toy", "--out", str(run), *TINY[2:], *limit]) == 0  # limit: the steps
    before = _tree(run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--plain", *again]) == 2
    _one_line_error(capsys, f"{run} is finished", longer)
    after = _tree(run)
    after.pop(LOCK_NAME), before.pop(LOCK_NAME)  # the lock file names its latest holder
    assert after == before


def test_a_finished_run_trains_longer_when_asked(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "toy", "--out", str(run), *TINY]) == 0
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 0
    assert json.loads((run / "last" / "state.json").read_text())["step"] == 4

