"""Interval calibration of a forecaster on held-out windows (split-conformal, one scale factor).

A trained forecaster's intervals can be too narrow (or too wide) on data it was not fitted to.
One factor s, fitted on the validation windows and then applied everywhere, rescales the
spread around the point forecast:

- gaussian head: sigma -> s * sigma (log-variance + 2 log s); the level-a interval becomes
  mu +- z_a s sigma. Score of a point: r = |y - mu| / sigma; s = q / z_a.
- student_t head: the same on its scale sigma, with the point's own t quantile (nu varies):
  r = |y - mu| / (t_nu sigma); s = q.
- quantile head (sorted q_lo <= m <= q_hi): q_lo -> m - s (m - q_lo), q_hi -> m + s (q_hi - m).
  Score: r = (m - y) / (m - q_lo) below the median, (y - m) / (q_hi - m) above; s = q.

q is the split-conformal quantile of the n scores (every window, step and target pooled): the
ceil((n + 1) a)-th smallest (the largest when that exceeds n). With exchangeable scores the
calibrated interval covers a new point with probability >= a; the validation points of a
forecaster overlap in time and are not exchangeable with the test part, so read it as a
fitted factor, not a guarantee. On the validation points themselves the calibrated coverage
is >= a by construction.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.forecaster import degrees_of_freedom, t_quantile

_TINY = 1e-12  # a zero half-width: its score is huge instead of a division by zero


def conformity_scores(params: torch.Tensor, y: torch.Tensor, head: str,
                      level: float = 0.9) -> torch.Tensor:
    """(N,) scores r of (B, H, K, P) forecast parameters against targets (B, H, K): the
    interval covers y exactly when r <= its scale (z_a for the uncalibrated Gaussian, else 1;
    `level` is needed by the Student-t head only)."""
    if head in ("gaussian", "student_t"):
        sigma = torch.exp(0.5 * params[..., 1])
        if head == "student_t":  # the half-width of the level interval, not sigma
            sigma = sigma * t_quantile(degrees_of_freedom(params), 0.5 + level / 2)
        return ((y - params[..., 0]).abs() / sigma).flatten()
    q = params.sort(dim=-1).values
    lo, mid, hi = q[..., 0], q[..., 1], q[..., 2]
    below = (mid - y) / (mid - lo).clamp_min(_TINY)
    above = (y - mid) / (hi - mid).clamp_min(_TINY)
    return torch.where(y < mid, below, above).clamp_min(0.0).flatten()


def conformal_quantile(scores: torch.Tensor, level: float) -> float:
    """The ceil((n + 1) level)-th smallest of the n scores (the largest if that is past n)."""
    n = scores.numel()
    if n < 1:
        raise ConfigError("model.calibrate: expected at least 1 validation point, got 0")
    rank = min(math.ceil((n + 1) * level), n)
    return float(scores.double().sort().values[rank - 1])


def fit_scale(params: torch.Tensor, y: torch.Tensor, head: str, level: float) -> dict:
    """{"scale", "points", "level", "coverage_before", "coverage_after"}: the factor s (see the
    module doc) fitted on (B, H, K, P) parameters and targets (B, H, K), with the coverage of
    the level interval on these points before and after scaling."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"model.level: expected a number in (0, 1), got {level}")
    scores = conformity_scores(params, y, head, level)
    q = conformal_quantile(scores, level)
    z = NormalDist().inv_cdf(0.5 + level / 2) if head == "gaussian" else 1.0
    scale = max(q / z, 1e-6)  # never a zero-width interval
    return {"scale": scale, "points": int(scores.numel()), "level": level,
            "coverage_before": float((scores <= z).double().mean()),
            "coverage_after": float((scores <= scale * z).double().mean())}


class Calibrated(nn.Module):
    """A forecaster (or ForecastEnsemble) whose spread is scaled by `scale` (see the module
    doc): the same (B, H, K, P) parameters, so loss, intervals and roll-out are unchanged."""

    def __init__(self, model: nn.Module, head: str, scale: float):
        super().__init__()
        if not (math.isfinite(scale) and scale > 0):
            raise ConfigError(f"calibration scale: expected a finite number > 0, got {scale}")
        self.model, self.head, self.scale = model, head, float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = self.model(x)
        if self.head in ("gaussian", "student_t"):  # sigma -> scale * sigma; nu unchanged
            return torch.cat([params[..., :1], params[..., 1:2] + 2 * math.log(self.scale),
                              params[..., 2:]], dim=-1)
        q = params.sort(dim=-1).values
        mid = q[..., 1:2]
        return mid + self.scale * (q - mid)
