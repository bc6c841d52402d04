"""`moving-shapes`: generated video clips for multi-label tagging (numpy drawing, seeded).

A clip is 12-20 frames (`min_frames`..`max_frames`) of `size` x `size` RGB pixels on a dark,
lightly noisy background, holding 1 or 2 objects. An object is a colour (red, green, blue,
yellow) and a shape (circle, square, triangle); each object does one thing over the whole clip:

    left, right, up, down   its centre moves 8-12 pixels that way (up = towards row 0)
    grow, shrink            its half-size goes from 2.5 to 6 pixels, or from 6 to 2.5
    recolour                its colour blends linearly into another of the four colours

A clip's tags are its objects, `colour-shape` (a recoloured object is named by its colour in the
first frame), and the motions its objects make (two objects may share a motion: one tag). Two
objects of one clip never have the same colour-shape pair and never touch in any frame.

Clip i of a split is drawn from its own generator `default_rng((seed, split, i))`, so a clip does
not depend on how many others are asked for, and the splits never share a generator.
Reversing a clip in time turns left into right, up into down, grow into shrink, and names a
recoloured object by the other colour: the reason a model that averages over frames cannot tell
them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import ConfigError

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 235), "yellow": (230, 210, 40)}
SHAPES = ("circle", "square", "triangle")
MOTIONS = ("left", "right", "up", "down", "grow", "shrink", "recolour")
OBJECT_TAGS = tuple(f"{c}-{s}" for c in COLOURS for s in SHAPES)
TAGS = OBJECT_TAGS + MOTIONS  # the order of a model's outputs
SPLITS = {"train": 0, "valid": 1, "test": 2}
SMALL, LARGE = 2.5, 6.0  # half-sizes at the ends of grow / shrink
NOISE = 8.0  # standard deviation of the background noise, in 0..255 units


@dataclass
class Clip:
    frames: np.ndarray  # (T, size, size, 3) uint8
    tags: tuple[str, ...]  # object tags, then motion tags, in TAGS order


@dataclass
class _Object:
    colour: str
    shape: str
    motion: str
    centres: np.ndarray  # (T, 2) x, y in pixels
    half: np.ndarray  # (T,) half-size
    rgb: np.ndarray  # (T, 3) float


def shape_mask(shape: str, cx: float, cy: float, half: float, size: int) -> np.ndarray:
    """(size, size) bool: the pixels whose centres fall inside the shape."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= half ** 2
    if shape == "square":
        return (np.abs(x - cx) <= half * 0.9) & (np.abs(y - cy) <= half * 0.9)
    if shape == "triangle":  # apex up, base 2 * half wide
        top = cy - half
        return (y >= top) & (y <= cy + half) & (np.abs(x - cx) <= (y - top) / 2)
    raise ConfigError(f"shape: expected one of {', '.join(SHAPES)}, got {shape!r}")


def _path(rng, motion: str, n: int, size: int):
    """(centres (T, 2), half-sizes (T,)) of one object making `motion` over n frames."""
    t = np.linspace(0.0, 1.0, n)
    half = np.full(n, rng.uniform(3.5, 5.0))
    if motion in ("grow", "shrink"):
        a, b = (SMALL, LARGE) if motion == "grow" else (LARGE, SMALL)
        half = a + (b - a) * t
    margin = float(half.max()) + 1.0
    start = rng.uniform(margin, size - margin, size=2)
    centres = np.repeat(start[None], n, 0)
    if motion in ("left", "right", "up", "down"):
        axis = 0 if motion in ("left", "right") else 1
        sign = -1.0 if motion in ("left", "up") else 1.0
        dist = rng.uniform(8.0, 12.0)
        lo = margin + (dist if sign < 0 else 0.0)  # the start that keeps the end inside
        hi = size - margin - (dist if sign > 0 else 0.0)
        centres[:, axis] = rng.uniform(lo, hi) + sign * dist * t
    return centres, half


def _make_object(rng, n: int, size: int, taken: set) -> _Object:
    while True:
        colour = str(rng.choice(list(COLOURS)))
        shape = str(rng.choice(SHAPES))
        if (colour, shape) not in taken:
            break
    motion = str(rng.choice(MOTIONS))
    centres, half = _path(rng, motion, n, size)
    rgb = np.repeat(np.asarray(COLOURS[colour], np.float32)[None], n, 0)
    if motion == "recolour":
        other = str(rng.choice([c for c in COLOURS if c != colour]))
        t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        rgb = (1 - t) * rgb + t * np.asarray(COLOURS[other], np.float32)
    return _Object(colour, shape, motion, centres, half, rgb)


def _apart(a: _Object, b: _Object) -> bool:
    gap = np.linalg.norm(a.centres - b.centres, axis=1) - 1.5 * (a.half + b.half)
    return bool(gap.min() > 1.0)


def make_clip(rng: np.random.Generator, size: int = 32, min_frames: int = 12,
              max_frames: int = 20) -> Clip:
    """One clip drawn from `rng` (see the module docstring)."""
    n = int(rng.integers(min_frames, max_frames + 1))
    objects = [_make_object(rng, n, size, set())]
    if rng.random() < 0.5:
        for _ in range(50):  # placements that touch the first object are drawn again
            other = _make_object(rng, n, size, {(objects[0].colour, objects[0].shape)})
            if _apart(objects[0], other):
                objects.append(other)
                break
    frames = rng.normal(20.0, NOISE, size=(n, size, size, 3)).astype(np.float32)
    for obj in objects:
        for k in range(n):
            mask = shape_mask(obj.shape, *obj.centres[k], obj.half[k], size)
            frames[k][mask] = obj.rgb[k]
    names = {f"{o.colour}-{o.shape}" for o in objects} | {o.motion for o in objects}
    return Clip(np.clip(np.rint(frames), 0, 255).astype(np.uint8),
                tuple(t for t in TAGS if t in names))


def check_sizes(size: int, min_frames: int, max_frames: int) -> None:
    if not (isinstance(size, int) and size >= 24):
        raise ConfigError(f"data.size: expected an integer >= 24 (pixels per side; objects "
                          f"move up to 12), got {size!r}")
    if not (isinstance(min_frames, int) and 2 <= min_frames <= max_frames):
        raise ConfigError(f"data.min_frames / data.max_frames: expected 2 <= min_frames <= "
                          f"max_frames, got {min_frames!r} and {max_frames!r}")


def generate(split: str, n: int, seed: int = 0, size: int = 32, min_frames: int = 12,
             max_frames: int = 20) -> list[Clip]:
    """Clips 0..n-1 of `split` (train, valid or test) for `seed`."""
    if split not in SPLITS:
        raise ConfigError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
    if not (isinstance(n, int) and n >= 0):
        raise ConfigError(f"number of clips: expected an integer >= 0, got {n!r}")
    check_sizes(size, min_frames, max_frames)
    return [make_clip(np.random.default_rng((seed, SPLITS[split], i)), size, min_frames,
                      max_frames) for i in range(n)]


def tag_vector(tags) -> np.ndarray:
    """(len(TAGS),) float32 0/1 targets of a tag list."""
    unknown = sorted(set(tags) - set(TAGS))
    if unknown:
        raise ConfigError(f"tags: unknown {unknown}; known tags: {', '.join(TAGS)}")
    return np.asarray([t in tags for t in TAGS], dtype=np.float32)
