"""Classical forecasts to compare with, each with a level-a interval, on one univariate history.

Every function takes the history y (n,) in original units, the horizon H, the seasonal period
m, the interval level and the target transform ("log" fits on log y and maps back, so additive
components become multiplicative), and returns (point, lower, upper), each (H,).

- naive: y_n repeated; interval +- z sigma sqrt(h), sigma the sd of one-step differences.
- seasonal naive: the last season repeated, y_{n - m + (h-1) mod m + 1}; interval +- z sigma
  sqrt(k), k = full seasons ahead, sigma the sd of m-step differences (Hyndman & Athanasopoulos,
  Forecasting: Principles and Practice, sec. 5.5).
- ETS: statsmodels ETSModel, additive error, additive damped trend, additive season when m > 1
  and the history covers 2 seasons; its analytic prediction intervals.
- ARIMA: statsmodels ARIMA(p, 1, q) with seasonal (0, 1, 1, m) when m > 1 and the history covers
  3 seasons; (p, q) among (0, 1), (1, 1), (2, 0) by the lowest AIC (`arima_order`, chosen once
  on the first fold and kept for the others).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from statistics import NormalDist

import numpy as np

from rnnkit.data.windows import forward_transform, inverse_transform
from rnnkit.errors import DataError

BASELINES = ("naive", "seasonal_naive", "ets", "arima")
ARIMA_CANDIDATES = ((0, 1), (1, 1), (2, 0))


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def _back(point, spread, transform: str):
    return tuple(inverse_transform(np.asarray(a, dtype=np.float64), transform)
                 for a in (point, point - spread, point + spread))


def naive(y, horizon: int, season: int, level: float, transform: str = "none"):
    z = forward_transform(np.asarray(y, dtype=np.float64), transform)
    sigma = np.std(np.diff(z), ddof=1) if len(z) > 2 else 0.0
    h = np.arange(1, horizon + 1)
    return _back(np.full(horizon, z[-1]), _z(level) * sigma * np.sqrt(h), transform)


def seasonal_naive(y, horizon: int, season: int, level: float, transform: str = "none"):
    z = forward_transform(np.asarray(y, dtype=np.float64), transform)
    m = season if 1 < season < len(z) else 1
    h = np.arange(horizon)
    point = z[len(z) - m + h % m]
    diffs = z[m:] - z[:-m]
    sigma = np.std(diffs, ddof=1) if len(diffs) > 1 else 0.0
    return _back(point, _z(level) * sigma * np.sqrt(h // m + 1), transform)


@contextmanager
def _quiet():
    """One BLAS thread and no warnings while statsmodels fits. These fits are tiny: on a busy
    machine a multi-threaded BLAS made one ARIMA fit many times slower (BENCHMARKS.md, "Kernel
    design measurements").
    statsmodels warns on every small fit (convergence, start values); the backtest table says
    how well each fit forecasts, which is what matters here."""
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        yield


def _statsmodels():
    try:
        from statsmodels.tsa.arima.model import ARIMA
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    except ImportError:
        raise DataError("the ETS and ARIMA baselines need statsmodels: "
                        "pip install 'rnnkit[data]'") from None
    return ETSModel, ARIMA


def ets(y, horizon: int, season: int, level: float, transform: str = "none"):
    ETSModel, _ = _statsmodels()
    z = forward_transform(np.asarray(y, dtype=np.float64), transform)
    seasonal = season > 1 and len(z) >= 2 * season + 2
    with _quiet():
        import pandas as pd  # ETSModel's intervals need an indexed series

        fit = ETSModel(pd.Series(z), error="add", trend="add", damped_trend=True,
                       seasonal="add" if seasonal else None,
                       seasonal_periods=season if seasonal else None).fit(disp=False)
        frame = fit.get_prediction(start=len(z), end=len(z) + horizon - 1) \
            .summary_frame(alpha=1 - level)
    point = frame["mean"].to_numpy()
    lo, hi = frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()
    return tuple(inverse_transform(a, transform) for a in (point, lo, hi))


def _arima_fit(z: np.ndarray, season: int, pq: tuple[int, int]):
    _, ARIMA = _statsmodels()
    seasonal = (0, 1, 1, season) if season > 1 and len(z) >= 3 * season + 2 else (0, 0, 0, 0)
    return ARIMA(z, order=(pq[0], 1, pq[1]), seasonal_order=seasonal).fit()


def arima_order(y, season: int, transform: str = "none") -> tuple[int, int]:
    """(p, q) with the lowest AIC among ARIMA_CANDIDATES on this history."""
    z = forward_transform(np.asarray(y, dtype=np.float64), transform)
    with _quiet():
        scores = [(_arima_fit(z, season, pq).aic, pq) for pq in ARIMA_CANDIDATES]
    return min(scores)[1]


def arima(y, horizon: int, season: int, level: float, transform: str = "none",
          order: tuple[int, int] = (0, 1)):
    z = forward_transform(np.asarray(y, dtype=np.float64), transform)
    with _quiet():
        frame = _arima_fit(z, season, order).get_forecast(horizon).summary_frame(alpha=1 - level)
    point = frame["mean"].to_numpy()
    lo, hi = frame["mean_ci_lower"].to_numpy(), frame["mean_ci_upper"].to_numpy()
    return tuple(inverse_transform(a, transform) for a in (point, lo, hi))
