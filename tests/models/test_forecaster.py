import math

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.forecaster import (
    ForecastEnsemble,
    Forecaster,
    ForecasterConfig,
    forecast_loss,
    point_and_interval,
    t_quantile,
)


def zero_head(model):
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    return model


@pytest.mark.parametrize("head, p", [("gaussian", 2), ("student_t", 3), ("quantile", 3)])
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


def test_trend_season_base_extrapolates_level_trend_and_season_exactly():
    model = zero_head(Forecaster(ForecasterConfig(horizon=5, base="trend_season", season=4)))
    season = torch.tensor([0.0, 2.0, -1.0, 1.0])
    t = torch.arange(21.0)
    y = 3 + 0.5 * t + season[t.long() % 4]  # steps 0..15 the window, 16..20 the truth
    torch.testing.assert_close(model(y[:16].view(1, 16, 1))[0, :, 0, 0], y[16:])
    with pytest.raises(ConfigError, match=r"base=trend_season needs data.lookback >= season "
                                          r"\+ 2 \(6\), got lookback 5"):
        model(torch.zeros(1, 5, 1))


def test_residual_inputs_are_what_the_trend_season_fit_leaves():
    torch.manual_seed(0)
    cfg = ForecasterConfig(horizon=3, base="trend_season", season=4, residual=True, linear=True,
                           lookback=12)
    model = Forecaster(cfg).eval()
    t = torch.arange(12.0)
    clean = (1 + 0.3 * t + torch.tensor([0.0, 1.0, -2.0, 0.5])[t.long() % 4]).view(1, 12, 1)
    noise = torch.randn(1, 12, 1)
    # trend + season move the forecast's mean by their own extrapolation and nothing else:
    # the RNN and the highway see the same residuals
    both, alone = model(clean + noise), model(noise)
    torch.testing.assert_close(both[..., 1], alone[..., 1])
    torch.testing.assert_close(both[..., 0] - alone[..., 0], model.base_values(clean))
    with pytest.raises(ConfigError, match="expected model.base=trend_season, got 'seasonal'"):
        ForecasterConfig(base="seasonal", residual=True)


@pytest.mark.parametrize("head", ["gaussian", "student_t", "quantile"])
def test_window_scale_makes_the_forecast_scale_with_the_window(head):
    # inputs relative to the last value, divided by the window's amplitude: a window k times
    # larger gets a forecast k times larger (mean, and quantiles, through the seasonal base too)
    # and an interval k times wider; without window_scale the interval does not follow
    torch.manual_seed(0)
    x, k = torch.randn(3, 12, 1), 7.0
    cfg = ForecasterConfig(horizon=4, head=head, base="seasonal", season=4, window_scale=True)
    model = Forecaster(cfg).eval()
    point, lo, hi = point_and_interval(model(x), head, 0.9)
    point_k, lo_k, hi_k = point_and_interval(model(k * x), head, 0.9)
    torch.testing.assert_close(point_k, k * point)
    torch.testing.assert_close(hi_k - lo_k, k * (hi - lo))
    cfg.window_scale = False
    plain = Forecaster(cfg).eval()
    _, lo, hi = point_and_interval(plain(x), head, 0.9)
    _, lo_k, hi_k = point_and_interval(plain(k * x), head, 0.9)
    assert not torch.allclose(hi_k - lo_k, k * (hi - lo), rtol=0.1)


def test_student_t_loss_and_interval_by_hand():
    # mu 1, sigma 2 (log sigma^2 = log 4), nu 5 (log(nu - 2) = log 3); y = 4
    params = torch.tensor([[[[1.0, math.log(4.0), math.log(3.0)]]]], dtype=torch.float64)
    y = torch.tensor([[[4.0]]], dtype=torch.float64)
    f64 = torch.tensor([5.0, 1.0, 2.0, 4.0], dtype=torch.float64)
    want = -torch.distributions.StudentT(*f64[:3]).log_prob(f64[3]).item()
    assert forecast_loss(params, y, "student_t", 0.9).item() == pytest.approx(want, rel=1e-12)
    mean, lo, hi = point_and_interval(params, "student_t", 0.9)
    assert mean.item() == 1.0
    assert hi.item() - 1.0 == pytest.approx(2.015048373 * 2.0, rel=1e-8)  # t_{0.95}(5) sigma
    assert 1.0 - lo.item() == pytest.approx(hi.item() - 1.0)
    # wider than the Gaussian of the same sigma; the same as it for a large nu
    assert t_quantile(torch.tensor([3.0, 1e6]), 0.95).tolist() == pytest.approx(
        [2.353363435, 1.644855], rel=1e-6)


