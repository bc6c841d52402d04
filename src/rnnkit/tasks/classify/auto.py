"""Settings of the classify task left at "auto" (-1, or 0 for `model.downsample`), chosen from
the training part of the data alone (its kind, size and series length) when the task is made.
The chosen values replace the auto ones in the task's config, so the run's saved config holds
them and `rnnkit evaluate` / `predict` / `--resume` rebuild the same model.

Series (the reasons and the measurements: BENCHMARKS.md, "Classification"):
- `model.conv_filters`: FILTERS, a fully convolutional branch beside the RNN (LSTM-FCN style,
  rnnkit.models.conv_frontend); text: 0.
- `model.downsample`: the input is average-pooled over s steps, s = ceil(median training length
  / MAX_STEPS), so the RNN and the convolutions read about MAX_STEPS steps (longer series more).
- `data.series_norm`: "on" when the training series' scales are far apart (the 90th percentile
  of their standard deviations over the 10th > SPREAD), else "off": each series is then
  z-normalised on its own and its log scale added as channels (rnnkit.data.scaling.per_series).
- `data.jitter`, `data.scaling`: training-time augmentation (rnnkit.data.augment), JITTER and
  SCALING for series; 0 for text.
- `train.ensemble` (the task's TRAIN_DEFAULTS make it 0, auto; the engine asks
  `ClassifyTask.auto_ensemble`, which calls `ensemble_size`): ENSEMBLE members for series when
  the training part holds at most SMALL_SET series and the model reads at most MAX_READ steps of
  a typical one (after downsampling), else 1. Why: on sets this small the test accuracy of one
  model moves by several points with the seed alone (unittest 0.909 and 0.773, arrowhead 0.891
  and 0.851 with the same settings), and the mean of the members' probabilities is steadier;
  a member of the default recipe costs at most 1500 steps of at most 32 series of about
  MAX_STEPS steps, so five of them stay minutes on one core. Text and DNA sets are larger and
  their members dearer: 1.
- `data.folds` (auto: ENSEMBLE where the rule above gives several members, else 0): k-fold
  cross-validation on the training split, member k validating on fold k
  (rnnkit.tasks.classify.folds). Why: the 10 % validation share of a set this small is 2-7
  series (unittest: 2), too few to choose a checkpoint on; a fold is 20 %, a different one for
  each member, and no training item is left out of the ensemble.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.data.scaling import scale_spread

FILTERS = 32
MAX_STEPS = 128
SPREAD = 10.0
JITTER = 0.03
SCALING = 0.1
ENSEMBLE = 5
SMALL_SET = 300
MAX_READ = 2 * MAX_STEPS


def resolve_auto(cfg, kind: str, train_x: list) -> dict:
    """Fill the auto settings of `cfg` (a classify Config) in place; returns {key: value} of
    those it chose."""
    m, d, chosen = cfg.model, cfg.data, {}
    series = kind == "series"
    if m.conv_filters < 0:
        m.conv_filters = chosen["model.conv_filters"] = FILTERS if series else 0
    if m.downsample == 0:
        typical = float(np.median([len(x) for x in train_x])) if series else 1.0
        m.downsample = chosen["model.downsample"] = max(1, math.ceil(typical / MAX_STEPS))
    if d.series_norm == "auto":
        spread = scale_spread(train_x) if series else 1.0
        d.series_norm = chosen["data.series_norm"] = "on" if spread > SPREAD else "off"
    if d.jitter < 0:
        d.jitter = chosen["data.jitter"] = JITTER if series else 0.0
    if d.scaling < 0:
        d.scaling = chosen["data.scaling"] = SCALING if series else 0.0
    return chosen


def ensemble_size(kind: str, train_lengths: list[int], downsample: int) -> int:
    """Members for `train.ensemble = 0` (auto) from the training part: its kind, its number of
    items and their lengths, and the model's `downsample` (0: auto, as resolve_auto sets it;
    the module doc gives the rule)."""
    if kind != "series" or not train_lengths or len(train_lengths) > SMALL_SET:
        return 1
    typical = float(np.median(train_lengths))
    pooled = downsample if downsample > 0 else max(1, math.ceil(typical / MAX_STEPS))
    return ENSEMBLE if typical / pooled <= MAX_READ else 1


def auto_folds(kind: str, train_lengths: list[int], downsample: int) -> int:
    """`data.folds` for auto (-1): ENSEMBLE folds (one per member) where the ensemble rule gives
    several members, else 0 (the `data.valid_fraction` share)."""
    return ENSEMBLE if ensemble_size(kind, train_lengths, downsample) > 1 else 0
