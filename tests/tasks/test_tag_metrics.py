"""Scores of per-base tags, checked on hand-made cases."""

from __future__ import annotations

import numpy as np

from rnnkit.tasks.tag.metrics import match_segments, segments, tag_report

CLASSES = ["noncoding", "plus", "minus"]


def test_segments_are_maximal_runs_of_a_coding_tag():
    tags = np.array([0, 1, 1, 0, 2, 2, 2, 1, 0])
    assert segments(tags) == [(1, 3, 1), (4, 7, 2), (7, 8, 1)]
    assert segments(np.zeros(4, dtype=int)) == [] and segments(np.array([], dtype=int)) == []


def test_segment_match_needs_the_same_tag_and_half_the_union():
    true = [(0, 10, 1), (20, 30, 2)]
    assert match_segments(true, [(0, 9, 1)]) == 1  # IoU 0.9
    assert match_segments(true, [(0, 4, 1)]) == 0  # IoU 0.4
    assert match_segments(true, [(20, 30, 1)]) == 0  # other strand
    assert match_segments(true, [(0, 10, 1), (1, 10, 1)]) == 1  # each annotated segment once


def test_tag_report_on_a_hand_case():
    true = [np.array([0, 0, 1, 1, 1, 1, 0, 2, 2, 0])]
    pred = [np.array([0, 1, 1, 1, 1, 0, 0, 1, 1, 0])]
    r = tag_report(true, pred, CLASSES)
    assert r["accuracy"] == 0.6
    # coding on either strand: true 6 bases, predicted 6, both 5
    assert abs(r["coding_f1"] - 10 / 12) < 1e-12
    # segments: true (2,6,+), (7,9,-); predicted (1,5,+) IoU 3/5, (7,9,+) wrong strand
    assert r["segments"] == {"annotated": 2, "predicted": 2, "matched": 1}
    assert r["segment_f1"] == 0.5 and r["segment_f1_exact"] == 0.0
    assert r["per_tag_f1"]["minus"] == 0.0 and abs(r["per_tag_f1"]["plus"] - 6 / 10) < 1e-12


def test_perfect_tags_score_one():
    true = [np.array([0, 1, 1, 0, 2]), np.array([2, 2, 0])]
    r = tag_report(true, true, CLASSES)
    assert r["accuracy"] == r["macro_f1"] == r["segment_f1"] == r["segment_f1_exact"] == 1.0
