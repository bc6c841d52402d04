"""Settings of the classify task left at "auto" (-1, or 0 for `model.downsample`), chosen from
the training part of the data alone (its kind, size and series length) when the task is made.
The chosen values replace the auto ones in the task's config, so the run's saved config holds
them and `rnnkit evaluate` / `predict` / `--resume` rebuild the same model.

Series (the reasons and the measurements: BENCHMARKS.md, "Classification"):
- `model.conv_filters`: FILTERS, a fully convolutional branch beside the RNN (LSTM-FCN style,
  rnnkit.models.conv_frontend); text: 0.
- `model.downsample`: the input is average-pooled over s steps, s = ceil(longest training series
  / MAX_STEPS), so the RNN and the convolutions read at most MAX_STEPS steps.
- `data.jitter`, `data.scaling`: training-time augmentation (rnnkit.data.augment), JITTER and
  SCALING for series; 0 for text.
"""

from __future__ import annotations

import math

FILTERS = 32
MAX_STEPS = 256
JITTER = 0.0
SCALING = 0.0


def resolve_auto(cfg, kind: str, train_x: list) -> dict:
    """Fill the auto settings of `cfg` (a classify Config) in place; returns {key: value} of
    those it chose."""
    m, d, chosen = cfg.model, cfg.data, {}
    series = kind == "series"
    if m.conv_filters < 0:
        m.conv_filters = chosen["model.conv_filters"] = FILTERS if series else 0
    if m.downsample == 0:
        longest = max(len(x) for x in train_x) if series else 1
        m.downsample = chosen["model.downsample"] = max(1, math.ceil(longest / MAX_STEPS))
    if d.jitter < 0:
        d.jitter = chosen["data.jitter"] = JITTER if series else 0.0
    if d.scaling < 0:
        d.scaling = chosen["data.scaling"] = SCALING if series else 0.0
    return chosen
