"""`rnnkit export RUN_DIR --onnx`: files written and checked; one-line errors."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.cli import export as export_cli
from rnnkit.cli import main
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task


@pytest.fixture
def lm_run(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc abd abe\n" * 20)
    task = make_task(Config(DataConfig(corpus=str(corpus), batch_size=2, seq_len=8),
                            ModelConfig(embedding_size=8, hidden_size=8, num_layers=2)))
    torch.manual_seed(0)
    model = task.build_model().eval()
    run = {"lm": ({"task_name": "lm", "task": {}}, task.metadata(), model.state_dict()),
           "classify": ({"task_name": "classify"}, {"task": "classify"}, {})}
    monkeypatch.setattr(export_cli, "_load_run", lambda run_dir, which: run[run_dir])
    return model, task


def test_export_writes_both_checked_files(lm_run, tmp_path, capsys):
    model, task = lm_run
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


def test_export_errors_are_one_line(lm_run, tmp_path, capsys):
    assert main(["export", "classify", "--onnx", str(tmp_path / "c.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "classify run" in err and "rnnkit predict" in err
    assert main(["export", "lm", "--onnx", "a.onnx", "--step", "a.onnx"]) == 2
    assert "two different paths" in capsys.readouterr().err
    assert main(["export", "lm", "--onnx", "a.onnx", "--tolerance", "0"]) == 2
    assert "--tolerance" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "corpus.txt"]
