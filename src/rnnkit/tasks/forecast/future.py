"""`rnnkit forecast RUN_DIR`: forecasts past the end of a series, with intervals.

The series is the run's own (`data.name`) or a CSV with the same columns (`--input`); the
forecast starts after its last step. Up to the trained horizon H the model answers directly.
Beyond H (only without covariates, whose future is unknown) it rolls out autoregressively: the
point forecasts are fed back as inputs and the model forecasts again from the new window. The
intervals of rolled-out steps are conditional on those fed-back points, so they understate the
uncertainty: treat them as a lower bound on the spread. `--horizon` is at most MAX_ROLLOUT (10)
times the trained horizon. Steps past the year 9999 (or the last date pandas can hold) are
labelled "+h".
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import torch

from rnnkit.errors import ConfigError
from rnnkit.files import save_figure, write_text
from rnnkit.models.forecaster import point_and_interval
from rnnkit.tasks.forecast.run import check_columns, pyplot, rebuild, scaled_series
from rnnkit.tasks.forecast.task import read_series

MAX_ROLLOUT = 10  # --horizon: at most this many times the trained horizon


def check_horizon(horizon: int | None, trained: int) -> int:
    """The horizon to forecast: `trained` for None, else 1 to MAX_ROLLOUT x `trained` steps."""
    if horizon is None:
        return trained
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ConfigError(f"--horizon: expected an integer >= 1, got {horizon}")
    if horizon > MAX_ROLLOUT * trained:
        raise ConfigError(f"--horizon: expected at most {MAX_ROLLOUT * trained} steps "
                          f"({MAX_ROLLOUT} x the trained horizon {trained}: further rolled-out "
                          f"forecasts feed on their own errors), got {horizon}")
    return horizon


def future_labels(times: list[str], freq: str | None, horizon: int) -> list[str]:
    """Labels of the next `horizon` steps: years/integers counted on, regular dates extended
    at their frequency (in the input's format), else "+1", "+2", ..."""
    if len(times) >= 2 and all(t.lstrip("-").isdigit() for t in times[-2:]):
        step = int(times[-1]) - int(times[-2])
        return [str(int(times[-1]) + step * (h + 1)) for h in range(horizon)]
    if freq:
        import pandas as pd

        start = pd.Timestamp(times[-1])
        try:
            stamps = pd.date_range(start, periods=horizon + 1, freq=freq)[1:]
        except (OverflowError, ValueError):  # past the last date pandas can hold
            stamps = []
        stamps = [s for s in stamps if start < s and s.year <= 9999]  # strftime's range
        fmt = {7: "%Y-%m", 10: "%Y-%m-%d"}.get(len(times[-1]))
        dated = [s.strftime(fmt) if fmt else str(s) for s in stamps]
        return dated + [f"+{h + 1}" for h in range(len(dated), horizon)]
    return [f"+{h + 1}" for h in range(horizon)]


@torch.no_grad()
def roll_out(task, model, window: np.ndarray, horizon: int):
    """(point, lower, upper), each (horizon, K) scaled, from one scaled window (L, K + C)."""
    m, trained = task.cfg.model, task.info["layout"]["horizon"]
    if horizon > trained and task.info["covariates"]:
        raise ConfigError(f"--horizon {horizon}: longer than the trained horizon {trained}, which "
                          "needs future covariates; use --horizon <= the trained one")
    parts, window = [], np.asarray(window, dtype=np.float32)
    while sum(p[0].shape[0] for p in parts) < horizon:
        params = model(torch.from_numpy(window[None]).to(next(model.parameters()).device))
        point, lo, hi = (t[0].cpu().numpy() for t in point_and_interval(params, m.head, m.level))
        parts.append((point, lo, hi))
        window = np.concatenate([window, point.astype(np.float32)])[-window.shape[0]:]
    return tuple(np.concatenate([p[i] for p in parts])[:horizon] for i in range(3))


def forecast_loaded(config: dict, metadata: dict, state_dict: dict, out_dir, input_path=None,
                    horizon: int | None = None) -> dict:
    """{"times", "targets", "point"/"lower"/"upper" (H, K) arrays, "csv", "plot"}: the forecast
    after the end of the run's series (or of `input_path`), written as forecast.csv and
    forecast.png into `out_dir`. The run is what the engine's `load_run` returned (the CLI reads
    it: tasks do not import the training package)."""
    task, model = rebuild(config, metadata, state_dict)
    d = task.cfg.data
    horizon = check_horizon(horizon, d.horizon)
    ts = read_series(d, str(input_path) if input_path else None)
    check_columns(task, ts)
    if len(ts) < d.lookback:
        raise ConfigError(f"{ts.name}: {len(ts)} steps, fewer than the run's lookback "
                          f"{d.lookback}")
    z = scaled_series(task, ts)
    point, lo, hi = (task.to_units(a) for a in roll_out(task, model, z[-d.lookback:], horizon))
    times = future_labels(ts.times, ts.freq, horizon)
    out_dir = Path(out_dir)
    result = {"times": times, "targets": ts.target_names, "point": point, "lower": lo,
              "upper": hi, "level": task.cfg.model.level}
    result["csv"] = str(write_csv(result, out_dir / "forecast.csv"))
    result["plot"] = str(plot_forecast(ts, result, out_dir / "forecast.png"))
    return result


def write_csv(result: dict, path) -> Path:
    pct = f"{result['level']:.0%}".rstrip("%")
    f = io.StringIO()
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["time", *(f"{n}{s}" for n in result["targets"]
                          for s in ("", f"_lower{pct}", f"_upper{pct}"))])
    for h, t in enumerate(result["times"]):
        w.writerow([t, *(f"{result[key][h, k]:.6g}" for k in range(len(result["targets"]))
                         for key in ("point", "lower", "upper"))])
    return write_text(path, f.getvalue())


def plot_forecast(ts, result: dict, path) -> Path:
    plt = pyplot()
    k_shown = min(len(ts.target_names), 4)
    fig, axes = plt.subplots(k_shown, 1, figsize=(10, 3.2 * k_shown), squeeze=False)
    n, horizon = len(ts), len(result["times"])
    start = max(0, n - 5 * horizon)
    for k, ax in enumerate(axes[:, 0]):
        ax.plot(np.arange(start, n), ts.values[start:, k], color="black", lw=1.2, label="history")
        steps = np.arange(n, n + horizon)
        ax.fill_between(steps, result["lower"][:, k], result["upper"][:, k], color="tab:blue",
                        alpha=0.2, label=f"{result['level']:.0%} interval")
        ax.plot(steps, result["point"][:, k], color="tab:blue", lw=1.8, label="forecast")
        ax.set_title(f"{ts.name}: {ts.target_names[k]} (from {ts.times[-1]})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)
