"""rnnkit.export.recognizer_to_onnx: every shortening and cell in padded batches as PyTorch, greedy
decoding from onnxruntime as `rnnkit transcribe`'s, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from rnnkit.data.ctc_toy import toy_items
from rnnkit.export import ExportError, recognizer_to_onnx
from rnnkit.export.recognize_runtime import OnnxRecognizer
from rnnkit.models.ctc import CTCModelConfig, CTCRecognizer
from rnnkit.tasks.recognize.config import Config
from rnnkit.tasks.recognize.task import Alphabet, RecognizeTask, fit_scaler


def recognizer(**kw) -> CTCRecognizer:
    torch.manual_seed(0)
    settings = dict(input_size=5, n_classes=7, hidden_size=6, num_layers=2, dropout=0.3,
                    conv_channels=4) | kw
    return CTCRecognizer(CTCModelConfig(**settings))


@pytest.mark.parametrize("subsample,factor,cell,bidirectional", [
    ("none", 2, "lstm", True), ("stack", 3, "gru", True), ("stack", 2, "rnn_tanh", False),
    ("conv", 2, "lstm", False), ("conv", 3, "gru", True)])
def test_padded_batches_match_pytorch(tmp_path, subsample, factor, cell, bidirectional):
    model = recognizer(subsample=subsample, factor=factor, cell=cell,
                       bidirectional=bidirectional)
    report = recognizer_to_onnx(model, tmp_path / "r.onnx", metadata={"task": "recognize"})
    assert report.max_abs_diff < 1e-5 and "T=300 B=2" in report.shapes
    sess = ort.InferenceSession(str(tmp_path / "r.onnx"), providers=["CPUExecutionProvider"])
    for T, lengths in ((11, [4, 11, 1]), (10, [7, 2])):  # the longest row shorter than T too
        x = torch.randn(len(lengths), T, 5)
        x[0, lengths[0]:] = 9.0  # whatever the padding holds
        lengths = torch.tensor(lengths)
        with torch.no_grad():
            expected, expected_len = model.double().eval()(x.double(), lengths)
        got, got_len = sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy()})
        assert got.shape == expected.shape and got_len.dtype == np.int64
        np.testing.assert_array_equal(got_len, expected_len.numpy())
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "r.onnx")).metadata_props}
    assert json.loads(props["rnnkit.metadata"]) == {"task": "recognize"}


def test_recurrent_dropout_exports_as_the_eval_model(tmp_path):
    model = recognizer(recurrent_dropout=0.4, subsample="stack")
    assert recognizer_to_onnx(model, tmp_path / "r.onnx").max_abs_diff < 1e-5


def test_greedy_transcripts_from_onnxruntime_equal_rnnkits(tmp_path):
    items = toy_items(12, seed=3)
    mean, scale = fit_scaler("frames", items)
    cfg = Config(model={"hidden_size": 8, "num_layers": 1, "subsample": "stack", "factor": 2})
    task = RecognizeTask(cfg, Alphabet("abcd"), "frames", mean, scale)
    torch.manual_seed(1)
    model = task.build_model().eval()
    recognizer_to_onnx(model, tmp_path / "r.onnx", task.metadata())
    encoded = [task.encode_item(x, t, f"item {i}") for i, (x, t) in enumerate(items)]
    expected, _ = task.transcribe(model, encoded)
    assert any(expected)  # not a comparison of empty strings
    onnx_model = OnnxRecognizer(tmp_path / "r.onnx")
    assert onnx_model.transcribe([x for x, _ in items]) == expected
    assert [onnx_model.transcribe([x])[0] for x, _ in items[:3]] == expected[:3]  # alone


@pytest.mark.parametrize("kw, message", [
    ({"zoneout": 0.1}, "zoneout=0.1 has no ONNX export"),
    ({"cell": "ln_lstm"}, "the ln_lstm cell has no ONNX operator"),
    ({"cell": "peephole_lstm"}, "the peephole_lstm cell has no ONNX operator"),
    ({"cell": "mingru"}, "the mingru cell has no ONNX operator")])
def test_refusals_are_one_line_and_write_nothing(tmp_path, kw, message):
    with pytest.raises(ExportError, match=message) as err:
        recognizer_to_onnx(recognizer(**kw), tmp_path / "r.onnx")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_check_writes_nothing_and_other_models_are_refused(tmp_path):
    with pytest.raises(ExportError, match="nothing was written"):
        recognizer_to_onnx(recognizer(), tmp_path / "r.onnx", tolerance=1e-12)
    with pytest.raises(ExportError, match="exports a CTCRecognizer, got Linear"):
        recognizer_to_onnx(torch.nn.Linear(2, 2), tmp_path / "r.onnx")
    assert list(tmp_path.iterdir()) == []


def test_runtime_refuses_other_files(tmp_path):
    with pytest.raises(ExportError, match="is not a file"):
        OnnxRecognizer(tmp_path / "missing.onnx")
    recognizer_to_onnx(recognizer(), tmp_path / "r.onnx", metadata={"task": "lm"})
    with pytest.raises(ExportError, match="is not an exported rnnkit recogniser"):
        OnnxRecognizer(tmp_path / "r.onnx")
