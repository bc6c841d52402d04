"""A run directory received from someone else cannot make rnnkit write outside it: every file
rnnkit writes into a run refuses a planted symbolic link, in one line, and leaves its target."""

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
