"""Reading video clips a user hands to `rnnkit predict` for a video run, and checking arrays.

Accepted:
  - a `.npy` file: one clip (T, H, W, 3) RGB, (T, H, W, 4) RGBA, (T, H, W, 1) or (T, H, W) grey,
    or several clips of one length (N, T, H, W, C); uint8 0..255, or floats in [0, 1];
  - a directory of PNG frames, read in name order (other files are left alone); any PNG mode.

Grey becomes RGB (the value in each channel); RGBA is laid over black (colour x alpha). Frames
of another height or width are resized to the run's frame size (bilinear). A clip with 0 frames,
another number of dimensions or channels, a NaN or infinity, or floats outside [0, 1] is one
DataError naming the file and what to give instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.errors import DataError

CLIP_SHAPES = "(frames, height, width, 3) RGB, (frames, height, width, 4) RGBA or (frames, " \
              "height, width[, 1]) grey"


def _to_float(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype.kind not in "fiu" or array.dtype == np.bool_:
        raise DataError(f"{name}: expected uint8 (0..255) or float (0..1) pixels, got dtype "
                        f"{array.dtype}")
    out = array.astype(np.float32)
    if not np.isfinite(out).all():
        raise DataError(f"{name}: the clip holds NaN or infinite pixels; expected finite values")
    if out.size and (out.min() < 0.0 or out.max() > 1.0):
        raise DataError(f"{name}: float pixels must lie in [0, 1], got {out.min():.4g}.."
                        f"{out.max():.4g} (give uint8 for 0..255)")
    return out


def _resize(clip: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    frames = [Image.fromarray(np.rint(f * 255).astype(np.uint8), "RGB").resize(
        (size, size), Image.BILINEAR) for f in clip]
    return np.stack([np.asarray(f, dtype=np.float32) / 255.0 for f in frames])


def as_clip(array, name: str = "clip", size: int | None = None) -> np.ndarray:
    """One clip as float32 (T, size, size, 3) in [0, 1] (see the module docstring)."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise DataError(f"{name}: expected a clip of shape {CLIP_SHAPES}, got "
                        f"{tuple(array.shape)}")
    if array.shape[0] == 0:
        raise DataError(f"{name}: the clip has 0 frames; expected at least 1")
    if array.shape[1] == 0 or array.shape[2] == 0:
        raise DataError(f"{name}: frames of {array.shape[1]} x {array.shape[2]} pixels; expected "
                        "at least 1 x 1")
    clip = _to_float(array, name)
    if clip.shape[-1] == 1:
        clip = np.repeat(clip, 3, -1)
    elif clip.shape[-1] == 4:
        clip = clip[..., :3] * clip[..., 3:]
    if size is not None and clip.shape[1:3] != (size, size):
        clip = _resize(clip, size)
    return np.ascontiguousarray(clip, dtype=np.float32)


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"{path}: cannot read this PNG ({err})") from None
    return rgba


def read_frames_dir(path, size: int | None = None) -> np.ndarray:
    """The PNGs in directory `path`, in name order, as one clip."""
    path = Path(path)
    pngs = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not pngs:
        raise DataError(f"{path}: no .png frames in this directory; expected frames such as "
                        "0001.png, 0002.png, ... (read in name order)")
    frames = [_read_png(p) for p in pngs]
    if size is None and len({f.shape for f in frames}) > 1:
        size = frames[0].shape[0]
    if size is not None:
        frames = [as_clip(f[None], str(p), size)[0] for f, p in zip(frames, pngs, strict=True)]
    return as_clip(np.stack(frames), str(path), size)


def read_clips(path, size: int | None = None) -> list[np.ndarray]:
    """The clips in `path`: a .npy file (one clip, or N of them) or a directory of PNG frames."""
    path = Path(path)
    if path.is_dir():
        return [read_frames_dir(path, size)]
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path}: expected a .npy clip or a directory of PNG frames")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: cannot read this .npy file ({err})") from None
    if array.ndim == 5:
        if array.shape[0] == 0:
            raise DataError(f"{path}: holds 0 clips; expected at least 1")
        return [as_clip(c, f"{path} clip {i + 1}", size) for i, c in enumerate(array)]
    return [as_clip(array, str(path), size)]
