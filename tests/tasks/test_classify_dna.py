"""DNA through `rnnkit train classify`, `rnnkit evaluate` and `rnnkit predict`, with your own
FASTA file: base ids in, the strands settings, the k-mer baseline and per-class F1 out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.tasks.classify import Config, make_task


def fasta(path, n, seed, labelled=True):
    """Separable: class 'gc' sequences are GC-rich, 'at' ones AT-rich (8-20 bases)."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        label = "gc" if i % 2 else "at"
        rich, poor = ("GC", "AT") if label == "gc" else ("AT", "GC")
        seq = "".join(rng.choice(list(rich * 4 + poor), rng.integers(8, 21)))
        lines.append(f">s{i}" + (f" label={label}" if labelled else "") + f"\n{seq}\n")
    path.write_text("".join(lines))
    return path


def test_dna_items_are_base_ids_and_augmentation_flips_some_rows(tmp_path):
    train = fasta(tmp_path / "mine.fa", 40, 0)
    task = make_task(Config(data={"name": str(train), "batch_size": 40},
                            dna={"strands": "augment"}))
    assert task.prep.kind == "dna" and task.prep.classes == ["at", "gc"]
    x, _ = task.train[0]
    assert x.dtype == np.int64 and set(np.unique(x)) <= {1, 2, 3, 4}
    plain = make_task(Config(data={"name": str(train), "batch_size": 40}))
    a, b = next(task.train_batches(0)), next(plain.train_batches(0))
    flipped = (a["x"] != b["x"]).any(1)
    assert 0 < int(flipped.sum()) < len(flipped)  # about half the rows read on the other strand
    assert torch.equal(a["y"], b["y"])


def test_train_evaluate_predict_end_to_end(tmp_path, capsys):
    train = fasta(tmp_path / "train.fa", 60, 1)
    run_dir = tmp_path / "run"
    code = main(["train", "classify", "--data", str(train), "--data.batch_size=8",
                 "--model.hidden_size=8", "--model.bidirectional=true", "--model.pooling=mean",
                 "--dna.strands=average", "--train.threads=1", "--train.eval_every=40",
                 "--optim.lr=0.03", "--steps", "80", "--out", str(run_dir), "--plain"])
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] >= 0.9 and set(report["per_class_f1"]) == {"at", "gc"}
    base = report["kmer_baseline"]
    assert base["accuracy"] >= 0.9 and base["k_max"] in (2, 3, 4, 5)  # GC content: k = 1 does
    assert main(["evaluate", str(run_dir)]) == 0
    assert "k-mer baseline (k <= " in capsys.readouterr().out
    new = fasta(tmp_path / "new.fa", 4, 7, labelled=False)
    assert main(["predict", str(run_dir), "--input", str(new)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "row,label,p_at,p_gc"
    assert [r.split(",")[1] for r in out[1:]] == ["at", "gc", "at", "gc"]


@pytest.mark.parametrize("text, message", [
    (">a label=x\nACGT\n>b\nACGT\n", r"train\.fa:3: record 'b' has no label in its header"),
    (">a label=x\nACGT\n>b label=y\nAC GT*\n", r"record 'b': position 5 \(line 4\): '\*'"),
    (">a label=x\n>b label=y\nACGT\n", r"train\.fa:1: record 'a' has no sequence"),
    ("", r"train\.fa: no FASTA records"),
])
def test_bad_fasta_is_one_line(tmp_path, capsys, text, message):
    import re

    train = tmp_path / "train.fa"
    train.write_text(text)
    assert main(["train", "classify", "--data", str(train), "--steps", "1",
                 "--out", str(tmp_path / "run"), "--plain"]) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(message, err) and len(err.splitlines()) == 1


def test_evaluate_refuses_a_changed_region_split(tmp_path):
    from dataclasses import asdict

    from rnnkit.errors import DataError
    from rnnkit.tasks.classify import evaluate_loaded, task_from_metadata

    train = fasta(tmp_path / "mine.fa", 20, 0)
    task = make_task(Config(data={"name": str(train)}))
    meta = task.metadata()
    meta["split"]["test"]["regions"] = [["NC_000932.1", 0, 8000, "test"]]  # not this data's
    cfg = {"task": asdict(task.cfg)}
    state = task_from_metadata(task.cfg, meta).build_model().state_dict()
    with pytest.raises(DataError, match="region split differs from the run's saved split"):
        evaluate_loaded(cfg, meta, state)


def test_export_says_dna_runs_have_no_onnx_export(tmp_path, capsys, monkeypatch):
    from dataclasses import asdict

    from rnnkit.cli import export as export_cli

    train = fasta(tmp_path / "mine.fa", 20, 0)
    task = make_task(Config(data={"name": str(train)}))
    record = ({"task": asdict(task.cfg), "task_name": "classify"}, task.metadata(),
              task.build_model().state_dict())
    monkeypatch.setattr(export_cli, "_load_run", lambda run_dir, which: record)
    assert main(["export", "RUN", "--onnx", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "classifies DNA" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()
