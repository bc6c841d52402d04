"""`rnnkit export RUN_DIR --onnx`: files written and checked; one-line errors."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.cli import export as export_cli
from rnnkit.cli import main
from rnnkit.tasks import classify
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task


@pytest.fixture
def lm_run(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc abd abe\n" * 20)
    task = make_task(Config(DataConfig(corpus=str(corpus), batch_size=2, seq_len=8),
                            ModelConfig(embedding_size=8, hidden_size=8, num_layers=2)))
    torch.manual_seed(0)
    model = task.build_model().eval()
    series = tmp_path / "train.ts"
    series.write_text("@problemName toy\n@univariate true\n@classLabel true up down\n@data\n"
                      + "".join(f"{k},{k + 1},{-k}:{'up' if k % 2 else 'down'}\n"
                                for k in range(12)))
    ctask = classify.make_task(classify.Config(
        data={"train_path": str(series), "batch_size": 4},
        model={"hidden_size": 6, "embed_dim": 4, "pooling": "max", "bidirectional": True,
               "conv_filters": 0, "downsample": 1}))
    cmodel = ctask.build_model().eval()
    run = {"lm": ({"task_name": "lm", "task": {}}, task.metadata(), model.state_dict()),
           "classify": ({"task_name": "classify", "task": asdict(ctask.cfg)}, ctask.metadata(),
                        cmodel.state_dict()),
           "translate": ({"task_name": "translate"}, {"task": "translate"}, {}),
           "toy": ({"task_name": "toy"}, {"task": "toy"}, {})}
    monkeypatch.setattr(export_cli, "_load_run", lambda run_dir, which: run[run_dir])
    return model, task, cmodel


def test_export_writes_both_checked_files(lm_run, tmp_path, capsys):
    model, task, _ = lm_run
    whole, step = tmp_path / "m.onnx", tmp_path / "m.step.onnx"
    assert main(["export", "lm", "--onnx", str(whole), "--step", str(step)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all("max abs difference" in line for line in out)
    ids = task.tokenizer.encode("abd ab")[None, :]
    with torch.no_grad():
        expected = model(torch.as_tensor(ids))[0].numpy()
    zeros = np.zeros((2, 1, 8), np.float32)
    got = ort.InferenceSession(str(whole), providers=["CPUExecutionProvider"]).run(
        ["logits"], {"tokens": ids.astype(np.int64), "h0": zeros, "c0": zeros})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_export_classify_run(lm_run, tmp_path, capsys):
    *_, cmodel = lm_run
    assert main(["export", "classify", "--onnx", str(tmp_path / "c.onnx")]) == 0
    assert "max abs difference" in capsys.readouterr().out
    x, lengths = torch.randn(3, 5, 1), torch.tensor([5, 2, 3])
    with torch.no_grad():
        expected = cmodel(x, lengths).numpy()
    got = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"x": x.numpy(), "lengths": lengths.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert main(["export", "classify", "--onnx", "a.onnx", "--step", "b.onnx"]) == 2
    assert "--step is for language models" in capsys.readouterr().err


def test_export_of_a_convolutional_series_classifier_is_refused(tmp_path):
    from rnnkit.export import classifier_to_onnx
    from rnnkit.export.check import ExportError
    from rnnkit.models.classifier import ClassifierConfig, build_classifier

    model = build_classifier(ClassifierConfig(input_kind="series", input_size=1, conv_filters=2))
    with pytest.raises(ExportError, match="--model.conv_filters=0 --model.downsample=1"):
        classifier_to_onnx(model, tmp_path / "c.onnx")
    assert not (tmp_path / "c.onnx").exists()


def test_export_errors_are_one_line(lm_run, tmp_path, capsys):
    assert main(["export", "translate", "--onnx", str(tmp_path / "c.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a translate run exports two files" in err
    assert "the decoder step to --step PATH; add --step" in err
    assert main(["export", "toy", "--onnx", str(tmp_path / "c.onnx")]) == 2
    assert "toy run; `rnnkit export` takes lm, classify, forecast, recognize, translate" in \
        capsys.readouterr().err
    assert main(["export", "lm", "--onnx", "a.onnx", "--step", "a.onnx"]) == 2
    assert "two different paths" in capsys.readouterr().err
    assert main(["export", "lm", "--onnx", "a.onnx", "--tolerance", "0"]) == 2
    assert "--tolerance" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "train.ts"]


def test_export_a_trained_forecast_run(tmp_path, capsys):
    """A real run (two steps), through the run's own rebuild: the file equals the model."""
    from rnnkit.tasks.forecast.run import rebuild
    from rnnkit.training.checkpoint import load_run

    rng = np.random.default_rng(0)
    y = 10 + np.sin(np.arange(80) * 2 * np.pi / 6) + 0.1 * rng.normal(size=80)
    series = tmp_path / "s.csv"
    series.write_text("step,y\n" + "".join(f"{i},{v:.4f}\n" for i, v in enumerate(y)))
    run = tmp_path / "run"
    assert main(["train", "forecast", f"--data.name={series}", "--data.time_column=step",
                 "--data.season=6", "--data.lookback=14", "--data.horizon=4",
                 "--model.hidden_size=5", "--model.head=quantile", "--train.threads=1",
                 "--steps", "2", "--out", str(run), "--plain"]) == 0
    capsys.readouterr()
    path = tmp_path / "f.onnx"
    assert main(["export", str(run), "--onnx", str(path)]) == 0
    assert "B=8 L=14" in capsys.readouterr().out
    _, model = rebuild(*load_run(run, "best"))
    x = torch.randn(2, 14, 1)
    with torch.no_grad():
        expected = model(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"x": x.numpy()})[0], expected, atol=1e-5)
    assert main(["export", str(run), "--onnx", "a.onnx", "--step", "b.onnx"]) == 2
    assert "a forecast run has no step model" in capsys.readouterr().err


