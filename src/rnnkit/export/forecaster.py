"""A forecaster (rnnkit.models.forecaster.Forecaster, optionally Calibrated) as one checked ONNX
file:

    x (B, L, K + C) float32, the scaled window  ->  params (B, H, K, P) float32

the same parameters as the model's forward (Gaussian [mean, log-variance], Student-t [mu,
log sigma^2, log(nu - 2)], or three quantiles), in the run's scaled space. The window length L
is the run's lookback, fixed in the graph (the bases and the linear highway are maps of a window
of that length); the batch is dynamic. Everything the forward does is written out: the base
(none, last, seasonal, seasonal_drift, trend_season as its constant (H, L) map), the relative or
residual encoder inputs, window_scale, the recurrent stack (rnnkit.export.graph), the head and
its clamps, the linear highway, and a calibration's scale. What a run does around the model
(its transform and scaler, the intervals from the parameters) is not in the graph: the
checkpoint's metadata is stored as JSON under `rnnkit.metadata`. A seed ensemble
(ForecastEnsemble) is every member's graph on the same input, combined as its forward does
(the mixture's mean and variance; quantiles sorted, then averaged).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import torch

from rnnkit.export.check import CheckReport, ExportError, check_cell, require_onnx, session
from rnnkit.files import write_bytes
from rnnkit.models.forecast_calibration import Calibrated
from rnnkit.models.forecaster import ForecastEnsemble, Forecaster, trend_season_map

CHECK_BATCHES = (1, 3, 8)


def forecaster_to_onnx(model, path: str | Path, metadata: dict | None = None,
                       tolerance: float = 1e-4, seed: int = 0,
                       lookback: int | None = None) -> CheckReport:
    """Write `model` to `path`, checked in onnxruntime against it in float64 first (above
    `tolerance`, max abs: ExportError, nothing written). `lookback`: the window length (default
    the model's cfg.lookback)."""
    require_onnx()
    scale = None
    if isinstance(model, Calibrated):
        model, scale = model.model, model.scale
    if not isinstance(model, Forecaster | ForecastEnsemble):
        raise ExportError(f"forecaster_to_onnx exports a Forecaster or a ForecastEnsemble, got "
                          f"{type(model).__name__}")
    cfg = model.members[0].cfg if isinstance(model, ForecastEnsemble) else model.cfg
    for member in model.members if isinstance(model, ForecastEnsemble) else [model]:
        check_cell(member.rnn)
    L = lookback or cfg.lookback
    if not L or L < 1:
        raise ExportError("forecaster_to_onnx: the window length is unknown: pass lookback=")
    model = copy.deepcopy(model).cpu().eval()
    data = _build(model, L, scale,
                  {} if metadata is None else {"rnnkit.metadata": json.dumps(metadata)})
    report = _verify(model, scale, data, L, seed)
    report.enforce(tolerance, "export of the forecaster")
    report.path = str(write_bytes(path, data))
    return report


def _f32(t) -> np.ndarray:
    return np.asarray(t.detach().double().numpy() if torch.is_tensor(t) else t, np.float32)


class _Ops:
    """Small helpers over a GraphBuilder for this graph."""

    def __init__(self, g):
        self.g = g

    def i64(self, *v) -> str:
        return self.g.const("i", np.array(v, np.int64))

    def f32(self, v) -> str:
        return self.g.const("f", np.asarray(v, np.float32))

    def take(self, x: str, start: int, end: int, axis: int) -> str:
        return self.g.node("Slice", [x, self.i64(start), self.i64(end), self.i64(axis)])

    def linear(self, x: str, lin) -> str:
        y = self.g.node("MatMul", [x, self.f32(_f32(lin.weight).T)])
        return y if lin.bias is None else self.g.node("Add", [y, self.f32(_f32(lin.bias))])

    def clip(self, x: str, lo: float, hi: float) -> str:
        return self.g.node("Clip", [x, self.f32(lo), self.f32(hi)])


def _base(o: _Ops, c, y: str, L: int) -> str:
    """(B, H, K) or broadcastable: the skip connection's forecast (Forecaster.base_values)."""
    g, H, m = o.g, c.horizon, c.season
    if c.base == "none":
        return o.f32(np.zeros((1, H, c.n_targets)))
    if c.base == "last":
        return o.take(y, L - 1, L, 1)  # (B, 1, K)
    need = m + {"seasonal": 0, "seasonal_drift": 1, "trend_season": 2}[c.base]
    if L < need:
        raise ExportError(f"model.base={c.base} needs lookback >= {need}, got {L}")
    if c.base == "trend_season":
        return g.node("MatMul", [o.f32(_f32(trend_season_map(L, H, m))), y])
    h = np.arange(H)
    out = g.node("Gather", [y, g.const("idx", (h % m + L - m).astype(np.int64))], axis=1)
    if c.base == "seasonal_drift":
        diff = g.node("Sub", [o.take(y, m, L, 1), o.take(y, 0, L - m, 1)])
        drift = g.node("ReduceMean", [diff], axes=[1], keepdims=1)  # (B, 1, K)
        steps = o.f32((h // m + 1).reshape(1, H, 1))
        out = g.node("Add", [out, g.node("Mul", [drift, steps])])
    return out


def _encoder_inputs(o: _Ops, c, x: str, y: str, L: int) -> tuple[str, str]:
    """(what the encoder reads (B, L, K + C), its target part (B, L, K))."""
    g = o.g
    if c.residual:
        fit = g.node("MatMul", [o.f32(_f32(trend_season_map(L, 0, c.season, in_sample=True))),
                                y])
        t = g.node("Sub", [y, fit])
    elif c.relative:
        t = g.node("Sub", [y, o.take(y, L - 1, L, 1)])
    else:
        return x, y
    if c.n_covariates:
        return g.node("Concat", [t, o.take(x, c.n_targets, 2 ** 62, 2)], axis=2), t
    return t, t


def _head(o: _Ops, model, x: str, y: str, inputs: str) -> str:
    """(B, H, K, P) raw head outputs (Forecaster.head_outputs), window_scale included."""
    from rnnkit.export.graph import add_stack

    g, c, rnn = o.g, model.cfg, model.rnn
    amp = None
    if c.window_scale:
        centred = g.node("Sub", [y, g.node("ReduceMean", [y], axes=[1], keepdims=1)])
        amp = g.node("ReduceMean", [g.node("Abs", [centred])], axes=[1], keepdims=1)
        amp = g.node("Max", [amp, o.f32(1e-3)])  # (B, 1, K)
        scaled = g.node("Div", [o.take(inputs, 0, c.n_targets, 2), amp])
        inputs = scaled if not c.n_covariates else g.node(
            "Concat", [scaled, o.take(inputs, c.n_targets, 2 ** 62, 2)], axis=2)
    LD = rnn.num_layers * rnn.num_directions
    batch = g.node("Gather", [g.node("Shape", [x]), o.i64(0)])
    state_shape = g.node("Concat", [o.i64(LD), batch, o.i64(rnn.hidden_size)], axis=0)
    h0 = g.node("Expand", [o.f32(np.zeros((LD, 1, rnn.hidden_size))), state_shape])
    _, hn, _ = add_stack(g, rnn, g.node("Transpose", [inputs], perm=[1, 0, 2]), h0,
                         h0 if rnn.mode == "LSTM" else None)
    h_last = g.node("Squeeze", [o.take(hn, LD - 1, LD, 0), o.i64(0)])  # (B, Hd)
    raw = g.node("Reshape", [o.linear(h_last, model.head),
                             o.i64(-1, c.horizon, c.n_targets, model.n_params)])
    if amp is None:
        return raw
    amp = g.node("Unsqueeze", [amp, o.i64(3)])  # (B, 1, K, 1)
    if c.head == "quantile":
        return g.node("Mul", [raw, amp])
    parts = [g.node("Mul", [o.take(raw, 0, 1, 3), amp]),
             g.node("Add", [o.take(raw, 1, 2, 3), g.node("Mul", [g.node("Log", [amp]),
                                                                 o.f32(2.0)])])]
    if model.n_params == 3:
        parts.append(o.take(raw, 2, 3, 3))
    return g.node("Concat", parts, axis=3)


def _build(model, L: int, scale: float | None, meta: dict) -> bytes:
    from onnx import helper

    from rnnkit.export.graph import FLOAT, GraphBuilder

    members = list(model.members) if isinstance(model, ForecastEnsemble) else [model]
    g, c = GraphBuilder(), members[0].cfg
    o = _Ops(g)
    x = g.add_input("x", FLOAT, ["batch", L, c.n_targets + c.n_covariates])
    outs = [_member(o, m, x, L) for m in members]
    out = outs[0] if len(outs) == 1 else _mixture(o, c.head, outs)
    if scale is not None:
        out = _calibrate(o, c.head, out, scale)
    P = 2 if c.head == "gaussian" else 3
    g.add_output("params", out, FLOAT, ["batch", c.horizon, c.n_targets, P])
    proto = g.model("rnnkit_forecaster", "rnnkit direct multi-step forecaster")
    helper.set_model_props(proto, meta)
    return proto.SerializeToString()


def _member(o: _Ops, model, x: str, L: int) -> str:
    """(B, H, K, P) parameters of one Forecaster (its forward)."""
    g, c = o.g, model.cfg
    y = o.take(x, 0, c.n_targets, 2)  # (B, L, K)
    base = _base(o, c, y, L)
    inputs, targets = _encoder_inputs(o, c, x, y, L)
    raw = _head(o, model, x, y, inputs)
    if c.relative and c.base == "none":
        base = g.node("Add", [base, o.take(y, L - 1, L, 1)])
    if model.linear is not None:
        ar = o.linear(g.node("Transpose", [targets], perm=[0, 2, 1]), model.linear)  # (B, K, H)
        base = g.node("Add", [base, g.node("Transpose", [ar], perm=[0, 2, 1])])
    base = g.node("Unsqueeze", [base, o.i64(3)])  # (B, H, K, 1)
    return _distribution(o, c, raw, base)


def _mixture(o: _Ops, head: str, outs: list[str]) -> str:
    """ForecastEnsemble's combination of its members' (B, H, K, P) parameters."""
    g = o.g
    mean_of = lambda parts: g.node("Div", [g.node("Sum", parts), o.f32(float(len(parts)))])  # noqa: E731
    if head == "quantile":
        return mean_of([g.node("TopK", [p, o.i64(3)], n_out=2, axis=3, largest=0, sorted=1)[0]
                        for p in outs])
    mus, second, nus = [], [], []
    for p in outs:
        mu, var = o.take(p, 0, 1, 3), g.node("Exp", [o.take(p, 1, 2, 3)])
        if head == "student_t":  # variance sigma^2 nu / (nu - 2)
            nu = g.node("Add", [g.node("Exp", [o.take(p, 2, 3, 3)]), o.f32(2.0)])
            var = g.node("Div", [g.node("Mul", [var, nu]), g.node("Sub", [nu, o.f32(2.0)])])
            nus.append(nu)
        mus.append(mu)
        second.append(g.node("Add", [var, g.node("Mul", [mu, mu])]))
    mean = mean_of(mus)
    mix = g.node("Sub", [mean_of(second), g.node("Mul", [mean, mean])])
    if head == "gaussian":
        return g.node("Concat", [mean, g.node("Log", [g.node("Max", [mix, o.f32(1e-12)])])],
                      axis=3)
    nu = mean_of(nus)
    s2 = g.node("Div", [g.node("Mul", [mix, g.node("Sub", [nu, o.f32(2.0)])]), nu])
    return g.node("Concat", [mean, g.node("Log", [g.node("Max", [s2, o.f32(1e-12)])]),
                             g.node("Log", [g.node("Sub", [nu, o.f32(2.0)])])], axis=3)


def _distribution(o: _Ops, c, raw: str, base: str) -> str:
    """The head's parameters from its raw outputs (the end of Forecaster.forward)."""
    g = o.g
    if c.head == "quantile":
        return g.node("Add", [raw, base])
    mean = g.node("Add", [o.take(raw, 0, 1, 3), base])
    if c.head == "gaussian":
        return g.node("Concat", [mean, o.clip(o.take(raw, 1, 2, 3), -12.0, 8.0)], axis=3)
    log_s2 = o.clip(o.take(raw, 1, 2, 3), -12.0, 8.0)
    if c.df:  # a fixed nu: log(df - 2) everywhere
        log_nu2 = g.node("Add", [g.node("Mul", [mean, o.f32(0.0)]), o.f32(math.log(c.df - 2))])
    else:
        log_nu2 = o.clip(o.take(raw, 2, 3, 3), -3.0, 6.0)
    return g.node("Concat", [mean, log_s2, log_nu2], axis=3)


def _calibrate(o: _Ops, head: str, params: str, scale: float) -> str:
    """rnnkit.models.forecast_calibration.Calibrated's rescaling of the spread."""
    g = o.g
    if head in ("gaussian", "student_t"):
        parts = [o.take(params, 0, 1, 3),
                 g.node("Add", [o.take(params, 1, 2, 3), o.f32(2 * math.log(scale))])]
        if head == "student_t":
            parts.append(o.take(params, 2, 3, 3))
        return g.node("Concat", parts, axis=3)
    q = g.node("TopK", [params, o.i64(3)], n_out=2, axis=3, largest=0, sorted=1)[0]
    mid = o.take(q, 1, 2, 3)
    return g.node("Add", [mid, g.node("Mul", [g.node("Sub", [q, mid]), o.f32(scale)])])


def _verify(model, scale, data: bytes, L: int, seed: int) -> CheckReport:
    ref = copy.deepcopy(model).to(torch.float64).eval()
    cfg = model.members[0].cfg if isinstance(model, ForecastEnsemble) else model.cfg
    for member in model.members if isinstance(model, ForecastEnsemble) else [model]:
        check_cell(member.rnn)
    if scale is not None:
        ref = Calibrated(ref, cfg.head, scale)
    sess, gen, report = session(data), torch.Generator().manual_seed(seed), CheckReport()
    channels = cfg.n_targets + cfg.n_covariates
    for B in CHECK_BATCHES:
        x = torch.randn(B, L, channels, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            expected = ref(x).numpy()
        got = sess.run(None, {"x": np.float32(x.numpy())})[0]
        report.add(f"B={B} L={L}", {"params": got}, {"params": expected})
    return report
