"""Forecasting windows: where train, validation and test parts lie, and the scaled inputs.

Layout of a series of n steps, `horizon` H, `folds` F test origins `stride` apart:

    [ ......... train ......... | valid (V*H steps) | test: F origins, the last ends at n ]
                                ^ train_end         ^ test_start = origins[0]

A window at origin o reads the `lookback` L steps [o-L, o) and predicts [o, o+H). Training
windows predict inside the training part only (o + H <= train_end); validation windows have
o in [train_end, test_start - H]. Test origins are the rolling-origin backtest folds.

Scaling: the target transform (log or none), then per-channel standardisation fitted on the
training part alone (steps < train_end), so nothing of the validation or test part is seen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.data.scaling import ChannelScaler
from rnnkit.errors import ConfigError, DataError

TRANSFORMS = ("none", "log")


@dataclass
class Layout:
    n: int
    lookback: int
    horizon: int
    folds: int
    stride: int
    valid_steps: int

    @property
    def test_start(self) -> int:
        return self.n - self.horizon - (self.folds - 1) * self.stride

    @property
    def train_end(self) -> int:
        return self.test_start - self.valid_steps

    @property
    def origins(self) -> list[int]:
        return [self.test_start + i * self.stride for i in range(self.folds)]

    def train_origins(self) -> np.ndarray:
        return np.arange(self.lookback, self.train_end - self.horizon + 1)

    def valid_origins(self) -> np.ndarray:
        return np.arange(max(self.train_end, self.lookback), self.test_start - self.horizon + 1)

    def to_dict(self) -> dict:
        return {**asdict(self), "test_start": self.test_start, "train_end": self.train_end,
                "origins": self.origins}


def make_layout(n: int, lookback: int, horizon: int, folds: int = 1, stride: int = 0,
                valid_folds: int = 1, where: str = "series") -> Layout:
    """Check that the series is long enough and place the parts (see the module doc)."""
    for key, value, low in (("horizon", horizon, 1), ("lookback", lookback, 1),
                            ("folds", folds, 1), ("valid_folds", valid_folds, 0)):
        if value < low:
            raise ConfigError(f"data.{key}: expected an integer >= {low}, got {value}")
    if horizon >= n:
        raise DataError(f"{where}: data.horizon={horizon} is not shorter than the series "
                        f"({n} steps)")
    layout = Layout(n, lookback, horizon, folds, stride or horizon, valid_folds * horizon)
    need = lookback + horizon  # at least one training window
    if layout.train_end < need:
        raise DataError(f"{where}: {n} steps are too few for lookback {lookback}, horizon "
                        f"{horizon}, {folds} test fold(s) and {valid_folds} validation fold(s): "
                        f"the training part has {max(layout.train_end, 0)} steps, needs >= "
                        f"{need}; lower data.lookback, data.folds or data.valid_folds")
    return layout


def forward_transform(x: np.ndarray, kind: str, where: str = "series") -> np.ndarray:
    if kind not in TRANSFORMS:
        raise ConfigError(f"data.transform: expected one of {', '.join(TRANSFORMS)} (or '' "
                          f"for the series' default), got {kind!r}")
    if kind == "log":
        if (x <= 0).any():
            raise DataError(f"{where}: data.transform=log needs positive targets; the smallest "
                            f"is {x.min():g}; use data.transform=none")
        return np.log(x)
    return x


def inverse_transform(z: np.ndarray, kind: str) -> np.ndarray:
    return np.exp(z) if kind == "log" else z


@dataclass
class Scaled:
    """Targets and covariates transformed and standardised: (T, K + C) float32."""

    data: np.ndarray
    scaler: ChannelScaler
    k: int  # target channels come first



def unscale_targets(z: np.ndarray, scaler: ChannelScaler, k: int, transform: str) -> np.ndarray:
    """Scaled targets (..., K), the first k channels of `scaler` -> original units."""
    mean, std = np.asarray(scaler.mean[:k]), np.asarray(scaler.std[:k])
    return inverse_transform(z * std + mean, transform)


def fit_scaled(values: np.ndarray, covariates: np.ndarray, transform: str, train_end: int,
               scaler: ChannelScaler | None = None, where: str = "series") -> Scaled:
    """Transform, then standardise with `scaler` or one fitted on steps [0, train_end)."""
    full = np.concatenate([forward_transform(values, transform, where), covariates], axis=1)
    if scaler is None:
        scaler = ChannelScaler.fit([full[:train_end]])
    return Scaled(scaler.transform(full), scaler, values.shape[1])


def windows(data: np.ndarray, origins: np.ndarray, lookback: int, horizon: int, k: int):
    """Inputs (N, L, K + C) and targets (N, H, K) of the windows at `origins`."""
    idx_in = origins[:, None] + np.arange(-lookback, 0)[None, :]
    idx_out = origins[:, None] + np.arange(horizon)[None, :]
    return data[idx_in], data[idx_out][..., :k]
