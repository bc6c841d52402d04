"""Label-preserving augmentation of a training batch of series (B, T, C), padded past `lengths`;
only training batches get it (evaluation and prediction read the series as they are).

- jitter: add Gaussian noise of standard deviation `sigma` (in units of the standardised series)
  to every real step;
- scaling: multiply each series and channel by a factor drawn from N(1, sigma^2).

Padding stays zero. The draws come from the `numpy.random.Generator` given, so a batch gets the
same augmentation on resume and on every rank.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.data.batching import length_mask


def augment_series(x: torch.Tensor, lengths: torch.Tensor, rng: np.random.Generator,
                   jitter: float = 0.0, scaling: float = 0.0) -> torch.Tensor:
    """A new (B, T, C) tensor: x scaled and jittered at its real steps."""
    if not jitter and not scaling:
        return x
    b, t, c = x.shape
    mask = length_mask(lengths, t).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    out = x
    if scaling:
        out = out * torch.from_numpy(rng.normal(1.0, scaling, size=(b, 1, c))).to(x.dtype)
    if jitter:
        out = out + torch.from_numpy(rng.normal(0.0, jitter, size=(b, t, c))).to(x.dtype) * mask
    return out
