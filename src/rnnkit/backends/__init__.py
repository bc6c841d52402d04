"""Implementation choice: pure eligibility predicates and the explicit `impl` switch."""

from rnnkit.backends.dispatch import (
    IMPLS,
    LayerSpec,
    auto_choice,
    can_use_fused,
    can_use_native,
    can_use_reference,
    choose,
)

__all__ = [
    "IMPLS", "LayerSpec", "auto_choice", "can_use_fused", "can_use_native", "can_use_reference",
    "choose",
]
