"""The bag-of-k-mers baselines beside the DNA models (scikit-learn logistic regression on
standardised k-mer frequencies, rnnkit.data.kmers).

- `fit_kmer_baseline`: one label per sequence from the k-mer frequencies (k = 1..k_max) of the
  whole sequence; k_max and the inverse regularisation C are chosen on the validation part (the
  one the model used), never on the test split; without a validation part, k_max = 4, C = 1.
- `fit_window_baseline`: one tag per base from the k-mer frequencies of a window around it; the
  window's width is chosen on the validation stretches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.data.kmers import kmer_matrix, window_profiles
from rnnkit.errors import DataError

K_MAX = (2, 3, 4, 5)
C_VALUES = (0.01, 0.1, 1.0)


def _sklearn():
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise DataError("the k-mer baseline needs scikit-learn: pip install scikit-learn (or "
                        "pip install 'rnnkit[data]')") from None
    return LogisticRegression, make_pipeline, StandardScaler


@dataclass
class KmerBaseline:
    k_max: int
    C: float
    model: object

    def predict(self, sequences) -> np.ndarray:
        return self.model.predict(kmer_matrix(sequences, self.k_max))


def _fit(xs, ys, k_max: int, C: float):
    LogisticRegression, make_pipeline, StandardScaler = _sklearn()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    model.fit(kmer_matrix(xs, k_max), ys)
    return model


def fit_kmer_baseline(train_x, train_y, valid_x=(), valid_y=()) -> KmerBaseline:
    """The baseline fitted on the training part, its settings picked by validation accuracy."""
    if len(valid_x) == 0:
        return KmerBaseline(4, 1.0, _fit(train_x, train_y, 4, 1.0))
    valid_y = np.asarray(valid_y)
    best = None
    for k_max in K_MAX:
        for C in C_VALUES:
            model = _fit(train_x, train_y, k_max, C)
            acc = float(np.mean(model.predict(kmer_matrix(valid_x, k_max)) == valid_y))
            if best is None or acc > best[0]:
                best = (acc, KmerBaseline(k_max, C, model))
    return best[1]


@dataclass
class WindowBaseline:
    """Per-base tags from the k-mer frequencies of the `half` bases on either side of each base
    (rnnkit.data.kmers.window_profiles) -> logistic regression."""

    k_max: int
    half: int
    model: object

    def predict(self, sequence: str) -> np.ndarray:
        return self.model.predict(window_profiles(sequence, self.k_max, self.half))


def fit_window_baseline(train, valid, k_max: int = 3, halves=(25, 50, 100),
                        every: int = 7) -> WindowBaseline:
    """Fitted on every `every`-th base of the training stretches [(sequence, tags)], the window
    half-width picked by per-base macro-F1 on the validation stretches."""
    LogisticRegression, make_pipeline, StandardScaler = _sklearn()
    best = None
    for half in halves:
        x = np.concatenate([window_profiles(s, k_max, half)[::every] for s, _ in train])
        y = np.concatenate([np.asarray(t)[::every] for _, t in train])
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(x, y)
        base = WindowBaseline(k_max, half, model)
        score = _macro_f1(np.concatenate([np.asarray(t) for _, t in valid]),
                          np.concatenate([base.predict(s) for s, _ in valid]))
        if best is None or score > best[0]:
            best = (score, base)
    return best[1]


def _macro_f1(true: np.ndarray, pred: np.ndarray) -> float:
    scores = []
    for c in np.union1d(true, pred):
        tp = np.sum((true == c) & (pred == c))
        denom = np.sum(true == c) + np.sum(pred == c)
        scores.append(2 * tp / denom)
    return float(np.mean(scores))
