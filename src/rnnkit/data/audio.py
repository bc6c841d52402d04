"""Audio: reading WAV files, resampling, log-mel features (torch.stft; torchaudio has no build
for torch 2.13).

read_wav: integer PCM WAV (8-, 16-, 24- or 32-bit; mono or several channels, averaged to one),
any rate, resampled to `rate` by band-limited (FFT) resampling. Anything else is one DataError
naming the file: not a WAV, compressed or float samples, no samples at all.

log_mel: 25 ms Hann windows every 10 ms, |STFT|^2 -> N triangular mel filters (HTK mel scale,
20 Hz to rate/2) -> log(. + 1e-6); (frames, N) float32.
"""

from __future__ import annotations

import wave

import numpy as np
import torch

from rnnkit.data.files import check_file
from rnnkit.errors import DataError

RATE = 16000
N_MELS = 40


def _pcm_to_float(raw: bytes, width: int) -> np.ndarray:
    """Samples in [-1, 1) from little-endian integer PCM of `width` bytes (8-bit is unsigned)."""
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float32) / float(1 << 23)
    return np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)


def _fast_length(n: int, rate_in: int, rate_out: int) -> int:
    """The smallest n' >= n (a multiple of rate_in / gcd, so that n' has an exact length at the
    new rate) whose lengths at both rates have only the prime factors 2, 3, 5, 7: an FFT of a
    length with a large prime factor is many times slower. n itself when there is none close."""
    def smooth(m: int) -> bool:
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        return m == 1

    step = rate_in // int(np.gcd(rate_in, rate_out))
    first = -(-n // step) * step
    for k in range(2000):
        m = first + k * step
        if smooth(m) and smooth(m * rate_out // rate_in):
            return m
    return n


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling through the FFT: the spectrum cut (or zero-padded) to the new
    Nyquist frequency, so nothing above it folds back when the rate goes down. The signal is
    padded with zeros to a fast FFT length first, and the padding cut off after."""
    if rate_in == rate_out or len(x) == 0:
        return x.astype(np.float32)
    n_in = _fast_length(len(x), rate_in, rate_out)
    n_pad = max(int(round(n_in * rate_out / rate_in)), 1)
    spec = np.fft.rfft(x.astype(np.float64), n_in)
    keep = np.zeros(n_pad // 2 + 1, dtype=complex)
    m = min(len(spec), len(keep))
    keep[:m] = spec[:m]
    y = np.fft.irfft(keep, n_pad) * (n_pad / n_in)
    return y[: max(int(round(len(x) * rate_out / rate_in)), 1)].astype(np.float32)


def read_wav(path, rate: int = RATE) -> np.ndarray:
    """Mono float32 samples of an integer-PCM WAV file at `rate` Hz."""
    path = check_file(path)
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate_in = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as err:
        raise DataError(f"{path}: not a readable PCM WAV file ({err}); convert it, e.g. "
                        "`ffmpeg -i IN -acodec pcm_s16le OUT.wav`") from None
    if width not in (1, 2, 3, 4) or channels < 1 or rate_in < 1:
        raise DataError(f"{path}: unsupported WAV ({width}-byte samples, {channels} channels, "
                        f"{rate_in} Hz); expected integer PCM")
    x = _pcm_to_float(raw[: len(raw) - len(raw) % (width * channels)], width)
    if len(x) == 0:
        raise DataError(f"{path}: the WAV file has no samples (0 seconds of audio)")
    x = x.reshape(-1, channels).mean(1)  # channels averaged to mono
    return resample(x, rate_in, rate)


def mel_filters(n_fft: int, rate: int, n_mels: int, f_min: float = 20.0) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters, equally spaced on the HTK mel scale."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(f_min), mel(rate / 2), n_mels + 2))  # (n_mels + 2,)
    freqs = np.linspace(0.0, rate / 2, n_fft // 2 + 1)[:, None]
    rising = (freqs - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
    falling = (edges[None, 2:] - freqs) / (edges[2:] - edges[1:-1])
    return torch.from_numpy(np.maximum(0.0, np.minimum(rising, falling))).float()


def log_mel(samples: np.ndarray, rate: int = RATE, n_mels: int = N_MELS) -> np.ndarray:
    """(1 + (samples - n_fft) // hop, n_mels) float32 log-mel energies: 25 ms Hann windows
    (zero-padded to n_fft, the next power of two), 10 ms hop."""
    win, hop = int(0.025 * rate), int(0.010 * rate)
    n_fft = 1 << (win - 1).bit_length()
    x = torch.from_numpy(np.asarray(samples, np.float32))
    if len(x) < n_fft:  # shorter than one frame: one frame
        x = torch.nn.functional.pad(x, (0, n_fft - len(x)))
    spec = torch.stft(x, n_fft, hop_length=hop, win_length=win,
                      window=torch.hann_window(win), center=False, return_complex=True)
    power = spec.abs() ** 2  # (n_fft/2 + 1, frames)
    mel = power.T @ mel_filters(n_fft, rate, n_mels)
    return torch.log(mel + 1e-6).numpy().astype(np.float32)


def wav_features(path, rate: int = RATE) -> np.ndarray:
    return log_mel(read_wav(path, rate), rate)
