"""spoken-digits: espeak-ng utterances generated once into the cache, voices split three ways."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data import spoken_digits as sd
from rnnkit.errors import DataError


def test_voice_sets_share_no_variant():
    v = sd.split_voices()
    variants = {part: {voice.split("+")[1] for voice in voices} for part, voices in v.items()}
    assert not variants["train"] & variants["test"]
    assert not variants["train"] & variants["valid"]
    assert not variants["valid"] & variants["test"]


def test_items_are_generated_once_and_read_from_the_cache(tmp_path, monkeypatch):
    voices = sd.split_voices()["test"][:3]
    items = sd.spoken_digit_items(3, 5, voices, str(tmp_path))
    assert [len(t) for _, t in items] == [len(t) for _, t in items if 3 <= len(t) <= 7]
    assert all(x.shape[1] == 40 and x.shape[0] > 50 and t.isdigit() for x, t in items)
    folders = [p for p in (tmp_path / "spoken-digits").iterdir()]
    assert len(folders) == 1 and not folders[0].name.startswith(".partial")
    monkeypatch.setattr(sd, "espeak", lambda: pytest.fail("generated again"))
    again = sd.spoken_digit_items(3, 5, voices, str(tmp_path))
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(items, again, strict=True))


def test_a_missing_espeak_is_one_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="needs the espeak-ng program"):
        sd.spoken_digit_items(2, 0, ["en-us+m1"], str(tmp_path / "cache"))
    assert not (tmp_path / "cache" / "spoken-digits").exists() or \
        not any((tmp_path / "cache" / "spoken-digits").iterdir())


def test_a_failing_voice_leaves_no_half_written_set(tmp_path):
    with pytest.raises(DataError, match="espeak-ng failed for voice 'nosuchvoice'"):
        sd.spoken_digit_items(2, 0, ["nosuchvoice"], str(tmp_path))
    assert list((tmp_path / "spoken-digits").iterdir()) == []
