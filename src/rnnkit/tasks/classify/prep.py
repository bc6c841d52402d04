"""What the classify task fits on its training data and a checkpoint must keep: the classes, the
series scaler or the text vocabulary, the regression target's scale. `Prep` turns raw inputs
(float arrays (T, C) or strings) and labels into model-ready arrays, the same at training and at
prediction time (text with `subword_buckets`: a (T, 1 + G) array, word ids then each word's
hashed character n-gram rows, rnnkit.data.subwords), and round-trips through JSON
(`to_dict` / `from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.data.dna import clean, encode
from rnnkit.data.scaling import ChannelScaler
from rnnkit.data.subwords import check_buckets, subword_matrix
from rnnkit.data.text_vocab import TextVocab
from rnnkit.errors import DataError


@dataclass
class Prep:
    kind: str  # "series" | "text" | "dna"
    classes: list[str] | None  # None: regression
    input_size: int = 0  # series: channels
    scaler: ChannelScaler | None = None
    vocab: TextVocab | None = None
    max_len: int = 0
    subword_buckets: int = 0  # text: hashed character n-gram rows per word; 0 = off
    target_mean: float = 0.0
    target_std: float = 1.0

    @property
    def regression(self) -> bool:
        return self.classes is None

    def encode_x(self, raw, where: str = "input", i: int = 0) -> np.ndarray:
        if self.kind == "dna":  # base ids (T,), rnnkit.data.dna
            if not isinstance(raw, str) or not raw:
                raise DataError(f"{where}: item {i + 1}: expected a DNA sequence, got {raw!r:.40}")
            return encode(clean(raw, f"{where}: item {i + 1}").sequence)
        if self.kind == "text":
            if not isinstance(raw, str):
                raise DataError(f"{where}: item {i + 1}: expected text, got {type(raw).__name__}")
            if not self.subword_buckets:
                return self.vocab.encode(raw, self.max_len)
            ids, pieces = self.vocab.encode_pieces(raw, self.max_len)
            return subword_matrix(ids, pieces, self.subword_buckets)
        x = np.asarray(raw, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.input_size or x.shape[0] < 1:
            raise DataError(f"{where}: item {i + 1}: expected a series of shape (T, "
                            f"{self.input_size}), got {x.shape}")
        return self.scaler.transform(x, f"{where}: item {i + 1}")

    def encode_y(self, label, where: str = "labels", i: int = 0):
        if self.regression:
            try:
                return (float(label) - self.target_mean) / self.target_std
            except (TypeError, ValueError):
                raise DataError(f"{where}: item {i + 1}: expected a number, got "
                                f"{label!r}") from None
        try:
            return self.classes.index(str(label))
        except ValueError:
            raise DataError(f"{where}: item {i + 1}: label {label!r} is not one of the classes "
                            f"({', '.join(self.classes)})") from None

    def encode_items(self, xs, ys, where: str) -> list:
        """[(x array, y)] for labelled data; `ys=None` (prediction) gives dummy targets."""
        if ys is not None and len(ys) != len(xs):
            raise DataError(f"{where}: {len(xs)} inputs but {len(ys)} labels")
        dummy = 0.0 if self.regression else 0
        return [(self.encode_x(x, where, i),
                 dummy if ys is None else self.encode_y(ys[i], where, i))
                for i, x in enumerate(xs)]

    def target_values(self, z) -> np.ndarray:
        """Standardised regression outputs back in the target's units."""
        return np.asarray(z, dtype=np.float64) * self.target_std + self.target_mean

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "classes": self.classes, "input_size": self.input_size,
            "scaler": self.scaler.to_dict() if self.scaler else None,
            "tokenizer": self.vocab.to_dict() if self.vocab else None,
            "max_len": self.max_len, "subword_buckets": self.subword_buckets,
            "target": None if self.classes is not None else
            {"mean": self.target_mean, "std": self.target_std},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Prep:
        try:
            target = d.get("target") or {}
            return cls(
                kind=d["kind"], classes=d["classes"], input_size=int(d.get("input_size", 0)),
                scaler=ChannelScaler.from_dict(d["scaler"]) if d.get("scaler") else None,
                vocab=TextVocab.from_dict(d["tokenizer"]) if d.get("tokenizer") else None,
                max_len=int(d.get("max_len", 0)),
                subword_buckets=check_buckets(d.get("subword_buckets", 0),
                                              "run metadata: subword_buckets"),
                target_mean=float(target.get("mean", 0.0)),
                target_std=float(target.get("std", 1.0)))
        except (KeyError, TypeError) as err:
            raise DataError(f"run metadata: missing or bad classify field ({err})") from None


def fit_prep(dcfg, kind: str, classes, train_x: list, train_y: list) -> Prep:
    """Fit on the training part only. `dcfg` is the task's DataConfig."""
    if not train_x:
        raise DataError("classify: the training split is empty")
    if classes is not None and len(set(map(str, train_y))) < 2:
        only = ", ".join(repr(str(y)) for y in sorted(set(map(str, train_y))))
        raise DataError(f"classify: the training data has only one class ({only}) of "
                        f"{len(classes)} declared; a classifier needs examples of at least two")
    prep = Prep(kind=kind, classes=list(classes) if classes is not None else None,
                max_len=dcfg.max_len)
    if kind == "text":
        prep.vocab = TextVocab.build(train_x, dcfg.tokenizer, dcfg.min_freq, dcfg.max_vocab,
                                     url_token=dcfg.url_token)
        prep.subword_buckets = dcfg.subword_buckets
    elif kind == "dna":
        pass  # base ids need nothing fitted
    else:
        prep.input_size = int(np.asarray(train_x[0]).shape[1])
        prep.scaler = (ChannelScaler.fit(train_x) if dcfg.normalize
                       else ChannelScaler.identity(prep.input_size))
    if prep.regression:
        y = np.asarray(train_y, dtype=np.float64)
        prep.target_mean = float(y.mean())
        prep.target_std = float(y.std()) if y.std() > 1e-12 else 1.0
    return prep
