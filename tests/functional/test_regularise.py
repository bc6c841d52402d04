"""Recurrent dropout (variational) and zoneout as settings of any cell: the hand backward of the
wrapper under float64 gradcheck, parity with an autograd reference written from the equations,
eval behaviour, and the layer setting."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.cells.function import fused_sequence
from rnnkit.functional import LayerWeights, registry
from rnnkit.functional.regularise import Regularised, regularise

f64 = torch.float64


def lstm_step(x_t, h, c, w):
    i, f, g, o = (x_t @ w.W_ih.t() + w.b_ih + h @ w.W_hh.t() + w.b_hh).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_step(x_t, h, h_in, w):
    """torch.nn.GRU's step where the recurrent product sees h_in (h times its dropout mask)."""
    xr, xz, xn = (x_t @ w.W_ih.t() + w.b_ih).chunk(3, dim=1)
    hr, hz, hn = (h_in @ w.W_hh.t() + w.b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def setup(name, T=5, B=3, I=4, H=3, seed=0):
    family = registry.get(name)
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape):
        return (0.5 * torch.randn(*shape, generator=g, dtype=f64)).requires_grad_()

    G = family.gates * H
    w = LayerWeights(rnd(G, I), rnd(G, H), rnd(G), rnd(G))
    x, state0 = rnd(T, B, I), tuple(rnd(B, H) for _ in family.states)
    drop = torch.bernoulli(torch.full((B, H), 0.6, dtype=f64), generator=g) / 0.6
    zone = tuple(torch.bernoulli(torch.full((T, B, H), 0.3, dtype=f64), generator=g)
                 for _ in family.states)
    return family, x, state0, w, drop, zone


def reference(name, x, state0, w, drop, zone):
    """The equations: h enters the product as h * m; s_t = d_t s_{t-1} + (1 - d_t) s~_t."""
    state, outs = state0, []
    for t in range(x.shape[0]):
        h_in = state[0] * drop
        if name == "lstm":
            new = lstm_step(x[t], h_in, state[1], w)
        else:
            new = (gru_step(x[t], state[0], h_in, w),)
        state = tuple(d[t] * s + (1 - d[t]) * n for s, n, d in zip(state, new, zone, strict=True))
        outs.append(state[0])
    return torch.stack(outs), state


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_hand_backward_equals_the_equations(name):
    family, x, state0, w, drop, zone = setup(name)
    cell = Regularised(family.math(), drop, zone)
    out, state = fused_sequence(cell, x, state0, w)
    ref_out, ref_state = reference(name, x, state0, w, drop, zone)
    torch.testing.assert_close(out, ref_out)
    g = torch.Generator().manual_seed(1)
    ups = [torch.randn(t.shape, generator=g, dtype=f64) for t in (out, *state)]
    inputs = [x, *state0, *w[:4]]
    mine = torch.autograd.grad((out, *state), inputs, ups)
    theirs = torch.autograd.grad((ref_out, *ref_state), inputs, ups)
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ["lstm", "gru", "ln_lstm", "peephole_lstm", "rnn_relu"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_of_the_wrapped_hand_backward(name, reverse):
    family, x, state0, w, drop, zone = setup(name, T=3, B=2, I=2, H=2)
    extra = tuple(torch.rand(*s.shape(2), dtype=f64).add_(0.5).requires_grad_()
                  for s in family.extra)
    w = LayerWeights(*w[:5], extra)
    n = len(state0)

    def run(x, *rest):
        cell = Regularised(family.math(), drop, zone)  # a fresh wrapper: masks from step 0
        flat = LayerWeights.from_tensors(rest[n:])
        out, state = fused_sequence(cell, x, rest[:n], flat, None, reverse)
        return (out, *state)

    assert torch.autograd.gradcheck(run, (x, *state0, *w.tensors()))


def test_eval_zoneout_is_the_expectation_and_dropout_is_off():
    torch.manual_seed(0)
    layer = rnnkit.Recurrent("lstm", 4, 3, recurrent_dropout=0.5, zoneout=0.25).double().eval()
    plain = rnnkit.LSTM(4, 3).double().eval()
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(6, 2, 4, dtype=f64)
    out, _ = layer(x)
    w = plain._weights(0, 0)
    h = c = torch.zeros(2, 3, dtype=f64)
    for t in range(6):  # s_t = p s_{t-1} + (1 - p) s~_t, no dropout mask
        h_new, c_new = lstm_step(x[t], h, c, w)
        h, c = 0.25 * h + 0.75 * h_new, 0.25 * c + 0.75 * c_new
        torch.testing.assert_close(out[t], h)
    dropout_only = rnnkit.Recurrent("gru", 4, 3, recurrent_dropout=0.5).double().eval()
    gru = rnnkit.GRU(4, 3).double().eval()
    gru.load_state_dict(dropout_only.state_dict())
    torch.testing.assert_close(dropout_only(x)[0], gru(x)[0])
    assert gru.last_impl == "native" and dropout_only.last_impl == "native"


def test_one_dropout_mask_per_sequence_scaled_to_mean_one():
    cell = registry.get("lstm").math()
    state0 = (torch.zeros(4000, 8), torch.zeros(4000, 8))
    wrapped = regularise(cell, torch.zeros(7, 4000, 3), state0, 0.3, 0.0, training=True)
    assert wrapped.drop.shape == (4000, 8)  # (B, H): one mask for every step
    assert wrapped.drop.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert abs(wrapped.drop.mean().item() - 1) < 0.02
    assert regularise(cell, torch.zeros(7, 2, 3), state0[:1], 0.3, 0.0, training=False) is cell


def test_training_with_dropout_differs_from_eval_and_native_is_refused():
    layer = rnnkit.Recurrent("lstm", 4, 3, recurrent_dropout=0.5)
    x = torch.randn(5, 2, 4)
    assert not torch.allclose(layer(x)[0], layer.eval()(x)[0])
    layer.train().impl = "native"
    with pytest.raises(ValueError, match="no recurrent dropout or zoneout; pass impl='fused'"):
        layer(x)


@pytest.mark.parametrize("kw, message", [
    ({"recurrent_dropout": 1.0}, "recurrent_dropout: expected a number in \\[0, 1\\), got 1.0"),
    ({"zoneout": -0.1}, "zoneout: expected a number in \\[0, 1\\), got -0.1"),
])
def test_bad_rates_are_one_clear_error(kw, message):
    with pytest.raises(ValueError, match=message):
        rnnkit.Recurrent("lstm", 4, 3, **kw)


def test_recurrent_dropout_refuses_the_gru_of_cho():
    with pytest.raises(ValueError, match="use reset_after=True"):
        rnnkit.Recurrent("gru", 4, 3, reset_after=False, recurrent_dropout=0.2)


def semeniuta_reference(name, x, state0, w, m):
    """The equations with the mask on the candidate: c = f c + i (g m); h = (1 - z)(n m) + z h."""
    state, outs = state0, []
    for t in range(x.shape[0]):
        if name == "lstm":
            h, c = state
            i, f, g, o = (x[t] @ w.W_ih.t() + w.b_ih + h @ w.W_hh.t() + w.b_hh).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g) * m
            state = (torch.sigmoid(o) * torch.tanh(c), c)
        else:
            (h,) = state
            xr, xz, xn = (x[t] @ w.W_ih.t() + w.b_ih).chunk(3, dim=1)
            hr, hz, hn = (h @ w.W_hh.t() + w.b_hh).chunk(3, dim=1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            state = ((1 - z) * torch.tanh(xn + r * hn) * m + z * h,)
        outs.append(state[0])
    return torch.stack(outs), state


def with_candidate_mask(family, m):
    cell = family.math()
    cell.candidate_mask, cell.kernel = m, None
    return cell


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_semeniuta_hand_backward_equals_the_equations(name):
    family, x, state0, w, m, _ = setup(name)
    out, state = fused_sequence(with_candidate_mask(family, m), x, state0, w)
    ref_out, ref_state = semeniuta_reference(name, x, state0, w, m)
    torch.testing.assert_close(out, ref_out)
    g = torch.Generator().manual_seed(1)
    ups = [torch.randn(t.shape, generator=g, dtype=f64) for t in (out, *state)]
    inputs = [x, *state0, *w[:4]]
    mine = torch.autograd.grad((out, *state), inputs, ups)
    theirs = torch.autograd.grad((ref_out, *ref_state), inputs, ups)
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ["lstm", "gru", "ln_lstm", "ln_gru", "peephole_lstm"])
def test_semeniuta_gradcheck_for_every_cell_with_a_candidate(name):
    family, x, state0, w, m, _ = setup(name, T=3, B=2, I=2, H=2)
    extra = tuple(torch.rand(*s.shape(2), dtype=f64).add_(0.5).requires_grad_()
                  for s in family.extra)
    w = LayerWeights(*w[:5], extra)
    n = len(state0)
    cell = with_candidate_mask(family, m)

    def run(x, *rest):
        out, state = fused_sequence(cell, x, rest[:n], LayerWeights.from_tensors(rest[n:]))
        return (out, *state)

    assert torch.autograd.gradcheck(run, (x, *state0, *w.tensors()))


