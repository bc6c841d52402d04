"""Clips a user gives `rnnkit predict`: .npy arrays and directories of PNG frames, converted
(grey, RGBA, another size) or refused in one line (0 frames, wrong shape, NaN, bad range)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rnnkit.data.video_files import as_clip, read_clips, read_frames_dir
from rnnkit.errors import DataError


def test_uint8_rgb_is_scaled_and_kept():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    out = as_clip(clip, size=32)
    assert out.dtype == np.float32 and out.shape == (5, 32, 32, 3)
    np.testing.assert_allclose(out, clip / 255.0, atol=1e-7)


def test_grey_and_rgba_become_rgb():
    grey = np.linspace(0, 1, 4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8)
    out = as_clip(grey)
    assert out.shape == (4, 8, 8, 3)
    np.testing.assert_array_equal(out[..., 0], grey)
    np.testing.assert_array_equal(out[..., 2], grey)
    np.testing.assert_array_equal(as_clip(grey[..., None]), out)
    rgba = np.zeros((2, 8, 8, 4), np.float32)
    rgba[..., 0], rgba[..., 3] = 1.0, 0.5
    np.testing.assert_allclose(as_clip(rgba)[..., 0], 0.5)  # laid over black


def test_another_size_is_resized():
    clip = np.full((3, 48, 64, 3), 200, np.uint8)
    out = as_clip(clip, size=32)
    assert out.shape == (3, 32, 32, 3)
    np.testing.assert_allclose(out, 200 / 255, atol=1e-6)


@pytest.mark.parametrize("array, match", [
    (np.zeros((0, 32, 32, 3), np.uint8), "0 frames"),
    (np.zeros((32, 32), np.uint8), "expected a clip of shape"),
    (np.zeros((4, 32, 32, 2), np.uint8), "expected a clip of shape"),
    (np.zeros((4, 32, 32, 3, 1, 1), np.uint8), "expected a clip of shape"),
    (np.full((4, 8, 8, 3), np.nan, np.float32), "NaN"),
    (np.full((4, 8, 8, 3), 2.0, np.float32), r"in \[0, 1\]"),
    (np.zeros((4, 8, 8, 3), bool), "dtype bool"),
    (np.zeros((4, 0, 8, 3), np.uint8), "0 x 8"),
])
def test_bad_clips_are_one_clear_error(array, match):
    with pytest.raises(DataError, match=match) as err:
        as_clip(array, "clip.npy", size=32)
    assert "\n" not in str(err.value) and "clip.npy" in str(err.value)


def test_frames_dir_in_name_order_any_mode(tmp_path):
    d = tmp_path / "frames"
    d.mkdir()
    levels = [10, 60, 110, 160]
    for k, v in enumerate(levels):  # written out of order, mixed modes and sizes
        img = Image.new("L", (32, 32), v) if k % 2 else Image.new("RGBA", (40, 40), (v, v, v,
                                                                                     255))
        img.save(d / f"frame{3 - k:02d}.png")
    (d / "notes.txt").write_text("not a frame")
    clip = read_frames_dir(d, size=32)
    assert clip.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(clip[:, 5, 5, 1] * 255, levels[::-1], atol=1)
    [same] = read_clips(d, size=32)
    np.testing.assert_array_equal(same, clip)


def test_bad_files_are_one_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no .png frames"):
        read_clips(empty, 32)
    (empty / "0.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read this PNG"):
        read_clips(empty, 32)
    with pytest.raises(DataError, match="expected a .npy clip"):
        read_clips(tmp_path / "clip.mp4", 32)
    with pytest.raises(DataError, match="no such file"):
        read_clips(tmp_path / "missing.npy", 32)
    np.save(tmp_path / "none.npy", np.zeros((0, 12, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match="0 clips"):
        read_clips(tmp_path / "none.npy", 32)
    np.save(tmp_path / "two.npy", np.zeros((2, 12, 32, 32, 3), np.uint8))
    assert [c.shape for c in read_clips(tmp_path / "two.npy", 32)] == [(12, 32, 32, 3)] * 2
