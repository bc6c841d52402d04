"""The forecast task itself: its typed config, the series cut into parts, the model, the loss
and the validation metrics (the package's __init__ says what the task does)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch

from rnnkit.data.scaling import ChannelScaler
from rnnkit.data.series import TimeSeries, load_series
from rnnkit.data.sharding import shard_rows
from rnnkit.data.windows import (
    Layout,
    Scaled,
    fit_scaled,
    make_layout,
    unscale_targets,
    windows,
)
from rnnkit.errors import ConfigError, DataError
from rnnkit.functional.registry import CellName
from rnnkit.models.forecast_calibration import fit_scale
from rnnkit.models.forecaster import (
    ForecastEnsemble,
    Forecaster,
    ForecasterConfig,
    forecast_loss,
    point_and_interval,
)
from rnnkit.tasks._contract import StepOutput


@dataclass
class DataConfig:
    name: str = "airline"  # a bundled series or a CSV path
    target: str = ""  # comma-separated target columns ("" = every numeric column left)
    time_column: str = ""  # "" = a column named date/time/year/month/... if there is one
    covariates: str = ""  # comma-separated past covariate columns (extra inputs)
    season: int = 0  # seasonal period; 0 = the series' own (bundled) or from its dates
    transform: Literal["", "none", "log"] = ""  # "" = the series' default (log: airline, lynx)
    lookback: int = 36  # steps the encoder reads before each forecast origin
    horizon: int = 12  # steps forecast at once
    folds: int = 1  # rolling-origin test folds at the end of the series
    stride: int = 0  # steps between fold origins; 0 = horizon
    valid_folds: int = 1  # horizons of validation before the test part; 0 = none
    batch_size: int = 32  # training windows per batch
    seed: int = 0  # the order of the training windows
    baselines: str = "naive,seasonal_naive,ets,arima"  # compared with by `rnnkit evaluate`
    drop_last: int = 0  # ignore the series' last N steps (a tuning backtest before the test part)


@dataclass
class ModelConfig:
    cell: CellName = "lstm"  # the recurrent encoder (rnnkit.functional.registry; rnn = rnn_tanh)
    hidden_size: int = 32  # units per recurrent layer
    num_layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # between layers and before the head
    recurrent_dropout: float = 0.0  # one mask per sequence, off in eval (where: the mode below)
    zoneout: float = 0.0  # zoneout on h (and c): each unit keeps its value w.p. this; eval: mean
    # where recurrent_dropout's mask acts: h entering the product, or the candidate (g, n)
    recurrent_dropout_mode: Literal["variational", "semeniuta"] = "variational"
    head: Literal["gaussian", "student_t", "quantile"] = "gaussian"  # the output distribution
    df: float = 0.0  # student_t: degrees of freedom nu (> 2), 0 = learned per step and target
    point_weight: float = 0.0  # w: loss + w * mean squared error of the point forecast
    level: float = 0.9  # prediction interval level
    # the forecast the network corrects; auto: seasonal if 1 < season <= lookback, else last
    base: Literal["auto", "none", "last", "seasonal", "seasonal_drift", "trend_season"] = "auto"
    relative: bool = True  # encoder sees each window relative to its last value
    residual: bool = False  # encoder sees the window minus its trend_season fit (that base)
    window_scale: bool = False  # inputs / each window's amplitude, outputs * it (DeepAR)
    linear: bool = False  # linear AR highway (LSTNet) from the window to the mean
    calibrate: bool = False  # scale the intervals by the factor fitted on the validation windows
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # rnnkit layer implementation


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)


# A few hundred windows: many short epochs; the best validation loss is kept (on airline the
# validation loss is lowest within the first 400 steps; later steps overfit).
DATA_KEY = "data.name"  # what `rnnkit train forecast --data X` sets

TRAIN_DEFAULTS: dict = {"train.steps": 600, "train.eval_every": 50, "train.log_every": 100,
                        "optim.lr": 3e-3, "optim.weight_decay": 1e-4}


def read_series(d: DataConfig, name: str | None = None) -> TimeSeries:
    """The series `name` (default: the config's) with the config's column settings; the
    config's own series without its last `data.drop_last` steps."""
    ts = load_series(name or d.name, d.target, d.time_column, d.covariates, d.season)
    if not name and d.drop_last:
        ts = drop_last(ts, d.drop_last)
    for note in ts.notes:
        print(f"rnnkit: {note}", file=sys.stderr)
    return ts


def drop_last(ts: TimeSeries, n: int) -> TimeSeries:
    """`ts` without its last n steps: with data.folds set as for the test, a backtest whose
    folds end where the test part begins, for choosing settings without seeing the test part."""
    if not 0 <= n < len(ts):
        raise ConfigError(f"data.drop_last: expected an integer in [0, {len(ts)}) for "
                          f"{ts.name} ({len(ts)} steps), got {n}")
    if n == 0:
        return ts
    return replace(ts, values=ts.values[:-n], covariates=ts.covariates[:-n],
                   times=ts.times[:-n],
                   notes=[*ts.notes, f"data.drop_last={n}: using the first {len(ts) - n} of "
                                     f"{len(ts)} steps (to {ts.times[-n - 1]})"])


def _base(m: ModelConfig, season: int, lookback: int) -> str:
    if m.base != "auto":
        return m.base
    return "seasonal" if 1 < season <= lookback else "last"


class ForecastTask:
    """The Task contract for forecasting; `info` is what metadata() saves (scaler, transform,
    layout, column names), enough to rebuild the model and forecast without the trainer."""

    name = "forecast"
    item_unit = "win"

    def __init__(self, cfg: Config, info: dict, scaled: Scaled | None = None):
        self.cfg, self.info = cfg, info
        self.scaled = scaled
        self.train_x = self.train_y = self.valid_x = self.valid_y = None
        if scaled is not None:
            d, layout = cfg.data, self.layout
            self.train_x, self.train_y = windows(scaled.data, layout.train_origins(),
                                                 d.lookback, d.horizon, scaled.k)
            valid = layout.valid_origins()
            if len(valid):
                self.valid_x, self.valid_y = windows(scaled.data, valid, d.lookback, d.horizon,
                                                     scaled.k)
            else:  # no validation part: report on the training windows
                self.valid_x, self.valid_y = self.train_x, self.train_y

    @property
    def layout(self) -> Layout:
        keys = ("n", "lookback", "horizon", "folds", "stride", "valid_steps")
        return Layout(*(self.info["layout"][k] for k in keys))

    @property
    def scaler(self) -> ChannelScaler:
        return ChannelScaler.from_dict(self.info["scaler"])

    def model_config(self) -> ForecasterConfig:
        m, i = self.cfg.model, self.info
        return ForecasterConfig(
            n_targets=len(i["targets"]), n_covariates=len(i["covariates"]),
            horizon=i["layout"]["horizon"], cell=m.cell, hidden_size=m.hidden_size,
            num_layers=m.num_layers, dropout=m.dropout, recurrent_dropout=m.recurrent_dropout,
            zoneout=m.zoneout, recurrent_dropout_mode=m.recurrent_dropout_mode,
            head=m.head, df=m.df, level=m.level,
            base=i["base"], season=i["season"], relative=m.relative, residual=m.residual,
            window_scale=m.window_scale, linear=m.linear,
            lookback=i["layout"]["lookback"], impl=m.impl)

    def build_model(self) -> torch.nn.Module:
        return Forecaster(self.model_config())

    def ensemble(self, models: list[torch.nn.Module]) -> torch.nn.Module:
        """A seed ensemble's members (`train.ensemble`) as one forecaster: the Gaussian
        mixture's mean and variance, or the averaged quantiles (ForecastEnsemble)."""
        return ForecastEnsemble(models)

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        if self.train_x is None:
            raise DataError("forecast: this task was built without training data")
        d = self.cfg.data
        order = np.random.default_rng(d.seed * 100_003 + epoch).permutation(len(self.train_x))
        size = min(d.batch_size, len(order))
        size -= size % world_size
        for start in range(0, len(order) - size + 1, size):  # full batches only
            idx = order[start:start + size][shard_rows(size, rank, world_size)]
            yield {"x": torch.from_numpy(self.train_x[idx]),
                   "y": torch.from_numpy(self.train_y[idx])}

    def step(self, model, batch: dict, state=None) -> StepOutput:
        m = self.cfg.model
        loss = forecast_loss(model(batch["x"]), batch["y"], m.head, m.level, m.point_weight)
        return StepOutput(loss=loss, n_items=int(batch["y"].shape[0]))

    @torch.no_grad()
    def predict_scaled(self, model, x: np.ndarray, level: float | None = None):
        """(point, lower, upper), each (N, H, K) in original units, for scaled inputs x."""
        m = self.cfg.model
        dev = next(model.parameters()).device
        params = model(torch.from_numpy(np.asarray(x, dtype=np.float32)).to(dev))
        parts = point_and_interval(params, m.head, m.level if level is None else level)
        return tuple(self.to_units(p.cpu().numpy()) for p in parts)

    def to_units(self, z: np.ndarray) -> np.ndarray:
        return unscale_targets(z, self.scaler, len(self.info["targets"]), self.info["transform"])

    def evaluate(self, model) -> dict[str, float]:
        m = self.cfg.model
        dev = next(model.parameters()).device
        x, y = (torch.from_numpy(a).to(dev) for a in (self.valid_x, self.valid_y))
        loss = forecast_loss(model(x), y, m.head, m.level, m.point_weight).item()
        point, lo, hi = self.predict_scaled(model, self.valid_x)
        true = self.to_units(self.valid_y)
        err = point - true
        return {"loss": loss, "mae": float(np.abs(err).mean()),
                "rmse": float(np.sqrt((err ** 2).mean())),
                "coverage": float(((true >= lo) & (true <= hi)).mean())}

    @torch.no_grad()
    def calibrate(self, model) -> dict | None:
        """The interval scale factor of `model` fitted on the validation windows only
        (rnnkit.models.forecast_calibration.fit_scale), None without validation windows; the
        engine saves it after training in RUN_DIR/calibration.json, and evaluate and forecast
        apply it when model.calibrate is set."""
        m = self.cfg.model
        if self.valid_x is None or self.valid_x is self.train_x:
            return None
        dev = next(model.parameters()).device
        params = model(torch.from_numpy(self.valid_x).to(dev)).cpu()
        return fit_scale(params, torch.from_numpy(self.valid_y), m.head, m.level)

    def metadata(self) -> dict:
        return {"task": self.name, **self.info}


def make_task(cfg: Config) -> ForecastTask:
    """Load the series, place the parts, fit transform and scaler on the training part."""
    if not isinstance(cfg, Config):
        cfg = Config(**cfg)
    d = cfg.data
    if d.batch_size < 1:
        raise ConfigError(f"data.batch_size: expected an integer >= 1, got {d.batch_size}")
    ts = read_series(d)
    layout = make_layout(len(ts), d.lookback, d.horizon, d.folds, d.stride, d.valid_folds,
                         ts.name)
    transform = d.transform or ts.transform
    scaled = fit_scaled(ts.values, ts.covariates, transform, layout.train_end, where=ts.name)
    info = {"series": ts.name, "targets": ts.target_names, "covariates": ts.covariate_names,
            "season": ts.season, "freq": ts.freq, "transform": transform,
            "base": _base(cfg.model, ts.season, d.lookback), "scaler": scaled.scaler.to_dict(),
            "layout": layout.to_dict()}
    if not (cfg.model.point_weight >= 0 and np.isfinite(cfg.model.point_weight)):
        raise ConfigError(f"model.point_weight: expected a finite number >= 0, got "
                          f"{cfg.model.point_weight}")
    if cfg.model.calibrate and d.valid_folds < 1:
        raise ConfigError("model.calibrate=true: the factor is fitted on the validation windows; "
                          f"expected data.valid_folds >= 1, got {d.valid_folds}")
    task = ForecastTask(cfg, info, scaled)
    task.build_model()  # check the model settings now, before any training starts
    return task


def task_from_metadata(cfg: Config, metadata: dict) -> ForecastTask:
    """A task holding only what a checkpoint keeps (no windows): builds the model, forecasts."""
    if metadata.get("task", "forecast") != "forecast":
        raise ConfigError(f"run: expected a forecast run, got task {metadata.get('task')!r}")
    return ForecastTask(cfg, {k: v for k, v in metadata.items() if k != "task"})
