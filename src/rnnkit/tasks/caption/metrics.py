"""Scores of captions against their references: BLEU-4 (sacrebleu's corpus BLEU, its standard
settings, as a fraction), attribute precision / recall / F1 of the facts parsed back from the
captions (rnnkit.data.caption_grammar; the stricter thing F1 counts a thing only with its size,
colour and shape all right), and exact match."""

from __future__ import annotations

from rnnkit.data.caption_grammar import attribute_scores, thing_scores
from rnnkit.tasks.translate.metrics import scores


def caption_scores(hypotheses: list[str], references: list[str]) -> dict:
    """{"bleu4", "attr_precision", "attr_recall", "attr_f1", "thing_f1", "exact"} as fractions
    in [0, 1], with sacrebleu's BLEU signature."""
    s = scores(hypotheses, references)  # BLEU and exact in percent
    a = attribute_scores(hypotheses, references)
    return {"bleu4": s["bleu"] / 100.0, "attr_precision": a["precision"],
            "attr_recall": a["recall"], "attr_f1": a["f1"],
            "thing_f1": thing_scores(hypotheses, references)["f1"], "exact": s["exact"] / 100.0,
            "bleu_signature": s["bleu_signature"]}
