"""Using a trained forecast run: the backtest (`rnnkit evaluate`) and new forecasts
(`rnnkit forecast`), with their plots.

A run is read with `rnnkit.training.checkpoint.load_run` -> (config, metadata, weights); the
model is rebuilt from the config and the metadata (scaler, transform, columns), and the series
is read again from `data.name` (or the file given), so only the run directory is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit.config import build
from rnnkit.data.series import TimeSeries
from rnnkit.data.windows import fit_scaled, make_layout, windows
from rnnkit.errors import ConfigError, DataError
from rnnkit.files import save_figure, write_text
from rnnkit.models.ensemble import model_from_state
from rnnkit.models.forecast_calibration import Calibrated
from rnnkit.tasks.forecast.backtest import backtest, baseline_names, table
from rnnkit.tasks.forecast.task import Config, ForecastTask, read_series, task_from_metadata


def rebuild(config: dict, metadata: dict, state_dict: dict, device: str = "cpu"):
    """(task without data, model in eval mode on `device`) from what load_run returns."""
    section = config.get("task") if isinstance(config.get("task"), dict) else config
    task = task_from_metadata(build(Config, section, source="config.json"), metadata)
    model = model_from_state(task, state_dict)  # one model, or a seed ensemble's
    return task, calibrated(task, model, metadata).to(device).eval()


def calibrated(task: ForecastTask, model, metadata: dict):
    """`model` with its intervals scaled by the run's fitted factor when model.calibrate is
    set (metadata["calibration"], from RUN_DIR/calibration.json), else `model` itself."""
    m = task.cfg.model
    if not m.calibrate:
        return model
    fitted = metadata.get("calibration")
    if not fitted:
        raise ConfigError("model.calibrate=true: this run has no calibration.json (trained "
                          "before rnnkit had calibration, or without validation windows); "
                          "train it again, or set --model.calibrate=false")
    if fitted["level"] != m.level:
        raise ConfigError(f"model.level: the calibration was fitted for {fitted['level']}, "
                          f"got {m.level}")
    return Calibrated(model, m.head, fitted["scale"])


def check_columns(task: ForecastTask, ts: TimeSeries) -> None:
    """A series read for a run must have the run's target and covariate columns."""
    want = (task.info["targets"], task.info["covariates"])
    got = (ts.target_names, ts.covariate_names)
    if want != got:
        raise DataError(f"{ts.name}: targets/covariates {got} differ from the run's {want}; "
                        "set the columns of the run (data.target, data.covariates)")


def scaled_series(task: ForecastTask, ts: TimeSeries) -> np.ndarray:
    """The series scaled with the run's transform and scaler: (T, K + C)."""
    return fit_scaled(ts.values, ts.covariates, task.info["transform"], 0, task.scaler,
                      ts.name).data


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data=None,
                    batch_size: int = 0, device: str = "cpu", run_dir=None, refit=None) -> dict:
    """Rolling-origin backtest of a loaded run on its own series (data None) or another one
    (a bundled name or CSV path, read with the run's column settings): MAE, RMSE, sMAPE, MASE,
    interval coverage and score for rnnkit and each baseline; with run_dir, backtest.txt/.json
    and backtest.png there (`batch_size` is unused: the backtest's windows are few).
    `refit(overrides, tag) -> (config, metadata,
    state_dict)`, when given, trains the run's config again with the dotted overrides (the
    engine's job: the CLI passes rnnkit.training.refit.make_refit); it is called once per origin
    o with data.drop_last and data.folds = 1 set so that rnnkit, like the baselines, is fitted
    on the history before o only (`refit_cut`)."""
    task, model = rebuild(config, metadata, state_dict, device)
    d = task.cfg.data
    if refit is not None and data:
        raise ConfigError(f"--refit: retrains on the run's own series ({d.name}); expected no "
                          f"--data, got {data!r}")
    ts = read_series(d, data or None)
    check_columns(task, ts)
    layout = make_layout(len(ts), d.lookback, d.horizon, d.folds, d.stride, 0, ts.name)
    level = task.cfg.model.level
    k = len(ts.target_names)
    refit_scales = []  # the interval scale of each refit (None: not calibrated)

    def rnnkit_forecast(origins):
        if refit is None:  # the run's model from every origin
            x, _ = windows(scaled_series(task, ts), np.asarray(origins), d.lookback,
                           d.horizon, k)
            return task.predict_scaled(model, x)
        parts = []
        for o in origins:  # a model trained on [0, o) for each origin
            cut = refit_cut(len(ts), o, d)
            run = refit([f"--data.drop_last={cut}", "--data.folds=1"], f"origin-{o}")
            task_o, model_o = rebuild(*run, device)
            refit_scales.append(_scale(task_o, run[1]))
            x, _ = windows(scaled_series(task_o, ts), np.asarray([o]), d.lookback, d.horizon, k)
            parts.append(task_o.predict_scaled(model_o, x))
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))

    results = backtest(ts.values, layout.origins, d.horizon, ts.season, level,
                       task.info["transform"], rnnkit_forecast, baseline_names(d.baselines))
    report = {"data": ts.name, "horizon": d.horizon, "folds": d.folds, "level": level,
              "season": ts.season, "origins": [ts.times[o] for o in layout.origins],
              "refit": refit is not None,
              "calibration": refit_scales if refit is not None else _scale(task, metadata),
              **{name: r["metrics"] for name, r in results.items()}}
    if run_dir is not None:
        run_dir = Path(run_dir)
        write_text(run_dir / "backtest.txt", format_report(report) + "\n")
        write_text(run_dir / "backtest.json", json.dumps({**report, "forecasts": results}))
        report["table"] = str(run_dir / "backtest.txt")
        report["plot"] = str(plot_backtest(ts, layout.origins, d.horizon, results,
                                           run_dir / "backtest.png"))
    return report


