"""Which implementation runs a layer. Each `can_use_*` is a pure predicate returning (ok, reason);
`choose` applies the user's `impl` and fails loudly, saying why and what to pass instead.

- "reference": autograd over the step math in rnnkit.functional (the specification).
- "fused":     the same forward with rnnkit's hand-written BPTT as the backward.
- "native":    torch's built-in kernels (oneDNN / cuDNN), where torch has one for the layer.
- "auto":      the fastest eligible: native where it can run, else fused.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

IMPLS = ("auto", "reference", "fused", "native")


@dataclass(frozen=True)
class LayerSpec:
    """What decides eligibility: the layer's settings, not its weights."""

    mode: str  # "RNN_TANH", "RNN_RELU", "LSTM", "GRU"
    reset_after: bool = True


def can_use_native(spec: LayerSpec, x: Tensor | None = None) -> tuple[bool, str]:
    if spec.mode == "GRU" and not spec.reset_after:
        return False, (
            "torch has no kernel for the GRU with reset_after=False (reset gate before the "
            "matmul, as in Cho et al. 2014); pass impl='fused' or impl='reference'"
        )
    return True, "torch has a kernel for this layer"


def can_use_fused(spec: LayerSpec, x: Tensor | None = None) -> tuple[bool, str]:
    return True, "rnnkit's BPTT covers every cell, direction, projection and length mask"


def can_use_reference(spec: LayerSpec, x: Tensor | None = None) -> tuple[bool, str]:
    return True, "the reference runs everything"


PREDICATES = {"native": can_use_native, "fused": can_use_fused, "reference": can_use_reference}


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(map(repr, IMPLS))}; got {impl!r}")
    return impl


def choose(impl: str, spec: LayerSpec, x: Tensor | None = None) -> str:
    """The implementation that runs: `impl` itself if eligible (else ValueError), or auto's pick."""
    check_impl(impl)
    if impl == "auto":
        return "native" if can_use_native(spec, x)[0] else "fused"
    ok, reason = PREDICATES[impl](spec, x)
    if not ok:
        raise ValueError(f"impl={impl!r} cannot run this layer: {reason}")
    return impl
