import math

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.forecaster import (
    Forecaster,
    ForecasterConfig,
    forecast_loss,
    point_and_interval,
)


def zero_head(model):
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    return model


@pytest.mark.parametrize("head, p", [("gaussian", 2), ("quantile", 3)])
def test_shapes_with_covariates(head, p):
    cfg = ForecasterConfig(n_targets=2, n_covariates=3, horizon=4, head=head, cell="gru")
    out = Forecaster(cfg)(torch.randn(5, 7, 5))
    assert out.shape == (5, 4, 2, p)
    point, lo, hi = point_and_interval(out, head, 0.9)
    assert point.shape == (5, 4, 2) and bool((lo <= point).all() and (point <= hi).all())


def test_skip_connections_give_naive_and_seasonal_naive():
    x = torch.arange(10.0).view(1, 10, 1)  # inputs 0..9
    last = zero_head(Forecaster(ForecasterConfig(horizon=5, base="last")))
    assert last(x)[0, :, 0, 0].tolist() == [9.0] * 5
    seasonal = zero_head(Forecaster(ForecasterConfig(horizon=5, base="seasonal", season=3)))
    assert seasonal(x)[0, :, 0, 0].tolist() == [7.0, 8.0, 9.0, 7.0, 8.0]
    with pytest.raises(ConfigError, match="lookback >= season"):
        Forecaster(ForecasterConfig(horizon=2, base="seasonal", season=12))(x)


@pytest.mark.parametrize("base", ["none", "last", "seasonal"])
def test_relative_inputs_make_the_forecast_follow_the_level(base):
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(n_targets=2, n_covariates=1, horizon=3, base=base,
                                        season=4)).eval()
    x = torch.randn(2, 8, 3)
    shift = torch.tensor([5.0, -3.0, 0.0])  # both targets shifted, the covariate not
    out, moved = model(x), model(x + shift)
    torch.testing.assert_close(moved[..., 0], out[..., 0] + shift[:2])  # means follow
    torch.testing.assert_close(moved[..., 1], out[..., 1])  # log-variances do not move


def test_losses_by_hand():
    params = torch.tensor([[[[1.0, math.log(4.0)]]]])  # mean 1, variance 4
    y = torch.tensor([[[3.0]]])
    assert forecast_loss(params, y, "gaussian", 0.9).item() == pytest.approx(
        0.5 * (math.log(4.0) + 4.0 / 4.0))
    q = torch.tensor([[[[0.0, 1.0, 2.0]]]])  # quantiles 0.05, 0.5, 0.95
    # errors y - q = 3, 2, 1: pinball tau * err
    assert forecast_loss(q, y, "quantile", 0.9).item() == pytest.approx(
        (0.05 * 3 + 0.5 * 2 + 0.95 * 1) / 3)
    mean, lo, hi = point_and_interval(params, "gaussian", 0.9)
    assert hi.item() - mean.item() == pytest.approx(1.6448536 * 2.0, rel=1e-5)


def test_config_errors():
    with pytest.raises(ConfigError, match="model.head"):
        ForecasterConfig(head="poisson")
    with pytest.raises(ConfigError, match="model.level"):
        ForecasterConfig(level=1.5)


def test_noiseless_sine_is_forecast_almost_exactly():
    torch.manual_seed(0)
    period, lookback, horizon = 16, 24, 8
    t = torch.arange(400.0)
    wave = torch.sin(2 * math.pi * t / period)
    starts = torch.arange(0, 400 - lookback - horizon)
    x = torch.stack([wave[s:s + lookback] for s in starts]).unsqueeze(-1)
    y = torch.stack([wave[s + lookback:s + lookback + horizon] for s in starts]).unsqueeze(-1)
    model = Forecaster(ForecasterConfig(horizon=horizon, hidden_size=24, base="none",
                                        relative=False))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        idx = torch.randint(0, len(x), (32,))
        loss = forecast_loss(model(x[idx]), y[idx], "gaussian", 0.9)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        point, lo, hi = point_and_interval(model(x), "gaussian", 0.9)
    assert (point - y).abs().max().item() < 0.1  # amplitude 1
    assert (point - y).abs().mean().item() < 0.03
