"""CER / WER / sequence accuracy against jiwer (the test extra)."""

from __future__ import annotations

import random

import jiwer
import pytest

from rnnkit.tasks.recognize.metrics import edit_distance, error_rates


def test_edit_distance_small_cases():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("abc", "") == 3
    assert edit_distance("abc", "abc") == 0


def test_error_rates_equal_jiwer_on_random_texts():
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "714", "2209"]
    refs = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 5))) for _ in range(60)]
    hyps = []
    for r in refs:
        chars = list(r)
        for _ in range(rng.randint(0, 3)):
            op, i = rng.random(), rng.randrange(len(chars) + 1)
            if op < 0.4 and chars:
                chars.pop(min(i, len(chars) - 1))
            elif op < 0.7:
                chars.insert(i, rng.choice("abcxyz0"))
            elif chars:
                chars[min(i, len(chars) - 1)] = rng.choice("qrs1")
        hyps.append("".join(chars).strip() or "x")
    got = error_rates(refs, hyps)
    assert got["cer"] == pytest.approx(jiwer.cer(refs, hyps))
    assert got["wer"] == pytest.approx(jiwer.wer(refs, hyps))
    assert got["seq_acc"] == sum(r == h for r, h in zip(refs, hyps, strict=True)) / len(refs)


def test_mismatched_lists_are_an_error():
    with pytest.raises(ValueError, match="2 references but 1"):
        error_rates(["a", "b"], ["a"])