def test_point_weight_adds_the_squared_error_of_the_point():
    y = torch.tensor([[[3.0]]])
    for head, params, point in (("gaussian", [1.0, 0.0], 1.0),
                                ("student_t", [1.0, 0.0, 0.0], 1.0),
                                ("quantile", [2.5, 0.0, 1.5], 1.5)):  # unsorted: median 1.5
        p = torch.tensor(params).view(1, 1, 1, -1)
        plain = forecast_loss(p, y, head, 0.9).item()
        assert forecast_loss(p, y, head, 0.9, point_weight=0.5).item() == pytest.approx(
            plain + 0.5 * (3.0 - point) ** 2)


def test_student_t_degrees_of_freedom_fixed_or_learned():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 1)
    fixed = Forecaster(ForecasterConfig(horizon=3, head="student_t", df=4.0))
    torch.testing.assert_close(fixed(x)[..., 2], torch.full((4, 3, 1), math.log(2.0)))
    learned = zero_head(Forecaster(ForecasterConfig(horizon=3, head="student_t")))
    with torch.no_grad():  # the raw outputs for log(nu - 2) of step 0 and 1: far out, clamped
        learned.head.bias.view(3, 1, 3)[:2, 0, 2] = torch.tensor([-50.0, 50.0])
    assert learned(x)[0, :, 0, 2].tolist() == [-3.0, 6.0, 0.0]


def test_student_t_fit_learns_heavy_tails_and_covers():
    # mu, log sigma^2, log(nu - 2) fitted by the NLL to draws of a t with nu = 3: the fitted nu
    # is small (a Gaussian would have nu -> inf) and the 90% interval covers about 90%
    torch.manual_seed(0)
    y = torch.distributions.StudentT(3.0).sample((4000,)).view(-1, 1, 1) * 2 + 5
    raw = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([raw], lr=0.05)
    for _ in range(600):
        opt.zero_grad()
        loss = forecast_loss(raw.expand(len(y), 1, 1, 3), y, "student_t", 0.9)
        loss.backward()
        opt.step()
    nu = 2 + raw[2].exp().item()
    assert 2.3 < nu < 4.5 and abs(raw[0].item() - 5) < 0.15
    _, lo, hi = point_and_interval(raw.detach().expand(len(y), 1, 1, 3), "student_t", 0.9)
    assert abs(float(((y >= lo) & (y <= hi)).float().mean()) - 0.9) < 0.03


def test_config_errors():
    for bad in (2.0, 1.0, -1.0):
        with pytest.raises(ConfigError, match=f"model.df: expected 0 .learned. or a number > "
                                              f"2, got {bad}"):
            ForecasterConfig(head="student_t", df=bad)
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


def test_seasonal_drift_base_by_hand():
    # season 3, inputs 0, 1, 5, 2, 3, 8 (L = 6): 3-step differences 2, 2, 3 -> d = 7/3
    x = torch.tensor([0.0, 1, 5, 2, 3, 8]).view(1, 6, 1)
    model = zero_head(Forecaster(ForecasterConfig(horizon=5, base="seasonal_drift", season=3)))
    d = 7 / 3
    want = [2 + d, 3 + d, 8 + d, 2 + 2 * d, 3 + 2 * d]
    torch.testing.assert_close(model(x)[0, :, 0, 0], torch.tensor(want))
    with pytest.raises(ConfigError, match=r"lookback >= season \+ 1 \(4\), got lookback 3"):
        Forecaster(ForecasterConfig(horizon=2, base="seasonal_drift", season=3))(x[:, :3])


