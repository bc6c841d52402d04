"""Per-channel standardisation of multivariate series, fitted on training data only.

`fit` pools every real step of every training series: mean and standard deviation per channel
(NaN, i.e. missing values, ignored). `transform` gives (x - mean) / std with missing values set
to 0, the channel mean after scaling: that is the imputation of a missing value, the training
mean of its channel. A constant channel keeps std 1 so it is not blown up.

Refused with a DataError (never turned into numbers): an infinite value, in `fit` or
`transform`; a channel with no value at all in the training data (`fit`) or in one series
(`transform`), since there is nothing to impute it from.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from rnnkit.errors import DataError


@dataclass
class ChannelScaler:
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, series: list[np.ndarray], where: str = "training data") -> ChannelScaler:
        steps = np.concatenate([np.asarray(s, dtype=np.float64) for s in series], axis=0)
        _check(steps, where)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(steps, axis=0)
            std = np.nanstd(steps, axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise DataError(f"{where}: values too large to standardise in float64 (mean "
                            f"{mean.tolist()}, std {std.tolist()}); rescale the data")
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean.tolist(), std.tolist())

    @classmethod
    def identity(cls, channels: int) -> ChannelScaler:
        return cls([0.0] * channels, [1.0] * channels)

    def transform(self, x: np.ndarray, where: str = "series") -> np.ndarray:
        """(T, C) float32, standardised, missing values -> 0."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise DataError(f"{where}: expected shape (T, {len(self.mean)}), got {x.shape}")
        _check(x, where)
        z = (x - np.asarray(self.mean)) / np.asarray(self.std)
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> ChannelScaler:
        return cls(list(d["mean"]), list(d["std"]))


def _check(x: np.ndarray, where: str) -> None:
    """No infinite value, and at least one value per channel, in the (T, C) steps `x`."""
    infinite = np.argwhere(np.isinf(x))
    if infinite.size:
        t, c = (int(v) for v in infinite[0])
        raise DataError(f"{where}: step {t + 1}, channel {c + 1}: {x[t, c]} is not finite "
                        f"({len(infinite)} such value(s)); mark a missing value as NaN")
    if x.shape[0]:
        empty = np.flatnonzero(np.isnan(x).all(axis=0))
        if empty.size:
            raise DataError(f"{where}: channel {int(empty[0]) + 1} has no values (all missing); "
                            "nothing to impute them from")


def per_series(x: np.ndarray, where: str = "series") -> np.ndarray:
    """(T, C) -> (T, 2C): each channel z-normalised over this series' own steps, then each
    channel's log10 standard deviation as a constant extra channel, so the shape is compared
    at one scale and the level of the signal is still known. Missing values (NaN) stay NaN (the
    ChannelScaler imputes them); a constant channel gives zeros and log10 of 1e-8."""
    x = np.asarray(x, dtype=np.float64)
    if np.isinf(x).any():
        raise DataError(f"{where}: an infinite value; expected finite numbers (NaN for missing)")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN channel: NaN stays
        mean = np.nanmean(x, axis=0)
        std = np.nanstd(x, axis=0)
    std = np.where(std > 1e-8, std, 1e-8)
    level = np.broadcast_to(np.log10(std), x.shape)
    return np.concatenate([(x - mean) / std, level], axis=1)


def scale_spread(series: list[np.ndarray]) -> float:
    """How far apart the series' scales are: the 90th over the 10th percentile of their
    standard deviations (1 for series normalised alike)."""
    stds = np.array([np.nanstd(np.asarray(s, dtype=np.float64)) for s in series])
    lo, hi = np.percentile(np.maximum(stds, 1e-12), [10, 90])
    return float(hi / lo)