def test_semeniuta_layer_setting_and_its_refusals():
    layer = rnnkit.Recurrent("gru", 4, 3, recurrent_dropout=0.4,
                             recurrent_dropout_mode="semeniuta", reset_after=False)
    x = torch.randn(5, 2, 4)
    out, _ = layer(x)
    assert layer.last_impl == "fused"
    plain = rnnkit.GRU(4, 3, reset_after=False)
    plain.load_state_dict(layer.state_dict())
    assert not torch.allclose(out, plain(x)[0])
    torch.testing.assert_close(layer.eval()(x)[0], plain(x)[0])  # eval: no mask
    with pytest.raises(ValueError, match="the rnn_tanh cell has no candidate to drop"):
        rnnkit.Recurrent("rnn_tanh", 4, 3, recurrent_dropout=0.4,
                         recurrent_dropout_mode="semeniuta")
    with pytest.raises(ValueError, match="recurrent_dropout_mode: expected one of variational"):
        rnnkit.Recurrent("lstm", 4, 3, recurrent_dropout_mode="gal")


@pytest.mark.parametrize("cell", ["lstm", "ln_lstm"])
def test_second_order_gradients_see_the_same_masks(cell):
    """create_graph=True reruns the sequence through the step math: the per-step zoneout masks
    and the dropout mask must be the ones of the forward."""
    x = torch.randn(5, 2, 3, dtype=f64, requires_grad=True)
    grads = []
    for impl in ("fused", "reference"):
        torch.manual_seed(0)
        layer = rnnkit.Recurrent(cell, 3, 4, impl=impl, recurrent_dropout=0.3,
                                 zoneout=0.3).double()
        out, _ = layer(x)
        (g,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
        grads.append(torch.autograd.grad(g.pow(2).sum(), x)[0])
    torch.testing.assert_close(grads[0], grads[1])
