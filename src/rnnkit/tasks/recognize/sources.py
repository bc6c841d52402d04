"""Where a recognition run's items come from: a named data set or the user's own files.

Each source gives (kind, alphabet, train, valid, test): kind is what a new input file is turned
into features by ("frames" for the synthetic toy, "speech" for WAV -> log-mel, "strokes" for pen
trajectories); items are (features (T, F) float32, text).
"""

from __future__ import annotations

from rnnkit.errors import ConfigError
from rnnkit.tasks.recognize.items import Source

NAMES = ("ctc-toy", "handwriting", "spoken-digits")
ALL = ("train", "valid", "test")


def _toy(d, parts) -> Source:
    from rnnkit.data.ctc_toy import ALPHABET, toy_items

    def make(part, n, seed):
        return toy_items(n, seed) if part in parts else []

    return Source("frames", ALPHABET, make("train", d.n_train, d.seed),
                  make("valid", d.n_valid, d.seed + 1), make("test", d.n_test, d.seed + 2), {})


def load_source(d, parts=ALL) -> Source:
    """The items of data section `d` (the task's DataConfig); the parts not in `parts` are
    left empty (not generated) where the source allows (your own data is always split whole)."""
    if d.path:
        from rnnkit.tasks.recognize.own_data import load_own

        return load_own(d)
    loaders = {"ctc-toy": _toy, "handwriting": _handwriting, "spoken-digits": _speech}
    if d.name not in loaders:
        raise ConfigError(f"data.name: expected one of {', '.join(NAMES)} (or data.path), got "
                          f"{d.name!r}")
    return loaders[d.name](d, parts)


def _handwriting(d, parts) -> Source:
    from rnnkit.data.handwriting import ALPHABET, handwriting_items, same_glyphs

    train_fonts, valid_fonts = _names(d.fonts), _names(d.valid_font)
    for key, held in (("valid_font", valid_fonts), ("test_font", [d.test_font])):
        for font in held:
            twin = same_glyphs(font, train_fonts)
            if twin:
                raise ConfigError(f"data.{key}: {font!r} draws the same glyphs as training font "
                                  f"{twin!r} (data.fonts); it must be a font the training set "
                                  "never saw")

    def make(part, n, seed, fonts):
        if part not in parts:
            return []
        if part != "train":  # distorted training items only
            return handwriting_items(n, seed, fonts)
        return handwriting_items(n, seed, fonts, d.wobble, d.pen_noise)

    return Source("strokes", ALPHABET,
                  make("train", d.n_train, d.seed, train_fonts),
                  make("valid", d.n_valid, d.seed + 1, valid_fonts),
                  make("test", d.n_test, d.seed + 2, [d.test_font]),
                  {"fonts": train_fonts, "valid_font": d.valid_font, "test_font": d.test_font})


def _names(fonts: str) -> list[str]:
    return [f.strip() for f in fonts.split(",") if f.strip()]


def _speech(d, parts) -> Source:
    from rnnkit.data.spoken_digits import ALPHABET, split_voices, spoken_digit_items

    voices = split_voices()  # three sets of voices, disjoint in their variants

    def make(part, n, seed):
        return spoken_digit_items(n, seed, voices[part], d.cache_dir) if part in parts else []

    return Source("speech", ALPHABET, make("train", d.n_train, d.seed),
                  make("valid", d.n_valid, d.seed + 1), make("test", d.n_test, d.seed + 2),
                  {"voices": voices})
