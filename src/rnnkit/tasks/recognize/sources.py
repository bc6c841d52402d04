"""Where a recognition run's items come from: a named data set or the user's own files.

Each source gives (kind, alphabet, train, valid, test): kind is what a new input file is turned
into features by ("frames" for the synthetic toy, "speech" for WAV -> log-mel, "strokes" for pen
trajectories); items are (features (T, F) float32, text).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import ConfigError

NAMES = ("ctc-toy", "handwriting", "spoken-digits")


@dataclass
class Source:
    kind: str
    alphabet: str
    train: list
    valid: list
    test: list
    info: dict


def _toy(d) -> Source:
    from rnnkit.data.ctc_toy import ALPHABET, toy_items

    return Source("frames", ALPHABET, toy_items(d.n_train, d.seed),
                  toy_items(d.n_valid, d.seed + 1), toy_items(d.n_test, d.seed + 2), {})


def load_source(d) -> Source:
    """The items of data section `d` (the task's DataConfig)."""
    if d.path:
        from rnnkit.tasks.recognize.own_data import load_own

        return load_own(d)
    loaders = {"ctc-toy": _toy, "handwriting": _handwriting, "spoken-digits": _speech}
    if d.name not in loaders:
        raise ConfigError(f"data.name: expected one of {', '.join(NAMES)} (or data.path), got "
                          f"{d.name!r}")
    return loaders[d.name](d)


def _handwriting(d) -> Source:
    from rnnkit.data.handwriting import ALPHABET, handwriting_items

    train_fonts = [f for f in d.fonts.split(",") if f]
    for key in ("valid_font", "test_font"):
        if getattr(d, key) in train_fonts:
            raise ConfigError(f"data.{key}: {getattr(d, key)!r} is also in data.fonts; it "
                              "must be a font the training set never saw")
    return Source("strokes", ALPHABET,
                  handwriting_items(d.n_train, d.seed, train_fonts),
                  handwriting_items(d.n_valid, d.seed + 1, [d.valid_font]),
                  handwriting_items(d.n_test, d.seed + 2, [d.test_font]),
                  {"fonts": train_fonts, "valid_font": d.valid_font, "test_font": d.test_font})


def _speech(d) -> Source:
    from rnnkit.data.spoken_digits import ALPHABET, split_voices, spoken_digit_items

    voices = split_voices(d.seed)  # three disjoint sets of voices
    return Source("speech", ALPHABET,
                  spoken_digit_items(d.n_train, d.seed, voices["train"], d.cache_dir),
                  spoken_digit_items(d.n_valid, d.seed + 1, voices["valid"], d.cache_dir),
                  spoken_digit_items(d.n_test, d.seed + 2, voices["test"], d.cache_dir),
                  {"voices": voices})


def as_float32(items) -> list:
    return [(np.asarray(x, np.float32), t) for x, t in items]
