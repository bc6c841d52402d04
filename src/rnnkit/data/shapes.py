"""`shapes`: generated pictures of 1-3 coloured shapes with one caption each
(rnnkit.data.caption_grammar), for the caption task. Nothing is downloaded: every scene is drawn
with Pillow from a seed, so split `s`, scene `i` is the same picture on every machine.

A picture is `size` x `size` RGB on black, cut into a 3 x 3 layout; each thing sits in its own
cell (centre jittered by up to 12% of a cell), small or large, a circle, square or triangle in one
of six colours. Drawn at twice the size and shrunk (anti-aliased edges).

Compositional split (CLEVR-CoGenT style): the colour-shape pairs in `held_out` (default red
circle, green triangle, blue square) never occur in `train`, `valid` or `test`; every scene of
`valid-comp` and `test-comp` has at least one of them (its other things are drawn from all
pairs). `valid-comp` is for choosing settings (as CLEVR-CoGenT's condition B validation set),
`test-comp` for the final score only.

Pictures a user gives (`load_picture`): any size (resized to the run's, and said so), grey or
palette (converted to RGB), with transparency (composited onto the black background); a file
Pillow cannot read is one DataError naming it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.caption_grammar import COLOURS, SHAPES, SIZES, Scene, Thing, caption
from rnnkit.errors import ConfigError, DataError

SPLITS = ("train", "valid", "test", "valid-comp", "test-comp")
COMPOSITIONAL = ("valid-comp", "test-comp")  # every scene has a held-out pair
HELD_OUT = ("red circle", "green triangle", "blue square")
GRID = 3  # the layout is GRID x GRID cells
SUPERSAMPLE = 2
RGB = {"red": (225, 40, 40), "green": (40, 200, 60), "blue": (60, 100, 240),
       "yellow": (235, 215, 40), "purple": (170, 60, 210), "white": (240, 240, 240)}
RADIUS = {"small": 0.22, "large": 0.38}  # of a cell's side
JITTER = 0.12  # of a cell's side, each way


@dataclass(frozen=True)
class Placed:
    thing: Thing
    col: int
    row: int
    dx: float  # jitter of the centre, in cells
    dy: float


def _pillow():
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ConfigError("the shapes pictures need Pillow: pip install pillow (or "
                          "pip install 'rnnkit[data]')") from None
    return Image, ImageDraw


def held_out_pairs(held_out) -> frozenset[tuple[str, str]]:
    """'colour shape' strings -> (colour, shape) pairs, each checked against the grammar."""
    pairs = set()
    for item in held_out:
        parts = str(item).split()
        if len(parts) != 2 or parts[0] not in COLOURS or parts[1] not in SHAPES:
            raise ConfigError(f"data.held_out: expected 'COLOUR SHAPE' items (colours "
                              f"{', '.join(COLOURS)}; shapes {', '.join(SHAPES)}), got {item!r}")
        pairs.add((parts[0], parts[1]))
    if len(pairs) >= len(COLOURS) * len(SHAPES):
        raise ConfigError("data.held_out: holds out every colour-shape pair; training needs some")
    return frozenset(pairs)


def _thing(rng: random.Random, pairs: list[tuple[str, str]]) -> Thing:
    colour, shape = rng.choice(pairs)
    return Thing(rng.choice(SIZES), colour, shape)


def make_scene(split: str, index: int, seed: int = 0, held_out=HELD_OUT,
               max_things: int = 3) -> list[Placed]:
    """Scene `index` of `split`: its things in reading order (column, then row)."""
    if split not in SPLITS:
        raise ConfigError(f"shapes split: expected one of {', '.join(SPLITS)}, got {split!r}")
    held = held_out_pairs(held_out)
    if split in COMPOSITIONAL and not held:
        raise ConfigError(f"--data {split}: this run holds out no colour-shape pair "
                          "(data.held_out is empty)")
    rng = random.Random(f"shapes:{seed}:{split}:{index}")  # str seeds hash the same everywhere
    every = [(c, s) for c in COLOURS for s in SHAPES]
    seen = [p for p in every if p not in held]
    n = rng.randint(1, max_things)
    if split in COMPOSITIONAL:
        things = [_thing(rng, sorted(held))] + [_thing(rng, every) for _ in range(n - 1)]
        rng.shuffle(things)
    else:
        things = [_thing(rng, seen) for _ in range(n)]
    cells = sorted(rng.sample(range(GRID * GRID), n))  # cell k = column k // 3, row k % 3
    return [Placed(t, k // GRID, k % GRID, rng.uniform(-JITTER, JITTER),
                   rng.uniform(-JITTER, JITTER)) for t, k in zip(things, cells, strict=True)]


def scene_of(placed: list[Placed]) -> Scene:
    relations = tuple("left of" if a.col < b.col else "above"
                      for a, b in zip(placed, placed[1:], strict=False))
    return Scene(tuple(p.thing for p in placed), relations)


def render(placed: list[Placed], size: int = 48):
    """The picture of a scene as a PIL RGB image of size x size."""
    Image, ImageDraw = _pillow()
    big = size * SUPERSAMPLE
    cell = big / GRID
    image = Image.new("RGB", (big, big), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    for p in placed:
        cx, cy = (p.col + 0.5 + p.dx) * cell, (p.row + 0.5 + p.dy) * cell
        r, fill = RADIUS[p.thing.size] * cell, RGB[p.thing.colour]
        if p.thing.shape == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif p.thing.shape == "square":
            h = 0.85 * r  # about the circle's area
            draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=fill)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + 0.8 * r), (cx + r, cy + 0.8 * r)], fill=fill)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def scenes(split: str, indices, seed: int = 0, held_out=HELD_OUT, size: int = 48,
           max_things: int = 3) -> tuple[np.ndarray, list[str]]:
    """(pictures uint8 (N, size, size, 3), captions) of the scenes `indices` of `split`."""
    pictures, captions = [], []
    for i in indices:
        placed = make_scene(split, int(i), seed, held_out, max_things)
        pictures.append(np.asarray(render(placed, size)))
        captions.append(caption(scene_of(placed)))
    return np.stack(pictures), captions


def to_tensor(pictures: np.ndarray):
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1], what ImageEncoder takes."""
    import torch

    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float().div_(255.0)


def load_picture(path: str | Path, size: int) -> tuple[np.ndarray, list[str]]:
    """(uint8 (size, size, 3), notes) of a picture file: converted to RGB and resized as needed,
    each change named in `notes`."""
    Image, _ = _pillow()
    from PIL import UnidentifiedImageError

    notes = []
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.copy()
    except FileNotFoundError:
        raise DataError(f"{path}: no such picture file") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataError(f"{path}: cannot read it as a picture ({err}); give a PNG or JPEG "
                        "file") from None
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA"):
        back = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(back, image.convert("RGBA"))
        notes.append("transparency composited onto black")
    if image.mode != "RGB":
        if image.mode not in ("RGBA",):
            notes.append(f"{image.mode} converted to RGB")
        image = image.convert("RGB")
    if image.size != (size, size):
        notes.append(f"resized from {image.size[0]} x {image.size[1]} to {size} x {size}")
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image), notes
