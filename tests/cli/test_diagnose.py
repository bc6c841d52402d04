"""`rnnkit diagnose RUN_DIR` on a run of the engine's toy task.

The engine (rnnkit.training, branch `train`) is merged into main later; the run test is skipped,
saying so, where it is absent, and the no-engine message is tested instead."""

import importlib.util

import pytest

from rnnkit.cli import main


def has_engine() -> bool:
    try:
        return importlib.util.find_spec("rnnkit.training.loading") is not None
    except ModuleNotFoundError:  # no rnnkit.training package at all
        return False


@pytest.mark.skipif(not has_engine(), reason="needs the training engine (rnnkit.training)")
def test_diagnose_a_trained_run(tmp_path, capsys):
    run = tmp_path / "toy"
    assert main(["train", "toy", "--steps", "5", "--out", str(run), "--train.threads=1"]) == 0
    capsys.readouterr()
    assert main(["diagnose", str(run), "--which", "last"]) == 0
    out = capsys.readouterr().out
    assert "verdict:" in out and "rnn.l0:" in out and "spectral radius" in out
    assert (run / "diagnosis.png").stat().st_size > 0
    assert (run / "diagnosis.txt").read_text().splitlines()[0] == out.splitlines()[0]


@pytest.mark.skipif(not has_engine(), reason="needs the training engine (rnnkit.training)")
def test_diagnose_not_a_run_dir(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.skipif(has_engine(), reason="the engine is here: the run is tested instead")
def test_diagnose_without_the_engine_says_so(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path)]) == 2
    assert "needs the training engine" in capsys.readouterr().err
