"""The generated moving-shapes clips: one clip per (seed, split, index), tags that say what the
pixels do, and the time reversal that the frame-averaging baseline cannot see."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.moving_shapes import COLOURS, MOTIONS, OBJECT_TAGS, TAGS, generate, tag_vector
from rnnkit.errors import ConfigError


def test_same_seed_same_clips_and_a_clip_does_not_depend_on_how_many():
    a, b = generate("train", 6, seed=3), generate("train", 6, seed=3)
    for x, y in zip(a, b, strict=True):
        assert x.tags == y.tags and np.array_equal(x.frames, y.frames)
    more = generate("train", 9, seed=3)
    assert all(np.array_equal(x.frames, y.frames) for x, y in zip(a, more[:6], strict=True))
    other = generate("train", 6, seed=4)
    assert any(x.frames.shape != y.frames.shape or not np.array_equal(x.frames, y.frames)
               for x, y in zip(a, other, strict=True))
    test = generate("test", 6, seed=3)
    assert not any(x.frames.shape == y.frames.shape and np.array_equal(x.frames, y.frames)
                   for x, y in zip(a, test, strict=True))


def test_shapes_lengths_and_tag_sets():
    clips = generate("valid", 60, seed=0, size=40, min_frames=12, max_frames=20)
    for c in clips:
        assert c.frames.dtype == np.uint8 and c.frames.shape[1:] == (40, 40, 3)
        assert 12 <= len(c.frames) <= 20
        objects = [t for t in c.tags if t in OBJECT_TAGS]
        motions = [t for t in c.tags if t in MOTIONS]
        assert 1 <= len(objects) <= 2 and 1 <= len(motions) <= len(objects)
        assert list(c.tags) == [t for t in TAGS if t in c.tags]  # in TAGS order, no repeats
    assert {len([t for t in c.tags if t in OBJECT_TAGS]) for c in clips} == {1, 2}


def _object_pixels(frame: np.ndarray) -> np.ndarray:
    return frame.max(-1) > 120  # objects are bright, the background is ~20 +- 8


def _nearest_colour(frame: np.ndarray, mask: np.ndarray) -> str:
    mean = frame[mask].astype(np.float64).mean(0)
    return min(COLOURS, key=lambda c: np.sum((np.asarray(COLOURS[c]) - mean) ** 2))


def test_tags_say_what_the_pixels_do():
    """For one-object clips: the centroid moves the tagged way, the area grows or shrinks, the
    first frame's colour names the object, a recoloured object ends in another colour."""
    checked = set()
    for c in generate("train", 120, seed=1):
        motions = [t for t in c.tags if t in MOTIONS]
        objects = [t for t in c.tags if t in OBJECT_TAGS]
        if len(objects) != 1:
            continue
        first, last = c.frames[0], c.frames[-1]
        m0, m1 = _object_pixels(first), _object_pixels(last)
        (y0, x0), (y1, x1) = np.argwhere(m0).mean(0), np.argwhere(m1).mean(0)
        dx, dy, grow = x1 - x0, y1 - y0, m1.sum() / m0.sum()
        motion = motions[0]
        expect = {"left": dx < -6, "right": dx > 6, "up": dy < -6, "down": dy > 6,
                  "grow": grow > 2.5, "shrink": grow < 0.4}
        if motion in expect:
            assert expect[motion], (c.tags, dx, dy, grow)
            others = [abs(dx) < 1.5 if motion in ("up", "down", "grow", "shrink") else True,
                      abs(dy) < 1.5 if motion in ("left", "right", "grow", "shrink") else True]
            assert all(others), (c.tags, dx, dy)
        assert _nearest_colour(first, m0) == objects[0].split("-")[0]
        if motion == "recolour":
            assert _nearest_colour(last, m1) != objects[0].split("-")[0]
            assert abs(dx) < 1e-9 and abs(dy) < 1e-9
        checked.add(motion)
    assert checked == set(MOTIONS)  # every motion was seen and checked


def test_bad_settings_are_one_clear_error():
    with pytest.raises(ConfigError, match="split"):
        generate("training", 1)
    with pytest.raises(ConfigError, match="data.size"):
        generate("train", 1, size=8)
    with pytest.raises(ConfigError, match="min_frames"):
        generate("train", 1, min_frames=20, max_frames=12)
    with pytest.raises(ConfigError, match="unknown"):
        tag_vector(["purple-circle"])
    assert tag_vector(["red-circle", "left"]).sum() == 2
