"""Jacobian norms, gate saturation, spectral radii and the verdict on constructed cases."""

import math

import pytest
import torch
from torch.autograd.functional import jacobian

import rnnkit
from rnnkit.diagnostics import diagnose, judge, record_state_grads
from rnnkit.diagnostics.stats import gate_saturation, jacobian_norms, spectral_radii
from rnnkit.diagnostics.trace import capture_inputs, trace_layer

TORCH_CELLS = {"rnn": (rnnkit.RNN, torch.nn.RNNCell), "lstm": (rnnkit.LSTM, torch.nn.LSTMCell),
               "gru": (rnnkit.GRU, torch.nn.GRUCell)}


def _traced(layer, x, requires_grad=False):
    with capture_inputs(layer) as calls:
        layer(x)
    return trace_layer(layer, calls[""], requires_grad=requires_grad)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("norm", ["fro", "spectral"])
def test_jacobian_norms_equal_autograd_functional_jacobian(kind, norm):
    torch.manual_seed(1)
    layer_cls, cell_cls = TORCH_CELLS[kind]
    layer = layer_cls(3, 4, dtype=torch.float64)
    with torch.no_grad():
        layer.weight_hh_l0.mul_(3)  # a more interesting recurrence than the default init
    cell = cell_cls(3, 4, dtype=torch.float64)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in layer.state_dict().items()})
    T, B = 6, 3
    x = torch.randn(T, B, 3, dtype=torch.float64)
    got = jacobian_norms(_traced(layer, x, requires_grad=True)[(0, 0)], norm)

    # reference: torch's own cell, states forward, then h_t -> h_T with c_t held fixed
    h = torch.zeros(B, 4, dtype=torch.float64)
    c = torch.zeros_like(h)
    hs, cs = [], []
    for t in range(T):
        h, c = cell(x[t], (h, c)) if kind == "lstm" else (cell(x[t], h), c)
        hs.append(h.detach())
        cs.append(c.detach())

    def run_from(t, b):
        def f(h_t):
            hh, cc = h_t[None], cs[t][b:b + 1]
            for s in range(t + 1, T):
                xs = x[s, b:b + 1]
                hh, cc = cell(xs, (hh, cc)) if kind == "lstm" else (cell(xs, hh), cc)
            return hh[0]
        return f

    want = []
    for t in range(T - 2, -1, -1):  # distance 1 .. T-1
        per_row = [jacobian(run_from(t, b), hs[t][b]) for b in range(B)]
        ords = [torch.linalg.matrix_norm(J, ord="fro" if norm == "fro" else 2) for J in per_row]
        want.append(torch.stack(ords).mean())
    assert torch.allclose(got, torch.stack(want), atol=1e-10)


@pytest.mark.parametrize("scale, kind", [(0.1, "vanishing"), (1.5, "exploding"),
                                         (1.0, "healthy")])
def test_verdict_on_linear_regime_has_closed_form(scale, kind):
    # tanh RNN, zero input and bias: h stays 0, tanh' = 1, so dh_T/dh_t = W^d and with W = s Q
    # (Q orthogonal) the Frobenius norm is s^d sqrt(H).
    torch.manual_seed(0)
    H, T = 6, 30
    rnn = rnnkit.RNN(2, H, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(H, H, dtype=torch.float64))
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(scale * Q)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    x = torch.zeros(T, 4, 2, dtype=torch.float64)
    model = torch.nn.Sequential()
    model.add_module("rnn", rnn)
    diag = diagnose(model, lambda m: m.rnn(x)[0][-1].sum())
    (layer,) = diag.layers
    want = [scale ** d * math.sqrt(H) for d in range(1, T)]
    assert layer.jacobian == pytest.approx(want, rel=1e-9)
    assert layer.verdict.kind == kind == diag.verdict
    assert layer.spectral["h"]["radius"] == pytest.approx(scale)
    assert layer.spectral["h"]["norm"] == pytest.approx(scale)
    assert layer.verdict.per_step == pytest.approx(scale)
    assert str(layer.jacobian[0])[:4] in diag.text() or f"{want[0]:.3g}" in diag.text()


def test_verdict_non_finite_is_exploding():
    assert judge([1.0, math.inf], [1.0, 2.0]).kind == "exploding"
    assert judge([1.0, 1.0], [1.0, 1.0, 1.0]).kind == "healthy"


