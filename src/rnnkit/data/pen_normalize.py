"""Normalising online handwriting before a recogniser reads it: the classic steps of online
handwriting recognition (Jaeger et al. 2001; Liwicki and Bunke's IAM-OnDB front end, the one
Graves et al. 2009 used), each optional:

- slant: shear x by the item's slant, estimated from its near-vertical pen-down segments
  (within 45 degrees of vertical, weighted by their height: s = sum(dx sign(dy)) / sum(|dy|),
  three rounds, each on the item deslanted by the rounds before), so that upright and leaning
  writing look the same;
- height: move and scale y so that the item's baseline is at 0 and its core (x-height) line at
  1: the median height of the pen's lowest and highest turning points (where a pen-down stroke
  changes from going down to going up and back); x is scaled the same. Units, digitiser
  resolution and letter size drop out;
- overlap: a pen-down stroke that goes over strokes drawn before it (OVERLAP_SHARE of its
  length within OVERLAP_RADIUS core heights of them) is left out: a second pass that thickens a
  line ("duplex" and "triplex" fonts draw each line two or three times; writers go over a stem
  twice) adds nothing to the shape, only pen movements a font or a writer may not make;
- resample: every stroke redrawn with points at equal steps along its length (RESAMPLE_STEP core
  heights apart; ends kept), so that how densely a pen or a font samples its lines is no cue;
- turn: two more features, the cosine and sine of the angle the pen turns through at each
  point (curvature: invariant to where the item is and how it leans).

Frames in and out are (dx, dy, pen_up) with pen_up = 1 at each stroke's first point;
`normalize_pen` returns them in core heights (after "height") and `pen_features` adds the
pen's height (above the baseline with "height", else above the item's mean height) and, with
"turn", the turning angle. The same functions run on generated items, the user's JSON-lines
strokes, `rnnkit transcribe` and the ONNX runtime (rnnkit.tasks.recognize.task.frame_features):
the steps a run used are in its metadata.
"""

from __future__ import annotations

import numpy as np

from rnnkit.errors import ConfigError

STEPS = ("slant", "height", "overlap", "resample", "turn")
RESAMPLE_STEP = 0.2  # core heights between resampled points (the x-height of a script font)
MAX_SLANT = 1.5  # |shear| estimated larger than this (56 degrees) is left at this
OVERLAP_RADIUS = 0.25  # core heights: a point this near an earlier stroke lies on it
OVERLAP_SHARE = 0.8  # a stroke with this share of its length on earlier strokes is dropped


def parse_steps(value: str, where: str = "data.pen_norm") -> tuple[str, ...]:
    """"none" or a comma-separated subset of STEPS -> the steps in STEPS order."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected 'none' or a comma-separated list of "
                          f"{', '.join(STEPS)}, got {value!r}")
    names = [v.strip() for v in value.split(",") if v.strip()]
    if names == ["none"]:
        return ()
    bad = [n for n in names if n not in STEPS]
    if bad or not names:
        raise ConfigError(f"{where}: expected 'none' or a comma-separated list of "
                          f"{', '.join(STEPS)}, got {value!r}")
    return tuple(s for s in STEPS if s in names)


def _points(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(absolute points (T, 2) float64, stroke start flags (T,) bool; the first point starts)."""
    xy = np.cumsum(frames[:, :2].astype(np.float64), axis=0)
    start = frames[:, 2] > 0.5
    start[0] = True
    return xy, start


def _frames(xy: np.ndarray, start: np.ndarray) -> np.ndarray:
    d = np.diff(xy, axis=0, prepend=xy[:1])
    return np.column_stack([d, start.astype(np.float64)])


def estimate_slant(xy: np.ndarray, start: np.ndarray, rounds: int = 3) -> float:
    """dx/dy of the item's near-vertical pen-down segments, weighted by their height (0 if
    there are none). Which segments count as near-vertical depends on the slant, so the
    estimate is repeated on the item with the slant found so far taken out (`rounds` times)."""
    d = np.diff(xy, axis=0)[~start[1:]]  # pen-down segments
    total = 0.0
    for _ in range(rounds):
        dx = d[:, 0] - total * d[:, 1]
        steep = np.abs(dx) < np.abs(d[:, 1])  # within 45 degrees of vertical
        height = np.abs(d[steep, 1]).sum()
        if height <= 0:
            break
        total += float((dx[steep] * np.sign(d[steep, 1])).sum() / height)
        total = float(np.clip(total, -MAX_SLANT, MAX_SLANT))
    return total


def core_lines(xy: np.ndarray, start: np.ndarray) -> tuple[float, float]:
    """(baseline, core line): the median y of the pen-down strokes' lowest and highest turning
    points; an item without both (a dot, a straight line) uses its lowest and highest point."""
    ymin, ymax = float(xy[:, 1].min()), float(xy[:, 1].max())
    stroke = np.cumsum(start)
    dy = np.diff(xy[:, 1])
    same = stroke[1:] == stroke[:-1]  # segment i joins points i, i + 1 of one stroke
    dy = np.where(same, dy, 0.0)
    moving = np.flatnonzero(same & (dy != 0))  # flat segments do not end a rise or a fall
    if len(moving) < 2:
        return ymin, max(ymax, ymin + 1e-9)
    a, b = moving[:-1], moving[1:]
    turn = (stroke[a] == stroke[b]) & (np.sign(dy[a]) != np.sign(dy[b]))
    where = b[turn]  # the point where the pen turns is the first point of segment b
    lows = xy[where[dy[a[turn]] < 0], 1]  # was going down: a lowest point
    highs = xy[where[dy[a[turn]] > 0], 1]
    if not len(lows) or not len(highs):
        return ymin, max(ymax, ymin + 1e-9)
    base, core = float(np.median(lows)), float(np.median(highs))
    extent = ymax - ymin
    if core - base < 0.2 * extent:  # a degenerate estimate: at least a fifth of the extent
        core = base + 0.2 * extent
    return base, max(core, base + 1e-9)


