"""Vanishing, exploding or healthy: a rule on the Jacobian norms, with the numbers behind it.

With J(d) = batch-mean ||dh_T/dh_t|| at distance d = T - t:
    exploding  if any figure is not finite, or J(far) / J(1) > 1e3;
    vanishing  if J(far) / J(1) < 1e-3 (what happened 'far' steps ago moves h_T a thousand
               times less than the previous step does: a learning signal from there is lost);
    healthy    otherwise.
'far' is the largest distance of the batch (T - 1). The per-step factor (J(far)/J(1))^(1/(far-1))
(over the farthest distance where J is still above 0 in floating point), the horizon (the first
distance where J(d) / J(1) < 1e-3) and the dL/dh_t norms near and far are reported with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

VANISH, EXPLODE = 1e-3, 1e3


@dataclass
class Verdict:
    kind: str  # "vanishing", "exploding" or "healthy"
    reason: str
    jac_near: float  # J(1)
    jac_far: float  # J(far)
    per_step: float  # geometric mean factor per step
    horizon: int | None  # first distance with J(d) / J(1) < 1e-3; None if none
    grad_near: float  # ||dL/dh|| at distance 0
    grad_far: float  # ||dL/dh|| at the largest distance


def judge(grad_norms: list[float], jacobian: list[float]) -> Verdict:
    """grad_norms by distance 0 .. T-1; jacobian by distance 1 .. T-1."""
    g0 = grad_norms[0] if grad_norms else math.nan
    gf = grad_norms[-1] if grad_norms else math.nan
    if not jacobian:
        return Verdict("healthy", "a single step: nothing flows through time", math.nan,
                       math.nan, math.nan, None, g0, gf)
    j1, jf, far = jacobian[0], jacobian[-1], len(jacobian)
    ratio = jf / j1 if j1 > 0 else (math.inf if jf > 0 else 0.0)
    last = max((d for d, v in enumerate(jacobian, 1) if v > 0), default=1)  # J above underflow
    r_last = jacobian[last - 1] / j1 if j1 > 0 else math.nan
    per_step = r_last ** (1 / (last - 1)) if last > 1 and math.isfinite(r_last) else ratio
    horizon = next((d for d, v in enumerate(jacobian, 1) if j1 > 0 and v / j1 < VANISH), None)
    numbers = (f"||dh_T/dh_t|| {j1:.3g} at distance 1, {jf:.3g} at distance {far} "
               f"(x{per_step:.3g} per step"
               + (f"; below 1e-3 of distance 1 from distance {horizon} on" if horizon else "")
               + f"); ||dL/dh_t|| {g0:.3g} at the last step, {gf:.3g} {far} steps before")
    values = [*jacobian, *grad_norms]
    if not all(math.isfinite(v) for v in values) or ratio > EXPLODE:
        kind = "exploding"
    elif ratio < VANISH:
        kind = "vanishing"
    else:
        kind = "healthy"
    return Verdict(kind, numbers, j1, jf, per_step, horizon, g0, gf)
