"""Matrix products of the BPTT loops: MKL on Intel CPUs, oneDNN elsewhere (`product_library`).

Where MKL has no fast path (AMD EPYC: it does not take its AVX-512 path on other vendors'
CPUs), oneDNN's linear ran every product of an RNN faster than torch.mm / addmm (MKL), the
per-step h @ W_hh^T with the weight reordered once per sequence; that is how torch's own LSTM
kernel gets its speed. On Intel CPUs MKL is as fast or faster, the weight gradients most of all.
The timings: BENCHMARKS.md, "Matrix products: MKL against oneDNN" and "Kernel design
measurements".
`can_prepack` says when oneDNN can run: CPU, float32, oneDNN present; otherwise torch.mm. The
results agree with torch.mm to float32 rounding (relative 5e-6 on sums of 3200 terms).
"""

from __future__ import annotations

import os
from functools import cache

import torch
from torch import Tensor

PRODUCT_LIBRARIES = ("onednn", "mkl")


@cache
def _has_op(name: str) -> bool:
    try:
        getattr(torch.ops.mkldnn, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def can_prepack(weight: Tensor) -> tuple[bool, str]:
    """Whether oneDNN can run products with this tensor (and others like it)."""
    if weight.device.type != "cpu":
        return False, f"the weight is on {weight.device.type}, oneDNN prepacking is for the CPU"
    if weight.dtype != torch.float32:
        return False, f"oneDNN's packed linear takes float32, the weight is {weight.dtype}"
    if not torch.backends.mkldnn.is_available():
        return False, "torch was built without oneDNN"
    if not (_has_op("_linear_pointwise") and _has_op("_reorder_linear_weight")):
        return False, "this torch lacks mkldnn::_linear_pointwise or _reorder_linear_weight"
    return True, "CPU float32 with oneDNN"


@cache
def _cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def product_library() -> str:
    """Which library runs the products of the fused path (per step and over whole sequences):
    "mkl" on an Intel CPU with a torch built with MKL, else "onednn" (see the module docstring).
    $RNNKIT_PRODUCT_LIBRARY=onednn|mkl overrides."""
    forced = os.environ.get("RNNKIT_PRODUCT_LIBRARY")
    if forced is None and "RNNKIT_STEP_LIBRARY" in os.environ:  # its name until 2026-11-30
        raise ValueError("RNNKIT_STEP_LIBRARY is now RNNKIT_PRODUCT_LIBRARY (it chooses the "
                         "library of every product of the fused path); set that instead")
    if forced is not None:
        if forced not in PRODUCT_LIBRARIES:
            raise ValueError("RNNKIT_PRODUCT_LIBRARY: expected one of "
                             f"{', '.join(PRODUCT_LIBRARIES)}, got {forced!r}")
        return forced
    intel = _cpu_vendor() == "GenuineIntel" and torch.backends.mkl.is_available()
    return "mkl" if intel else "onednn"


def _packs(weight: Tensor, batch: int) -> bool:
    """Whether the per-step products with this weight run through oneDNN's packed linear."""
    return batch > 1 and can_prepack(weight)[0] and product_library() == "onednn"


class StepMatmul:
    """x @ W^T (+ bias) for the steps of one sequence; W (N, K), x (B, K). Outside autograd."""

    def __init__(self, weight: Tensor, batch: int, bias: Tensor | None = None):
        self.bias = None if bias is None else bias.detach()
        self.packed = None
        if _packs(weight, batch):
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), batch)
        else:
            self.weight_t = weight.detach().t().contiguous()  # (K, N)

    def __call__(self, x: Tensor) -> Tensor:
        if self.packed is not None:
            return onednn_linear(x, self.packed, self.bias)
        if self.bias is None:
            return x @ self.weight_t
        return torch.addmm(self.bias, x, self.weight_t)


