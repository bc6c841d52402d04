"""`dates`: human-readable dates in many locales -> ISO 8601, a built-in translation data set.

Each pair is `"<locale>: <date as the locale writes it>"` -> `YYYY-MM-DD`, e.g.
    "de_AT: Freitag, 28. November 2031" -> "2031-11-28"
    "en: 11/28/31"                      -> "2031-11-28"
rendered by `babel` from the CLDR formats short, medium, long and full. The locale is part of the
source because a short date alone is ambiguous (11/12/31 is 12 November in en, 11 December in
en_GB). Dates run from 1950-01-01 to 2049-12-31, so a two-digit year has one reading.

Held out, so the test measures generalisation and not memory:
  - dates: 10% of the days in the range (drawn with the seed) never appear in training; half of
    them make the validation split, the other half the test splits;
  - locales: TEST_LOCALES (regional variants and two languages) appear only in `test_locales`.
Splits: train / valid / test (held-out dates, training locales) / test_locales (held-out dates,
held-out locales). The same seed and babel version give the same pairs on every machine; the
locales are pinned here, and the CLDR data is babel's (its version is in `describe()`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from rnnkit.errors import RnnkitError

TRAIN_LOCALES = (
    "en", "en_GB", "en_IN", "fr", "fr_BE", "de", "de_CH", "es", "es_AR", "pt", "it", "nl",
    "sv", "da", "nb", "fi", "pl", "cs", "sk", "sl", "hr", "sr", "bg", "ru", "uk", "be", "lt",
    "lv", "et", "hu", "ro", "el", "tr", "az", "kk", "uz", "ka", "hy", "he", "ar", "fa", "ur",
    "hi", "bn", "mr", "ta", "te", "th", "vi", "id", "ms", "fil", "zh", "zh_Hant", "ja", "ko",
    "sw", "af", "ca", "eu", "ga", "cy", "is", "sq", "mk",
)
TEST_LOCALES = (
    "en_AU", "en_CA", "fr_CA", "fr_CH", "de_AT", "es_MX", "es_CO", "pt_PT", "it_CH", "nl_BE",
    "sv_FI", "ru_UA", "sr_Latn", "gl", "nn",
)
FORMATS = ("short", "medium", "long", "full")
FIRST, LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)
HELD_OUT = 0.10  # of the days, for validation and test
SPLITS = ("train", "valid", "test", "test_locales")


def _babel():
    try:
        import babel
        from babel.dates import format_date
    except ImportError:
        raise RnnkitError("the dates data set needs babel: pip install babel "
                          "(or pip install 'rnnkit[data]')") from None
    return babel.__version__, format_date


def describe() -> str:
    version, _ = _babel()
    return (f"dates: babel {version} CLDR, {len(TRAIN_LOCALES)} training locales, "
            f"{len(TEST_LOCALES)} test-only locales, {FIRST}..{LAST}")


def split_days(seed: int) -> dict[str, np.ndarray]:
    """Day numbers (ordinals) of the training, validation and test dates."""
    days = np.arange(FIRST.toordinal(), LAST.toordinal() + 1)
    days = days[np.random.default_rng([seed, 0]).permutation(len(days))]
    held = int(len(days) * HELD_OUT)
    return {"train": np.sort(days[held:]), "valid": np.sort(days[: held // 2]),
            "test": np.sort(days[held // 2: held])}


def date_pairs(split: str, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` pairs of `split` (one of SPLITS), drawn with `seed`."""
    if split not in SPLITS:
        raise RnnkitError(f"dates: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    _, format_date = _babel()
    days = split_days(seed)["test" if split == "test_locales" else split]
    locales = TEST_LOCALES if split == "test_locales" else TRAIN_LOCALES
    rng = np.random.default_rng([seed, 1 + SPLITS.index(split)])
    day = rng.choice(days, n)
    loc = rng.integers(0, len(locales), n)
    fmt = rng.integers(0, len(FORMATS), n)
    pairs = []
    for d, k, f in zip(day.tolist(), loc.tolist(), fmt.tolist(), strict=True):
        date = dt.date.fromordinal(d)
        text = format_date(date, FORMATS[f], locale=locales[k])
        pairs.append((f"{locales[k]}: {text}", date.isoformat()))
    return pairs
