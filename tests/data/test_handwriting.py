"""Hershey-font handwriting: frames reproduce the glyphs, randomness is seeded, errors are clear."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.handwriting import _font, handwriting_items, random_text, render
from rnnkit.errors import DataError


def test_frames_retrace_the_glyph_strokes_without_randomness():
    frames = render("l", "futural")
    strokes, left, _ = _font("futural")["l"]
    assert frames.shape[1] == 3 and frames.dtype == np.float32
    assert int(frames[:, 2].sum()) == len(strokes)  # one pen lift per stroke
    xy = np.cumsum(frames[:, :2].astype(np.float64), 0) + strokes[0][0] - (left, 0)
    ends = np.flatnonzero(np.r_[frames[1:, 2], 1.0])  # the last point of each stroke
    for k, stroke in enumerate(strokes):
        np.testing.assert_allclose(xy[ends[k]], stroke[-1] - (left, 0), atol=1e-5)
    steps = np.linalg.norm(frames[frames[:, 2] == 0, :2], axis=1)
    assert steps.max() <= 0.12 + 1e-6  # resampled at a fixed step along the stroke


def test_items_are_reproducible_and_vary():
    a = handwriting_items(6, 3, ["cursive", "timesr"])
    b = handwriting_items(6, 3, ["cursive", "timesr"])
    for (xa, ta), (xb, tb) in zip(a, b, strict=True):
        assert ta == tb and np.array_equal(xa, xb)
    c = handwriting_items(6, 4, ["cursive", "timesr"])
    assert [t for _, t in a] != [t for _, t in c]
    rng = np.random.default_rng(0)
    texts = [random_text(rng) for _ in range(200)]
    assert any(t.isdigit() for t in texts) and any(t.isalpha() for t in texts)
    assert all(2 <= len(t) <= 10 for t in texts)


def test_random_style_changes_the_drawing_not_the_pen_lifts():
    plain = render("ab", "scripts")
    styled = render("ab", "scripts", np.random.default_rng(1))
    assert np.array_equal(plain[:, 2].sum(), styled[:, 2].sum())
    assert not np.allclose(np.cumsum(plain[:, :2], 0)[-1], np.cumsum(styled[:, :2], 0)[-1])


@pytest.mark.parametrize("text, font, message", [
    ("hello!", "cursive", "cannot write 'hello!'"),
    ("Hello", "cursive", "cannot write"),
    ("hello", "comic", "unknown Hershey font 'comic'"),
])
def test_bad_text_or_font_is_one_clear_error(text, font, message):
    with pytest.raises(DataError, match=message):
        render(text, font)


def test_wobble_distorts_the_drawing_and_keeps_the_pen_lifts():
    plain = render("hello", "cursive", np.random.default_rng(1))
    wobbly = render("hello", "cursive", np.random.default_rng(1), wobble=1.0)
    assert plain[:, 2].sum() == wobbly[:, 2].sum()
    assert not np.allclose(np.cumsum(plain[:, :2], 0)[-1], np.cumsum(wobbly[:, :2], 0)[-1])
    items = handwriting_items(2, 5, ["cursive"], wobble=1.0)
    assert all(x.shape[1] == 3 for x, _ in items)


def test_fonts_that_draw_the_same_glyphs_are_found():
    from rnnkit.data.handwriting import same_glyphs

    assert same_glyphs("futural", ["cursive", "rowmans"]) == "rowmans"
    assert same_glyphs("timesrb", ["rowmant"]) == "rowmant"
    assert same_glyphs("scriptc", ["scripts", "cursive", "timesr"]) == ""


def test_every_stroke_is_resampled_on_its_own():
    from rnnkit.data.handwriting import _resample

    line = np.array([[0.0, 0.0], [1.0, 0.0]])
    dot = np.array([[5.0, 5.0]])
    bend = np.array([[0.0, 1.0], [0.0, 1.3], [0.3, 1.3]])
    xy, pen = _resample([line, dot, bend], 0.25)
    np.testing.assert_array_equal(pen, [1, 0, 0, 0, 0, 1, 1, 0, 0, 0])
    np.testing.assert_allclose(xy[:5, 0], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(xy[5], [5, 5])
    np.testing.assert_allclose(xy[6:], [[0, 1], [0, 1.2], [0.1, 1.3], [0.3, 1.3]])


def test_items_come_in_chunks_that_do_not_depend_on_the_worker_count(monkeypatch):
    import rnnkit.data.handwriting as hw

    monkeypatch.setattr(hw, "CHUNK", 5)
    one = hw.handwriting_items(12, 4, ["cursive", "futural"], pen_noise=1.0, workers=1)
    three = hw.handwriting_items(12, 4, ["cursive", "futural"], pen_noise=1.0, workers=3)
    assert len(one) == 12 and [t for _, t in one] == [t for _, t in three]
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(one, three, strict=True))
    first = hw.handwriting_items(5, 4, ["cursive", "futural"], pen_noise=1.0)
    assert [t for _, t in first] == [t for _, t in one[:5]]  # chunk 0 is the plain stream
    assert [t for _, t in one[5:10]] != [t for _, t in one[:5]]
