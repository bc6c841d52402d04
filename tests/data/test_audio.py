"""WAV reading at 8/16/24 kHz, mono and stereo, 8-32 bit; resampling; log-mel; bad files."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from rnnkit.data.audio import log_mel, mel_filters, read_wav, resample
from rnnkit.errors import DataError


def write_wav(path, samples: np.ndarray, rate: int, width: int = 2) -> None:
    """samples (n,) or (n, channels) in [-1, 1) as integer PCM of `width` bytes."""
    x = samples if samples.ndim == 2 else samples[:, None]
    scale = float(1 << (8 * width - 1))
    ints = np.clip(np.round(x * scale), -scale, scale - 1).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    else:
        raw = b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints.ravel())
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)


def tone(rate: int, seconds: float = 0.5, hz: float = 440.0) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("channels", [1, 2])
def test_a_tone_reads_back_at_16_khz_from_any_rate_and_channel_count(tmp_path, rate, channels):
    x = tone(rate)
    stereo = np.column_stack([x, x]) if channels == 2 else x
    write_wav(tmp_path / "a.wav", stereo, rate)
    got = read_wav(tmp_path / "a.wav")
    want = tone(16000)
    assert len(got) == len(want)
    np.testing.assert_allclose(got[400:-400], want[400:-400], atol=2e-3)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_every_integer_sample_width(tmp_path, width):
    x = tone(16000, 0.1)
    write_wav(tmp_path / "a.wav", x, 16000, width)
    np.testing.assert_allclose(read_wav(tmp_path / "a.wav"), x, atol=1.0 / (1 << (8 * width - 2)))


def test_stereo_channels_are_averaged(tmp_path):
    x = tone(16000, 0.1)
    write_wav(tmp_path / "a.wav", np.column_stack([x, np.zeros_like(x)]), 16000)
    np.testing.assert_allclose(read_wav(tmp_path / "a.wav"), x / 2, atol=1e-4)


def test_downsampling_removes_what_lies_above_the_new_nyquist_frequency():
    rate = 24000
    high = 0.5 * np.sin(2 * np.pi * 10_000 * np.arange(rate) / rate)  # above 8 kHz
    assert np.abs(resample(high, rate, 16000)).max() < 1e-6


@pytest.mark.parametrize("content, message", [
    (b"RIFF\x00\x00\x00\x00text", "not a readable PCM WAV"),
    (b"hello, I am a text file", "not a readable PCM WAV"),
    (b"", "not a readable PCM WAV"),
])
def test_a_file_that_is_not_a_wav_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_wav(path)


def test_an_empty_wav_is_one_clear_error(tmp_path):
    write_wav(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(DataError, match="no samples"):
        read_wav(tmp_path / "empty.wav")
    with pytest.raises(DataError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_log_mel_frames_and_filters():
    feats = log_mel(tone(16000, 1.0))
    assert feats.shape == (1 + (16000 - 512) // 160, 40) and feats.dtype == np.float32
    band = feats.mean(0).argmax()  # 440 Hz falls in a low band
    filters = mel_filters(512, 16000, 40).numpy()
    assert filters[int(round(440 / 16000 * 512)), band] > 0
    assert np.allclose(filters.max(0), filters.max(0).clip(0, 1))
    assert log_mel(np.zeros(10)).shape == (1, 40)  # shorter than a window: one frame
