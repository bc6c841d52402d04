"""The products of the BPTT loops: oneDNN where it can run, torch.mm where autograd records."""

import warnings

import pytest
import torch

import rnnkit
from rnnkit.functional import compiled, matmul


@pytest.mark.parametrize("library", matmul.PRODUCT_LIBRARIES)
def test_products_agree_with_torch_in_either_library(monkeypatch, library):
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", library)
    torch.manual_seed(0)
    a, b, w, bias = torch.randn(6, 5), torch.randn(5, 7), torch.randn(7, 5), torch.randn(7)
    assert torch.allclose(matmul.mm(a, b), a @ b, atol=1e-5)
    assert torch.allclose(matmul.mm(a.t().contiguous().t(), b), a @ b, atol=1e-5)
    assert torch.allclose(matmul.linear(a, w, bias), a @ w.t() + bias, atol=1e-5)
    out = torch.full((6, 7), float("nan"))
    assert torch.allclose(matmul.linear_into(out, a, w, bias), a @ w.t() + bias, atol=1e-5)
    d = torch.randn(6, 7)
    dW = matmul.weight_grad(d, a)
    assert dW.shape == (7, 5) and dW.is_contiguous()
    assert torch.allclose(dW, d.t() @ a, atol=1e-5)
    step = matmul.StepMatmul(w, 6, bias)
    assert torch.allclose(step(a), a @ w.t() + bias, atol=1e-5)


def test_mkl_runs_the_whole_sequence_products_where_chosen(monkeypatch):
    """On Intel (product_library "mkl") no product goes to oneDNN: its weight gradient measured
    2.2x slower there (matmul's docstring)."""
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "mkl")
    monkeypatch.setattr(matmul, "onednn_linear",
                        lambda *args: pytest.fail("oneDNN ran a product under 'mkl'"))
    a, w, d = torch.randn(6, 5), torch.randn(7, 5), torch.randn(6, 7)
    matmul.mm(d, w), matmul.linear(a, w, None), matmul.weight_grad(d, a)
    out, _ = rnnkit.GRU(5, 7, impl="fused")(torch.randn(4, 6, 5, requires_grad=True))
    out.sum().backward()


def test_recorded_products_stay_differentiable():
    a = torch.randn(4, 3, requires_grad=True)
    w = torch.randn(2, 3, requires_grad=True)
    matmul.linear(a, w, None).sum().backward()
    assert torch.allclose(a.grad, w.sum(0).expand(4, 3)) and w.grad is not None


@pytest.mark.parametrize("library", matmul.PRODUCT_LIBRARIES)
def test_step_products_agree_with_torch_in_either_library(monkeypatch, library):
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", library)
    torch.manual_seed(0)
    x, w, bias = torch.randn(6, 5), torch.randn(7, 5), torch.randn(7)
    assert torch.allclose(matmul.StepMatmul(w, 6, bias)(x), x @ w.t() + bias, atol=1e-5)
    weight, packed = matmul.loop_weight(w, 6)
    assert packed == (library == "onednn" and matmul.can_prepack(w)[0])
    if not packed:
        assert torch.equal(weight, w.t())


def test_product_library_follows_the_cpu_vendor_and_the_override(monkeypatch):
    monkeypatch.delenv("RNNKIT_PRODUCT_LIBRARY", raising=False)
    monkeypatch.setattr(matmul, "_cpu_vendor", lambda: "AuthenticAMD")
    assert matmul.product_library() == "onednn"
    monkeypatch.setattr(matmul, "_cpu_vendor", lambda: "GenuineIntel")
    assert matmul.product_library() == ("mkl" if torch.backends.mkl.is_available() else "onednn")
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "onednn")
    assert matmul.product_library() == "onednn"
    monkeypatch.delenv("RNNKIT_PRODUCT_LIBRARY")
    monkeypatch.setenv("RNNKIT_STEP_LIBRARY", "mkl")  # the old name says so, not ignored
    with pytest.raises(ValueError, match="RNNKIT_STEP_LIBRARY is now RNNKIT_PRODUCT_LIBRARY"):
        matmul.product_library()
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "cublas")
    with pytest.raises(ValueError, match=r"RNNKIT_PRODUCT_LIBRARY: expected one of onednn, mkl, "
                                         r"got 'cublas'"):
        matmul.product_library()


def test_float64_uses_torch():
    assert not matmul.can_prepack(torch.randn(2, 2, dtype=torch.float64))[0]


def test_fused_path_runs_onednn(monkeypatch):
    """The Python loops' per-step products go through oneDNN (the compiled loops call it
    from C++, tests/functional/test_compiled.py): here the LSTM is held to its Python loop."""
    if not matmul.can_prepack(torch.randn(2, 2))[0]:
        return  # no oneDNN in this torch: the predicate says so and torch.mm runs (tested above)
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "onednn")
    held = (False, "held to the Python loop by test_matmul")
    monkeypatch.setattr(compiled, "_load", lambda: held)
    calls = []
    original = matmul.onednn_linear
    monkeypatch.setattr(matmul, "onednn_linear",
                        lambda *args: calls.append(1) or original(*args))
    for cls in (rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN):
        calls.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the LSTM says it runs its Python loop
            out, _ = cls(3, 4, impl="fused")(torch.randn(5, 2, 3, requires_grad=True))
        out.sum().backward()
        assert len(calls) >= 2 * 5, cls  # per-step products forward and backward


def test_loop_weight_copies_w_transposed_into_a_given_buffer(monkeypatch):
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "mkl")  # not packed: W^T for BLAS
    W = torch.randn(6, 4)
    buf = torch.full((30,), float("nan"))
    weight, packed = matmul.loop_weight(W, 3, out=buf)
    assert not packed and weight.shape == (4, 6) and weight.is_contiguous()
    assert weight.data_ptr() == buf.data_ptr() and torch.equal(weight, W.t())
