"""The compiled LSTM loops (lstm_kernel.cpp) against the Python loops they replace; the build,
its cache and its fallback (shared with rnn_kernel.cpp, tested in test_infer.py)."""

import os
import shutil
import time
import warnings

import pytest
import torch

import rnnkit
from rnnkit.functional import LayerWeights, LSTMCellMath, chunked, compiled, infer, lstm_seq

CELL = LSTMCellMath()


def _python_only(monkeypatch, reason="held to the Python loop by a test"):
    monkeypatch.setattr(compiled, "_load", lambda: (False, reason))


def _case(T, B, I, H, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = LayerWeights(*(0.5 * torch.randn(*s, dtype=dtype, generator=g)
                       for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]))
    def randn(*shape):
        return torch.randn(*shape, dtype=dtype, generator=g)

    x = randn(T, B, I)
    state0 = (randn(B, H), randn(B, H))
    upstream = (randn(T, B, H), (randn(B, H), randn(B, H)))
    return x, state0, w, upstream


def _run(x, state0, w, upstream, reverse):
    out, state, cache = lstm_seq.lstm_sequence_forward(CELL, x, state0, w, None, reverse)
    record = []
    dx, d_state0, grads = lstm_seq.lstm_sequence_backward(CELL, upstream[0], upstream[1], w,
                                                          cache, dh_record=record)
    return cache.loop, [out, *state, cache.A, cache.C, dx, *d_state0, *record,
                        *(grads[k] for k in ("W_ih", "W_hh", "b_ih"))]