def test_gate_saturation_hand_constructed_lstm():
    # no weights, only biases: every step has the same gates; unit 0 saturated, unit 1 not
    lstm = rnnkit.LSTM(1, 2, dtype=torch.float64)
    b = torch.tensor([6.0, 0.0,   # i: sigmoid(6) = 0.9975 > 0.95; sigmoid(0) = 0.5
                      -6.0, 2.0,  # f: 0.0025 < 0.05; sigmoid(2) = 0.88
                      3.0, -3.0,  # g: tanh(3) = 0.995 -> (g+1)/2 = 0.9975 high; low
                      0.0, 0.0], dtype=torch.float64)  # o: 0.5
    with torch.no_grad():
        for p in lstm.parameters():
            p.zero_()
        lstm.bias_ih_l0.copy_(b)
    tr = _traced(lstm, torch.randn(5, 3, 1, dtype=torch.float64))[(0, 0)]
    sat = gate_saturation(lstm, tr)
    assert sat == {"i": {"low": 0.0, "high": 0.5}, "f": {"low": 0.5, "high": 0.0},
                   "g": {"low": 0.5, "high": 0.5}, "o": {"low": 0.0, "high": 0.0}}


def test_spectral_radius_per_gate_block():
    gru = rnnkit.GRU(2, 2, dtype=torch.float64)
    W = torch.tensor([[0.0, 2.0], [-2.0, 0.0],    # r: eigenvalues +-2i
                      [0.5, 3.0], [0.0, 0.25],    # z: triangular, radius 0.5, larger norm
                      [0.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    with torch.no_grad():
        gru.weight_hh_l0.copy_(W)
    rad = spectral_radii(gru, 0, 0)
    assert rad["r"]["radius"] == pytest.approx(2.0) and rad["r"]["norm"] == pytest.approx(2.0)
    assert rad["z"]["radius"] == pytest.approx(0.5)
    assert rad["z"]["norm"] == pytest.approx(torch.linalg.matrix_norm(W[2:4], 2).item())
    assert rad["n"]["radius"] == 0.0


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_trace_reproduces_the_layer(kind):
    torch.manual_seed(0)
    layer = TORCH_CELLS[kind][0](3, 5, num_layers=2, bidirectional=True, batch_first=True,
                                 dtype=torch.float64)
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    out, _ = layer(x)
    tr = _traced(layer, x)
    assert torch.allclose(torch.cat([tr[(1, 0)].out, tr[(1, 1)].out], 2), out.transpose(0, 1))


def test_diagnose_grad_norms_match_the_record_and_leave_grads_alone():
    torch.manual_seed(0)
    model = torch.nn.Sequential()
    model.add_module("rnn", rnnkit.LSTM(3, 4, num_layers=2))
    x = torch.randn(9, 5, 3)
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    diag = diagnose(model, lambda m: m.rnn(x)[0][-1].pow(2).sum())
    assert all(bool((p.grad == 7.0).all()) for p in model.parameters())
    with record_state_grads(model) as rec:
        model.rnn(x)[0][-1].pow(2).sum().backward()
    norms = rec.norms()["rnn"]  # (layers, 1, T) in time order
    for d in diag.layers:
        assert d.grad_norms == pytest.approx(norms[d.layer, 0].flip(0).tolist(), rel=1e-5)
    assert set(diag.to_log()) >= {"diag/rnn.l1.jacobian_d1", "diag/rnn.l0.sat_f_high"}


def test_diagnose_rejects_lengths():
    model = torch.nn.Sequential()
    model.add_module("rnn", rnnkit.GRU(2, 3))
    x = torch.randn(4, 2, 2)
    with pytest.raises(ValueError, match="equal-length"):
        diagnose(model, lambda m: m.rnn(x, lengths=torch.tensor([4, 2]))[0].sum())


def test_verdict_horizon_and_per_step_past_underflow():
    jac = [1.0, 0.1, 0.01, 0.001, 1e-4, 0.0, 0.0]  # 0.1 per step, then underflow to 0
    v = judge([1.0] * 8, jac)
    assert v.kind == "vanishing" and v.horizon == 5
    assert v.per_step == pytest.approx(0.1)
    assert "from distance 5 on" in v.reason
