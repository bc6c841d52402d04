"""Which implementation runs a layer. Each `can_use_*` is a pure predicate returning (ok, reason);
`choose` applies the user's `impl` and fails loudly, saying why and what to pass instead.

- "reference": autograd over the step math in rnnkit.functional (the specification).
- "fused":     the same forward with rnnkit's hand-written BPTT as the backward.
- "native":    torch's built-in kernels (oneDNN / cuDNN), where torch has one for the layer.
- "auto":      the fastest eligible, by measurement on this machine (rnnkit.backends.autotune;
               `auto_choice` says which and why); with RNNKIT_AUTO=rules, or before the layers
               can measure, by the fixed rules below.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnkit.backends import autotune
from rnnkit.functional import compiled, registry
from rnnkit.functional.matmul import can_prepack, product_library

IMPLS = ("auto", "reference", "fused", "native")


@dataclass(frozen=True)
class LayerSpec:
    """What decides eligibility and speed: the layer's settings, not its weights."""

    mode: str  # the cell family's mode (registry.py): "RNN_TANH", "RNN_RELU", "LSTM", "GRU", ...
    reset_after: bool = True
    hidden_size: int = 0
    regularised: bool = False  # recurrent dropout or zoneout acts in this call


# The rules when nothing is measured (RNNKIT_AUTO=rules): where rnnkit's fused loops beat
# torch's kernels on the CPU (float32), by measurement
# (BENCHMARKS.md, "Layers"; T 50 and 200, B 1/16/64, H 64/256/512, 1 and 2 layers).
# - Intel (`product_library` is MKL), with the compiled Elman / GRU loops (rnn_kernel.cpp): fused
#   was faster at every point of the grid, so auto takes it for unmasked sequences where the
#   kernels are built.
# - Elsewhere (AMD EPYC, oneDNN step products, measured before the compiled loops: "Layers",
#   "AMD EPYC"): fused beat torch's generic GRU / RNN kernels from the per-step work B * H^2 of
#   FUSED_MIN_WORK on; below it torch's kernel is kept (the compiled loops have not been
#   measured there yet).
# torch's LSTM is oneDNN's fused whole-sequence kernel; rnnkit's compiled loops only draw level
# with it (within the spread of torch.nn against itself), so the LSTM always takes native.
FUSED_MIN_WORK = {
    ("GRU", True): 2**18, ("GRU", False): 2**22,  # (mode, training): B * H * H
    ("RNN_TANH", True): 2**20, ("RNN_TANH", False): 2**22,
    ("RNN_RELU", True): 2**20, ("RNN_RELU", False): 2**22,
}


def can_use_native(spec: LayerSpec, x: Tensor | None = None) -> tuple[bool, str]:
    family = registry.by_mode(spec.mode)
    if not family.native:
        return False, (f"torch has no kernel for the {family.name} cell; pass impl='fused' or "
                       f"impl='reference'")
    if not _math(spec).kernel and not spec.reset_after:
        return False, (
            "torch has no kernel for the GRU with reset_after=False (reset gate before the "
            "matmul, as in Cho et al. 2014); pass impl='fused' or impl='reference'"
        )
    if spec.regularised:
        return False, ("torch's kernels have no recurrent dropout or zoneout; pass "
                       "impl='fused' or impl='reference'")
    return True, "torch has a kernel for this layer"


def _math(spec: LayerSpec):
    return registry.by_mode(spec.mode).math(reset_after=spec.reset_after)


def can_use_fused(spec: LayerSpec, x: Tensor | None = None) -> tuple[bool, str]:
    return True, "rnnkit's BPTT covers every cell, direction, projection and length mask"


def can_use_reference(spec: LayerSpec, x: Tensor | None = None) -> tuple[bool, str]:
    return True, "the reference runs everything"


PREDICATES = {"native": can_use_native, "fused": can_use_fused, "reference": can_use_reference}


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(map(repr, IMPLS))}; got {impl!r}")
    return impl


def auto_choice(spec: LayerSpec, x: Tensor, training: bool,
                masked: bool = False) -> tuple[str, str]:
    """(impl, reason) for impl="auto": the fastest eligible implementation for this call.
    masked: the call has lengths (or a PackedSequence), which rnnkit's loops run in Python."""
    ok, reason = can_use_native(spec, x)
    if not ok:
        return "fused", reason
    if x.device.type != "cpu":
        return "native", f"torch's {x.device.type} kernel"
    probe = autotune.probe_for(spec, x, training, masked)
    entry = autotune.entry_for(probe)
    if entry is not None:
        return autotune.decide(entry, probe)
    return rule_choice(spec, x, training, masked)


def rule_choice(spec: LayerSpec, x: Tensor, training: bool,
                masked: bool = False) -> tuple[str, str]:
    """auto's fixed rules for a CPU call that torch's kernel can run (RNNKIT_AUTO=rules)."""
    if registry.by_mode(spec.mode).auto_native:
        return "native", "torch's LSTM kernel (oneDNN's fused kernel) is as fast or faster"
    if x.dtype != torch.float32 or not can_prepack(x)[0]:
        return "native", "rnnkit's fast products need float32 with oneDNN on the CPU"
    work = x.shape[1] * spec.hidden_size ** 2
    if product_library() == "mkl":
        compiled_loop = _math(spec).kernel is not None  # the LSTM returned above
        if compiled_loop and not masked and compiled.available(x, warn=False)[0]:
            return "fused", "rnnkit's compiled loop is faster here (Intel, MKL)"
        return "native", "on this CPU (Intel, MKL) torch's kernel is as fast or faster here"
    threshold = FUSED_MIN_WORK.get((spec.mode, training))
    if threshold is None or work < threshold:
        return "native", f"torch's kernel is faster here (B*H^2 = {work})"
    return "fused", f"rnnkit's fused loop is faster here (B*H^2 = {work} >= {threshold})"


def choose(impl: str, spec: LayerSpec, x: Tensor | None = None, training: bool = False,
           masked: bool = False) -> str:
    """The implementation that runs: `impl` itself if eligible (else ValueError), or auto's pick
    for input x (T, B, I), whether a backward will follow (`training`) and whether the call has
    lengths (`masked`)."""
    check_impl(impl)
    if impl == "auto":
        if x is None:
            return "native" if can_use_native(spec)[0] else "fused"
        return auto_choice(spec, x, training, masked)[0]
    ok, reason = PREDICATES[impl](spec, x)
    if not ok:
        raise ValueError(f"impl={impl!r} cannot run this layer: {reason}")
    return impl
