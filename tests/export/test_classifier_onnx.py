"""rnnkit.export.classifier_to_onnx: padded batches with lengths, every pooling, as PyTorch."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from rnnkit.export import ExportError, classifier_to_onnx
from rnnkit.models.classifier import ClassifierConfig, build_classifier


def run_file(path, model, x, lengths):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = x.numpy() if x.dtype == torch.int64 else x.float().numpy()
    got = sess.run(None, {"x": feed, "lengths": lengths.numpy()})[0]
    with torch.no_grad():
        expected = model.double().eval()(x if x.dtype == torch.int64 else x.double(), lengths)
    return got, expected.numpy()


@pytest.mark.parametrize("pooling,cell,bidirectional", [
    ("last", "lstm", True), ("last", "gru", False), ("mean", "rnn", True),
    ("max", "gru", True), ("attention", "lstm", False), ("attention", "rnn", True)])
def test_token_classifier_matches_pytorch_on_padded_batches(tmp_path, pooling, cell,
                                                             bidirectional):
    torch.manual_seed(0)
    model = build_classifier(ClassifierConfig(
        vocab_size=20, embed_dim=6, cell=cell, hidden_size=5, num_layers=2,
        bidirectional=bidirectional, pooling=pooling, n_outputs=4, dropout=0.2))
    report = classifier_to_onnx(model, tmp_path / "c.onnx", metadata={"classes": ["a", "b"]})
    assert report.max_abs_diff < 1e-5
    x = torch.randint(1, 20, (5, 13))
    lengths = torch.tensor([13, 1, 6, 13, 2])
    x[1, 1:] = 0  # padding past the lengths, as a batch of the task has
    got, expected = run_file(tmp_path / "c.onnx", model, x, lengths)
    assert got.shape == (5, 4)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "c.onnx")).metadata_props}
    assert json.loads(props["rnnkit.metadata"]) == {"classes": ["a", "b"]}


@pytest.mark.parametrize("embed_dim", [0, 4])
def test_series_regressor_matches_pytorch(tmp_path, embed_dim):
    torch.manual_seed(0)
    model = build_classifier(ClassifierConfig(
        input_kind="series", input_size=3, embed_dim=embed_dim, cell="gru", hidden_size=5,
        pooling="mean", regression=True))
    classifier_to_onnx(model, tmp_path / "r.onnx")
    x, lengths = torch.randn(4, 9, 3), torch.tensor([9, 3, 1, 7])
    got, expected = run_file(tmp_path / "r.onnx", model, x, lengths)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_refusals_write_nothing(tmp_path):
    subword = build_classifier(ClassifierConfig(vocab_size=20, subword_buckets=8))
    with pytest.raises(ExportError, match="subword_buckets > 0 has no ONNX export"):
        classifier_to_onnx(subword, tmp_path / "a.onnx")
    with pytest.raises(ExportError, match="zoneout=0.25 has no ONNX export"):
        classifier_to_onnx(build_classifier(ClassifierConfig(vocab_size=20, zoneout=0.25)),
                           tmp_path / "z.onnx")
    with pytest.raises(ExportError, match="exports a SequenceClassifier, got Linear"):
        classifier_to_onnx(torch.nn.Linear(2, 2), tmp_path / "b.onnx")
    with pytest.raises(ExportError, match="nothing was written"):
        classifier_to_onnx(build_classifier(ClassifierConfig(vocab_size=5)), tmp_path / "c.onnx",
                           tolerance=1e-12)
    assert list(tmp_path.iterdir()) == []
