import json
import random
from dataclasses import asdict

import numpy as np
import pytest
import torch

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli import main
from rnnkit.cli import predict as predict_cli
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks._metrics import confusion_matrix, macro_f1
from rnnkit.tasks.classify import (
    TRAIN_DEFAULTS,
    Config,
    drop_tokens,
    evaluate_loaded,
    format_report,
    make_task,
    task_from_metadata,
)

FILLER = "the a of cat dog sun tree blue red run".split()


def text_csv(path, n, seed):
    """Separable: a 'pos' text holds the word 'good', a 'neg' text the word 'bad', somewhere
    among 0-7 filler words."""
    rng = random.Random(seed)
    rows = ["text,label"]
    for i in range(n):
        label, key = ("pos", "good") if i % 2 else ("neg", "bad")
        words = rng.choices(FILLER, k=rng.randint(0, 7))
        words.insert(rng.randint(0, len(words)), key)
        rows.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(rows) + "\n")
    return path


def series_ts(path, n, seed, regression=False):
    """Univariate series of 5-15 steps; the class is the sign of the level (or the level)."""
    rng = np.random.default_rng(seed)
    head = "@targetLabel true" if regression else "@classLabel true up down"
    lines = ["@problemName toy", "@univariate true", head, "@data"]
    for i in range(n):
        level = rng.normal() + (1.5 if i % 2 else -1.5)
        x = level + 0.3 * rng.normal(size=rng.integers(5, 16))
        target = f"{level:.4f}" if regression else ("up" if level > 0 else "down")
        lines.append(",".join(f"{v:.4f}" for v in x) + f":{target}")
    path.write_text("\n".join(lines) + "\n")
    return path


def hand_train(task, steps, lr=0.03):
    torch.manual_seed(0)
    model = task.build_model()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    done, epoch = 0, 0
    while done < steps:
        for batch in task.train_batches(epoch):
            out = task.step(model, batch, None)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
        epoch += 1
    return model


@pytest.fixture
def text_task(tmp_path):
    cfg = Config(data={"train_path": str(text_csv(tmp_path / "train.csv", 80, 0)),
                       "test_path": str(text_csv(tmp_path / "test.csv", 40, 1)),
                       "batch_size": 16, "min_freq": 1, "valid_fraction": 0.0},
                 model={"hidden_size": 16, "embed_dim": 8, "pooling": "max",
                        "bidirectional": True})
    return make_task(cfg)


def test_tiny_separable_task_reaches_100_percent(text_task):
    model = hand_train(text_task, steps=60)
    metrics = text_task.evaluate(model)  # valid_fraction 0: the test file
    assert metrics["accuracy"] == 1.0 and metrics["macro_f1"] == 1.0
    assert metrics["loss"] < 0.1


def test_step_follows_the_task_contract(text_task):
    model = text_task.build_model()
    batch = next(iter(text_task.train_batches(0)))
    out = text_task.step(model, batch, None)
    assert out.loss.dim() == 0 and out.n_items == len(batch["y"]) and out.state is None
    out.loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert 0.0 <= out.metrics["accuracy"] <= 1.0
    assert set(text_task.evaluate(model)) == {"loss", "accuracy", "macro_f1"}
    assert isinstance(TRAIN_DEFAULTS, dict) and "optim.lr" in TRAIN_DEFAULTS


def test_train_batches_shard_and_change_with_epoch(text_task):
    one = [b["y"].tolist() for b in text_task.train_batches(0)]
    assert [b["y"].tolist() for b in text_task.train_batches(0)] == one
    assert [b["y"].tolist() for b in text_task.train_batches(1)] != one
    halves = [list(text_task.train_batches(0, rank=r, world_size=2)) for r in (0, 1)]
    assert len(halves[0]) == len(halves[1]) == len(one) // 2


def test_metadata_rebuilds_the_same_predictions(text_task):
    model = hand_train(text_task, steps=5)
    meta = json.loads(json.dumps(text_task.metadata()))  # must survive JSON
    cfg = Config(**json.loads(json.dumps(asdict(text_task.cfg))))
    again = task_from_metadata(cfg, meta)
    model2 = again.build_model()
    model2.load_state_dict(model.state_dict())
    a, _ = text_task.outputs(model, text_task.valid)
    b, _ = again.outputs(model2, again.prep.encode_items(
        ["the good dog", "bad sun"], ["pos", "neg"], "x"))
    c, _ = text_task.outputs(model, text_task.prep.encode_items(
        ["the good dog", "bad sun"], ["pos", "neg"], "x"))
    np.testing.assert_allclose(b, c, rtol=1e-6)
    assert a.shape == (40, 2) and np.allclose(a.sum(1), 1.0)
    assert meta["classes"] == ["neg", "pos"] and meta["tokenizer"]["kind"] == "word"


