"""The classify baselines against a brute-force reference, the library and the UCR archive."""

import numpy as np
import pytest
from dtaidistance import dtw as dtai
from sklearn.neighbors import KNeighborsClassifier

from rnnkit.data.datasets import load_dataset
from rnnkit.tasks.classify.baselines import (
    DTW,
    ED,
    TFIDF,
    baseline_report,
    dtw_distance,
    euclidean_distances,
    nn1_dtw,
    nn1_euclidean,
)


def brute_dtw(a, b):
    """Full-window DTW, the textbook O(T1 T2) recursion in plain Python (float64)."""
    cost = np.full((len(a) + 1, len(b) + 1), np.inf)
    cost[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            step = float(((a[i - 1] - b[j - 1]) ** 2).sum())
            cost[i, j] = step + min(cost[i - 1, j], cost[i, j - 1], cost[i - 1, j - 1])
    return float(np.sqrt(cost[-1, -1]))


def random_series(rng, n, channels, lengths=(12, 12)):
    return [rng.normal(size=(int(rng.integers(lengths[0], lengths[1] + 1)), channels))
            for _ in range(n)]


@pytest.mark.parametrize("channels", [1, 3])
def test_dtw_distance_equals_brute_force_on_unequal_lengths(channels):
    rng = np.random.default_rng(channels)
    for a, b in zip(random_series(rng, 5, channels, (4, 15)),
                    random_series(rng, 5, channels, (4, 15)), strict=True):
        assert dtw_distance(a, b) == pytest.approx(brute_dtw(a, b), rel=1e-12)


def test_dtw_of_a_shifted_series_is_below_euclidean():
    t = np.linspace(0, 6, 60)
    a, b = np.sin(t)[:, None], np.sin(t - 0.5)[:, None]
    assert dtw_distance(a, b) < np.sqrt(((a - b) ** 2).sum()) / 2


def test_euclidean_1nn_equals_scikit_learn():
    rng = np.random.default_rng(0)
    train, test = random_series(rng, 30, 2, (10, 10)), random_series(rng, 20, 2, (10, 10))
    labels = rng.integers(0, 3, size=30)
    knn = KNeighborsClassifier(n_neighbors=1).fit(np.stack([x.ravel() for x in train]), labels)
    expected = knn.predict(np.stack([x.ravel() for x in test]))
    np.testing.assert_array_equal(nn1_euclidean(train, labels, test), expected)


def test_euclidean_resamples_unequal_lengths_to_the_longest_training_series():
    train = [np.arange(5.0)[:, None], np.zeros((3, 1))]
    test = [np.linspace(0, 4, 9)[:, None]]  # the first series, sampled twice as densely
    d = euclidean_distances(train, test)
    assert d[0, 0] == pytest.approx(0.0, abs=1e-12) and d[0, 1] > 1


@pytest.mark.parametrize("channels", [1, 2])
def test_dtw_1nn_equals_the_library_full_distance_matrix(channels):
    """Early abandoning changes the time only: the labels are those of dtaidistance's full
    matrix (no pruning) argmin, on variable-length series."""
    rng = np.random.default_rng(10 + channels)
    train, test = random_series(rng, 25, channels, (8, 20)), random_series(rng, 15, channels,
                                                                           (8, 20))
    labels = np.arange(25)  # every series its own class: the nearest one must be found
    if channels == 1:
        full = np.array([[dtai.distance(x[:, 0], t[:, 0]) for t in train] for x in test])
    else:
        full = np.array([[brute_dtw(x, t) for t in train] for x in test])
    np.testing.assert_array_equal(nn1_dtw(train, labels, test), full.argmin(1))


def test_gunpoint_matches_the_ucr_archive():
    """The archive's published test accuracies for GunPoint: ED 0.913, DTW (full) 0.907."""
    data = load_dataset("gunpoint")
    report = baseline_report("series", data.classes, data.train_x, data.train_y, data.test_x,
                             data.test_y)
    assert report[ED]["accuracy"] == pytest.approx(0.9133, abs=5e-4)
    assert report[DTW]["accuracy"] == pytest.approx(0.9067, abs=5e-4)


def test_japanese_vowels_multivariate_variable_length():
    """UEA's published DTW_D accuracy for JapaneseVowels is 0.949."""
    data = load_dataset("japanese-vowels")
    report = baseline_report("series", data.classes, data.train_x, data.train_y, data.test_x,
                             data.test_y)
    assert report[DTW]["accuracy"] == pytest.approx(0.9486, abs=5e-4)
    assert 0.5 < report[ED]["accuracy"] <= 1.0


def test_text_baseline_learns_a_separable_set():
    train = [f"good {i}" for i in range(20)] + [f"bad {i}" for i in range(20)]
    test = ["good day", "bad day", "a good one", "so bad"]
    report = baseline_report("text", ["neg", "pos"], train, ["pos"] * 20 + ["neg"] * 20, test,
                             ["pos", "neg", "pos", "neg"])
    assert report[TFIDF]["accuracy"] == 1.0
