"""The compiled loops of the LSTM variants (lstm_variant_kernel.cpp, lstm_variant_seq.py) and of
ln_gru (gru_variant_kernel.cpp, gru_variant_seq.py) against the general loop of bptt.py over the
same step math (the specification): peepholes, the layer norms, variational and Semeniuta's
recurrent dropout, zoneout and their combinations, on outputs,
final states, dL/dh_t and every gradient under random upstream gradients; float64 gradcheck of
the path; the dispatch that picks it and its fallback."""

from __future__ import annotations

import warnings

import pytest
import torch

import rnnkit
from rnnkit.cells import function
from rnnkit.functional import (
    LayerWeights,
    bptt,
    compiled,
    gru_variant_seq,
    lstm_variant_seq,
    registry,
)
from rnnkit.functional.regularise import regularise

needs_kernel = pytest.mark.skipif(not compiled.available(torch.zeros(1), warn=False)[0],
                                  reason="the compiled loops are not built here")

# (cell, recurrent dropout, its mode, zoneout, training)
SETTINGS = [
    ("lstm", 0.3, "variational", 0.0, True),
    ("lstm", 0.3, "semeniuta", 0.0, True),
    ("lstm", 0.0, "variational", 0.3, True),
    ("lstm", 0.0, "variational", 0.3, False),  # eval: zoneout's expectation
    ("lstm", 0.3, "variational", 0.4, True),
    ("peephole_lstm", 0.0, "variational", 0.0, True),
    ("peephole_lstm", 0.3, "semeniuta", 0.4, True),
    ("peephole_lstm", 0.3, "variational", 0.0, True),
    ("ln_lstm", 0.0, "variational", 0.0, True),
    ("ln_lstm", 0.3, "variational", 0.4, True),
    ("ln_lstm", 0.3, "semeniuta", 0.0, True),
    ("ln_gru", 0.0, "variational", 0.0, True),
    ("ln_gru", 0.3, "variational", 0.4, True),
    ("ln_gru", 0.3, "semeniuta", 0.0, True),
    ("ln_gru", 0.0, "variational", 0.3, False),
]
COMPILED = {lstm_variant_seq.lstm_variant_forward, gru_variant_seq.ln_gru_forward}


def make(name, T, B, I, H, dtype, bias=True, seed=0):
    family = registry.get(name)
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.5):
        return scale * torch.randn(*shape, generator=g, dtype=dtype)

    G = family.gates * H
    extra = tuple(1 + rnd(*s.shape(H), scale=0.3) for s in family.extra)
    w = LayerWeights(rnd(G, I), rnd(G, H), rnd(G) if bias else None, rnd(G) if bias else None,
                     None, extra)
    x = rnd(T, B, I, scale=1.0)
    state0 = tuple(rnd(B, H, scale=1.0) for _ in family.states)
    upstream = (rnd(T, B, H, scale=1.0), tuple(rnd(B, H, scale=1.0) for _ in family.states))
    return family, x, state0, w, upstream


def wrapped(family, x, state0, dropout, mode, zoneout, training, seed=3):
    torch.manual_seed(seed)
    return regularise(family.math(), x, state0, dropout, zoneout, training, mode)