def test_series_task_scaler_fitted_on_train_and_valid_split(tmp_path):
    path = series_ts(tmp_path / "s.ts", 60, 0)
    task = make_task(Config(data={"train_path": str(path), "valid_fraction": 0.2, "folds": 0,
                                  "batch_size": 8}, model={"hidden_size": 8}))
    meta = task.metadata()
    assert meta["classes"] == ["up", "down"] and meta["input_size"] == 1
    assert len(meta["split"]["test"]["test_indices"]) == 12
    assert len(meta["split"]["valid"]["indices"]) == len(task.valid) == 10
    train_steps = np.concatenate([x for x, _ in task.train])
    assert abs(train_steps.mean()) < 1e-5 and abs(train_steps.std() - 1) < 1e-4


def test_data_name_may_be_a_file(tmp_path):
    path = series_ts(tmp_path / "s.ts", 60, 0)
    by_name = make_task(Config(data={"name": str(path), "batch_size": 8}, model={"hidden_size": 8}))
    by_path = make_task(Config(data={"train_path": str(path), "batch_size": 8},
                               model={"hidden_size": 8}))
    assert by_name.metadata()["split"] == by_path.metadata()["split"]


def test_regression_series(tmp_path):
    path = series_ts(tmp_path / "r.ts", 60, 0, regression=True)
    task = make_task(Config(data={"train_path": str(path), "batch_size": 8},
                            model={"hidden_size": 8, "pooling": "mean"}))
    before = task.evaluate(hand_train(task, steps=0))
    after = task.evaluate(hand_train(task, steps=60))
    assert set(after) == {"loss", "rmse", "mae"} and after["rmse"] < 0.5 * before["rmse"]


def test_config_rejects_unknown_keys_and_values_like_the_cli():
    with pytest.raises(ConfigError, match="unknown key 'model.hidden' .*known keys here"):
        Config(model={"hidden": 3})
    with pytest.raises(ConfigError, match=r"data.valid_fraction: expected a number in \[0, 1\)"):
        Config(data={"valid_fraction": 1.5})
    with pytest.raises(ConfigError, match="data.tokenizer .*one of 'word', 'char', got 'bpe'"):
        Config(data={"tokenizer": "bpe"})
    with pytest.raises(ConfigError, match="model.cell .*one of 'lstm', 'gru', .*'rnn', got"):
        Config(data={"name": "unittest"}, model={"cell": "tcn"})


def test_class_weights_change_the_loss(tmp_path):
    path = tmp_path / "imb.csv"
    path.write_text("text,label\n" + "a b\n".replace("\n", ",x\n") * 9 + "c d,y\n" * 3)
    kw = {"train_path": str(path), "min_freq": 1, "valid_fraction": 0.0, "batch_size": 64}
    plain = make_task(Config(data=kw))
    weighted = make_task(Config(data={**kw, "class_weights": True}))
    torch.manual_seed(0)
    model = plain.build_model()
    batch = next(iter(plain.train_batches(0)))
    assert weighted.weights is not None and plain.weights is None
    assert plain.step(model, batch).loss.item() != weighted.step(model, batch).loss.item()


def test_token_dropout_hides_training_tokens_only(text_task):
    x = torch.tensor([[5, 6, 7, 8] * 250, [9] * 500 + [0] * 500])
    dropped = drop_tokens(x, 0.25, np.random.default_rng(0))
    hit = dropped != x
    assert (dropped[hit] == 1).all() and not hit[1, 500:].any()  # <unk>; padding stays 0
    assert 0.2 < hit[0].float().mean().item() < 0.3 and 0.2 < hit[1, :500].float().mean() < 0.3
    with pytest.raises(ConfigError, match=r"data.token_dropout: expected a number in \[0, 1\)"):
        Config(data={"token_dropout": 1.0})
    plain = [b["x"] for b in text_task.train_batches(0)]
    text_task.cfg.data.token_dropout = 0.3
    noisy = [b["x"] for b in text_task.train_batches(0)]
    again = [b["x"] for b in text_task.train_batches(0)]
    assert all(torch.equal(a, b) for a, b in zip(noisy, again, strict=True))  # same per epoch
    changed = [(a != b) for a, b in zip(plain, noisy, strict=True)]
    assert any(c.any() for c in changed)
    assert all((b[c] == 1).all() for b, c in zip(noisy, changed, strict=True))
    model = text_task.build_model()
    seen, _ = text_task.outputs(model, text_task.valid)  # evaluation: no dropout
    text_task.cfg.data.token_dropout = 0.0
    assert np.array_equal(seen, text_task.outputs(model, text_task.valid)[0])


def test_macro_f1_by_hand():
    cm = confusion_matrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # F1 = 2TP / (2TP + FP + FN): class 0 = 2/4, class 1 = 4/5, class 2 = 0
    assert macro_f1(cm) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


@pytest.fixture
def fake_record(text_task):
    """What the engine's load_run returns for a trained text run: (config, metadata, weights)."""
    model = hand_train(text_task, steps=60)
    return {"task": asdict(text_task.cfg), "train": {}}, text_task.metadata(), model.state_dict()


@pytest.fixture
def fake_run(tmp_path, monkeypatch, fake_record):
    """A run directory that the CLI's `load_run` reads as `fake_record`."""
    monkeypatch.setattr(evaluate_cli, "_load_run", lambda run_dir, which: fake_record)
    monkeypatch.setattr(predict_cli, "_load_run", lambda run_dir, which: fake_record)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return run_dir


