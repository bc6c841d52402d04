"""Forecaster -> ONNX: every base, head, input transform and calibration, checked in float64."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.export import ExportError, forecaster_to_onnx
from rnnkit.models.forecast_calibration import Calibrated
from rnnkit.models.forecaster import ForecastEnsemble, Forecaster, ForecasterConfig

CASES = [  # (head, base, extra settings)
    ("gaussian", "last", {}),
    ("gaussian", "none", {"relative": False, "cell": "gru"}),
    ("gaussian", "none", {"window_scale": True}),
    ("gaussian", "seasonal", {"linear": True, "n_covariates": 2}),
    ("gaussian", "trend_season", {"residual": True, "window_scale": True, "cell": "rnn"}),
    ("student_t", "seasonal_drift", {"window_scale": True, "n_covariates": 1}),
    ("student_t", "last", {"df": 5.0, "linear": True, "num_layers": 1}),
    ("quantile", "trend_season", {"window_scale": True, "linear": True}),
    ("quantile", "seasonal", {"relative": False, "n_covariates": 1, "cell": "gru"}),
]


def _model(head, base, extra, seed=0) -> Forecaster:
    kw = dict(n_targets=2, horizon=5, hidden_size=6, num_layers=2, season=4, lookback=12)
    torch.manual_seed(seed)
    model = Forecaster(ForecasterConfig(head=head, base=base, **(kw | extra))).eval()
    with torch.no_grad():  # large enough weights that the clamps and the highway matter
        for p in model.parameters():
            p.normal_(0.0, 0.8)
    return model


def _run(path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0]


@pytest.mark.parametrize("head, base, extra", CASES)
def test_export_equals_the_model(head, base, extra, tmp_path):
    model = _model(head, base, extra)
    report = forecaster_to_onnx(model, tmp_path / "f.onnx", metadata={"k": 1})
    assert report.max_abs_diff < 1e-4 and "B=8 L=12" in str(report)
    x = torch.randn(4, 12, 2 + extra.get("n_covariates", 0)) * 3
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(_run(tmp_path / "f.onnx", x.numpy()), expected, atol=2e-4)


@pytest.mark.parametrize("head", ["gaussian", "student_t", "quantile"])
def test_a_calibrated_model_exports_its_scale(head, tmp_path):
    model = Calibrated(_model(head, "last", {}), head, 1.7)
    forecaster_to_onnx(model, tmp_path / "c.onnx")
    x = torch.randn(3, 12, 2)
    with torch.no_grad():
        expected, plain = model(x).numpy(), model.model(x).numpy()
    got = _run(tmp_path / "c.onnx", x.numpy())
    np.testing.assert_allclose(got, expected, atol=2e-4)
    assert np.abs(got - plain).max() > 0.1  # the scale is really in the graph


def test_a_wrong_graph_is_caught_before_writing(tmp_path, monkeypatch):
    import rnnkit.export.forecaster as fx

    real = fx._distribution

    def shifted(o, c, raw, base):
        return o.g.node("Add", [real(o, c, raw, base), o.f32(1e-2)])

    monkeypatch.setattr(fx, "_distribution", shifted)
    with pytest.raises(ExportError, match="differs from PyTorch by 0.01"):
        forecaster_to_onnx(_model("gaussian", "last", {}), tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


@pytest.mark.parametrize("head", ["gaussian", "student_t", "quantile"])
def test_a_seed_ensemble_is_its_mixture(head, tmp_path):
    members = [_model(head, "seasonal", {"window_scale": s == 1}, seed=s) for s in (0, 1, 2)]
    with torch.no_grad():
        for m in members:  # moderate outputs: the mixture's variance is a difference
            for p in m.parameters():
                p.mul_(0.4)
    ens = Calibrated(ForecastEnsemble(members), head, 0.8)
    forecaster_to_onnx(ens, tmp_path / "e.onnx")
    x = torch.randn(3, 12, 2)
    with torch.no_grad():
        expected, first = ens(x).numpy(), members[0](x).numpy()
    got = _run(tmp_path / "e.onnx", x.numpy())
    np.testing.assert_allclose(got, expected, atol=2e-4)
    assert np.abs(got - first).max() > 1e-2  # not just one member


def test_what_cannot_be_exported_is_one_line(tmp_path):
    with pytest.raises(ExportError, match="exports a Forecaster or a ForecastEnsemble"):
        forecaster_to_onnx(torch.nn.Linear(2, 2), tmp_path / "e.onnx")
    with pytest.raises(ExportError, match="lookback >= 6"):
        forecaster_to_onnx(_model("gaussian", "trend_season", {}), tmp_path / "t.onnx",
                           lookback=5)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("extra, message", [
    ({"zoneout": 0.1}, "zoneout=0.1 has no ONNX export"),
    ({"cell": "ln_gru"}, "the ln_gru cell has no ONNX operator")])
def test_settings_without_an_onnx_form_are_refused(tmp_path, extra, message):
    model = Forecaster(ForecasterConfig(n_targets=1, horizon=2, hidden_size=4, lookback=6,
                                        **extra))
    with pytest.raises(ExportError, match=message):
        forecaster_to_onnx(model, tmp_path / "f.onnx")
    assert list(tmp_path.iterdir()) == []
