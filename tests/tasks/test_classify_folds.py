"""k-fold cross-validation on the training split (rnnkit.tasks.classify.folds): the folds, the
members' tasks, the out-of-fold score, and that the test split is never read."""

import json

import numpy as np
import pytest
import torch
from helpers import write_ts

from rnnkit.cli import main
from rnnkit.data.datasets import stratified_folds
from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import ClassifyTask, Config, make_task
from rnnkit.tasks.classify.auto import ENSEMBLE


def test_stratified_folds_partition_every_class_evenly():
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 2
    folds = stratified_folds(labels, 5, seed=3)
    joined = np.concatenate(folds)
    assert sorted(joined.tolist()) == list(range(17))  # every item once
    assert [len(f) for f in folds] == [4, 4, 3, 3, 3]
    for f in folds:
        got = [labels[i] for i in f]
        assert got.count("a") == 2 and got.count("b") == 1
    again = stratified_folds(labels, 5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    with pytest.raises(ConfigError, match=r"folds: expected 2 to 17"):
        stratified_folds(labels, 18, seed=0)


def fold_task(tmp_path, **data):
    cfg = Config(data={"train_path": write_ts(tmp_path / "tr.ts", [16] * 20, 0),
                       "test_path": write_ts(tmp_path / "te.ts", [13] * 6, 1), **data},
                 model={"hidden_size": 4, "embed_dim": 4, "conv_filters": 2})
    return make_task(cfg)


def test_small_series_sets_get_folds_and_each_member_its_own(tmp_path):
    task = fold_task(tmp_path)
    assert task.cfg.data.folds == ENSEMBLE and task.auto_ensemble() == ENSEMBLE
    assert len(task.train) == 20 and task.valid == []  # no validation share cut off
    saved = task.metadata()["split"]["valid"]
    assert saved["folds"] == ENSEMBLE and len(saved["fold_indices"]) == ENSEMBLE
    seen = []
    for k in range(ENSEMBLE):
        member = task.member(k)
        held = set(task.folds[k].tolist())
        assert [x.tobytes() for x, _ in member.valid] == [task.train[i][0].tobytes()
                                                         for i in sorted(held)]
        assert len(member.train) == 20 - len(held) and member.folds is None
        seen += sorted(held)
    assert sorted(seen) == list(range(20))
    off = fold_task(tmp_path, folds=0)
    assert off.folds is None and len(off.valid) == 2 and off.member(3) is off  # valid_fraction


def test_a_large_set_gets_no_folds_and_bad_folds_are_refused(tmp_path):
    cfg = Config(data={"train_path": write_ts(tmp_path / "tr.ts", [16] * 400, 0)})
    assert make_task(cfg).cfg.data.folds == 0
    with pytest.raises(ConfigError, match=r"data.folds: expected -1 \(auto\), 0 \(off\) or >= 2, "
                                          r"got 1"):
        Config(data={"name": "x", "folds": 1})


def test_the_ensemble_is_scored_out_of_fold(tmp_path):
    task = fold_task(tmp_path)
    torch.manual_seed(0)
    members = [task.build_model() for _ in range(ENSEMBLE)]
    got = task.evaluate(task.ensemble(members))
    probs = np.zeros((20, 2))
    for k, member in enumerate(members):  # each item by the one member that did not train on it
        out, _ = task.outputs(member, [task.train[i] for i in task.folds[k]])
        probs[task.folds[k]] = out
    y = np.array([t for _, t in task.train])
    assert got["accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == y)))
    assert got["loss"] == pytest.approx(float(-np.mean(np.log(probs[np.arange(20), y]))),
                                        rel=1e-5)
    one = task.evaluate(members[0])  # one model alone is member 0: fold 0 only
    assert one["accuracy"] == pytest.approx(float(np.mean(probs[task.folds[0]].argmax(1) ==
                                                          y[task.folds[0]])))


def lengths_read(monkeypatch, tmp_path, *extra) -> set:
    """Train a tiny run and return the lengths of every series the task batched (training,
    validation and the ensemble's scoring alike all go through collate)."""
    seen = set()
    collate = ClassifyTask.collate

    def spy(self, items):
        seen.update(len(a) for a, _ in items)
        return collate(self, items)

    monkeypatch.setattr(ClassifyTask, "collate", spy)
    run = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    assert main(["train", "classify", f"--data.train_path={tmp_path / 'tr.ts'}",
                 f"--data.test_path={tmp_path / 'te.ts'}", "--data.batch_size=8",
                 "--model.hidden_size=4", "--model.embed_dim=4", "--model.conv_filters=2",
                 "--train.threads=1", "--train.eval_every=2", "--steps", "2",
                 "--out", str(run), "--plain", *extra]) == 0
    return seen, run


def test_cross_validation_never_reads_the_test_split(tmp_path, monkeypatch, capsys):
    write_ts(tmp_path / "tr.ts", [16] * 20, 0)
    write_ts(tmp_path / "te.ts", [13] * 6, 1)  # test series alone are 13 steps long
    seen, run = lengths_read(monkeypatch, tmp_path)
    assert seen == {16}
    saved = json.loads((run / "config.json").read_text())
    assert saved["task"]["data"]["folds"] == ENSEMBLE and saved["train"]["ensemble"] == ENSEMBLE
    valid = json.loads((run / "ensemble.json").read_text())["valid"]["best"]
    assert 0.0 <= valid["accuracy"] <= 1.0
    # the spy sees the test split where a run does read it: validation on it (folds off)
    seen, _ = lengths_read(monkeypatch, tmp_path, "--data.folds=0", "--data.valid_fraction=0",
                           "--train.ensemble=1")
    assert 13 in seen