def test_export_a_trained_recognize_run(tmp_path, capsys):
    """A real run (two steps): the file's greedy transcripts are `rnnkit transcribe`'s."""
    from rnnkit.data.ctc_toy import toy_items
    from rnnkit.export.recognize_runtime import OnnxRecognizer

    run = tmp_path / "run"
    assert main(["train", "recognize", "--data.name=ctc-toy", "--data.n_train=32",
                 "--data.n_valid=8", "--data.n_test=8", "--data.batch_size=8",
                 "--model.hidden_size=8", "--model.num_layers=1", "--model.subsample=conv",
                 "--model.conv_channels=6", "--train.threads=1", "--steps", "2", "--out",
                 str(run), "--plain"]) == 0
    path = tmp_path / "rec.onnx"
    capsys.readouterr()
    assert main(["export", str(run), "--onnx", str(path)]) == 0
    assert "T=300 B=2" in capsys.readouterr().out
    items = toy_items(4, seed=5)
    files = []
    for i, (x, _) in enumerate(items):
        files.append(str(tmp_path / f"{i}.npy"))
        np.save(files[-1], x)
    assert main(["transcribe", str(run), *files, "--json"]) == 0
    expected = [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()]
    assert any(expected)  # not a comparison of empty transcripts
    assert OnnxRecognizer(path).transcribe([x for x, _ in items]) == expected
    assert main(["export", str(run), "--onnx", "a.onnx", "--step", "b.onnx"]) == 2
    assert "a recognize run has no step model" in capsys.readouterr().err


def test_export_a_translate_run_and_translate_with_onnxruntime(tmp_path, monkeypatch, capsys):
    """Encoder and step files from a (fake-loaded, untrained) run; OnnxTranslator's greedy
    output is `rnnkit translate --beam 1`'s."""
    from rnnkit.cli import translate as translate_cli
    from rnnkit.config import build
    from rnnkit.export.translate_runtime import OnnxTranslator
    from rnnkit.tasks import translate

    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{w}\t{w[::-1]}\n" for w in ("abc", "bca", "cab", "aab", "cc")))
    cfg = {"data": {"name": "files", "train_path": str(train)},
           "model": {"embedding_size": 8, "hidden_size": 16, "attention": "bahdanau"}}
    task = translate.make_task(build(translate.Config, cfg))
    torch.manual_seed(0)
    weights = task.build_model().state_dict()
    weights["out.bias"][:3] -= 4.0  # untrained, it would write <pad>, <unk> or <s> (no text)
    run = ({"task_name": "translate", "task": cfg}, task.metadata(), weights)
    monkeypatch.setattr(export_cli, "_load_run", lambda run_dir, which: run)
    monkeypatch.setattr(translate_cli, "_load_run", lambda run_dir, which: run)
    enc, step = tmp_path / "enc.onnx", tmp_path / "step.onnx"
    assert main(["export", "RUN", "--onnx", str(enc), "--step", str(step)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and str(enc) in out[0] and str(step) in out[1]
    sources = ["abc", "", "ccba", "b"]
    assert main(["translate", "RUN", *sources, "--beam", "1"]) == 0
    expected = capsys.readouterr().out.split("\n")[:-1]
    assert len(expected) == 4 and any(expected)
    assert OnnxTranslator(enc, step).translate(sources) == expected
