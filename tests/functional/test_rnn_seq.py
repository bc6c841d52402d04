"""The compiled Elman / GRU BPTT (rnn_seq.py, rnn_kernel.cpp) against the general loop of
bptt.py it replaces: outputs, final state and every gradient, under a random upstream gradient."""

import pytest
import torch

import rnnkit
from rnnkit.functional import (
    LayerWeights,
    cell_math,
    chunked,
    compiled,
    rnn_seq,
    sequence_backward,
    sequence_forward,
)

pytestmark = pytest.mark.skipif(not compiled.available(torch.zeros(1))[0],
                                reason="the compiled loops are not built here")


def _case(mode, T, B, I, H, dtype, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    G = 3 * H if mode == "GRU" else H

    def randn(*shape, scale=0.5):
        return scale * torch.randn(*shape, dtype=dtype, generator=g)

    w = LayerWeights(randn(G, I), randn(G, H), randn(G) if bias else None,
                     randn(G) if bias else None)
    x, state0 = randn(T, B, I), (randn(B, H),)
    upstream = (randn(T, B, H, scale=1.0), (randn(B, H, scale=1.0),))
    return x, state0, w, upstream


def _run(forward, backward, cell, x, state0, w, upstream, reverse):
    out, state, cache = forward(cell, x, state0, w, None, reverse)
    record = []
    dx, d_state0, grads = backward(cell, upstream[0], upstream[1], w, cache, dh_record=record)
    return [out, *state, dx, *d_state0, *record,
            *(grads[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh") if grads[k] is not None)]


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "GRU"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("B", [1, 3])  # batch 1 takes BLAS's gemv, batch 3 oneDNN or MKL
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("chunk_rows", [1, 4, 1024])  # 1 step per chunk, uneven chunks, one
def test_compiled_bptt_equals_the_general_loop(monkeypatch, mode, dtype, B, reverse, bias,
                                               chunk_rows):
    monkeypatch.setattr(chunked, "CHUNK_ROWS", chunk_rows)
    cell = cell_math(mode)
    case = _case(mode, T=6, B=B, I=5, H=7, dtype=dtype, bias=bias)
    assert rnn_seq.can_run(cell, None, case[2], case[0])[0]
    fast = _run(rnn_seq.rnn_sequence_forward, rnn_seq.rnn_sequence_backward, cell, *case,
                reverse)
    spec = _run(lambda *a: sequence_forward(*a, packed=True), sequence_backward, cell, *case,
                reverse)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert len(fast) == len(spec)
    for a, b in zip(fast, spec, strict=True):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("library", ["onednn", "mkl"])
def test_either_product_library_gives_the_same_gradients(monkeypatch, library):
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", library)
    cell = cell_math("GRU")
    case = _case("GRU", T=5, B=4, I=3, H=6, dtype=torch.float32)
    fast = _run(rnn_seq.rnn_sequence_forward, rnn_seq.rnn_sequence_backward, cell, *case, False)
    spec = _run(lambda *a: sequence_forward(*a, packed=True), sequence_backward, cell, *case,
                False)
    for a, b in zip(fast, spec, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_the_path_is_taken_only_where_it_applies(monkeypatch):
    x = torch.zeros(3, 2, 4)
    gru, cho = cell_math("GRU"), cell_math("GRU", reset_after=False)
    w = _case("GRU", T=3, B=2, I=4, H=5, dtype=torch.float32)[2]
    assert rnn_seq.can_run(gru, None, w, x)[0]
    assert not rnn_seq.can_run(cho, None, w, x)[0]
    assert not rnn_seq.can_run(gru, torch.ones(3, 2, 1, dtype=torch.bool), w, x)[0]
    assert not rnn_seq.can_run(cell_math("LSTM"), None, w, x)[0]
    monkeypatch.setattr(compiled, "_load", lambda: (False, "not built in this test"))
    with pytest.warns(UserWarning, match="Python loops: not built in this test"):
        assert rnn_seq.can_run(gru, None, w, x) == (False, "not built in this test")


@pytest.mark.parametrize("cls", [rnnkit.GRU, rnnkit.RNN])
def test_a_fused_layer_trains_through_the_compiled_loops(monkeypatch, cls):
    """A 2-layer bidirectional fused layer: one compiled forward and backward per layer and
    direction, and gradients equal to torch.nn's."""
    from torch import nn

    calls = []
    for name in ("rnn_forward_loop", "rnn_backward_loop"):
        original = getattr(compiled, name)
        monkeypatch.setattr(compiled, name, lambda *a, _o=original, _n=name: calls.append(_n)
                            or _o(*a))
    torch.manual_seed(0)
    ours = cls(4, 8, num_layers=2, bidirectional=True, impl="fused")
    theirs = (nn.GRU if cls is rnnkit.GRU else nn.RNN)(4, 8, num_layers=2, bidirectional=True)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(7, 3, 4)
    upstream = torch.randn(7, 3, 16)
    for layer in (ours, theirs):
        out, _ = layer(x)
        out.backward(upstream)
    assert calls.count("rnn_forward_loop") == 4 and calls.count("rnn_backward_loop") == 4
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize("cls", [rnnkit.GRU, rnnkit.RNN, rnnkit.LSTM])
def test_long_sequences_run_in_chunks_that_match_torch(monkeypatch, cls):
    """T B over CHUNK_ROWS: the training loops run a chunk at a time (the LSTM's backward only),
    forward in time and backward against it, handing the state and its gradient on; outputs,
    final states and every gradient equal torch.nn's."""
    from torch import nn

    monkeypatch.setattr(chunked, "CHUNK_ROWS", 6)  # B = 3: 2 steps per chunk, T = 7: 4 chunks
    calls = []
    lstm = cls is rnnkit.LSTM
    names = ("backward_loop",) if lstm else ("rnn_forward_loop", "rnn_backward_loop")
    for name in names:
        original = getattr(compiled, name)
        monkeypatch.setattr(compiled, name, lambda *a, _o=original, _n=name: calls.append(_n)
                            or _o(*a))
    torch.manual_seed(0)
    ours = cls(4, 5, bidirectional=True, impl="fused")
    theirs = getattr(nn, cls.__name__)(4, 5, bidirectional=True)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(7, 3, 4, requires_grad=True)
    h0 = torch.randn(2, 3, 5, requires_grad=True)
    state0 = (h0, torch.randn(2, 3, 5, requires_grad=True)) if lstm else h0
    leaves = (x, *state0) if lstm else (x, h0)
    d_out, d_state = torch.randn(7, 3, 10), torch.randn(2, 3, 5)
    results = []
    for layer in (ours, theirs):
        out, state = layer(x, state0)
        state = state if isinstance(state, tuple) else (state,)
        torch.autograd.backward((out, *state), (d_out, *(d_state for _ in state)))
        results.append((out, *state, *(t.grad.clone() for t in leaves)))
        for t in leaves:
            t.grad = None
    for name in names:  # 2 directions x 4 chunks
        assert calls.count(name) == 8, name
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=0, msg=name)
