"""Rolling-origin backtest: every method forecasts from the same origins, scored the same way.

At each origin o (the test folds of rnnkit.data.windows.Layout) a method sees the series before
o and forecasts [o, o + H). rnnkit's model is trained once (on the training part) and reads the
`lookback` steps before o; each baseline is fitted again on the whole history before o.

Metrics, pooled over folds, steps and targets (y actual, f forecast, [l, u] the interval):
  MAE = mean |y - f|,  RMSE = sqrt(mean (y - f)^2),
  sMAPE = 100 * mean 2|y - f| / (|y| + |f|)  (percent, 0..200),
  MASE = mean |y - f| / s_k, s_k the in-sample MAE of the seasonal naive forecast (period m;
         m = 1 when the history is too short) on target k's history before the first origin,
  coverage = share of y inside [l, u],
  iscore = mean (u - l) + (2 / alpha) (l - y) [y < l] + (2 / alpha) (y - u) [y > u], the
           interval score of the level 1 - alpha interval (Gneiting & Raftery 2007; original
           units, lower is better): width plus a penalty for each miss, so neither too narrow
           nor too wide intervals score well.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast import baselines as B

METRICS = ("mae", "rmse", "smape", "mase", "coverage", "iscore")


def mase_scale(history: np.ndarray, season: int) -> np.ndarray:
    """(K,) mean absolute m-step difference of each target's history (n, K)."""
    m = season if 1 <= season < len(history) - 1 else 1
    scale = np.abs(history[m:] - history[:-m]).mean(axis=0)
    return np.where(scale > 0, scale, 1.0)


def score(y: np.ndarray, f: np.ndarray, lo: np.ndarray, hi: np.ndarray,
          scale: np.ndarray, level: float) -> dict[str, float]:
    """Metrics of forecasts (F, H, K) with level intervals [lo, hi] against actuals (F, H, K);
    see the module doc."""
    err = y - f
    alpha = 1.0 - level
    iscore = (hi - lo) + 2 / alpha * ((lo - y) * (y < lo) + (y - hi) * (y > hi))
    denom = np.abs(y) + np.abs(f)
    smape = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())),
            "smape": float(100 * smape.mean()), "mase": float((np.abs(err) / scale).mean()),
            "coverage": float(((y >= lo) & (y <= hi)).mean()), "iscore": float(iscore.mean())}


def baseline_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in B.BASELINES]
    if unknown:
        raise ConfigError(f"data.baselines: unknown baseline {unknown[0]!r}; expected a "
                          f"comma-separated subset of {', '.join(B.BASELINES)}")
    return names


def _baseline(name: str, season: int, level: float, transform: str, first_history):
    """(forecast, ARIMA orders by target): forecast(history (n, K), H) -> (point, lower,
    upper), each (H, K)."""
    fn = {"naive": B.naive, "seasonal_naive": B.seasonal_naive, "ets": B.ets}.get(name)
    orders = {}
    if name == "arima":  # the order is chosen once, on the first fold's history
        orders = {k: B.arima_order(first_history[:, k], season, transform)
                  for k in range(first_history.shape[1])}

    def forecast(history: np.ndarray, horizon: int):
        cols = []
        for k in range(history.shape[1]):
            if name == "arima":
                cols.append(B.arima(history[:, k], horizon, season, level, transform, orders[k]))
            else:
                cols.append(fn(history[:, k], horizon, season, level, transform))
        return tuple(np.stack([c[i] for c in cols], axis=1) for i in range(3))

    return forecast, orders


def backtest(values: np.ndarray, origins: list[int], horizon: int, season: int, level: float,
             transform: str, rnnkit_forecast: Callable | None, baselines: list[str]) -> dict:
    """{method: {"metrics": {...}, "point"/"lower"/"upper": (F, H, K) lists}} for rnnkit
    (`rnnkit_forecast(origins) -> (point, lower, upper)`, each (F, H, K)) and each baseline."""
    actual = np.stack([values[o:o + horizon] for o in origins])  # (F, H, K)
    scale = mase_scale(values[:origins[0]], season)
    forecasts, orders = {}, {}
    if rnnkit_forecast is not None:
        forecasts["rnnkit"] = rnnkit_forecast(origins)
    for name in baselines:
        forecast, orders[name] = _baseline(name, season, level, transform, values[:origins[0]])
        parts = [forecast(values[:o], horizon) for o in origins]
        forecasts[name] = tuple(np.stack([p[i] for p in parts]) for i in range(3))
    out = {}
    for name, parts in forecasts.items():
        out[name] = {"metrics": score(actual, *parts, scale, level),
                     **{key: np.asarray(p).tolist()
                        for key, p in zip(("point", "lower", "upper"), parts, strict=True)}}
        if orders.get(name):  # ARIMA (p, d, q) per target
            out[name]["order"] = [[p, 1, q] for (p, q) in orders[name].values()]
    return out


def table(results: dict) -> str:
    """The metrics of every method, one row each."""
    head = f"{'method':<16}" + "".join(f"{m:>10}" for m in METRICS)
    rows = [head, "-" * len(head)]
    for name, r in results.items():
        rows.append(f"{name:<16}" + "".join(f"{r['metrics'][m]:>10.4g}" for m in METRICS))
    return "\n".join(rows)
