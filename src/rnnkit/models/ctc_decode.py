"""Decoding CTC outputs: best path (greedy) and prefix beam search, with optional language-model
fusion. Written here: no CTC decoder package is maintained for torch 2.13.

Both take one item's log-probabilities `(T, C)` (real frames only) and return label indices
without blanks. Greedy takes the best class per frame, merges repeats and drops blanks: the
labelling of the single most probable path. Prefix beam search (Graves 2012 ch. 7; Hannun et al.
2014) keeps, per candidate prefix, the log-probability of the frames so far ending in a blank
(p_b) and in its last label (p_nb); a label equal to the prefix's last one extends it only from
p_b (else it merges). With a beam wide enough to keep every prefix it is exact: it returns the
labelling with the highest total probability over all its paths (tested against brute force).

Fusion (shallow): a prefix is ranked by
    log p_ctc(prefix) + lm_weight * log p_lm(prefix) + insertion_bonus * len(prefix)
where `lm(prefix) -> (C,) log-probabilities of the next label` (blank's entry ignored).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

NEG_INF = -math.inf


def _lse(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def greedy_decode(log_probs, blank: int = 0) -> list[int]:
    """Labels of the best path of `(T, C)` log-probabilities: argmax, merge repeats, no blanks."""
    best = np.asarray(log_probs).argmax(-1)
    out, prev = [], None
    for k in best.tolist():
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return out


def beam_search(log_probs, beam: int = 8, blank: int = 0, prune: float = -10.0,
                lm: Callable[[tuple[int, ...]], Sequence[float]] | None = None,
                lm_weight: float = 0.0, insertion_bonus: float = 0.0,
                n_best: int = 1) -> list[tuple[list[int], float]]:
    """The `n_best` (labels, score) of a prefix beam search over `(T, C)` log-probabilities,
    best first. Frame by frame, only labels with log-probability >= `prune` extend a prefix
    (the frame's best always does). Score: the CTC log-probability of the labels (plus the
    fusion terms when `lm` is given)."""
    if beam < 1:
        raise ValueError(f"beam: expected an integer >= 1, got {beam}")
    lp = np.asarray(log_probs, dtype=np.float64)
    fused = lm is not None and (lm_weight != 0.0 or insertion_bonus != 0.0)
    lm_cache: dict[tuple[int, ...], np.ndarray] = {}

    def lm_step(prefix: tuple[int, ...], k: int) -> float:
        if prefix not in lm_cache:
            lm_cache[prefix] = np.asarray(lm(prefix), dtype=np.float64)
        return lm_weight * float(lm_cache[prefix][k]) + insertion_bonus

    # prefix -> [p_b, p_nb, fusion score of the prefix]
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF, 0.0]}
    for frame in lp:
        labels = [k for k in np.flatnonzero(frame >= min(prune, frame.max())).tolist()
                  if k != blank]
        nxt: dict[tuple[int, ...], list[float]] = {}

        for prefix, (p_b, p_nb, fusion) in beams.items():
            total = _lse(p_b, p_nb)
            here = nxt.setdefault(prefix, [NEG_INF, NEG_INF, fusion])
            here[0] = _lse(here[0], total + frame[blank])  # a blank: the prefix stays
            for k in labels:
                p = float(frame[k])
                if prefix and prefix[-1] == k:
                    here[1] = _lse(here[1], p_nb + p)  # the last label again: merged
                    source = p_b  # a new k after a repeat needs a blank between
                else:
                    source = total
                longer = prefix + (k,)
                ext = nxt.get(longer)
                if ext is None:
                    bonus = lm_step(prefix, k) if fused else 0.0
                    ext = nxt[longer] = [NEG_INF, NEG_INF, fusion + bonus]
                ext[1] = _lse(ext[1], source + p)
        ranked = sorted(nxt.items(), key=lambda kv: _lse(kv[1][0], kv[1][1]) + kv[1][2],
                        reverse=True)
        beams = dict(ranked[:beam])
    ranked = sorted(((list(p), _lse(v[0], v[1]) + v[2]) for p, v in beams.items()),
                    key=lambda pv: pv[1], reverse=True)
    return ranked[:n_best]


def decode_batch(log_probs, lengths, beam: int = 0, blank: int = 0, **beam_args) -> list:
    """Labels per item of a batch `(B, T, C)` with `lengths (B,)`: greedy when beam <= 1."""
    lp = np.asarray(log_probs.detach().cpu() if hasattr(log_probs, "detach") else log_probs)
    out = []
    for b, n in enumerate(np.asarray(lengths).tolist()):
        if beam <= 1:
            out.append(greedy_decode(lp[b, :n], blank))
        else:
            out.append(beam_search(lp[b, :n], beam=beam, blank=blank, **beam_args)[0][0])
    return out
