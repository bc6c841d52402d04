"""`rnnkit translate` and `rnnkit evaluate` on translate runs: output formats, streaming, errors."""

from __future__ import annotations

import io
import json

import pytest
import torch
from translate_helpers import reverse_pairs, write_tsv

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli import main
from rnnkit.cli import translate as translate_cli
from rnnkit.config import build
from rnnkit.tasks.translate import Config, Translator, make_task


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """What load_run returns for an untrained translate run on reversed words."""
    train = write_tsv(tmp_path / "train.tsv", reverse_pairs(200, 0))
    test = write_tsv(tmp_path / "test.tsv", reverse_pairs(20, 2))
    task_cfg = {"data": {"name": "files", "train_path": str(train), "test_path": str(test)},
                "model": {"embedding_size": 8, "hidden_size": 16}, "decode": {"beam": 3}}
    task = make_task(build(Config, task_cfg))
    torch.manual_seed(0)
    model = task.build_model().eval()
    run = ({"task_name": "translate", "task": task_cfg}, task.metadata(), model.state_dict())
    calls = []

    def load_run(run_dir, which):
        calls.append((run_dir, which))
        return run

    monkeypatch.setattr(translate_cli, "_load_run", load_run)
    monkeypatch.setattr(evaluate_cli, "_load_run", load_run)
    return Translator(model, *task.vocabs), calls, tmp_path


def test_translate_sentences_one_line_each_with_the_runs_beam(fake_run, capsys):
    translator, calls, _ = fake_run
    assert main(["translate", "RUN", "abc", "", "fed"]) == 0
    lines = capsys.readouterr().out.split("\n")
    expected = [t[0].text for t in translator.translate(["abc", "", "fed"], beam=3)]
    assert lines == [*expected, ""] and lines[1] == ""
    assert calls == [("RUN", "best")]


def test_translate_a_file_in_batches_equals_one_by_one(fake_run, capsys, tmp_path):
    translator, _, _ = fake_run
    words = [s for s, _ in reverse_pairs(30, 5)] + [""]
    (tmp_path / "in.txt").write_text("\n".join(words) + "\n")
    assert main(["translate", "RUN", "--input", str(tmp_path / "in.txt"), "--batch-size", "7",
                 "--beam", "2"]) == 0
    got = capsys.readouterr().out.splitlines()
    assert got == [translator.translate([w], beam=2)[0][0].text for w in words]


def test_translate_streams_stdin_line_by_line(fake_run, capsys, monkeypatch):
    translator, _, _ = fake_run
    monkeypatch.setattr("sys.stdin", io.StringIO("ab\r\nfa\n"))
    assert main(["translate", "RUN", "--input", "-", "--beam", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        t[0].text for t in translator.translate(["ab", "fa"], beam=1)]


def test_translate_json_and_n_best(fake_run, capsys):
    assert main(["translate", "RUN", "abc", "--beam", "4", "--n-best", "3", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["source"] == "abc" and obj["unknown"] == [] and len(obj["translations"]) == 3
    scores = [t["score"] for t in obj["translations"]]
    assert scores == sorted(scores, reverse=True)
    assert main(["translate", "RUN", "abc", "--beam", "4", "--n-best", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2"]


def test_unknown_characters_are_read_as_unk_with_a_note(fake_run, capsys):
    assert main(["translate", "RUN", "abz☃"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1
    assert "line 1: 'z', '☃' not in the source vocabulary, read as <unk>" in captured.err


@pytest.mark.parametrize("args, words", [
    (["abc", "--beam", "0"], "--beam: expected an integer >= 1 (1 = greedy), got 0"),
    (["abc", "--beam", "2", "--n-best", "3"], "--n-best: expected an integer from 1 to the beam"),
    (["abc", "--alpha", "-1"], "--alpha: expected a number >= 0"),
    ([], "nothing to translate"),
    (["abc", "--input", "x.txt"], "not both"),
    (["--input", "/nonexistent/in.txt"], "--input: cannot read /nonexistent/in.txt"),
    (["abc", "--batch-size", "0"], "--batch-size: expected an integer >= 1"),
])
def test_bad_arguments_are_one_line(fake_run, capsys, args, words):
    assert main(["translate", "RUN", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_translate_refuses_another_tasks_run(monkeypatch, capsys):
    monkeypatch.setattr(translate_cli, "_load_run", lambda d, w: ({}, {"task": "lm"}, {}))
    assert main(["translate", "RUN", "abc"]) == 2
    assert "RUN is an lm run, which `rnnkit translate` does not take" in capsys.readouterr().err


def test_evaluate_json_and_text(fake_run, capsys):
    _, _, tmp_path = fake_run
    assert main(["evaluate", str(tmp_path), "--data", "test", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["pairs"] == 20 and set(m) >= {"greedy", "beam3", "copy_source"}
    assert m["attention_png"] == str(tmp_path / "attention.png")
    assert main(["evaluate", str(tmp_path), "--data", str(tmp_path / "test.tsv")]) == 0
    text = capsys.readouterr().out
    assert "greedy" in text and "beam3" in text and "BLEU: nrefs:1" in text


def test_train_translate_is_listed(capsys):
    assert main(["train", "--help"]) == 0
    assert "translate" in capsys.readouterr().out
