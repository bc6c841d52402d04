"""One registry of cell names behind every task: `--model.cell=ln_lstm` (and the regularised
settings) trains in lm, classify, forecast and translate, and an unknown name is one line that
lists the known cells in every task, recognize included."""

from __future__ import annotations

import pytest
import torch
from helpers import TINY as FORECAST_TINY
from helpers import sine_csv
from translate_helpers import reverse_pairs, write_tsv

from rnnkit.cli import main
from rnnkit.functional import registry
from rnnkit.training.checkpoint import load_run


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def task_args(task: str, tmp_path) -> list[str]:
    """A few steps of each task on data written here."""
    if task == "lm":
        corpus = tmp_path / "corpus.txt"
        corpus.write_text("the quick brown fox jumps over the lazy dog. " * 30)
        return [f"--data.corpus={corpus}", "--data.batch_size=4", "--data.seq_len=16",
                "--data.eval_batch_size=2", "--model.embedding_size=8", "--model.hidden_size=8",
                "--model.num_layers=1", "--train.eval_every=3"]
    if task == "classify":
        train = tmp_path / "train.csv"
        rows = [f"{'good' if i % 2 else 'bad'} day,{'pos' if i % 2 else 'neg'}" for i in range(40)]
        train.write_text("text,label\n" + "\n".join(rows) + "\n")
        return [f"--data.train_path={train}", "--data.min_freq=1", "--data.batch_size=8",
                "--model.hidden_size=8", "--model.embed_dim=8", "--train.eval_every=3"]
    if task == "forecast":
        return [f"--data.name={sine_csv(tmp_path / 'sine.csv')}",
                *[a for a in FORECAST_TINY if a not in ("--steps", "20", "--plain")],
                "--train.eval_every=3"]
    if task == "translate":
        paths = {}
        for split, (n, seed) in {"train": (200, 0), "valid": (20, 1), "test": (20, 2)}.items():
            paths[split] = write_tsv(tmp_path / f"{split}.tsv", reverse_pairs(n, seed))
        return ["--data.name=files", *(f"--data.{s}_path={p}" for s, p in paths.items()),
                "--data.tokenizer=char", "--model.embedding_size=8", "--model.hidden_size=8",
                "--data.batch_size=16", "--train.eval_every=3"]
    if task == "recognize":
        return ["--data.name=ctc-toy", "--data.n_train=40", "--data.n_valid=8",
                "--data.n_test=8", "--model.hidden_size=8", "--model.num_layers=1"]
    raise AssertionError(task)


@pytest.mark.parametrize("task, extra", [
    ("lm", ["--model.recurrent_dropout=0.2", "--model.zoneout=0.1"]),
    ("classify", []),
    ("forecast", ["--model.zoneout=0.1"]),
    ("translate", ["--model.recurrent_dropout=0.2"]),
])
def test_ln_lstm_trains_in_every_task(task, extra, tmp_path, one_thread, capsys):
    run = tmp_path / "run"
    args = ["train", task, "--model.cell=ln_lstm", *extra, *task_args(task, tmp_path),
            "--train.threads=1", "--steps", "3", "--out", str(run), "--plain"]
    assert main(args) == 0, capsys.readouterr().err
    _, _, state = load_run(run, "last")
    assert any(".ln_c_weight_l0" in name for name in state)  # the family's own parameters
    data = {"lm": str(tmp_path / "corpus.txt"), "forecast": str(tmp_path / "sine.csv")}.get(
        task, "test")
    assert main(["evaluate", str(run), "--data", data]) == 0, capsys.readouterr().err


def test_generate_from_an_ln_lstm_run_takes_the_models_own_step(tmp_path, one_thread, capsys):
    run = tmp_path / "run"
    assert main(["train", "lm", "--model.cell=ln_lstm", *task_args("lm", tmp_path),
                 "--train.threads=1", "--steps", "2", "--out", str(run), "--plain"]) == 0
    capsys.readouterr()
    assert main(["generate", str(run), "--length", "5", "--seed", "0"]) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("task", ["lm", "classify", "forecast", "translate", "recognize"])
def test_an_unknown_cell_is_one_line_listing_the_known_cells(task, tmp_path, capsys):
    args = ["train", task, "--model.cell=transformer", *task_args(task, tmp_path),
            "--steps", "1", "--out", str(tmp_path / "run"), "--plain"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "model.cell" in err and "'transformer'" in err
    assert f"expected one of {', '.join(registry.names(aliases=True))}, got" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("task, cell", [("lm", "mingru"), ("classify", "minlstm"),
                                        ("forecast", "mingru")])
def test_a_scan_cell_trains_by_name(task, cell, tmp_path, one_thread, capsys):
    run = tmp_path / "run"
    args = ["train", task, f"--model.cell={cell}", *task_args(task, tmp_path),
            "--train.threads=1", "--steps", "3", "--out", str(run), "--plain"]
    assert main(args) == 0, capsys.readouterr().err
    _, _, state = load_run(run, "last")
    assert any(".weight_ih_l0" in name for name in state)
    assert not any(".weight_hh_l0" in name for name in state)  # the scan cells have no W_hh
    if task == "lm":  # generation takes the model's own forward: no fast step for it
        capsys.readouterr()
        assert main(["generate", str(run), "--length", "5", "--seed", "0"]) == 0
        assert capsys.readouterr().out.strip()


def test_translate_refuses_a_scan_cell_in_one_line(tmp_path, capsys):
    args = ["train", "translate", "--model.cell=minlstm", *task_args("translate", tmp_path),
            "--steps", "1", "--out", str(tmp_path / "run"), "--plain"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "the minlstm cell has no step cell for the decoder" in err


def test_inspect_refuses_a_scan_cell_run_in_one_line(tmp_path, one_thread, capsys):
    run = tmp_path / "run"
    assert main(["train", "lm", "--model.cell=mingru", *task_args("lm", tmp_path),
                 "--train.threads=1", "--steps", "1", "--out", str(run), "--plain"]) == 0
    capsys.readouterr()
    assert main(["inspect", str(run), "--text", str(tmp_path / "corpus.txt")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "not the mingru cell" in err


@pytest.mark.parametrize("extra, text", [("--model.zoneout=0.1", "zoneout=0.1: the mingru cell"),
                                         ("--model.impl=native", "no kernel for the mingru")])
def test_a_scan_cell_refuses_what_it_cannot_honour_in_one_line(extra, text, tmp_path, capsys):
    args = ["train", "lm", "--model.cell=mingru", extra, *task_args("lm", tmp_path),
            "--steps", "1", "--out", str(tmp_path / "run"), "--plain"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert text in err
