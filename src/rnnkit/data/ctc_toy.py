"""`ctc-toy`: a tiny synthetic recognition task, the CTC engine's smoke test.

Each item spells a random string of 1-5 letters from a small alphabet. Frame features are one
channel per letter plus a "silence" channel: a letter is 1-3 frames of its channel at 1 with
Gaussian noise (sd 0.15: a frame is misread with probability ~1e-6); letters are separated by
0-2 frames of silence (at least one between two equal letters, so repeats stay distinguishable).
Nothing tells the model where a letter starts: it must learn the alignment, which is what CTC
is for. A small recogniser reaches 0 errors.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "abcd"


def toy_item(rng: np.random.Generator, alphabet: str = ALPHABET, noise: float = 0.15,
             max_letters: int = 5) -> tuple[np.ndarray, str]:
    """(features (T, len(alphabet) + 1) float32, text)."""
    n = int(rng.integers(1, max_letters + 1))
    text = "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), n))
    width = len(alphabet) + 1
    frames: list[np.ndarray] = []

    def silence(k: int) -> None:
        for _ in range(k):
            f = np.zeros(width)
            f[-1] = 1.0
            frames.append(f)

    silence(int(rng.integers(0, 3)))
    for i, ch in enumerate(text):
        if i and ch == text[i - 1]:
            silence(int(rng.integers(1, 3)))
        elif i:
            silence(int(rng.integers(0, 3)))
        for _ in range(int(rng.integers(1, 4))):
            f = np.zeros(width)
            f[alphabet.index(ch)] = 1.0
            frames.append(f)
    silence(int(rng.integers(0, 3)))
    x = np.stack(frames) + rng.normal(0.0, noise, (len(frames), width))
    return x.astype(np.float32), text


def toy_items(n: int, seed: int, alphabet: str = ALPHABET) -> list[tuple[np.ndarray, str]]:
    rng = np.random.default_rng(seed)
    return [toy_item(rng, alphabet) for _ in range(n)]
