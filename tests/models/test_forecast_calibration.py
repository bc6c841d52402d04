"""Interval calibration (rnnkit.models.forecast_calibration): split-conformal scale factor."""

import math
from statistics import NormalDist

import pytest
import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.forecast_calibration import (
    Calibrated,
    conformal_quantile,
    conformity_scores,
    fit_scale,
)
from rnnkit.models.forecaster import ForecastEnsemble, Forecaster, ForecasterConfig
from rnnkit.models.forecaster import point_and_interval as interval

Z90 = NormalDist().inv_cdf(0.95)


class Overconfident(nn.Module):
    """x (B, H, K, 2) = [mean, sigma] -> its head's parameters claiming sigma / 2 (gaussian:
    mean and log-variance; quantile: the 5/50/95% quantiles of that too narrow normal)."""

    def __init__(self, head):
        super().__init__()
        self.head, self.dummy = head, nn.Parameter(torch.zeros(()))

    def forward(self, x):
        mean, sigma = x[..., 0], x[..., 1] / 2
        if self.head == "gaussian":
            return torch.stack([mean, 2 * torch.log(sigma)], dim=-1)
        if self.head == "student_t":  # nu = 1e6: as good as the Gaussian
            return torch.stack([mean, 2 * torch.log(sigma),
                                torch.full_like(mean, math.log(1e6))], dim=-1)
        return torch.stack([mean + Z90 * sigma, mean, mean - Z90 * sigma], dim=-1)  # unsorted


def draw(n, seed):
    """Inputs (n, 4, 2, 2) and targets (n, 4, 2) with y ~ N(mean, sigma^2), sigma varying."""
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(n, 4, 2, generator=g, dtype=torch.float64) * 3
    sigma = torch.rand(n, 4, 2, generator=g, dtype=torch.float64) * 2 + 0.5
    y = mean + sigma * torch.randn(n, 4, 2, generator=g, dtype=torch.float64)
    return torch.stack([mean, sigma], dim=-1), y


def coverage(params, y, head, level=0.9):
    _, lo, hi = interval(params, head, level)
    return float(((y >= lo) & (y <= hi)).double().mean())


@pytest.mark.parametrize("head", ["gaussian", "student_t", "quantile"])
def test_calibration_on_validation_restores_the_coverage_of_a_2x_overconfident_model(head):
    model = Overconfident(head)
    x_val, y_val = draw(500, seed=0)  # 4000 validation points
    x_test, y_test = draw(500, seed=1)  # fitted on validation only, checked on fresh points
    before = coverage(model(x_test), y_test, head)
    want = 2 * NormalDist().cdf(Z90 / 2) - 1  # |N(0, 1)| < z/2: 0.59
    assert abs(before - want) < 0.03
    fitted = fit_scale(model(x_val), y_val, head, 0.9)
    assert abs(fitted["scale"] - 2.0) < 0.12  # the spread was half the truth
    assert fitted["points"] == 4000 and fitted["coverage_after"] >= 0.9
    assert abs(fitted["coverage_before"] - want) < 0.03
    after = coverage(Calibrated(model, head, fitted["scale"])(x_test), y_test, head)
    assert abs(after - 0.9) < 0.02


def test_conformal_quantile_by_hand():
    scores = torch.arange(10.0, 0.0, -1.0)  # 10 .. 1, unsorted
    assert conformal_quantile(scores, 0.9) == 10.0  # ceil(11 * 0.9) = 10th smallest
    assert conformal_quantile(scores, 0.5) == 6.0  # ceil(5.5) = 6th
    assert conformal_quantile(scores, 0.95) == 10.0  # ceil(10.45) = 11 > n: the largest
    with pytest.raises(ConfigError, match="at least 1 validation point, got 0"):
        conformal_quantile(torch.zeros(0), 0.9)


def test_scores_and_scale_by_hand():
    # gaussian: mean 0, sigma 2 (log-variance log 4); y = 1 and -6: scores 0.5 and 3
    params = torch.tensor([[0.0, math.log(4.0)], [0.0, math.log(4.0)]]).view(1, 2, 1, 2)
    y = torch.tensor([1.0, -6.0]).view(1, 2, 1)
    assert conformity_scores(params, y, "gaussian").tolist() == [0.5, 3.0]
    fitted = fit_scale(params, y, "gaussian", 0.5)  # ceil(3 * 0.5) = 2nd smallest: 3
    assert fitted["scale"] == pytest.approx(3.0 / NormalDist().inv_cdf(0.75))
    # quantile: (lo, mid, hi) = (-1, 0, 4); y = -3 is 3 lower half-widths below, y = 2 half of
    # the upper half-width above
    q = torch.tensor([[4.0, -1.0, 0.0], [0.0, 4.0, -1.0]]).view(1, 2, 1, 3)
    assert conformity_scores(q, y.new_tensor([-3.0, 2.0]).view(1, 2, 1),
                             "quantile").tolist() == [3.0, 0.5]
    # student_t: mean 0, sigma 2, nu 5: half-width t_{0.95}(5) * 2 = 4.0301; scale = q itself
    t = torch.tensor([[0.0, math.log(4.0), math.log(3.0)]] * 2).view(1, 2, 1, 3)
    half = 2.015048373 * 2
    scores = conformity_scores(t, y, "student_t", 0.9).tolist()
    assert scores == pytest.approx([1 / half, 6 / half], rel=1e-6)
    # level 0.5: the 2nd smallest score at t_{0.75}(5) = 0.7266868: 6 / (2 * 0.7266868)
    assert fit_scale(t, y, "student_t", 0.5)["scale"] == pytest.approx(6 / 2 / 0.7266868, 1e-6)


@pytest.mark.parametrize("head", ["gaussian", "student_t", "quantile"])
def test_calibrated_keeps_the_point_and_scales_the_interval(head):
    torch.manual_seed(0)
    members = [Forecaster(ForecasterConfig(horizon=3, head=head)).eval() for _ in range(2)]
    for model in (members[0], ForecastEnsemble(members)):  # one model or an ensemble
        x = torch.randn(5, 8, 1)
        point, lo, hi = interval(model(x), head, 0.9)
        point2, lo2, hi2 = interval(Calibrated(model, head, 1.7)(x), head, 0.9)
        torch.testing.assert_close(point2, point)
        torch.testing.assert_close(hi2 - point2, 1.7 * (hi - point))
        torch.testing.assert_close(point2 - lo2, 1.7 * (point - lo))
        if head == "student_t":  # the tails' shape (nu) is left as it was
            torch.testing.assert_close(Calibrated(model, head, 1.7)(x)[..., 2], model(x)[..., 2])


def test_calibration_errors():
    model = Overconfident("gaussian")
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ConfigError, match="calibration scale: expected a finite number > 0"):
            Calibrated(model, "gaussian", bad)
    x, y = draw(2, 0)
    with pytest.raises(ConfigError, match=r"model.level: expected a number in \(0, 1\), got 1.5"):
        fit_scale(model(x), y, "gaussian", 1.5)