def test_evaluate_cli_writes_metrics_and_plot(fake_run, fake_record, capsys):
    report = evaluate_loaded(*fake_record, None)
    assert main(["evaluate", str(fake_run), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["accuracy"] == report["accuracy"] == 1.0
    assert printed["confusion_matrix"] == [[20, 0], [0, 20]]
    assert (fake_run / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["evaluate", str(fake_run)]) == 0  # text: the matrix as a table
    text = capsys.readouterr().out.splitlines()
    assert "accuracy  1.0000" in text and text[-3:-1] == ["  neg    20     0",
                                                          "  pos     0    20"]


def test_evaluate_cli_no_baselines(fake_run, capsys):
    assert main(["evaluate", str(fake_run), "--json"]) == 0
    assert "TF-IDF + logistic regression" in json.loads(capsys.readouterr().out)["baselines"]
    assert main(["evaluate", str(fake_run), "--json", "--no-baselines"]) == 0
    assert "baselines" not in json.loads(capsys.readouterr().out)


def test_predict_cli_csv_and_json(fake_run, tmp_path, capsys):
    path = tmp_path / "new.csv"
    path.write_text("text\nthe good cat\nbad tree bad\nsomething new\n")
    assert main(["predict", str(fake_run), "--input", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "row,label,p_neg,p_pos" and len(lines) == 4
    assert lines[1].split(",")[1] == "pos" and lines[2].split(",")[1] == "neg"
    assert main(["predict", str(fake_run), "--input", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in rows[:2]] == ["pos", "neg"]
    assert sum(rows[2]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_predict_garbage_gives_one_line_error(fake_run, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text('text\nfine\n"two",fields,here\n')
    assert main(["predict", str(fake_run), "--input", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{bad}:3:" in err
    wrong = tmp_path / "x.ts"
    wrong.write_text("@univariate true\n@classLabel false\n@data\n1,2\n")
    assert main(["predict", str(fake_run), "--input", str(wrong)]) == 2
    assert "expected a CSV file" in capsys.readouterr().err


def test_evaluate_on_file_with_unknown_label(fake_run, fake_record, tmp_path, capsys):
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\ngood,pos\nbad,meh\n")
    with pytest.raises(DataError, match="item 2: label 'meh' is not one of the classes"):
        evaluate_loaded(*fake_record, str(path))
    assert main(["evaluate", str(fake_run), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "label 'meh' is not one of the classes" in err


def test_evaluate_loaded_from_a_loaded_run(fake_run, fake_record):
    config, metadata, state = fake_record
    report = evaluate_loaded(config, metadata, state, "test", batch_size=4, device="cpu")
    assert report["accuracy"] == 1.0 and report["n_items"] == 40 and "plot" not in report
    assert not (fake_run / "confusion_matrix.png").exists()


def test_evaluate_says_when_a_baseline_wins_and_keeps_the_baselines(text_task, tmp_path):
    untrained = text_task.build_model().state_dict()  # about chance against TF-IDF's 1.0
    record = {"task": asdict(text_task.cfg), "train": {}}, text_task.metadata(), untrained
    run_dir = tmp_path / "untrained"
    run_dir.mkdir()
    report = evaluate_loaded(*record, None, run_dir=run_dir)
    assert report["baselines"]["TF-IDF + logistic regression"]["accuracy"] == 1.0
    assert report["accuracy"] < 1.0
    assert report["baseline_wins"] == [
        f"TF-IDF + logistic regression beats this run: accuracy 1.0000 against "
        f"{report['accuracy']:.4f}"]
    text = format_report(report)
    assert "  TF-IDF + logistic regression" in text and "NOTE: TF-IDF" in text
    saved = json.loads((run_dir / "baselines.json").read_text())
    saved["baselines"]["TF-IDF + logistic regression"]["accuracy"] = 0.25  # the kept numbers
    (run_dir / "baselines.json").write_text(json.dumps(saved))  # are read, not recomputed
    again = evaluate_loaded(*record, None, run_dir=run_dir)
    assert again["baselines"]["TF-IDF + logistic regression"]["accuracy"] == 0.25
    assert "baselines" not in evaluate_loaded(*record, None, baselines=False)


def test_evaluate_series_run_has_both_nearest_neighbour_baselines(tmp_path):
    cfg = Config(data={"train_path": str(series_ts(tmp_path / "tr.ts", 30, 0)),
                       "test_path": str(series_ts(tmp_path / "te.ts", 20, 1)),
                       "valid_fraction": 0.0}, model={"hidden_size": 8, "embed_dim": 4})
    task = make_task(cfg)
    model = task.build_model()
    record = {"task": asdict(task.cfg), "train": {}}, task.metadata(), model.state_dict()
    report = evaluate_loaded(*record, str(tmp_path / "te.ts"))
    assert set(report["baselines"]) == {"1-NN Euclidean", "1-NN DTW"}
    assert all(b["accuracy"] > 0.9 for b in report["baselines"].values())  # level: separable
