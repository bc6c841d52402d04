"""Scores of per-base tags (numpy, no torch).

- per base: accuracy, the F1 of each tag, macro-F1, and `coding_f1`: the F1 of "coding on
  either strand" against non-coding (a base tagged + where the annotation says - counts as
  coding found);
- whole segments: a segment is a maximal run of one coding tag (+ or -). A predicted segment
  matches an annotated one of the same tag when their overlap is at least half of their union
  (intersection over union >= 0.5; each annotated segment matched once). `segment_f1` is
  2 matched / (predicted + annotated); `segment_f1_exact` asks for the same first and last base.
"""

from __future__ import annotations

import numpy as np

from rnnkit.tasks._metrics import confusion_matrix, macro_f1


def segments(tags: np.ndarray, background: int = 0) -> list[tuple[int, int, int]]:
    """(start, end, tag) of each maximal run of a tag other than `background` (end exclusive)."""
    tags = np.asarray(tags)
    if tags.size == 0:
        return []
    change = np.flatnonzero(np.diff(tags)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [tags.size]])
    return [(int(s), int(e), int(tags[s])) for s, e in zip(starts, ends, strict=True)
            if tags[s] != background]


def match_segments(true, pred, min_iou: float = 0.5) -> int:
    """How many predicted segments match a distinct annotated one (same tag, IoU >= min_iou)."""
    used = set()
    matched = 0
    by_tag: dict[int, list] = {}
    for k, (s, e, t) in enumerate(true):
        by_tag.setdefault(t, []).append((s, e, k))
    for s, e, t in pred:
        for ts, te, k in by_tag.get(t, ()):
            if k in used or te <= s or ts >= e:
                continue
            inter = min(e, te) - max(s, ts)
            if inter / (max(e, te) - min(s, ts)) >= min_iou:
                used.add(k)
                matched += 1
                break
    return matched


def _f1(matched: int, n_pred: int, n_true: int) -> float:
    return 2.0 * matched / (n_pred + n_true) if n_pred + n_true else 1.0


def tag_report(true_list, pred_list, classes: list[str]) -> dict:
    """Scores over a list of (L_i,) tag arrays (annotated, predicted), each a contiguous stretch."""
    true = np.concatenate([np.asarray(t) for t in true_list])
    pred = np.concatenate([np.asarray(p) for p in pred_list])
    cm = confusion_matrix(true, pred, len(classes))
    tp = np.diag(cm).astype(np.float64)
    denom = 2 * tp + (cm.sum(0) - tp) + (cm.sum(1) - tp)
    per_tag = {c: float(2 * t / d) if d else 0.0 for c, t, d in zip(classes, tp, denom,
                                                                     strict=True)}
    both_true, both_pred = true > 0, pred > 0
    hit = float(np.sum(both_true & both_pred))
    coding_f1 = 2 * hit / max(float(both_true.sum() + both_pred.sum()), 1.0)
    n_true = n_pred = iou = exact = 0
    for t, p in zip(true_list, pred_list, strict=True):
        ts, ps = segments(t), segments(p)
        n_true, n_pred = n_true + len(ts), n_pred + len(ps)
        iou += match_segments(ts, ps)
        exact += len(set(ts) & set(ps))
    return {"accuracy": float(tp.sum() / max(cm.sum(), 1)), "macro_f1": macro_f1(cm),
            "coding_f1": coding_f1, "segment_f1": _f1(iou, n_pred, n_true),
            "segment_f1_exact": _f1(exact, n_pred, n_true), "per_tag_f1": per_tag,
            "segments": {"annotated": n_true, "predicted": n_pred, "matched": iou},
            "confusion_matrix": cm.tolist(), "classes": list(classes)}
