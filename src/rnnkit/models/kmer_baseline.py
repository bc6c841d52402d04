"""The bag-of-k-mers baseline beside every DNA model: k-mer frequencies (k = 1..k_max,
rnnkit.data.kmers) -> standardised -> logistic regression (scikit-learn).

k_max and the inverse regularisation C are chosen on the validation part (the one the model
used), never on the test split; without a validation part, k_max = 4 and C = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.data.kmers import kmer_matrix
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
