"""The one-pass LSTM forward without grad (lstm_infer_kernel.cpp, infer.lstm_one_pass) against
the training forward it must equal, where it runs, and its errors."""

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.functional import LayerWeights, LSTMCellMath, compiled, infer, lstm_seq

CELL = LSTMCellMath()
pytestmark = pytest.mark.skipif(not compiled.available(torch.zeros(1))[0],
                                reason="the compiled loops are not built here")


def _case(T, B, I, H, bias=True, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return 0.5 * torch.randn(*shape, dtype=dtype, generator=g)

    w = LayerWeights(randn(4 * H, I), randn(4 * H, H), randn(4 * H) if bias else None,
                     randn(4 * H) if bias else None)
    return randn(T, B, I), (randn(B, H), randn(B, H)), w


def _spy(monkeypatch):
    calls = []
    original = compiled.infer_loop
    monkeypatch.setattr(compiled, "infer_loop",
                        lambda *args: calls.append(args[0].shape) or original(*args))
    return calls


def _full_batches():
    """Batch sizes the one-pass step takes: one full vector, a quarter padded, several."""
    lanes = compiled.infer_lanes()
    return [lanes, lanes - lanes // 4, 3 * lanes - 3]


@pytest.mark.parametrize("B", _full_batches())
@pytest.mark.parametrize("H", [7, 13])  # tiles of 6, 3 or fewer units: every tail shape
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_one_pass_equals_the_training_forward(monkeypatch, B, H, reverse, bias):
    x, state0, w = _case(T=6, B=B, I=5, H=H, bias=bias)
    out, (h, c) = infer.lstm_one_pass(CELL, x, state0, w, reverse)
    spec, (h_spec, c_spec), _ = lstm_seq.lstm_sequence_forward(CELL, x, state0, w, None, reverse)
    for got, want in ((out, spec), (h, h_spec), (c, c_spec)):
        torch.testing.assert_close(got, want, atol=2e-6, rtol=2e-6)


def test_it_runs_where_the_batch_fills_its_vectors(monkeypatch):
    lanes = compiled.infer_lanes()
    assert lanes in (8, 16)
    fits = [infer.one_pass_fits(b) for b in (1, lanes - 1, lanes, lanes + 1, 4 * lanes)]
    # lanes - 1: one lane of padding; lanes + 1: almost half; 8 lanes (no AVX-512): never
    assert fits == ([False, True, True, False, True] if lanes == 16 else [False] * 5)
    calls = _spy(monkeypatch)
    for B, dtype in ((lanes, torch.float32), (lanes + 1, torch.float32), (2, torch.float32),
                     (lanes, torch.float64)):
        x, state0, w = _case(T=3, B=B, I=4, H=5, dtype=dtype)
        out, _ = infer.sequence_infer(CELL, x, state0, w)
        spec, _, _ = lstm_seq.lstm_sequence_forward(CELL, x, state0, w)
        torch.testing.assert_close(out, spec)
    assert calls == ([(3, lanes, 4)] if lanes == 16 else [])  # float32 at a full batch only


def test_two_threads_give_the_same_bits_as_one():
    """At this size each step's tiles are shared out over the threads."""
    x, state0, w = _case(T=4, B=4 * compiled.infer_lanes(), I=64, H=64)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = infer.lstm_one_pass(CELL, x, state0, w)
        torch.set_num_threads(2)
        two = infer.lstm_one_pass(CELL, x, state0, w)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one[0], two[0]) and torch.equal(one[1][1], two[1][1])


def test_a_batch_first_view_is_read_in_place(monkeypatch):
    x, state0, w = _case(T=5, B=compiled.infer_lanes(), I=6, H=4)
    view = x.transpose(0, 1).contiguous().transpose(0, 1)  # (T, B, I) with batch-first strides
    assert not view.is_contiguous()
    calls = []
    original = compiled.infer_loop
    monkeypatch.setattr(compiled, "infer_loop",
                        lambda *args: calls.append(args[0].is_contiguous()) or original(*args))
    out, (h, c) = infer.lstm_one_pass(CELL, view, state0, w)
    assert calls == [False]  # no copy was made
    want, (h_want, c_want) = infer.lstm_one_pass(CELL, x, state0, w)
    assert torch.equal(out, want) and torch.equal(h, h_want) and torch.equal(c, c_want)


def test_a_fused_layer_without_grad_runs_it_and_matches_torch(monkeypatch):
    if not infer.one_pass_fits(compiled.infer_lanes()):
        pytest.skip("built without AVX-512: fused layers take the chunked loop")
    torch.manual_seed(0)
    B = compiled.infer_lanes()
    ours = rnnkit.LSTM(6, 10, num_layers=2, bidirectional=True, batch_first=True, impl="fused")
    theirs = nn.LSTM(6, 10, num_layers=2, bidirectional=True, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    calls = _spy(monkeypatch)
    x = torch.randn(B, 9, 6)
    state = (torch.randn(4, B, 10), torch.randn(4, B, 10))
    with torch.no_grad():
        (out, (h, c)), (out_t, (h_t, c_t)) = ours(x, state), theirs(x, state)
    assert len(calls) == 4  # 2 layers x 2 directions
    for got, want in ((out, out_t), (h, h_t), (c, c_t)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_the_kernel_refuses_a_short_workspace_and_wrong_shapes():
    x, (h0, c0), w = _case(T=2, B=3, I=4, H=5)
    out, c_n = torch.empty(2, 3, 5), torch.empty(3, 5)
    need = compiled.infer_workspace(3, 4, 5)
    with pytest.raises(RuntimeError, match=f"work has {need - 1} elements, needs {need}"):
        compiled.infer_loop(x, w.W_ih, w.W_hh, None, h0, c0, False, torch.empty(need - 1), out,
                            c_n)
    with pytest.raises(RuntimeError, match="W_ih has shape"):
        compiled.infer_loop(x, w.W_ih[:, :3], w.W_hh, None, h0, c0, False, torch.empty(need),
                            out, c_n)
    with pytest.raises(RuntimeError, match="x must be .T, B, I. float32"):
        compiled.infer_loop(x.double(), w.W_ih, w.W_hh, None, h0, c0, False, torch.empty(need),
                            out, c_n)
