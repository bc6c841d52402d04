"""Scores of multi-label clip tags (numpy, no torch). A tag is predicted when its probability is at
least 0.5.

- `per_tag_f1`: F1 = 2 TP / (2 TP + FP + FN) of each tag over the clips (1.0 for a tag that
  neither occurs nor is predicted); `macro_f1`: their mean over the tags that occur;
- `map`: the mean over tags of average precision, AP = the mean, over the clips that have the
  tag, of the precision among the clips ranked at or above it by the tag's probability (ties
  counted against: the clips tied with it are all ranked above); tags with no clip are left out;
  `object_map` and `motion_map` over object and motion tags only;
- `exact_set_accuracy`: clips whose predicted tag set equals the true set;
- `motion_accuracy` and `object_accuracy`: the same on the motion tags only, and on the object
  tags only (a clip counts when every one of those tags is right).
"""

from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """AP of one tag: scores (N,), labels (N,) 0/1; nan when no item has the tag."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if not labels.any():
        return float("nan")
    pos = scores[labels]
    # for each positive: items scored >= it (all of them above or tied), positives among those
    above = (scores[None, :] >= pos[:, None]).sum(1)
    pos_above = (pos[None, :] >= pos[:, None]).sum(1)
    return float(np.mean(pos_above / above))


def _f1(pred: np.ndarray, true: np.ndarray) -> float:
    tp = float(np.sum(pred & true))
    denom = 2 * tp + float(np.sum(pred & ~true)) + float(np.sum(~pred & true))
    return 2 * tp / denom if denom else 1.0


def _mean(values) -> float:
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def tag_report(probs, targets, tags: list[str], n_object: int, threshold: float = 0.5) -> dict:
    """Scores of probs (N, K) against 0/1 targets (N, K); the first `n_object` tags are objects,
    the rest motions."""
    probs = np.asarray(probs, dtype=np.float64)
    true = np.asarray(targets) > 0.5
    pred = probs >= threshold
    k = len(tags)
    ap = [average_precision(probs[:, j], true[:, j]) for j in range(k)]
    f1 = {t: _f1(pred[:, j], true[:, j]) for j, t in enumerate(tags)}
    occurs = true.any(0)
    obj, mot = slice(0, n_object), slice(n_object, k)
    return {
        "map": _mean(ap), "object_map": _mean(ap[obj]), "motion_map": _mean(ap[mot]),
        "exact_set_accuracy": float(np.mean((pred == true).all(1))),
        "motion_accuracy": float(np.mean((pred[:, mot] == true[:, mot]).all(1))),
        "object_accuracy": float(np.mean((pred[:, obj] == true[:, obj]).all(1))),
        "macro_f1": _mean([f1[t] if occurs[j] else float("nan") for j, t in enumerate(tags)]),
        "per_tag_f1": f1,
        "per_tag_ap": {t: a for t, a in zip(tags, ap, strict=True) if not np.isnan(a)},
    }
