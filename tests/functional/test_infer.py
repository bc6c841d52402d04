"""The forward without grad (infer.py): the compiled Elman / GRU loop (rnn_kernel.cpp) against
the general loop it replaces, which layers it runs for, and its errors."""

import warnings

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.functional import LayerWeights, cell_math, compiled, infer, rnn_seq, sequence_forward

needs_kernel = pytest.mark.skipif(not compiled.available(torch.zeros(1))[0],
                                  reason="the compiled loops are not built here")


def _case(mode, T, B, I, H, dtype, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    G = 3 * H if mode == "GRU" else H

    def randn(*shape):
        return 0.5 * torch.randn(*shape, dtype=dtype, generator=g)

    w = LayerWeights(randn(G, I), randn(G, H), randn(G) if bias else None,
                     randn(G) if bias else None)
    return randn(T, B, I), (randn(B, H),), w


def _spy(monkeypatch):
    calls = []
    original = compiled.rnn_forward_loop
    monkeypatch.setattr(compiled, "rnn_forward_loop",
                        lambda *args: calls.append(args[6]) or original(*args))
    return calls


@needs_kernel
@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "GRU"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("B", [1, 3])  # batch 1 takes BLAS's gemv, batch 3 oneDNN or MKL
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_compiled_loop_equals_the_general_loop(monkeypatch, mode, dtype, B, reverse, bias):
    cell = cell_math(mode)
    x, state0, w = _case(mode, T=6, B=B, I=5, H=7, dtype=dtype, bias=bias)
    monkeypatch.setattr(infer, "_CHUNK_ELEMENTS", 60)  # several chunks
    calls = _spy(monkeypatch)
    out, (h,) = infer.sequence_infer(cell, x, state0, w, None, reverse)
    assert calls and set(calls) == {rnn_seq.kernel_kind(cell)}
    spec, (h_spec,), _ = sequence_forward(cell, x, state0, w, None, reverse)
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(out, spec, atol=tol, rtol=tol)
    torch.testing.assert_close(h, h_spec, atol=tol, rtol=tol)


@needs_kernel
@pytest.mark.parametrize("library", ["onednn", "mkl"])
def test_either_product_library_gives_the_same_gru(monkeypatch, library):
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", library)
    cell = cell_math("GRU")
    x, state0, w = _case("GRU", T=5, B=4, I=3, H=6, dtype=torch.float32)
    out, _ = infer.sequence_infer(cell, x, state0, w)
    torch.testing.assert_close(out, sequence_forward(cell, x, state0, w)[0], atol=1e-6,
                               rtol=1e-6)


def test_what_the_kernel_has_no_loop_for_runs_the_general_loop(monkeypatch):
    calls = _spy(monkeypatch)
    cho = cell_math("GRU", reset_after=False)  # reset gate before the product
    assert rnn_seq.kernel_kind(cho) is None
    x, state0, w = _case("GRU", T=4, B=2, I=3, H=5, dtype=torch.float32)
    out, _ = infer.sequence_infer(cho, x, state0, w)
    torch.testing.assert_close(out, sequence_forward(cho, x, state0, w)[0])
    mask = torch.ones(4, 2, 1, dtype=torch.bool)
    mask[3, 1] = False  # the second sequence is 3 steps long
    gru = cell_math("GRU")
    out, _ = infer.sequence_infer(gru, x, state0, w, mask)
    torch.testing.assert_close(out, sequence_forward(gru, x, state0, w, mask)[0])
    assert calls == []


@needs_kernel
@pytest.mark.parametrize("cls", [rnnkit.GRU, rnnkit.RNN])
def test_a_fused_layer_without_grad_runs_the_kernel_and_matches_torch(monkeypatch, cls):
    torch.manual_seed(0)
    ours = cls(4, 8, num_layers=2, bidirectional=True, impl="fused")
    theirs = (nn.GRU if cls is rnnkit.GRU else nn.RNN)(4, 8, num_layers=2, bidirectional=True)
    theirs.load_state_dict(ours.state_dict())
    calls = _spy(monkeypatch)
    x = torch.randn(9, 3, 4)
    with torch.no_grad():
        (out, h), (out_t, h_t) = ours(x), theirs(x)
    assert len(calls) == 4  # 2 layers x 2 directions, one chunk each
    torch.testing.assert_close(out, out_t, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_t, atol=1e-5, rtol=0)


def test_without_the_kernel_inference_runs_the_general_loop(monkeypatch):
    monkeypatch.setattr(compiled, "_load", lambda: (False, "held to Python by a test"))
    calls = _spy(monkeypatch)
    cell = cell_math("RNN_TANH")
    x, state0, w = _case("RNN_TANH", T=4, B=2, I=3, H=5, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback says so once (test_compiled.py)
        out, _ = infer.sequence_infer(cell, x, state0, w)
    torch.testing.assert_close(out, sequence_forward(cell, x, state0, w)[0])
    assert calls == []


@needs_kernel
def test_the_kernel_refuses_a_bad_kind_and_shapes():
    A, h0, out = torch.zeros(2, 1, 6), torch.zeros(1, 2), torch.zeros(2, 1, 2)
    W = torch.zeros(2, 6)  # W_hh^T of the GRU with H = 2
    with pytest.raises(RuntimeError, match="kind must be 0 .tanh., 1 .relu. or 2 .GRU., got 7"):
        compiled.rnn_forward_loop(A, W, False, None, h0, False, 7, out)
    with pytest.raises(RuntimeError, match="out has shape"):
        compiled.rnn_forward_loop(A, W, False, None, h0, False, 2, torch.zeros(2, 1, 3))
    with pytest.raises(RuntimeError, match="b_hh is for the GRU only"):
        compiled.rnn_forward_loop(torch.zeros(2, 1, 2), torch.zeros(2, 2), False, torch.zeros(2),
                                h0, False, 0, out)
