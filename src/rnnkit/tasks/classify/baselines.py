"""Non-recurrent baselines that `rnnkit evaluate` puts beside a classify run's numbers.

Series (fitted on the whole training split, as the UCR/UEA archive does, and on the data as
shipped: no scaling, the archive's univariate series are z-normalised already):

- 1-NN Euclidean: the training series nearest in squared Euclidean distance. Series of unequal
  length are first resampled (linear interpolation) to the longest training length.
- 1-NN DTW, full window (no warping constraint, the archive's "DTW (w=100)" column), with the
  squared Euclidean cost between steps summed over channels for multivariate series (the
  dependent DTW_D of the UEA archive). Distances come from `dtaidistance` (C code); each test
  series visits the training series nearest-first in Euclidean distance and abandons a DTW
  computation as soon as it exceeds the best so far, which changes the time, not the result
  (ties go to the Euclidean-nearer series).

Text: TF-IDF (word 1-2 grams + character 2-5 grams) with logistic regression (scikit-learn).

Each baseline returns predicted class ids (ints, in `classes`' order) for the test inputs.
"""

from __future__ import annotations

import numpy as np

from rnnkit.errors import DataError
from rnnkit.tasks._metrics import classification_report

ED, DTW, TFIDF = "1-NN Euclidean", "1-NN DTW", "TF-IDF + logistic regression"


def _resample(x: np.ndarray, length: int) -> np.ndarray:
    """(T, C) -> (length, C) by linear interpolation in time."""
    if len(x) == length:
        return x
    src = np.linspace(0.0, 1.0, len(x))
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, x[:, c]) for c in range(x.shape[1])], axis=1)


def _stack(xs: list, length: int) -> np.ndarray:
    """(N, length * C) float64, every series resampled to `length` steps."""
    return np.stack([_resample(np.asarray(x, np.float64), length).ravel() for x in xs])


def _sq_dists(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """(N_test, N_train) squared Euclidean distances, in blocks to bound the memory."""
    out = np.empty((len(test), len(train)))
    tn = (train ** 2).sum(1)
    for s in range(0, len(test), 256):
        q = test[s:s + 256]
        out[s:s + 256] = (q ** 2).sum(1)[:, None] + tn[None] - 2.0 * q @ train.T
    return np.maximum(out, 0.0)


def euclidean_distances(train_x: list, test_x: list) -> np.ndarray:
    """(N_test, N_train) squared Euclidean distances after resampling to a common length."""
    length = max(len(x) for x in train_x)
    return _sq_dists(_stack(train_x, length), _stack(test_x, length))


def nn1_euclidean(train_x: list, train_y, test_x: list) -> np.ndarray:
    """The label of each test series' nearest training series (1-NN, Euclidean)."""
    return np.asarray(train_y)[euclidean_distances(train_x, test_x).argmin(1)]


def _dtw_fn():
    try:
        from dtaidistance import dtw, dtw_ndim
    except ImportError:
        raise DataError("the 1-NN DTW baseline needs dtaidistance: pip install "
                        "'rnnkit[data]'") from None
    return dtw, dtw_ndim


def dtw_distance(a: np.ndarray, b: np.ndarray, max_dist: float = np.inf) -> float:
    """Full-window DTW between (T1, C) and (T2, C): the square root of the least sum of squared
    step differences along a warping path (inf once it exceeds `max_dist`)."""
    dtw, dtw_ndim = _dtw_fn()
    limit = None if not np.isfinite(max_dist) else float(max_dist)
    if a.shape[1] == 1:
        return dtw.distance_fast(np.ascontiguousarray(a[:, 0], np.double),
                                 np.ascontiguousarray(b[:, 0], np.double), max_dist=limit,
                                 use_pruning=False)
    return dtw_ndim.distance_fast(np.ascontiguousarray(a, np.double),
                                  np.ascontiguousarray(b, np.double), max_dist=limit)


def nn1_dtw(train_x: list, train_y, test_x: list) -> np.ndarray:
    """The label of each test series' nearest training series under full-window DTW."""
    train = [np.asarray(x, np.float64) for x in train_x]
    order = euclidean_distances(train_x, test_x).argsort(1)  # nearest first: early abandoning
    nearest = np.empty(len(test_x), dtype=np.int64)
    for i, x in enumerate(test_x):
        x = np.asarray(x, np.float64)
        best, arg = np.inf, int(order[i, 0])
        for j in order[i]:
            d = dtw_distance(x, train[j], best)
            if d < best:
                best, arg = d, int(j)
        nearest[i] = arg
    return np.asarray(train_y)[nearest]


def tfidf_logreg(train_x: list, train_y, test_x: list, seed: int = 0) -> np.ndarray:
    """TF-IDF of word 1-2 grams and character 2-5 grams -> logistic regression (scikit-learn)."""
    try:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise DataError("the TF-IDF baseline needs scikit-learn: pip install "
                        "'rnnkit[data]'") from None
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True)
    train = hstack([words.fit_transform(train_x), chars.fit_transform(train_x)]).tocsr()
    test = hstack([words.transform(test_x), chars.transform(test_x)]).tocsr()
    model = LogisticRegression(C=4.0, max_iter=2000, random_state=seed)
    model.fit(train, np.asarray(train_y))
    return model.predict(test)


def baseline_report(kind: str, classes: list, train_x: list, train_y: list, test_x: list,
                    test_y: list) -> dict:
    """{baseline name: {"accuracy", "macro_f1"}} for a series or text set; labels are class
    names (strings) as the data sets give them."""
    index = {str(c): i for i, c in enumerate(classes)}
    ids_train = np.array([index[str(y)] for y in train_y])
    ids_test = np.array([index[str(y)] for y in test_y])
    methods = ({TFIDF: tfidf_logreg} if kind == "text"
               else {ED: nn1_euclidean, DTW: nn1_dtw})
    out = {}
    for name, method in methods.items():
        report = classification_report(ids_test, method(train_x, ids_train, test_x), classes)
        out[name] = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
    return out
