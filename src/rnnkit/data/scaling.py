"""Per-channel standardisation of multivariate series, fitted on training data only.

`fit` pools every real step of every training series: mean and standard deviation per channel
(NaN, i.e. missing values, ignored). `transform` gives (x - mean) / std with missing values set
to 0, the channel mean after scaling. A constant channel keeps std 1 so it is not blown up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import DataError


@dataclass
class ChannelScaler:
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, series: list[np.ndarray]) -> ChannelScaler:
        steps = np.concatenate([np.asarray(s, dtype=np.float64) for s in series], axis=0)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(steps, axis=0)
            std = np.nanstd(steps, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)  # an all-missing channel
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return cls(mean.tolist(), std.tolist())

    @classmethod
    def identity(cls, channels: int) -> ChannelScaler:
        return cls([0.0] * channels, [1.0] * channels)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(T, C) float32, standardised, missing values -> 0."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise DataError(f"series: expected shape (T, {len(self.mean)}), got {x.shape}")
        z = (x - np.asarray(self.mean)) / np.asarray(self.std)
        return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> ChannelScaler:
        return cls(list(d["mean"]), list(d["std"]))