def _scale(task: ForecastTask, metadata: dict) -> float | None:
    """The interval scale applied to the run's model (None: not calibrated)."""
    return metadata["calibration"]["scale"] if task.cfg.model.calibrate else None


def refit_cut(n: int, origin: int, d) -> int:
    """data.drop_last of the refit for `origin` on a series of n steps (already without the run's
    own drop_last): the refit series ends at origin + horizon, so with data.folds = 1 its one
    test fold is [origin, origin + H) and its training and validation parts end by the origin."""
    return d.drop_last + n - (origin + d.horizon)


def format_report(report: dict) -> str:
    methods = {k: {"metrics": v} for k, v in report.items()
               if isinstance(v, dict) and "mae" in v}
    lines = [f"data {report['data']}: {report['folds']} fold(s) of {report['horizon']} steps "
             f"from {', '.join(report['origins'])}; season {report['season']}; "
             f"rnnkit {'refitted at each origin' if report.get('refit') else 'trained once'}"
             f"{_scale_note(report)}; coverage of the {report['level']:.0%} interval",
             table(methods)]
    lines += [f"{k}: {report[k]}" for k in ("table", "plot") if k in report]
    return "\n".join(lines)


def _scale_note(report: dict) -> str:
    scale = report.get("calibration")
    if isinstance(scale, list):  # --refit: each refit's own factor
        scale = [s for s in scale if s is not None]
        return (f", intervals x{min(scale):.3g}..{max(scale):.3g} (each refit's, fitted on its "
                "validation windows)") if scale else ""
    return "" if scale is None else f", intervals x{scale:.3g} (fitted on validation)"


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_backtest(ts: TimeSeries, origins: list[int], horizon: int, results: dict, path):
    """History, each fold's rnnkit forecast with its interval, the baselines' forecasts."""
    plt = pyplot()
    k_shown = min(len(ts.target_names), 4)
    fig, axes = plt.subplots(k_shown, 1, figsize=(10, 3.2 * k_shown), squeeze=False)
    start = max(0, origins[0] - 4 * horizon)
    t = np.arange(len(ts))
    for k, ax in enumerate(axes[:, 0]):
        ax.plot(t[start:], ts.values[start:, k], color="black", lw=1.2, label="actual")
        for name, r in results.items():
            point = np.asarray(r["point"])[..., k]
            for i, o in enumerate(origins):
                steps = t[o:o + horizon]
                label = name if i == 0 else None
                if name == "rnnkit":
                    lo, hi = np.asarray(r["lower"])[i, :, k], np.asarray(r["upper"])[i, :, k]
                    ax.fill_between(steps, lo, hi, color="tab:blue", alpha=0.2,
                                    label="rnnkit interval" if i == 0 else None)
                    ax.plot(steps, point[i], color="tab:blue", lw=1.8, label=label)
                else:
                    ax.plot(steps, point[i], lw=1, ls="--", label=label)
        ax.set_title(f"{ts.name}: {ts.target_names[k]}")
        ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)
