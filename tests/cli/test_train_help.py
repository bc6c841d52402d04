"""`rnnkit train TASK --help` lists the task's settings from its typed config; `--data` names
the task's main data; the progress ETA of a time-limited run."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from rnnkit.cli import main
from rnnkit.config import describe
from rnnkit.training.progress import Progress
from rnnkit.training.registry import available_tasks, load_task_module
from rnnkit.training.settings import ENGINE_SECTIONS


@pytest.mark.parametrize("task", available_tasks())
def test_every_setting_has_a_meaning(task):
    docs = describe(load_task_module(task).Config)
    docs += [d for name, cls in ENGINE_SECTIONS.items() for d in describe(cls, name + ".")]
    assert [d.key for d in docs if not d.meaning] == []


def test_describe_reads_types_defaults_and_comments():
    @dataclass
    class Section:
        # the width
        # of a thing
        width: int = 3
        mode: str = "a"  # how it runs

    docs = {d.key: d for d in describe(Section, "s.")}
    assert (docs["s.width"].type, docs["s.width"].default) == ("int", 3)
    assert docs["s.width"].meaning == "the width of a thing"
    assert docs["s.mode"].meaning == "how it runs"


def test_train_task_help_lists_every_setting(capsys):
    assert main(["train", "lm", "--help"]) == 0
    out = capsys.readouterr().out
    settings = out.split("settings of task lm", 1)[1]  # the options' help wraps above it
    rows = {line.split()[0]: line.split() for line in settings.splitlines()
            if line.startswith("  ") and "." in line.split()[0]}
    lm = load_task_module("lm")
    keys = [d.key for d in describe(lm.Config)]
    keys += [d.key for n, c in ENGINE_SECTIONS.items() for d in describe(c, n + ".")]
    assert sorted(rows) == sorted(keys)
    assert rows["data.tokenizer"][1:3] == ["char|byte|word", "char"]
    assert rows["train.steps"][1:3] == ["int", "0"]  # the task's TRAIN_DEFAULTS applied
    assert rows["train.minutes"][1:3] == ["float", "15.0"]
    assert "--data X is --data.corpus=X" in out


def test_train_help_without_a_task_lists_the_tasks(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "tasks: " in out and "settings of task" not in out


def test_data_names_the_tasks_main_data(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 200)
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(corpus), "--out", str(run), "--steps", "2",
                 "--plain", "--model.hidden_size=8", "--model.embedding_size=8",
                 "--data.seq_len=16", "--data.batch_size=2", "--train.eval_every=2"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["task"]["data"]["corpus"] == str(corpus)


def test_data_is_refused_where_a_task_has_no_data(capsys):
    assert main(["train", "toy", "--data", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--data: task 'toy' has no data to name" in err


def test_eta_of_a_time_limited_run(capsys, monkeypatch):
    clock = iter([0.0, 30.0, 30.0])
    monkeypatch.setattr("rnnkit.training.progress.time.perf_counter", lambda: next(clock))
    p = Progress(total=0, start_step=0, unit="tok", every=1, fancy=False, minutes=2)
    p.update(1, 1.0, 0.5, 1e-3, 100.0)
    assert capsys.readouterr().out.rstrip().endswith("eta 1m30s")


def test_eta_is_the_sooner_limit(capsys, monkeypatch):
    clock = iter([0.0, 10.0])
    monkeypatch.setattr("rnnkit.training.progress.time.perf_counter", lambda: next(clock))
    p = Progress(total=100, start_step=0, unit="tok", every=1, fancy=False, minutes=60)
    p.update(1, 1.0, 0.5, 1e-3, 100.0)  # 10 s a step: 990 s left by steps, 3590 s by time
    assert capsys.readouterr().out.rstrip().endswith("eta 16m30s")


@pytest.mark.parametrize("task, name", [("translate", "bogus"), ("recognize", "bogus")])
def test_data_names_the_generated_data_set_of_translate_and_recognize(task, name, tmp_path, capsys):
    assert main(["train", task, "--data", name, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "data.name" in err and "bogus" in err
    assert not (tmp_path / "run").exists()
