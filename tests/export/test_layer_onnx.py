"""rnnkit.export.to_onnx: one file per layer serves every (T, B), equal to PyTorch; refusals."""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import pytest
import torch

import rnnkit
from rnnkit.export import ExportError, to_onnx
from rnnkit.export import graph as onnx_graph

LAYERS = {
    "lstm": lambda **kw: rnnkit.LSTM(4, 5, **kw),
    "gru": lambda **kw: rnnkit.GRU(4, 5, **kw),
    "gru_reset_before": lambda **kw: rnnkit.GRU(4, 5, reset_after=False, **kw),
    "rnn_tanh": lambda **kw: rnnkit.RNN(4, 5, **kw),
    "rnn_relu": lambda **kw: rnnkit.RNN(4, 5, nonlinearity="relu", **kw),
}
SHAPES = list(itertools.product((1, 7, 64, 300), (1, 3, 8)))  # (T, B)


def run_file(path, layer, T, B, seed):
    """The exported file in onnxruntime and the layer in float64, on the same inputs."""
    gen = torch.Generator().manual_seed(seed)
    L = layer.num_layers * layer.num_directions
    x = torch.randn((B, T, 4) if layer.batch_first else (T, B, 4), generator=gen,
                    dtype=torch.float64)
    states = [torch.randn(L, B, 5, generator=gen, dtype=torch.float64)
              for _ in range(2 if isinstance(layer, rnnkit.LSTM) else 1)]
    ref = layer.double().eval()
    with torch.no_grad():
        out, state = ref(x, tuple(states) if len(states) == 2 else states[0])
    expected = [out, *(state if isinstance(state, tuple) else (state,))]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"input": x.float().numpy()} | {
        name: s.float().numpy() for name, s in zip(("h0", "c0"), states, strict=False)}
    got = sess.run(None, feeds)
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))


@pytest.mark.parametrize("layers,bidirectional", [(1, False), (1, True), (2, False), (2, True)])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_one_file_matches_pytorch_at_every_length_and_batch(tmp_path, kind, layers,
                                                            bidirectional):
    torch.manual_seed(0)
    layer = LAYERS[kind](num_layers=layers, bidirectional=bidirectional)
    path = tmp_path / "layer.onnx"
    report = to_onnx(layer, path)
    assert report.max_abs_diff < 1e-5 and report.path == str(path)
    for k, (T, B) in enumerate(SHAPES):
        assert run_file(path, layer, T, B, seed=k) < 1e-5, (T, B)


def test_batch_first_and_torch_layers_export(tmp_path):
    torch.manual_seed(0)
    layer = torch.nn.GRU(4, 5, num_layers=2, batch_first=True, bias=False)
    to_onnx(layer, tmp_path / "gru.onnx")
    ours = rnnkit.GRU(4, 5, num_layers=2, batch_first=True, bias=False)
    ours.load_state_dict(layer.state_dict())
    assert run_file(tmp_path / "gru.onnx", ours, 7, 3, seed=1) < 1e-5