def test_a_compiler_on_path_means_the_kernel_builds():
    if shutil.which("c++") is None or os.environ.get("RNNKIT_COMPILE") == "0":
        pytest.skip("no C++ compiler here (or RNNKIT_COMPILE=0): the Python loop runs")
    ok, reason = compiled.available(torch.zeros(1))
    assert ok, reason


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("B", [1, 3])  # batch 1 takes BLAS's gemv, batch 3 oneDNN or MKL
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("library", ["onednn", "mkl"])
@pytest.mark.parametrize("chunk_rows", [1, 4, 1024])  # the backward: 1 step a chunk, uneven, one
def test_compiled_loop_equals_python_loop(monkeypatch, dtype, B, reverse, library, chunk_rows):
    if not compiled.available(torch.zeros(1))[0]:
        pytest.skip("the kernel is not built here (see the test above)")
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", library)
    monkeypatch.setattr(chunked, "CHUNK_ROWS", chunk_rows)
    case = _case(T=6, B=B, I=5, H=7, dtype=dtype)
    loop, fast = _run(*case, reverse)
    assert loop == "compiled"
    _python_only(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # said once per reason; tested below
        loop, spec = _run(*case, reverse)
    assert loop == "python"
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    for a, b in zip(fast, spec, strict=True):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


def test_large_activations_stay_finite_and_exact():
    """The kernel's own exp is clamped: saturated gates give 0 and 1, never inf or nan."""
    if not compiled.available(torch.zeros(1))[0]:
        pytest.skip("the kernel is not built here")
    x, state0, w, _ = _case(T=4, B=2, I=3, H=5, dtype=torch.float32)
    w = LayerWeights(w.W_ih * 400, *w[1:])
    out, (h, c), cache = lstm_seq.lstm_sequence_forward(CELL, x, state0, w)
    assert torch.isfinite(cache.A).all() and torch.isfinite(c).all()
    expected = torch.sigmoid(lstm_seq.input_projection(CELL, x[:1], w)[0, :, :5]
                             + state0[0] @ w.W_hh[:5].t())
    torch.testing.assert_close(cache.A[0, :, :5], expected, atol=1e-6, rtol=0)


def test_fused_lstm_layer_runs_the_compiled_loop(monkeypatch):
    if not compiled.available(torch.zeros(1))[0]:
        pytest.skip("the kernel is not built here")
    calls = []
    for name in ("forward_loop", "backward_loop"):
        original = getattr(compiled, name)
        monkeypatch.setattr(compiled, name,
                            lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    layer = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True, impl="fused")
    out, _ = layer(torch.randn(5, 2, 3, requires_grad=True))
    out.sum().backward()
    assert calls.count("forward_loop") == 4 and calls.count("backward_loop") == 4


def test_without_the_kernel_the_python_loop_runs_and_says_so(monkeypatch):
    _python_only(monkeypatch, "no kernel, for the warning test")
    ref = torch.nn.LSTM(3, 4)
    layer = rnnkit.LSTM(3, 4, impl="fused")
    layer.load_state_dict(ref.state_dict())
    x = torch.randn(5, 2, 3)
    with pytest.warns(UserWarning, match="Python loops: no kernel, for the warning test"):
        out, _ = layer(x)
    torch.testing.assert_close(out, ref(x)[0], atol=1e-5, rtol=0)


def test_rnnkit_compile_0_turns_the_kernel_off(monkeypatch):
    monkeypatch.setenv("RNNKIT_COMPILE", "0")
    ok, reason = compiled._load.__wrapped__()
    assert not ok and "RNNKIT_COMPILE=0" in reason
    assert compiled.status() == "off (RNNKIT_COMPILE=0)"


def test_status_never_builds(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.setattr(compiled._load, "cache_info", lambda: type("I", (), {"currsize": 0})())
    assert compiled.status().startswith("not built yet")
    assert not any(tmp_path.rglob("*.so"))


def test_a_stale_build_lock_is_cleared_a_fresh_one_kept(tmp_path):
    lock = tmp_path / "lock"
    lock.touch()
    compiled._clear_stale_lock(tmp_path)
    assert lock.exists()  # another process may be building right now
    old = time.time() - compiled._STALE_LOCK_S - 60
    os.utime(lock, (old, old))
    compiled._clear_stale_lock(tmp_path)
    assert not lock.exists()


def test_kernel_refuses_non_contiguous_tensors():
    if not compiled.available(torch.zeros(1))[0]:
        pytest.skip("the kernel is not built here")
    T, B, H = 3, 2, 4
    A = torch.randn(T, B, 4 * H)
    C, TC, out = torch.empty(T, B, H), torch.empty(T, B, H), torch.empty(T, B, H)
    h0 = torch.zeros(H, B).t()  # (B, H), not contiguous
    with pytest.raises(RuntimeError, match="h0 must be contiguous"):
        compiled.forward_loop(A, torch.randn(H, 4 * H), False, h0, torch.zeros(B, H), False,
                              C, TC, out)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("chunk_elements", [1, 100, 1 << 20])  # 1, 2 and all 7 steps a chunk
def test_inference_in_chunks_equals_the_training_forward(monkeypatch, reverse, chunk_elements):
    monkeypatch.setattr(infer, "_CHUNK_ELEMENTS", chunk_elements)
    x, state0, w, _ = _case(T=7, B=2, I=3, H=5, dtype=torch.float64)
    out, (h, c), _ = lstm_seq.lstm_sequence_forward(CELL, x, state0, w, None, reverse)
    out2, (h2, c2) = infer.sequence_infer(CELL, x, state0, w, None, reverse)
    for a, b in ((out, out2), (h, h2), (c, c2)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("library", ["onednn", "mkl"])
def test_inference_reuses_its_scratch_across_shapes_and_keeps_threads_apart(monkeypatch,
                                                                             library):
    """The scratch buffer grows for a bigger call, serves a smaller one after it, and each
    thread has its own (two threads in one buffer would overwrite each other's gates)."""
    import threading

    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", library)
    monkeypatch.setattr(infer, "_CHUNK_ELEMENTS", 300)
    for T, B, H in ((5, 2, 3), (9, 3, 6), (4, 1, 2), (9, 3, 6)):
        x, state0, w, _ = _case(T=T, B=B, I=4, H=H, dtype=torch.float32, seed=T + B)
        out, (h, c), _ = lstm_seq.lstm_sequence_forward(CELL, x, state0, w)
        out2, (h2, c2) = infer.sequence_infer(CELL, x, state0, w)
        for a, b in ((out, out2), (h, h2), (c, c2)):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    mine = chunked.scratch(torch.zeros(1), 10)
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(chunked.scratch(torch.zeros(1), 10)))
    thread.start()
    thread.join()
    assert mine.data_ptr() != theirs[0].data_ptr()
    assert chunked.scratch(torch.zeros(1), 10).data_ptr() == mine.data_ptr()  # reused
    assert chunked.scratch(torch.zeros(1), 10, "weight").data_ptr() != mine.data_ptr()  # own slot


def test_the_build_name_follows_the_source(monkeypatch, tmp_path):
    """A changed kernel (another rnnkit version) builds into its own directory."""
    name = compiled._name()
    other = tmp_path / "lstm_kernel.cpp"
    other.write_text(compiled.SOURCES[0].read_text() + "\n// changed\n")
    monkeypatch.setattr(compiled, "SOURCES", (other, *compiled.SOURCES[1:]))
    assert compiled._name() != name and compiled._name().startswith("rnnkit_lstm_")


def test_a_failing_self_test_means_the_python_loop(monkeypatch):
    if not compiled.available(torch.zeros(1))[0]:
        pytest.skip("the kernel is not built here")

    def wrong(*args):
        raise RuntimeError("Tried to access or call an operator with a wrong signature")

    monkeypatch.setattr(compiled, "forward_loop", wrong)
    ok, reason = compiled._load.__wrapped__()
    assert not ok and "wrong signature" in reason


@pytest.mark.parametrize("cls", [rnnkit.GRU, rnnkit.RNN, rnnkit.LSTM])
@pytest.mark.parametrize("batch", [1, 16])
def test_scratch_made_under_inference_mode_serves_later_training_and_no_grad(cls, batch):
    """The kept buffers may first be made inside torch.inference_mode; a no_grad call and a
    training step after it write into them with torch ops (the input projections), which torch
    forbids on an inference tensor outside that mode."""
    from torch import nn

    torch.manual_seed(0)
    ours = cls(8, 32, impl="fused")
    theirs = getattr(nn, cls.__name__)(8, 32)
    theirs.load_state_dict(ours.state_dict())
    for T in (5, 300):  # the second grows every buffer again, inside inference_mode
        x = torch.randn(T, batch, 8)
        with torch.inference_mode():
            torch.testing.assert_close(ours(x)[0], theirs(x)[0], atol=1e-5, rtol=0)
        with torch.no_grad():
            torch.testing.assert_close(ours(x)[0], theirs(x)[0], atol=1e-5, rtol=0)
        ours(x)[0].sum().backward()
        theirs(x)[0].sum().backward()
        # A weight gradient here is a float32 sum of T * batch = 4800 terms of size ~1, added in
        # another order than torch's: its relative error reaches 1.5e-5 on some CPUs (seen on AMD
        # EPYC). A stale or wrongly shaped buffer errs by O(1), far beyond this tolerance.
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad, atol=1e-4, rtol=1e-4)


def test_transpose_into_writes_the_transpose_and_refuses_wrong_shapes():
    if not compiled.available(torch.zeros(1))[0]:
        pytest.skip("the kernel is not built here")
    for N, K in ((1, 1), (7, 5), (33, 65), (1024, 256)):  # partial and whole 32 x 32 blocks
        for dtype in (torch.float32, torch.float64):
            src = torch.randn(N, K, dtype=dtype)
            out = torch.full((K, N), float("nan"), dtype=dtype)
            compiled.transpose_into(src, out)
            assert torch.equal(out, src.t())
    with pytest.raises(RuntimeError, match=r"out has shape \[3, 4\], expected \[2, 3\]"):
        compiled.transpose_into(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(RuntimeError, match="src must be contiguous"):
        compiled.transpose_into(torch.zeros(2, 3).t(), torch.zeros(2, 3))