def loop_weight(weight: Tensor, batch: int, out: Tensor | None = None,
                transpose_into=None) -> tuple[Tensor, bool]:
    """The weight W (N, K) of a product x W^T made in the compiled loops, as
    (tensor, packed): reordered by oneDNN once for the sequence where `product_library` is oneDNN
    and the batch is 2 or more; otherwise W^T (K, N) contiguous for BLAS (a matrix-vector
    product at batch 1, faster there than oneDNN's), copied into `out` (at least N K elements,
    e.g. a kept scratch buffer) if given, since a copy into fresh memory pays its page faults;
    there `transpose_into(src, dst)`, if given, writes it (compiled.transpose_into, faster than
    torch's copy of the transposed view). Timings: BENCHMARKS.md, "Kernel design
    measurements"."""
    weight = weight.detach()
    if _packs(weight, batch):
        return torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch), True
    if out is None:
        return weight.t().contiguous(), False
    N, K = weight.shape
    dst = out[:N * K].view(K, N)
    if transpose_into is None:
        return dst.copy_(weight.t()), False
    transpose_into(weight.contiguous(), dst)
    return dst, False


def recurrent_products(W_hh: Tensor, b_hh: Tensor | None, batch: int, packed: bool):
    """(forward, backward) products of one sequence: h -> h W_hh^T (+ b_hh) and d -> d W_hh.
    packed: W_hh fixed for the sequence, outside autograd (the fused path); otherwise plain
    differentiable products (the reference path)."""
    if packed:
        return StepMatmul(W_hh, batch, b_hh), StepMatmul(W_hh.t().contiguous(), batch)

    def forward(h: Tensor) -> Tensor:
        return h @ W_hh.t() if b_hh is None else torch.addmm(b_hh, h, W_hh.t())

    return forward, lambda d: d @ W_hh


def _onednn_runs(a: Tensor, b: Tensor) -> bool:
    """Whether a product of a and b goes to oneDNN's linear (`product_library`, `can_prepack`)."""
    return product_library() == "onednn" and can_prepack(a)[0] and b.dtype == a.dtype


def onednn_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x W^T + b by oneDNN's linear; W a plain (N, K) weight or one reordered by oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def _recorded(*tensors) -> bool:
    """Whether autograd records an op on these tensors (oneDNN's linear has no backward)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def mm(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for 2-D tensors (any strides); differentiable where autograd records it."""
    if _onednn_runs(a, b) and not _recorded(a, b):
        return onednn_linear(a, b.t(), None)
    return a @ b


def weight_grad(d: Tensor, a: Tensor) -> Tensor:
    """d^T @ a for d (M, G), a (M, K) with M = all steps x rows: a weight gradient (G, K) in one
    product. Through oneDNN, a (the smaller operand) is transposed and d^T is passed as the
    weight, never copied (faster than MKL's d.t() @ a and than copying d^T first). Through MKL
    it is (a^T d)^T, faster than d.t() @ a where K is small. Timings: BENCHMARKS.md, "Kernel
    design measurements"."""
    if _onednn_runs(d, a) and not _recorded(d, a):
        return onednn_linear(a.t().contiguous(), d.t(), None).t().contiguous()
    return (a.t() @ d).t().contiguous()


def mm_into(out: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """out = a @ b for 2-D tensors, outside autograd, written into out (see linear_into)."""
    if _onednn_runs(a, b):
        return out.copy_(onednn_linear(a, b.t(), None))
    return torch.mm(a, b, out=out)


def add_weight_grad(acc_t: Tensor | None, d: Tensor, a: Tensor) -> Tensor:
    """acc_t (K, G) + a^T d for d (M, G), a (M, K), outside autograd: a weight gradient,
    transposed, summed over chunks of rows (weight_grad's products). Returns acc_t, updated in
    place, or where acc_t is None the product itself (no zeroed buffer to add it to)."""
    if _onednn_runs(d, a):
        product = onednn_linear(a.t().contiguous(), d.t(), None)
        return product if acc_t is None else acc_t.add_(product)
    return a.t() @ d if acc_t is None else acc_t.addmm_(a.t(), d)


def linear_into(out: Tensor, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """out (M, N) = x (M, K) @ weight (N, K)^T + bias, outside autograd, written into out: by
    MKL where `product_library` is MKL, else by oneDNN's linear (which has no `out=`) and a copy."""
    if _onednn_runs(x, weight):
        return out.copy_(onednn_linear(x, weight, bias))
    if bias is None:
        return torch.mm(x, weight.t(), out=out)
    return torch.addmm(bias, x, weight.t(), out=out)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x @ weight^T + bias for 2-D x; differentiable where autograd records it."""
    if _onednn_runs(x, weight) and not _recorded(x, weight, bias):
        return onednn_linear(x, weight, bias)
    return x @ weight.t() if bias is None else torch.addmm(bias, x, weight.t())