def test_state_carried_between_calls_equals_one_call(tmp_path):
    torch.manual_seed(0)
    layer = rnnkit.LSTM(4, 5, num_layers=2)
    to_onnx(layer, tmp_path / "lstm.onnx")
    sess = ort.InferenceSession(str(tmp_path / "lstm.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((9, 2, 4)).astype(np.float32)
    h = c = np.zeros((2, 2, 5), np.float32)
    whole = sess.run(None, {"input": x, "h0": h, "c0": c})
    steps = []
    for t in range(9):
        y, h, c = sess.run(None, {"input": x[t:t + 1], "h0": h, "c0": c})
        steps.append(y)
    np.testing.assert_allclose(np.concatenate(steps), whole[0], atol=1e-6)
    np.testing.assert_allclose(h, whole[1], atol=1e-6)


def test_a_wrong_export_is_refused_and_nothing_written(tmp_path, monkeypatch):
    """The reset-before GRU exported with torch's flag (linear_before_reset=1) is wrong by far
    more than the tolerance: the check must catch it and leave no file."""
    real = onnx_graph._op_attrs
    monkeypatch.setattr(onnx_graph, "_op_attrs",
                        lambda layer: real(layer) | {"linear_before_reset": 1})
    layer = rnnkit.GRU(4, 5, reset_after=False)
    with pytest.raises(ExportError, match=r"differs from PyTorch by .*nothing was written"):
        to_onnx(layer, tmp_path / "gru.onnx")
    assert list(tmp_path.iterdir()) == []


def test_tolerance_is_enforced(tmp_path):
    with pytest.raises(ExportError, match="tolerance 0"):
        to_onnx(rnnkit.LSTM(4, 5), tmp_path / "lstm.onnx", tolerance=0.0)
    assert not (tmp_path / "lstm.onnx").exists()


def test_refusals_are_one_line(tmp_path):
    with pytest.raises(ExportError, match="proj_size=3 has no ONNX operator"):
        to_onnx(rnnkit.LSTM(4, 5, proj_size=3), tmp_path / "a.onnx")
    with pytest.raises(ExportError, match="got Linear"):
        to_onnx(torch.nn.Linear(2, 2), tmp_path / "b.onnx")
    with pytest.raises(ExportError, match=r"zoneout=0.2 has no ONNX export .*model.zoneout=0"):
        to_onnx(rnnkit.Recurrent("gru", 4, 5, zoneout=0.2), tmp_path / "c.onnx")
    assert list(tmp_path.iterdir()) == []


def test_recurrent_dropout_is_off_in_eval_and_exports(tmp_path):
    torch.manual_seed(0)
    layer = rnnkit.Recurrent("lstm", 4, 5, num_layers=2, recurrent_dropout=0.5)
    assert to_onnx(layer, tmp_path / "a.onnx").max_abs_diff < 1e-5


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_lengths_input_matches_the_layers_lengths(tmp_path, kind):
    torch.manual_seed(0)
    layer = LAYERS[kind](num_layers=2, bidirectional=True, batch_first=True)
    report = to_onnx(layer, tmp_path / "layer.onnx", lengths=True)
    assert report.max_abs_diff < 1e-5
    sess = ort.InferenceSession(str(tmp_path / "layer.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(4, 9, 4, dtype=torch.float64)
    n = torch.tensor([9, 2, 5, 1])
    states = [torch.zeros(4, 4, 5, dtype=torch.float64)] * (2 if kind == "lstm" else 1)
    ref = layer.double().eval()
    with torch.no_grad():
        out, state = ref(x, tuple(states) if len(states) == 2 else states[0], lengths=n)
    feeds = {"input": x.float().numpy(), "lengths": n.numpy()} | {
        k: s.float().numpy() for k, s in zip(("h0", "c0"), states, strict=False)}
    got = sess.run(None, feeds)
    expected = [out, *(state if isinstance(state, tuple) else (state,))]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e.numpy(), atol=1e-5)
    assert (got[0][1, 2:] == 0).all()  # zero past a length, as rnnkit's layers


def test_missing_onnxruntime_is_one_line(tmp_path, monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *args):
        if name == "onnxruntime":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ExportError, match=r"needs the 'onnxruntime' package: pip install"):
        to_onnx(rnnkit.GRU(4, 5), tmp_path / "g.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_layer_in_training_mode_is_exported_as_in_eval_and_left_as_it_was(tmp_path):
    torch.manual_seed(0)
    layer = rnnkit.LSTM(4, 5, num_layers=2, dropout=0.5).train()
    to_onnx(layer, tmp_path / "lstm.onnx")
    assert layer.training  # not switched to eval behind the caller's back
    assert run_file(tmp_path / "lstm.onnx", layer, 7, 3, seed=2) < 1e-5  # run_file uses eval
