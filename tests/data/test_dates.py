"""The `dates` data set: seeded, held-out dates and locales, correct ISO targets."""

from __future__ import annotations

import datetime as dt

import pytest

from rnnkit.data import dates
from rnnkit.errors import RnnkitError


def test_the_same_seed_gives_the_same_pairs_and_another_seed_others():
    assert dates.date_pairs("train", 50, seed=1) == dates.date_pairs("train", 50, seed=1)
    assert dates.date_pairs("train", 50, seed=1) != dates.date_pairs("train", 50, seed=2)


def test_held_out_dates_and_locales_never_appear_in_training():
    days = dates.split_days(0)
    train, valid, test = (set(days[k].tolist()) for k in ("train", "valid", "test"))
    assert not train & valid and not train & test and not valid & test
    assert len(train | valid | test) == dates.LAST.toordinal() - dates.FIRST.toordinal() + 1
    assert not set(dates.TRAIN_LOCALES) & set(dates.TEST_LOCALES)
    train_pairs = dates.date_pairs("train", 3000)
    held = dates.date_pairs("test", 300) + dates.date_pairs("test_locales", 300)
    train_targets = {t for _, t in train_pairs}
    assert not train_targets & {t for _, t in held}
    assert {s.split(":")[0] for s, _ in dates.date_pairs("test_locales", 300)} <= set(
        dates.TEST_LOCALES)
    assert {s.split(":")[0] for s, _ in train_pairs} == set(dates.TRAIN_LOCALES)


def test_targets_are_the_iso_dates_the_sources_write():
    from babel.dates import parse_date

    for src, tgt in dates.date_pairs("valid", 40, seed=5):
        locale, text = src.split(": ", 1)
        day = dt.date.fromisoformat(tgt)
        assert dates.FIRST <= day <= dates.LAST
        if locale == "en" and "/" in text:  # M/d/yy
            month, d, yy = map(int, text.split("/"))
            assert (month, d, yy) == (day.month, day.day, day.year % 100)
        if locale == "de" and text.count(".") == 2 and len(text) == 10:  # dd.MM.yyyy
            assert parse_date(text, locale="de") == day


def test_unknown_split_is_one_clear_error():
    with pytest.raises(RnnkitError, match="unknown split 'dev'"):
        dates.date_pairs("dev", 3)


def test_describe_names_the_babel_version():
    assert "babel" in dates.describe() and "CLDR" in dates.describe()
