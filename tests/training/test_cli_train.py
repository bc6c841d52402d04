"""`rnnkit train` and `rnnkit plot` end to end on the toy task; progress output modes."""

import importlib.util
import io
import json

from toyrun import records

from rnnkit.cli import main
from rnnkit.training.progress import Progress, use_rich

SMALL = ["--steps", "6", "--train.eval_every=3", "--train.log_every=2", "--data.batch_size=4",
         "--model.hidden_size=8", "--data.chunks_per_epoch=4"]


def test_train_writes_a_complete_run_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    run = tmp_path / "run"
    assert main(["train", "toy", "--out", str(run), "--seed", "3", *SMALL]) == 0
    out = capsys.readouterr().out
    # not a terminal: plain periodic lines with loss, gradient norm, throughput and ETA
    lines = [line for line in out.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["2/6", "4/6", "6/6"]
    assert all("loss" in x and "gnorm" in x and "symbols/s" in x and "eta" in x for x in lines)
    assert "done: 6 steps" in out
    config = json.loads((run / "config.json").read_text())
    assert "--train.eval_every=3" in config["command_line"] and config["train"]["seed"] == 3
    assert config["task"]["model"]["hidden_size"] == 8
    for name in ("model.safetensors", "optimizer.safetensors", "state.json"):
        assert (run / "last" / name).is_file() and (run / "best" / name).is_file()
    assert [r["step"] for r in records(run, "eval")] == [3, 6]
    assert all("grad_norm" in r for r in records(run, "train"))
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    has_tensorboard = importlib.util.find_spec("tensorboard") is not None
    assert (run / "tensorboard").exists() == has_tensorboard

    (run / "curves.png").unlink()
    assert main(["plot", str(run)]) == 0
    assert (run / "curves.png").is_file()
    # resume with more steps; a second run into the same directory is refused
    assert main(["train", "--resume", str(run), "--steps", "8", "--plain"]) == 0
    assert [r["step"] for r in records(run, "train")] == list(range(1, 9))
    assert main(["train", "toy", "--out", str(run), *SMALL]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_errors_are_one_line(capsys):
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert "available tasks:" in err and "toy" in err
    assert main(["train", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown task 'nosuch'; available tasks: " in err
    assert "toy" in err
    assert main(["train", "toy", "--optim.lr=abc"]) == 2
    err = capsys.readouterr().err
    assert err == "rnnkit: error: optim.lr (from --optim.lr=abc): expected a number, got 'abc'\n"


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_mode(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    assert use_rich(_Tty()) and not use_rich(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not use_rich(_Tty())
    p = Progress(total=10, start_step=0, unit="tok", every=5, fancy=False)
    for step in range(1, 11):
        p.update(step, 1.0, 0.5, 1e-3, 100.0)
    p.close()
    assert capsys.readouterr().out.count("\n") == 2
