"""benchmarks/translate_bible.py: the command lines it starts resolve to the settings meant (both
runs alike but for the attention), and the target is read off the scores as issue #16 states it.
(The whole script runs end to end in a CPU smoke test: docs/translate.md.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from rnnkit.training.registry import load_task_module
from rnnkit.training.settings import load_file, resolve

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("translate_bible",
                                                  ROOT / "benchmarks" / "translate_bible.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolved(cmd: list[str]):
    config = cmd[cmd.index("--config") + 1]
    overrides = [a for a in cmd if a.startswith("--") and "=" in a]
    return resolve(load_task_module("translate"), "translate", file_data=load_file(config),
                   file_name=config, overrides=overrides)


def test_both_runs_get_the_same_settings_but_the_attention(bench, tmp_path):
    args = bench.parse_args(["--data-dir", str(tmp_path), "--out", str(tmp_path), "--device",
                             "cpu", "--minutes", "2", "--steps", "900", "--set",
                             "model.dropout=0.1"])
    paths = {s: tmp_path / f"{s}.tsv" for s in bench.SPLITS}
    cfgs = {att: _resolved(bench.train_command(args, paths, att, tmp_path / att))
            for att in ("bahdanau", "none")}
    a, n = cfgs["bahdanau"], cfgs["none"]
    assert (a.task.model.attention, n.task.model.attention) == ("bahdanau", "none")
    n.task.model.attention = "bahdanau"
    assert a.to_dict() == n.to_dict()
    assert (a.train.steps, a.sched.total_steps, a.train.minutes) == (900, 900, 2.0)
    assert (a.train.device, a.task.model.dropout, a.train.best_metric) == ("cpu", 0.1, "chrf")
    assert a.task.data.test_path == str((tmp_path / "test.tsv").resolve())
    assert bench.parse_args(["--data-dir", "d", "--out", "o"]).device == "cuda"
    default = bench.parse_args(["--data-dir", "d", "--out", "o", "--device", "cpu"])
    cfg = _resolved(bench.train_command(default, paths, "none", tmp_path / "n"))
    # the default: no step limit, the cosine over the minutes (the same for both runs)
    assert (cfg.train.steps, cfg.sched.total_steps, cfg.train.minutes) == (0, 0, 5.0)
    assert cfg.sched.name == "cosine"


def _scores(chrf_greedy: float, chrf_beam: float) -> dict:
    return {"greedy": {"bleu": 1.0, "chrf": chrf_greedy, "exact": 0.0, "sentences_per_s": 9.0},
            "beam5": {"bleu": 1.0, "chrf": chrf_beam, "exact": 0.0, "sentences_per_s": 3.0}}


def test_the_target_is_read_off_the_better_search_of_each_model(bench):
    results = {"runs": {"attention": {"attention": "bahdanau", "test": _scores(40.0, 42.0),
                                      "training": {"steps": 10}, "wall_s": 1.0},
                        "none": {"attention": "none", "test": _scores(37.5, 36.0),
                                 "training": {"steps": 12}, "wall_s": 1.0}},
               "copy_source": {"bleu": 0.4, "chrf": 19.0, "exact": 0.0}}
    v = bench.verdict(results, "beam5")
    assert v["attention_minus_none_chrf"] == pytest.approx(42.0 - 37.5)
    assert not v["attention_beats_none_by_5_chrf"]
    assert v["beam_ge_greedy_chrf"] == {"attention": True, "none": False}
    lines = bench.table(results, "beam5").splitlines()
    assert len(lines) == 2 + 4 + 1 and "| copy the source |" in lines[-1]
    del results["runs"]["none"]["test"]  # a training that failed: no target, a row saying so
    assert bench.verdict(results, "beam5") is None
    assert "| none (none) | training failed" in bench.table(results, "beam5")


def test_missing_splits_stop_with_the_export_command(bench, tmp_path):
    with pytest.raises(SystemExit, match="export_bible.py --out"):
        bench.check_data(tmp_path)


@pytest.mark.parametrize(("mode", "shared"), [("Default", True), ("Exclusive_Process", False),
                                              ("Prohibited", False)])
def test_a_gpu_that_takes_one_process_is_seen(bench, tmp_path, monkeypatch, mode, shared):
    fake = tmp_path / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\necho {mode}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert bench.gpu_is_shared("cuda:0") is shared
    monkeypatch.setenv("PATH", str(tmp_path / "none"))  # no nvidia-smi: the default mode
    assert bench.gpu_is_shared("cuda") is True