def resample(xy: np.ndarray, start: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Each stroke's points every `step` along its polyline, its ends kept (a one-point stroke
    stays one point)."""
    bounds = np.r_[np.flatnonzero(start), len(xy)]
    out, flags = [], []
    for i, j in zip(bounds[:-1], bounds[1:], strict=True):
        pts = xy[i:j]
        along = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
        n = int(np.ceil(along[-1] / step)) if along[-1] > 0 else 0
        at = np.linspace(0.0, along[-1], n + 1)
        out.append(np.column_stack([np.interp(at, along, pts[:, 0]),
                                    np.interp(at, along, pts[:, 1])]))
        flags.append(np.r_[True, np.zeros(n, bool)])
    return np.concatenate(out), np.concatenate(flags)


def normalize_pen(frames, steps=STEPS) -> tuple[np.ndarray, np.ndarray]:
    """(points (T', 2) float64, stroke start flags (T',)) of `frames` (T, 3) after the geometric
    `steps` (slant, height, resample; "turn" is a feature: pen_features); T' = T without
    resampling. Points are absolute: with "height", y is the height above the baseline in core
    heights."""
    xy, start = _points(np.asarray(frames, np.float32))
    if "slant" in steps:
        xy[:, 0] -= estimate_slant(xy, start) * xy[:, 1]
    if "height" in steps:
        base, core = core_lines(xy, start)
        xy = (xy - (0.0, base)) / (core - base)
    if "overlap" in steps:
        base, core = core_lines(xy, start)
        xy, start = drop_overlaps(xy, start, OVERLAP_RADIUS * (core - base))
    if "resample" in steps:
        xy, start = resample(xy, start, RESAMPLE_STEP)
    return xy, start


def _distance_to_segments(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) distance of each point p (N, 2) to the nearest segment a[k]-b[k] (M, 2)."""
    ab = b - a  # (M, 2)
    length2 = np.maximum((ab**2).sum(1), 1e-18)
    t = np.clip(((p[:, None, :] - a[None]) * ab[None]).sum(2) / length2, 0.0, 1.0)  # (N, M)
    nearest = a[None] + t[..., None] * ab[None]  # (N, M, 2)
    return np.sqrt(((p[:, None, :] - nearest) ** 2).sum(2)).min(1)


def drop_overlaps(xy: np.ndarray, start: np.ndarray,
                  radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The strokes without those that lie (OVERLAP_SHARE of their length) within `radius` of
    the strokes kept before them; the first stroke and one-point strokes (dots) are kept."""
    bounds = np.r_[np.flatnonzero(start), len(xy)]
    keep = np.ones(len(xy), bool)
    seg_a, seg_b = [], []  # the kept strokes' segments
    for i, j in zip(bounds[:-1], bounds[1:], strict=True):
        if j - i < 2:
            continue
        if seg_a:
            dense, _ = resample(xy[i:j], np.r_[True, np.zeros(j - i - 1, bool)], radius / 2)
            near = _distance_to_segments(dense, np.concatenate(seg_a), np.concatenate(seg_b))
            if np.mean(near <= radius) >= OVERLAP_SHARE:
                keep[i:j] = False
                continue
        seg_a.append(xy[i : j - 1])
        seg_b.append(xy[i + 1 : j])
    return xy[keep], start[keep]


def pen_features(frames, steps=()) -> np.ndarray:
    """What a recogniser reads of (T, 3) pen frames: (T', 4) (dx, dy, pen_up, height) after the
    normalising `steps`, and with "turn" (T', 6): the turning angle's cosine and sine too.
    height: above the baseline with "height", else above the item's mean height (the sum of dy,
    centred: which letters rise or descend is easier to see from it than from steps alone).
    No steps: the frames as given plus the centred height, what runs before the normalisation
    read."""
    frames = np.asarray(frames, np.float32)
    if not steps:
        y = np.cumsum(frames[:, 1], dtype=np.float64)
        return np.column_stack([frames, y - y.mean()]).astype(np.float32)
    xy, start = normalize_pen(frames, steps)
    out = _frames(xy, start)
    height = xy[:, 1] if "height" in steps else xy[:, 1] - xy[:, 1].mean()
    cols = [out, height[:, None]]
    if "turn" in steps:
        cols.append(turning_angle(out))
    return np.column_stack(cols).astype(np.float32)


def turning_angle(frames: np.ndarray) -> np.ndarray:
    """(T, 2): cos and sin of the angle between each frame's step and the previous one's;
    (1, 0) at a stroke's first two points, where there is no previous step in the stroke, and
    where a step has no length."""
    d = frames[:, :2].astype(np.float64)
    start = frames[:, 2] > 0.5
    prev = np.vstack([np.zeros((1, 2)), d[:-1]])
    valid = ~start & ~np.r_[True, start[:-1]]  # this step and the one before are pen-down
    cross = prev[:, 0] * d[:, 1] - prev[:, 1] * d[:, 0]
    dot = (prev * d).sum(1)
    norm = np.hypot(cross, dot)
    valid &= norm > 0
    cos = np.where(valid, dot / np.where(valid, norm, 1.0), 1.0)
    sin = np.where(valid, cross / np.where(valid, norm, 1.0), 0.0)
    return np.column_stack([cos, sin])