def run(forward, backward, cell, x, state0, w, upstream, reverse):
    out, state, cache = forward(cell, x, state0, w, None, reverse)
    record = []
    dx, d_state0, grads = backward(cell, upstream[0], upstream[1], w, cache, dh_record=record)
    named = [grads[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")]
    return cache, [out, *state, dx, *d_state0, *record, *named, *grads["extra"]]


@needs_kernel
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("B", [1, 3])  # batch 1 takes BLAS's gemv
def test_compiled_variant_loop_equals_the_general_loop(setting, dtype, reverse, B):
    name, dropout, mode, zoneout, training = setting
    family, x, state0, w, upstream = make(name, T=6, B=B, I=5, H=7, dtype=dtype)
    cell = wrapped(family, x, state0, dropout, mode, zoneout, training)
    forward, backward = function.sequence_path(cell, None, w, x)
    assert forward in COMPILED, forward
    cache, fast = run(forward, backward, cell, x, state0, w, upstream, reverse)
    assert cache.loop == "compiled"
    _, spec = run(bptt.sequence_forward, bptt.sequence_backward, cell, x, state0, w, upstream,
                  reverse)
    tol = 1e-10 if dtype == torch.float64 else 2e-5
    assert len(fast) == len(spec)
    for k, (a, b) in enumerate(zip(fast, spec, strict=True)):
        if b is None:
            assert a is None, k
            continue
        torch.testing.assert_close(a, b, atol=tol, rtol=tol, msg=lambda m, k=k: f"item {k}: {m}")


@needs_kernel
@pytest.mark.parametrize("name", ["ln_lstm", "peephole_lstm", "ln_gru"])
def test_without_bias(name):
    family, x, state0, w, upstream = make(name, T=4, B=2, I=3, H=5, dtype=torch.float64,
                                          bias=False)
    cell = family.math()
    forward, backward = function.sequence_path(cell, None, w, x)
    assert forward in COMPILED
    _, fast = run(forward, backward, cell, x, state0, w, upstream, False)
    _, spec = run(bptt.sequence_forward, bptt.sequence_backward, cell, x, state0, w, upstream,
                  False)
    for a, b in zip(fast, spec, strict=True):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@needs_kernel
@pytest.mark.parametrize("setting", [s for s in SETTINGS if s[4]],
                         ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_through_the_compiled_path(setting, reverse):
    name, dropout, mode, zoneout, training = setting
    family, x, state0, w, _ = make(name, T=3, B=2, I=2, H=3, dtype=torch.float64)
    cell = wrapped(family, x, state0, dropout, mode, zoneout, training)
    inputs = tuple(t.requires_grad_() for t in (x, *state0, *w.tensors()) if t is not None)
    forward, _ = function.sequence_path(cell, None, w, x)
    assert forward in COMPILED
    n = len(state0)

    def f(x, *rest):
        W_ih, W_hh, b_ih, b_hh, *extra = rest[n:]
        w = LayerWeights(W_ih, W_hh, b_ih, b_hh, None, tuple(extra))
        out, state = function.fused_sequence(cell, x, rest[:n], w, None, reverse)
        return (out, *state)

    assert torch.autograd.gradcheck(f, inputs)


def test_dispatch_says_why_not(monkeypatch):
    family, x, state0, w, _ = make("ln_lstm", T=3, B=2, I=2, H=3, dtype=torch.float64)
    cell = family.math()
    mask = torch.ones(3, 2, 1, dtype=torch.bool)
    assert lstm_variant_seq.can_run(cell, mask, w, x) == (
        False, "variable lengths go through the general loop")
    assert not lstm_variant_seq.can_run(registry.get("gru").math(), None, w, x)[0]
    # a GRU with recurrent dropout has no compiled loop: the general one runs it
    gru = regularise(registry.get("gru").math(), x, state0[:1], 0.3, 0.0, True)
    assert lstm_variant_seq.can_run(gru, None, w, x)[0] is False
    assert gru_variant_seq.can_run(gru, None, w, x)[0] is False
    ln_gru = regularise(registry.get("ln_gru").math(), x, state0[:1], 0.3, 0.0, True)
    assert gru_variant_seq.can_run(ln_gru, mask, w, x) == (
        False, "variable lengths go through the general loop")
    monkeypatch.setattr(compiled, "_load", lambda: (False, "held back by a test"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert lstm_variant_seq.can_run(cell, None, w, x) == (False, "held back by a test")
        forward, _ = function.sequence_path(cell, None, w, x)
    assert forward is not lstm_variant_seq.lstm_variant_forward


LAYER_SETTINGS = [("ln_lstm", {}), ("peephole_lstm", {}),
                  ("lstm", {"recurrent_dropout": 0.3}),
                  ("lstm", {"recurrent_dropout": 0.3, "recurrent_dropout_mode": "semeniuta"}),
                  ("lstm", {"zoneout": 0.2}),
                  ("ln_lstm", {"recurrent_dropout": 0.2, "zoneout": 0.2}),
                  ("ln_gru", {"recurrent_dropout": 0.2, "zoneout": 0.2})]


def _layer_step(layer, x, g, seed):
    layer.zero_grad()
    torch.manual_seed(seed)
    xi = x.clone().requires_grad_()
    out, state = layer(xi)
    states = state if isinstance(state, tuple) else (state,)
    loss = (out * g).sum() + sum((s * (0.3 + k)).sum() for k, s in enumerate(states))
    loss.backward()
    return [out, *states, xi.grad, *(p.grad for p in layer.parameters())]


@needs_kernel
@pytest.mark.parametrize("cell, kw", LAYER_SETTINGS)
def test_layer_runs_the_compiled_loop_and_equals_the_python_loop(monkeypatch, cell, kw):
    """rnnkit.Recurrent in training, two layers, bidirectional, float64: the compiled loop runs
    (counted) and gives what the general loop gives with the same masks."""
    torch.manual_seed(0)
    layer = rnnkit.Recurrent(cell, 4, 6, num_layers=2, bidirectional=True, **kw).double()
    x, g = torch.randn(7, 3, 4, dtype=torch.float64), torch.randn(7, 3, 12, dtype=torch.float64)
    calls = []
    module, name = ((gru_variant_seq, "ln_gru_forward") if cell == "ln_gru"
                    else (lstm_variant_seq, "lstm_variant_forward"))
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    fast = _layer_step(layer, x, g, seed=5)
    assert len(calls) == 4  # 2 layers x 2 directions
    monkeypatch.setattr(compiled, "_load", lambda: (False, "held back by a test"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = _layer_step(layer, x, g, seed=5)
    assert len(calls) == 4  # the general loop ran
    for a, b in zip(fast, spec, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@needs_kernel
@pytest.mark.parametrize("cell", ["ln_lstm", "ln_gru"])
def test_eval_without_grad_runs_the_compiled_forward(monkeypatch, cell):
    torch.manual_seed(0)
    layer = rnnkit.Recurrent(cell, 4, 6, zoneout=0.2).eval()
    x = torch.randn(5, 2, 4)
    module, name = ((gru_variant_seq, "ln_gru_forward") if cell == "ln_gru"
                    else (lstm_variant_seq, "lstm_variant_forward"))
    calls, real = [], getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a: calls.append(1) or real(*a))
    with torch.no_grad():
        fast = layer(x)[0]
    assert calls == [1]
    monkeypatch.setattr(compiled, "_load", lambda: (False, "held back by a test"))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        spec = layer(x)[0]
    torch.testing.assert_close(fast, spec, atol=2e-5, rtol=2e-5)


@needs_kernel
@pytest.mark.parametrize("max_kept", [0, 1 << 24])  # fresh work buffers, or the kept one
def test_work_buffer_kept_or_fresh_gives_the_same(monkeypatch, max_kept):
    from rnnkit.functional import chunked

    monkeypatch.setattr(chunked, "MAX_KEPT", max_kept)
    for name in ("ln_lstm", "ln_gru"):
        family, x, state0, w, upstream = make(name, T=5, B=2, I=3, H=4, dtype=torch.float64)
        cell = family.math()
        forward, backward = function.sequence_path(cell, None, w, x)
        _, fast = run(forward, backward, cell, x, state0, w, upstream, False)
        _, spec = run(bptt.sequence_forward, bptt.sequence_backward, cell, x, state0, w,
                      upstream, False)
        for a, b in zip(fast, spec, strict=True):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
