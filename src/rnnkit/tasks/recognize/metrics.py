"""Recognition metrics: character and word error rate, sequence accuracy.

CER = (substitutions + deletions + insertions) / reference characters, summed over the corpus
(not averaged per item), the definition jiwer uses; WER the same over whitespace-separated words.
A text without spaces (digit strings, single words) is one word. Tested equal to jiwer.
"""

from __future__ import annotations

from collections.abc import Sequence


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (unit costs) between two sequences, one row at a time."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        row = [i]
        for j, h in enumerate(hyp, 1):
            row.append(min(prev[j] + 1,  # deletion of r
                           row[j - 1] + 1,  # insertion of h
                           prev[j - 1] + (r != h)))  # substitution (or match)
        prev = row
    return prev[-1]


def error_rates(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, float]:
    """{'cer', 'wer', 'seq_acc'} of hypotheses against references (same length lists)."""
    if len(refs) != len(hyps):
        raise ValueError(f"error_rates: {len(refs)} references but {len(hyps)} hypotheses")
    if not refs:
        raise ValueError("error_rates: nothing to score (no references)")
    chars = sum(edit_distance(r, h) for r, h in zip(refs, hyps, strict=True))
    words = sum(edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps, strict=True))
    n_chars = max(sum(len(r) for r in refs), 1)
    n_words = max(sum(len(r.split()) for r in refs), 1)
    exact = sum(r == h for r, h in zip(refs, hyps, strict=True))
    return {"cer": chars / n_chars, "wer": words / n_words, "seq_acc": exact / len(refs)}
