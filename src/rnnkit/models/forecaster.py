"""Direct multi-step forecaster: a recurrent encoder over the lookback window, one head for all
horizon steps.

    x (B, L, K + C)   K scaled targets then C past covariates per step
    --rnnkit LSTM/GRU/RNN (num_layers)-->  h_n[-1] (B, Hd)
    --dropout, Linear-->  (B, H, K, P)
    (+ optional linear highway on the mean: (B, K, L) --Linear(L, H)--> (B, K, H), see `linear`)

Heads (P numbers per step and target, in the scaled space):
- "gaussian": mean mu and log-variance s; loss = mean of 0.5 * (s + (y - mu)^2 / exp(s))
  (the Gaussian NLL without its constant 0.5 log 2 pi); a level-a interval is mu +- z sigma.
- "student_t": location mu, log squared scale s = log sigma^2 and r = log(nu - 2) (nu > 2
  degrees of freedom: a finite variance sigma^2 nu / (nu - 2)); loss = mean of the NLL
      log G(nu/2) - log G((nu+1)/2) + 0.5 log(nu pi) + s/2
      + (nu+1)/2 log(1 + (y - mu)^2 / (nu sigma^2))
  (G the gamma function); a level-a interval is mu +- t_nu sigma, t_nu the (1+a)/2 quantile of
  Student's t with nu degrees of freedom. Heavier tails than the Gaussian: a few large errors
  widen the interval instead of the whole spread. `df` = 0 learns nu per step and target
  (r from the head, clamped to [-3, 6]: nu in [2.05, 405]); df > 2 fixes it.
- "quantile": the quantiles (1-a)/2, 0.5, (1+a)/2 of `level` a, trained with the pinball loss;
  sorted before use so the interval never crosses.

`relative` (default on) feeds the encoder each window's target inputs minus their last value,
so the encoder sees shapes, not levels: a trending series whose test part lies above anything
seen in training needs no extrapolation inside the network (the level comes back through
`base`; with base "none" it is added to the mean/quantiles).

`base` adds a skip connection to the mean/quantiles, so the network learns a correction:
"last" repeats the last input value of each target (naive), "seasonal" the value one season
back (seasonal naive, needs lookback >= season), "seasonal_drift" the seasonal naive plus the
window's mean per-season increase d times the number of seasons ahead:

    f_h = y_{L-m+(h mod m)} + d * (floor(h / m) + 1),   d = mean_{t=m}^{L-1} (y_t - y_{t-m})

(h = 0..H-1, m the season; the seasonal naive with drift), "trend_season" a classical
decomposition fitted on each window by least squares and extrapolated,

    y_t ~ a + b t + s_(t mod m)   (t = 0..L-1; s_0 = 0 so the design has full rank),

a fixed linear map of the window, F = X_future pinv(X_window) (H, L) (needs lookback >= m + 2),
"none" nothing.

`residual` (off by default; needs base "trend_season") feeds the encoder, instead, each window's
target inputs minus that base's in-sample least-squares fit, (I - X pinv(X)) y: the RNN (and the
linear highway) see only what level, trend and season leave, and correct the base with it.

`window_scale` (off by default; DeepAR's per-window scaling, Salinas et al. 2020) divides the
encoder's target inputs by each window's scale a = mean_t |y_t - mean(y)| (per target, at least
1e-3) and multiplies what the head says back by it: the mean's correction and sigma (log-variance
+ 2 log a) or the quantiles' offsets from the base. So the network learns errors relative to the
window's amplitude, and a window with larger swings than any seen in training (sunspots' largest
cycles) gets a proportionally wider interval. The base and the linear highway are unchanged.

`linear` (off by default) adds a linear autoregressive "highway" in parallel to the RNN, as in
LSTNet (Lai et al. 2018): one Linear(L, H) shared by the targets maps each target's encoder
input window (relative to its last value when `relative`) to the horizon, and is added to the
mean (Gaussian head) or to all three quantiles. Its weights start at zero, so an untrained
highway leaves the model as it was; the RNN part then learns the nonlinear correction to a
linear AR model (on a smooth seasonal series such as co2, a linear AR over seasonal lags is close
to a SARIMA). It needs the window length: `lookback`, fixed at construction.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from statistics import NormalDist

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.functional import registry
from rnnkit.layers import Recurrent

HEADS = ("gaussian", "student_t", "quantile")
BASES = ("none", "last", "seasonal", "seasonal_drift", "trend_season")


@dataclass
class ForecasterConfig:
    n_targets: int = 1  # K
    n_covariates: int = 0  # C
    horizon: int = 12  # H
    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1
    dropout: float = 0.0
    head: str = "gaussian"
    df: float = 0.0  # student_t: degrees of freedom, 0 = learned per step and target
    level: float = 0.9  # the quantile head's interval; the Gaussian's default interval
    base: str = "last"
    season: int = 1
    relative: bool = True  # encoder inputs: target channels minus the window's last value
    residual: bool = False  # encoder inputs: targets minus the window's trend_season fit
    window_scale: bool = False  # inputs / window amplitude, head's outputs * it (DeepAR)
    linear: bool = False  # linear AR highway from the window to the mean (needs lookback)
    lookback: int = 0  # L; only the linear highway needs it
    impl: str = "auto"

    def __post_init__(self):
        registry.get(self.cell)  # an unknown name: the error lists the known ones
        for key, value, allowed in (("head", self.head, HEADS), ("base", self.base, BASES)):
            if value not in allowed:
                raise ConfigError(f"model.{key}: expected one of {', '.join(allowed)}, "
                                  f"got {value!r}")
        if not 0.0 < self.level < 1.0:
            raise ConfigError(f"model.level: expected a number in (0, 1), got {self.level}")
        if self.hidden_size < 1 or self.num_layers < 1:
            raise ConfigError("model.hidden_size and model.num_layers: expected integers >= 1, "
                              f"got {self.hidden_size}, {self.num_layers}")
        if not (self.df == 0 or self.df > 2):
            raise ConfigError(f"model.df: expected 0 (learned) or a number > 2, got {self.df}")
        if self.residual and self.base != "trend_season":
            raise ConfigError(f"model.residual=true: the inputs are the residuals of the "
                              f"trend_season fit; expected model.base=trend_season, got "
                              f"{self.base!r}")
        if self.linear and self.lookback < 1:
            raise ConfigError(f"model.linear=true needs the window length: expected lookback "
                              f">= 1, got {self.lookback}")


class Forecaster(nn.Module):
    def __init__(self, cfg: ForecasterConfig):
        super().__init__()
        self.cfg = cfg
        self.n_params = 2 if cfg.head == "gaussian" else 3  # mean, log sigma^2 (, log(nu - 2))
        self.rnn = Recurrent(cfg.cell, cfg.n_targets + cfg.n_covariates, cfg.hidden_size,
                             cfg.num_layers, batch_first=True,
                             dropout=cfg.dropout if cfg.num_layers > 1 else 0.0, impl=cfg.impl)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size, cfg.horizon * cfg.n_targets * self.n_params)
        self.linear = None
        if cfg.linear:  # zero start: the highway adds nothing until trained
            self.linear = nn.Linear(cfg.lookback, cfg.horizon)
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)

    def base_values(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, K) the skip connection's forecast from the inputs' target channels."""
        c = self.cfg
        y = x[..., : c.n_targets]  # (B, L, K)
        if c.base == "none":
            return y.new_zeros(y.shape[0], c.horizon, c.n_targets)
        if c.base == "last":
            return y[:, -1:, :].expand(-1, c.horizon, -1)
        extra = {"seasonal": 0, "seasonal_drift": 1, "trend_season": 2}[c.base]  # steps
        need = c.season + extra
        if y.shape[1] < need:
            plus = f" + {extra}" if extra else ""
            raise ConfigError(f"model.base={c.base} needs data.lookback >= season{plus} "
                              f"({need}), got lookback {y.shape[1]}")
        if c.base == "trend_season":  # (H, L) @ (B, L, K) -> (B, H, K)
            return trend_season_map(y.shape[1], c.horizon, c.season).to(y) @ y
        h = torch.arange(c.horizon, device=x.device)
        out = y[:, h % c.season + y.shape[1] - c.season, :]  # (B, H, K) seasonal naive
        if c.base == "seasonal_drift":  # + mean per-season increase per season ahead
            drift = (y[:, c.season:] - y[:, :-c.season]).mean(dim=1, keepdim=True)  # (B, 1, K)
            out = out + drift * (h // c.season + 1).to(y.dtype).view(1, -1, 1)
        return out

    def encoder_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, K + C) what the encoder and the linear highway read: targets relative to the
        last step (`relative`) or minus the window's trend_season fit (`residual`), or as
        they are; covariates as they are."""
        c = self.cfg
        y = x[..., : c.n_targets]
        if c.residual:
            y = y - trend_season_map(y.shape[1], 0, c.season, in_sample=True).to(y) @ y
        elif c.relative:
            y = y - x[:, -1:, : c.n_targets]
        else:
            return x
        return torch.cat([y, x[..., c.n_targets:]], dim=-1)

    def head_outputs(self, inputs: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(B, H, K, P) the head's raw outputs; with `window_scale` the encoder reads the
        targets divided by the window's amplitude a, and the outputs come back times a
        (quantile offsets and the mean's correction * a, log sigma^2 + 2 log a)."""
        c = self.cfg
        amp = None
        if c.window_scale:  # (B, 1, K) each window's mean absolute deviation
            y = x[..., : c.n_targets]
            amp = (y - y.mean(1, keepdim=True)).abs().mean(1, keepdim=True).clamp_min(1e-3)
            inputs = torch.cat([inputs[..., : c.n_targets] / amp, inputs[..., c.n_targets:]],
                               dim=-1)
        out = self.rnn(inputs)[1]
        h_last = (out[0] if isinstance(out, tuple) else out)[-1]  # (B, Hd) top layer's state
        raw = self.head(self.drop(h_last)).view(-1, c.horizon, c.n_targets, self.n_params)
        if amp is None:
            return raw
        amp = amp.unsqueeze(-1)  # (B, 1, K, 1)
        if c.head == "quantile":
            return raw * amp
        return torch.cat([raw[..., :1] * amp, raw[..., 1:2] + 2 * torch.log(amp), raw[..., 2:]],
                         dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, K + C) -> (B, H, K, P): [mean, log-variance], [mu, log sigma^2, log(nu - 2)]
        or three quantiles."""
        c = self.cfg
        base = self.base_values(x)  # (B, H, K)
        inputs = self.encoder_inputs(x)
        raw = self.head_outputs(inputs, x)
        if c.relative and c.base == "none":
            base = base + x[:, -1:, : c.n_targets]
        if self.linear is not None:
            if inputs.shape[1] != c.lookback:
                raise ConfigError(f"model.linear=true: expected windows of lookback "
                                  f"{c.lookback} steps, got {inputs.shape[1]}")
            ar = self.linear(inputs[..., : c.n_targets].transpose(1, 2))  # (B, K, H)
            base = base + ar.transpose(1, 2)
        base = base.unsqueeze(-1)  # (B, H, K, 1)
        if c.head == "gaussian":
            mean = raw[..., :1] + base
            return torch.cat([mean, raw[..., 1:].clamp(-12.0, 8.0)], dim=-1)
        if c.head == "student_t":
            mean, log_s2 = raw[..., :1] + base, raw[..., 1:2].clamp(-12.0, 8.0)
            if c.df:  # fixed nu: the head's third output is unused
                log_nu2 = torch.full_like(mean, math.log(c.df - 2.0))
            else:
                log_nu2 = raw[..., 2:].clamp(-3.0, 6.0)
            return torch.cat([mean, log_s2, log_nu2], dim=-1)
        return raw + base


@functools.lru_cache(maxsize=8)
def trend_season_map(lookback: int, horizon: int, season: int,
                     in_sample: bool = False) -> torch.Tensor:
    """(H, L) float64: the least-squares fit of level + linear trend + season dummies on a window
    of `lookback` steps, extrapolated `horizon` steps (base "trend_season", see the module doc);
    in_sample: (L, L), the fit on the window itself (the hat matrix X pinv(X))."""
    t = torch.arange(lookback + horizon, dtype=torch.float64)
    dummies = torch.nn.functional.one_hot(t.long() % season, season)[:, 1:].double()
    design = torch.cat([torch.ones_like(t)[:, None], t[:, None] / lookback, dummies], dim=1)
    rows = design[:lookback] if in_sample else design[lookback:]
    return rows @ torch.linalg.pinv(design[:lookback])


def forecast_loss(params: torch.Tensor, y: torch.Tensor, head: str, level: float,
                  point_weight: float = 0.0) -> torch.Tensor:
    """Mean loss of (B, H, K, P) parameters against targets (B, H, K); `point_weight` w > 0
    adds w * mean (y - point)^2 (the mean, or the median of the quantile head), a squared-error
    term that pulls the point forecast towards the RMSE optimum beside the likelihood."""
    if head == "gaussian":
        mean, logvar = params[..., 0], params[..., 1]
        loss = 0.5 * (logvar + (y - mean) ** 2 * torch.exp(-logvar)).mean()
    elif head == "student_t":
        loss = student_t_nll(params, y).mean()
    else:
        taus = params.new_tensor([(1 - level) / 2, 0.5, (1 + level) / 2])
        err = y.unsqueeze(-1) - params  # (B, H, K, 3)
        loss = torch.maximum(taus * err, (taus - 1) * err).mean()
    if point_weight:
        point = params[..., 0] if head != "quantile" else params.sort(dim=-1).values[..., 1]
        loss = loss + point_weight * ((y - point) ** 2).mean()
    return loss


def degrees_of_freedom(params: torch.Tensor) -> torch.Tensor:
    """nu of a student_t head's (..., 3) parameters, whose third is log(nu - 2)."""
    return 2.0 + torch.exp(params[..., 2])


