"""Train -> checkpoint -> evaluate -> predict through the training engine and the CLI
(`rnnkit train`, `rnnkit evaluate`, `rnnkit predict`), with real run directories."""

import json
import re

import pytest
import torch

from rnnkit.cli import main


def test_train_evaluate_predict_end_to_end(tmp_path, capsys):
    train = tmp_path / "train.csv"
    rows = [f"{'good' if i % 2 else 'bad'} {'sun ' * (i % 4)}day,{'pos' if i % 2 else 'neg'}"
            for i in range(48)]
    train.write_text("text,label\n" + "\n".join(rows) + "\n")
    run_dir = tmp_path / "run"
    code = main(["train", "classify", f"--data.train_path={train}", "--data.min_freq=1",
                 "--data.batch_size=8", "--model.hidden_size=16", "--model.embed_dim=8",
                 "--train.threads=1", "--train.eval_every=40", "--optim.lr=0.03",
                 "--steps", "80", "--out", str(run_dir), "--plain"])
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--data", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == 1.0 and (run_dir / "confusion_matrix.png").is_file()
    assert report["macro_f1"] == 1.0 and report["n_items"] == 10
    new = tmp_path / "new.csv"
    new.write_text("text\ngood day\nbad sun day\n")
    assert main(["predict", str(run_dir), "--input", str(new), "--which", "last"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "row,label,p_neg,p_pos" and [r.split(",")[1] for r in out[1:]] == ["pos",
                                                                                      "neg"]


def ensemble_run(tmp_path, *extra):
    train = tmp_path / "train.csv"
    rows = [f"{'good' if i % 2 else 'bad'} {'sun ' * (i % 4)}day @u{i} http://t.co/{i},"
            f"{'pos' if i % 2 else 'neg'}" for i in range(48)]
    train.write_text("text,label\n" + "\n".join(rows) + "\n")
    run_dir = tmp_path / "run"
    args = ["train", "classify", f"--data.train_path={train}", "--data.min_freq=1",
            "--data.batch_size=8", "--model.hidden_size=8", "--model.embed_dim=8",
            "--data.subword_buckets=512", "--data.url_token=true", "--train.threads=1",
            "--train.eval_every=10", "--optim.lr=0.03", "--train.best_metric=macro_f1",
            "--train.best_mode=max", "--steps", "20", "--out", str(run_dir), "--plain", *extra]
    return run_dir, args


def test_ensemble_trains_members_and_evaluate_predict_average_them(tmp_path, capsys):
    run_dir, args = ensemble_run(tmp_path, "--train.ensemble=2", "--seed", "3")
    assert main(args) == 0
    assert "done: 2 members, ensemble validation best:" in capsys.readouterr().out
    seeds = [json.loads((run_dir / "members" / k / "config.json").read_text())["train"]["seed"]
             for k in "01"]
    assert seeds == [3, 4]
    summary = json.loads((run_dir / "ensemble.json").read_text())
    assert summary["seeds"] == [3, 4] and set(summary["valid"]) == {"best", "last"}
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_items"] == 10 and 0.0 <= report["macro_f1"] <= 1.0
    new = tmp_path / "new.csv"
    new.write_text("text\ngoodish day @someone\nbad sun day\n")
    probs = {}
    for name in ("run", "run/members/0", "run/members/1"):
        assert main(["predict", str(tmp_path / name), "--input", str(new), "--json"]) == 0
        probs[name] = [[r["probabilities"][c] for c in ("neg", "pos")]
                       for r in json.loads(capsys.readouterr().out)]
    mean = (torch.tensor(probs["run/members/0"]) + torch.tensor(probs["run/members/1"])) / 2
    torch.testing.assert_close(torch.tensor(probs["run"]), mean, atol=2e-6, rtol=0)


def test_ensemble_resume_skips_finished_members(tmp_path, capsys):
    run_dir, args = ensemble_run(tmp_path, "--train.ensemble=2")
    assert main(args) == 0
    done = run_dir / "members" / "1" / "done.json"
    done.unlink()  # as if member 1 had been interrupted after its last checkpoint
    before = (run_dir / "members" / "0" / "metrics.jsonl").read_text()
    assert main(["train", "--resume", str(run_dir), "--plain"]) == 0
    assert (run_dir / "members" / "0" / "metrics.jsonl").read_text() == before
    assert done.is_file() and "resumed" in json.loads((run_dir / "config.json").read_text())


@pytest.mark.parametrize("override,message", [
    ("--train.ensemble=-1", r"train.ensemble: expected >= 1 \(1 = one model\) or 0 "
                           r"\(auto: the task chooses\), got -1"),
    ("--data.subword_buckets=-2", r"data.subword_buckets: expected 0 \(off\) or a positive "
                                  r"integer, got -2"),
])
def test_bad_ensemble_and_subword_settings(tmp_path, capsys, override, message):
    _, args = ensemble_run(tmp_path, override)
    assert main(args) != 0
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not (tmp_path / "run").exists()


def test_load_trained_rebuilds_an_ensemble(tmp_path, capsys):
    from rnnkit.models.ensemble import Ensemble
    from rnnkit.training.loading import load_trained

    run_dir, args = ensemble_run(tmp_path, "--train.ensemble=2")
    assert main(args) == 0
    trained = load_trained(run_dir, "last")
    assert isinstance(trained.model, Ensemble) and len(trained.model.members) == 2
    summary = json.loads((run_dir / "ensemble.json").read_text())
    assert trained.task.evaluate(trained.model) == summary["valid"]["last"]
