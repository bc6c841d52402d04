"""rnnkit.data.pen_normalize: slant, baseline and core height, overlapping strokes, arc-length
resampling and the turning angle; what each leaves unchanged, and the steps' parsing."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.handwriting import render
from rnnkit.data.pen_normalize import (
    STEPS,
    _points,
    core_lines,
    drop_overlaps,
    estimate_slant,
    parse_steps,
    pen_features,
    resample,
    turning_angle,
)
from rnnkit.errors import ConfigError


def frames_of(strokes) -> np.ndarray:
    """(dx, dy, pen_up) frames of a list of (n, 2) point arrays."""
    xy = np.concatenate(strokes)
    start = np.concatenate([np.r_[1.0, np.zeros(len(s) - 1)] for s in strokes])
    return np.column_stack([np.diff(xy, axis=0, prepend=xy[:1]), start]).astype(np.float32)


def sheared(frames: np.ndarray, shear: float, scale: float = 1.0) -> np.ndarray:
    out = frames.astype(np.float64).copy()
    out[:, 0] = (out[:, 0] + shear * out[:, 1]) * scale
    out[:, 1] *= scale
    return out.astype(np.float32)


def test_steps_parse_in_their_own_order_and_bad_ones_are_refused():
    assert parse_steps("none") == ()
    assert parse_steps("turn, slant") == ("slant", "turn")
    assert parse_steps(",".join(STEPS)) == STEPS
    for bad in ("", "slant,tilt", "none,slant", 3):
        with pytest.raises(ConfigError, match="data.pen_norm: expected 'none' or"):
            parse_steps(bad)


@pytest.mark.parametrize("font", ["futural", "timesr", "scripts"])
@pytest.mark.parametrize("shear", [-0.35, 0.3])
def test_the_slant_estimate_follows_a_shear(font, shear):
    xy, start = _points(render("handwriting", font))
    upright = estimate_slant(xy, start)
    xy[:, 0] += shear * xy[:, 1]
    assert estimate_slant(xy, start) == pytest.approx(upright + shear, abs=0.06)


def test_core_lines_are_the_median_turning_points():
    # a zig-zag between y = 0 and y = 1 with an ascender to 2.5: baseline 0, core line 1
    zig = np.array([[0, 0], [0.5, 1], [1, 0], [1.5, 1], [2, 0], [2.5, 2.5], [3, 0], [3.5, 1],
                    [4, 0]], np.float64)
    xy, start = _points(frames_of([zig + (0, 7)]))
    base, core = core_lines(xy, start)
    assert (base, core) == pytest.approx((xy[0, 1], xy[0, 1] + 1))
    line = np.array([[0.0, 0.0], [1.0, 0.0]])  # no turning point: its lowest and highest
    assert core_lines(*_points(frames_of([line]))) == pytest.approx((0.0, 1e-9), abs=1e-12)


def test_features_do_not_depend_on_size_position_or_sampling_density():
    frames = render("minimum", "cursive", np.random.default_rng(2))
    steps = ("height", "resample", "turn")
    ref = pen_features(frames, steps)
    bigger = frames.copy()
    bigger[:, :2] *= 37.0  # another digitiser unit
    bigger[0, :2] = (500.0, -20.0)  # the first point: where the pen was on the tablet
    np.testing.assert_allclose(pen_features(bigger, steps), ref, atol=2e-4)
    xy, start = _points(frames)  # every pen-down segment cut in two: more points, same lines
    bounds = np.r_[np.flatnonzero(start), len(xy)]
    strokes = []
    for i, j in zip(bounds[:-1], bounds[1:], strict=True):
        dense = np.empty((2 * (j - i) - 1, 2))
        dense[0::2], dense[1::2] = xy[i:j], (xy[i + 1 : j] + xy[i : j - 1]) / 2
        strokes.append(dense)
    denser = frames_of(strokes)
    got = pen_features(denser, steps)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=2e-4)
    assert len(pen_features(denser, ("height",))) > len(ref)  # unresampled


def test_slant_correction_undoes_a_shear_up_to_the_estimate():
    frames = render("minimum", "futural")
    steps = ("slant", "height", "resample")
    a, b = pen_features(frames, steps), pen_features(sheared(frames, 0.3, 2.0), steps)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=1e-3)  # min: every stroke near-vertical both times


def test_features_with_no_steps_are_the_frames_and_the_centred_height():
    frames = np.array([[0, 0, 1], [1, 2, 0], [1, -1, 0], [0, 2, 1]], np.float32)
    out = pen_features(frames)
    np.testing.assert_array_equal(out[:, :3], frames)
    np.testing.assert_allclose(out[:, 3], np.array([0, 2, 1, 3]) - 1.5)
    full = pen_features(render("ab", "scripts"), STEPS)
    assert full.shape[1] == 6 and np.isfinite(full).all()


def test_resampling_spaces_points_equally_and_keeps_ends_and_dots():
    line = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0]])
    dot = np.array([[3.0, 3.0]])
    xy, start = resample(np.concatenate([line, dot]), np.array([1, 0, 0, 1], bool), 0.25)
    np.testing.assert_allclose(xy[:, 0], [0, 0.25, 0.5, 0.75, 1.0, 3.0])
    np.testing.assert_array_equal(start, [1, 0, 0, 0, 0, 1])


def test_a_stroke_drawn_over_an_earlier_one_is_left_out():
    stem = np.column_stack([np.zeros(11), np.linspace(0, 1, 11)])
    again = stem[::-1] + (0.05, 0.0)  # the stem drawn a second time, back up beside it
    bar = np.array([[-0.5, 0.5], [0.5, 0.5]])  # crosses the stem: mostly elsewhere
    dot = np.array([[0.05, 0.5]])
    xy, start = _points(frames_of([stem, again, bar, dot]))
    kept, flags = drop_overlaps(xy, start, 0.1)
    assert int(flags.sum()) == 3  # stem, bar, dot
    np.testing.assert_allclose(kept[:11], xy[:11])
    np.testing.assert_allclose(kept[11:], xy[22:])
    kept, flags = drop_overlaps(xy, start, 0.01)  # a narrower radius: the second pass stays
    assert int(flags.sum()) == 4


def test_overlap_makes_a_duplex_font_draw_like_its_simplex_twin():
    """futuram draws futural's letters with each line twice; without the second passes the
    two have nearly the same strokes."""
    def strokes(font, steps):
        return int(pen_features(render("handwriting", font), steps)[:, 2].sum())

    plain = ("height", "resample")
    assert strokes("futuram", plain) > 1.5 * strokes("futural", plain)
    with_overlap = ("height", "overlap", "resample")
    assert strokes("futuram", with_overlap) <= 1.2 * strokes("futural", with_overlap)


def test_turning_angle_of_a_square():
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
    frames = frames_of([square])
    turn = turning_angle(frames)
    np.testing.assert_allclose(turn, [[1, 0], [1, 0], [0, 1], [0, 1]], atol=1e-12)
    np.testing.assert_allclose(turning_angle(frames * (1, -1, 1))[2:], [[0, -1], [0, -1]],
                               atol=1e-12)