def student_t_nll(params: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, H, K) negative log-likelihood of y under Student's t with the (B, H, K, 3) parameters
    [mu, log sigma^2, log(nu - 2)] (see the module doc)."""
    mu, log_s2, nu = params[..., 0], params[..., 1], degrees_of_freedom(params)
    z2 = (y - mu) ** 2 * torch.exp(-log_s2) / nu
    return (torch.lgamma(nu / 2) - torch.lgamma((nu + 1) / 2) + 0.5 * torch.log(nu * math.pi)
            + 0.5 * log_s2 + 0.5 * (nu + 1) * torch.log1p(z2))


def t_quantile(nu: torch.Tensor, p: float) -> torch.Tensor:
    """The p-quantile of Student's t with nu (a tensor) degrees of freedom (scipy, which
    statsmodels, needed for forecasting anyway, brings)."""
    from scipy.stats import t as student_t

    q = student_t.ppf(p, nu.detach().double().cpu().numpy())
    return torch.as_tensor(q, dtype=nu.dtype, device=nu.device)


def point_and_interval(params: torch.Tensor, head: str, level: float):
    """(point, lower, upper), each (B, H, K): Gaussian mean +- z sigma at `level` (Student-t:
    mu +- t_nu sigma); for the
    quantile head the trained quantiles (its `level` is fixed at training)."""
    if head in ("gaussian", "student_t"):
        mean, sigma = params[..., 0], torch.exp(0.5 * params[..., 1])
        if head == "gaussian":
            z = NormalDist().inv_cdf(0.5 + level / 2)
        else:
            z = t_quantile(degrees_of_freedom(params), 0.5 + level / 2)
        return mean, mean - z * sigma, mean + z * sigma
    q = params.sort(dim=-1).values
    return q[..., 1], q[..., 0], q[..., 2]


class ForecastEnsemble(nn.Module):
    """Forecasters of the same shape (a seed ensemble, `train.ensemble`), run as one: the same
    (B, H, K, P) parameters as one Forecaster, so the loss, intervals and backtest are unchanged.

    - gaussian: the members' equal-weight mixture, matched by one Gaussian:
        mean = (1/N) sum_k mu_k,  variance = (1/N) sum_k (sigma_k^2 + mu_k^2) - mean^2
      (the mixture's own mean and variance: the members' spread widens the interval);
    - student_t: the same moments (member variance sigma_k^2 nu_k / (nu_k - 2)), matched by one
      Student-t whose nu is the members' mean nu (sigma^2 = variance (nu - 2) / nu);
    - quantile: each quantile averaged over the members (each member's sorted first).
    """

    def __init__(self, members: list[Forecaster]):
        super().__init__()
        if len(members) < 1:
            raise ConfigError(f"ensemble: expected at least 1 member, got {len(members)}")
        heads = {m.cfg.head for m in members}
        if len(heads) != 1:
            raise ConfigError(f"ensemble: expected members with one head, got {sorted(heads)}")
        self.head = heads.pop()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = torch.stack([m(x) for m in self.members])  # (N, B, H, K, P)
        if self.head == "quantile":
            return outs.sort(dim=-1).values.mean(0)
        mu, var = outs[..., 0], torch.exp(outs[..., 1])  # (N, B, H, K)
        if self.head == "student_t":
            nu = degrees_of_freedom(outs)
            var = var * nu / (nu - 2)
        mean = mu.mean(0)
        mix = (var + mu ** 2).mean(0) - mean ** 2  # = mean var + variance of the means
        if self.head == "gaussian":
            return torch.stack([mean, torch.log(mix.clamp_min(1e-12))], dim=-1)
        nu = nu.mean(0)
        s2 = mix * (nu - 2) / nu
        return torch.stack([mean, torch.log(s2.clamp_min(1e-12)), torch.log(nu - 2)], dim=-1)