@pytest.mark.parametrize("head", ["gaussian", "quantile"])
@pytest.mark.parametrize("relative", [True, False])
def test_linear_highway_is_a_linear_map_when_the_rnn_part_is_zero(head, relative):
    torch.manual_seed(0)
    L, H, K = 6, 4, 2
    cfg = ForecasterConfig(n_targets=K, n_covariates=1, horizon=H, head=head, base="last",
                           relative=relative, linear=True, lookback=L)
    model = zero_head(Forecaster(cfg))
    x = torch.randn(3, L, K + 1)
    torch.testing.assert_close(model(x)[..., 0], x[:, -1:, :K].expand(-1, H, -1))  # zero start
    w, b = torch.randn(H, L), torch.randn(H)
    with torch.no_grad():
        model.linear.weight.copy_(w)
        model.linear.bias.copy_(b)
    out = model(x)
    for i in range(3):
        for k in range(K):
            window = x[i, :, k] - (x[i, -1, k] if relative else 0.0)  # (L,)
            want = x[i, -1, k] + w @ window + b  # base "last" + the hand-computed AR map
            for p in range(1 if head == "gaussian" else 3):  # quantile: all three move
                torch.testing.assert_close(out[i, :, k, p], want)
    if head == "gaussian":  # the log-variance does not see the highway
        torch.testing.assert_close(out[..., 1], torch.zeros(3, H, K))


def test_linear_highway_errors():
    with pytest.raises(ConfigError, match="model.linear=true needs the window length"):
        ForecasterConfig(linear=True)
    model = Forecaster(ForecasterConfig(horizon=2, linear=True, lookback=6))
    with pytest.raises(ConfigError, match="expected windows of lookback 6 steps, got 5"):
        model(torch.randn(1, 5, 1))


def test_ensemble_is_the_gaussian_mixture_and_averaged_quantiles():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 1)
    gauss = [Forecaster(ForecasterConfig(horizon=3)).eval() for _ in range(3)]
    outs = torch.stack([m(x) for m in gauss])  # (3, B, H, K, 2)
    mix = ForecastEnsemble(gauss)(x)
    mu, var = outs[..., 0], outs[..., 1].exp()
    torch.testing.assert_close(mix[..., 0], mu.mean(0))
    want_var = var.mean(0) + mu.var(0, unbiased=False)  # within + between members
    torch.testing.assert_close(mix[..., 1].exp(), want_var)
    assert bool((want_var >= var.mean(0)).all())
    quant = [Forecaster(ForecasterConfig(horizon=3, head="quantile")).eval() for _ in range(2)]
    q = torch.stack([m(x).sort(-1).values for m in quant])
    torch.testing.assert_close(ForecastEnsemble(quant)(x), q.mean(0))
    with pytest.raises(ConfigError, match="one head"):
        ForecastEnsemble([gauss[0], quant[0]])
    one = ForecastEnsemble(gauss[:1])(x)  # one member: itself
    torch.testing.assert_close(one, gauss[0](x))


def test_student_t_ensemble_matches_the_mixture_moments():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 1)
    members = [Forecaster(ForecasterConfig(horizon=3, head="student_t")).eval()
               for _ in range(3)]
    outs = torch.stack([m(x) for m in members])  # (3, B, H, K, 3)
    mix = ForecastEnsemble(members)(x)
    nu_k = 2 + outs[..., 2].exp()
    var_k = outs[..., 1].exp() * nu_k / (nu_k - 2)  # each member's variance
    want_var = var_k.mean(0) + outs[..., 0].var(0, unbiased=False)
    nu = 2 + mix[..., 2].exp()
    torch.testing.assert_close(mix[..., 0], outs[..., 0].mean(0))
    torch.testing.assert_close(nu, nu_k.mean(0))
    torch.testing.assert_close(mix[..., 1].exp() * nu / (nu - 2), want_var)
    torch.testing.assert_close(ForecastEnsemble(members[:1])(x), members[0](x))
