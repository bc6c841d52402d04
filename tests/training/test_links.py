"""A run directory received from someone else cannot make rnnkit write outside it: every file
rnnkit writes into a run refuses a planted symbolic link, in one line, and leaves its target."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/helpers.py
from helpers import TINY, sine_csv  # noqa: E402


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("links")
    src = sine_csv(tmp / "s.csv")
    run = tmp / "run"
    assert main(["train", "forecast", f"--data.name={src}", "--data.folds=2", *TINY,
                 "--out", str(run)]) == 0
    return run


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "precious.txt"
    path.write_text("keep me\n")
    return path


@pytest.mark.parametrize("name, command", [
    ("forecast.csv", ["forecast"]),
    ("forecast.png", ["forecast"]),
    ("backtest.txt", ["evaluate"]),
    ("backtest.png", ["evaluate"]),
    ("curves.png", ["plot"]),
])
def test_a_planted_link_in_a_run_is_refused(forecast_run, victim, capsys, name, command):
    link = forecast_run / name
    link.unlink(missing_ok=True)
    link.symlink_to(victim)
    try:
        capsys.readouterr()
        assert main([*command, str(forecast_run)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{link} is a symbolic link" in err, err
        assert victim.read_text() == "keep me\n"
    finally:
        link.unlink()


def test_a_planted_checkpoint_link_is_refused_on_resume(forecast_run, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mine.txt").write_text("mine")
    link = forecast_run / "last.old"  # a checkpoint name the next save would move and delete
    link.symlink_to(outside)
    try:
        capsys.readouterr()
        assert main(["train", "--resume", str(forecast_run), "--steps", "30", "--plain"]) == 2
        assert f"{link} is a symbolic link" in capsys.readouterr().err
        assert (outside / "mine.txt").read_text() == "mine"
    finally:
        link.unlink()


def test_the_confusion_matrix_refuses_a_link(tmp_path, victim):
    from rnnkit.errors import RnnkitError
    from rnnkit.tasks._metrics import plot_confusion

    link = tmp_path / "confusion_matrix.png"
    link.symlink_to(victim)
    with pytest.raises(RnnkitError, match="symbolic link"):
        plot_confusion(np.array([[2, 0], [1, 3]]), ["a", "b"], link)
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize("command, words", [
    (["plot", "{run}", "--out", "{dir}"], "is a directory; expected a file there"),
    (["plot", "{run}", "--out", "{file}/curves.png"], "is a file, not a directory"),
    (["plot", "{run}", "--out", "{missing}/curves.png"], "does not exist"),
    (["forecast", "{run}", "--out-dir", "{file}"], "is a file, not a directory"),
    (["train", "--resume", "{file}"], "is not a run directory"),
])
def test_paths_of_the_wrong_kind_are_one_line(forecast_run, tmp_path, capsys, command, words):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    names = {"run": forecast_run, "dir": tmp_path / "dir", "file": tmp_path / "file",
             "missing": tmp_path / "missing"}
    capsys.readouterr()
    assert main([part.format(**names) for part in command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert (tmp_path / "file").read_text() == "x" and not any((tmp_path / "dir").iterdir())


def test_an_ensemble_member_planted_as_a_link_is_refused(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    run = tmp_path / "run"
    src = sine_csv(tmp_path / "s.csv")
    assert main(["train", "forecast", f"--data.name={src}", "--data.folds=2", *TINY,
                 "--train.ensemble=2", "--out", str(run)]) == 0
    (run / "members" / "1" / "done.json").unlink()  # as if killed while training member 1
    shutil.move(run / "members" / "1", outside / "m1")  # a complete member, elsewhere
    (run / "members" / "1").symlink_to(outside / "m1")
    before = {p: p.read_bytes() for p in (outside / "m1").rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "30", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "members/1 is a symbolic link" in err, err
    assert {p: p.read_bytes() for p in (outside / "m1").rglob("*") if p.is_file()} == before


def test_refit_is_locked_and_deletes_only_its_own_runs(forecast_run, capsys):
    from rnnkit.training.rundir import RunLock

    refits = forecast_run / "refit"
    refits.mkdir()
    with RunLock(refits):
        assert main(["evaluate", str(forecast_run), "--refit"]) == 2
        assert "refit is in use by another rnnkit process" in capsys.readouterr().err
    mine = refits / "origin-104"  # the first origin's name: a folder rnnkit did not write
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    try:
        assert main(["evaluate", str(forecast_run), "--refit"]) == 2
        assert "is in the way and is not a refit run" in capsys.readouterr().err
        assert (mine / "notes.txt").read_text() == "mine"
    finally:
        shutil.rmtree(refits)


def test_resuming_a_finished_ensemble_says_so_and_writes_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    src = sine_csv(tmp_path / "s.csv")
    assert main(["train", "forecast", f"--data.name={src}", *TINY, "--train.ensemble=2",
                 "--out", str(run)]) == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name[0] != "."}
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is finished: all 2 members have trained" in err, err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name[0] != "."} \
        == before
    # a member killed after its last checkpoint, before done.json: finished, not trained further
    (run / "members" / "1" / "done.json").unlink()
    assert main(["train", "--resume", str(run), "--plain"]) == 0
    member = run / "members" / "1"
    assert (member / "done.json").is_file()
    assert (member / "last" / "model.safetensors").read_bytes() == \
        before[member / "last" / "model.safetensors"]
    assert max(json.loads(x)["step"] for x in (member / "metrics.jsonl").read_text().splitlines()
               ) == 20
