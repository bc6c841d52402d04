"""The classify task itself: its typed config, the data cut into parts, the model, the loss
and the validation metrics (the package's __init__ says what the task does)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.config import section
from rnnkit.data.augment import augment_series
from rnnkit.data.batching import bucket_batches, class_weights, pad_batch, shard_batches
from rnnkit.data.datasets import (
    Dataset,
    load_dataset,
    load_files,
    stratified_folds,
    stratified_split,
)
from rnnkit.data.dna_sets import is_dna_file, is_dna_set, load_dna_files, load_dna_set
from rnnkit.data.fasta import is_fasta_name
from rnnkit.data.subwords import check_buckets
from rnnkit.errors import ConfigError, DataError
from rnnkit.functional.registry import CellName
from rnnkit.models.classifier import ClassifierConfig, build_classifier
from rnnkit.models.dna import DnaClassifier
from rnnkit.models.ensemble import Ensemble
from rnnkit.tasks._contract import StepOutput
from rnnkit.tasks._dna import DnaConfig, augment_strands
from rnnkit.tasks._metrics import classification_report
from rnnkit.tasks.classify.auto import auto_folds, ensemble_size, resolve_auto
from rnnkit.tasks.classify.folds import member_task, out_of_fold
from rnnkit.tasks.classify.prep import Prep, fit_prep


@dataclass
class DataConfig:
    name: str = "japanese-vowels"  # a name from list_datasets(), or a .ts / CSV file
    train_path: str = ""  # your own .ts or CSV file instead of `name`
    test_path: str = ""  # your own test file; "" = the set's own split, or a stratified one
    text_column: str = "text"  # CSV: the column holding the text
    label_column: str = "label"  # CSV: the column holding the label
    tokenizer: Literal["word", "char"] = "word"  # text: words or characters
    min_freq: int = 2  # text: rarer tokens become <unk>
    max_vocab: int = 20000  # text: keep the most frequent tokens only
    max_len: int = 0  # text: keep at most this many tokens (0 = all)
    normalize: bool = True  # series: per-channel standardisation fitted on train
    # series: z-normalise each series on its own and add its log scale as channels; auto = on
    # when the training series' scales are far apart
    series_norm: Literal["auto", "on", "off"] = "auto"
    test_fraction: float = 0.2  # for data without a test split of its own
    valid_fraction: float = 0.1  # validation share of the training split (no folds); 0 = test split
    seed: int = 0  # the stratified test / validation split (and the folds)
    # k-fold: ensemble member k validates on fold k of the training split (no valid share);
    # -1 = auto (small series sets), 0 = off
    folds: int = -1
    batch_size: int = 32  # sequences per batch (training: equal batches of at most this)
    bucket: bool = True  # group similar lengths into a batch (less padding)
    class_weights: bool = False  # weight the loss by inverse class frequency
    token_dropout: float = 0.0  # text: share of training tokens replaced by <unk> (regulariser)
    url_token: bool = False  # text: web addresses -> one token <url>, @mentions -> <user>
    subword_buckets: int = 0  # word tokens: + mean of hashed char 3-5-gram vectors; 0 = off
    jitter: float = -1.0  # series: training noise std (standardised units); -1 = auto, 0 = off
    scaling: float = -1.0  # series: training per-series factor ~ N(1, s^2); -1 = auto, 0 = off

    def __post_init__(self):
        def need(ok: bool, key: str, expected: str) -> None:
            if not ok:
                raise ConfigError(f"data.{key}: expected {expected}, got {getattr(self, key)!r}")

        need(0.0 < self.test_fraction < 1.0, "test_fraction", "a number in (0, 1)")
        need(0.0 <= self.valid_fraction < 1.0, "valid_fraction", "a number in [0, 1)")
        need(self.batch_size >= 1, "batch_size", "a positive integer")
        need(self.folds in (-1, 0) or self.folds >= 2, "folds", "-1 (auto), 0 (off) or >= 2")
        need(self.max_len >= 0, "max_len", "0 (no limit) or a positive integer")
        need(0.0 <= self.token_dropout < 1.0, "token_dropout", "a number in [0, 1)")
        need(self.jitter >= 0 or self.jitter == -1, "jitter", "-1 (auto), 0 (off) or more")
        need(self.scaling >= 0 or self.scaling == -1, "scaling", "-1 (auto), 0 (off) or more")
        need(bool(self.name or self.train_path), "name", "a dataset name or data.train_path")
        check_buckets(self.subword_buckets)
        need(not (self.subword_buckets and self.tokenizer != "word"), "subword_buckets",
             "0 with data.tokenizer=char (sub-words are pieces of words)")


@dataclass
class ModelConfig:
    cell: CellName = "lstm"  # the recurrent layer (rnnkit.functional.registry; rnn = rnn_tanh)
    hidden_size: int = 64  # units per direction and layer
    num_layers: int = 1  # stacked recurrent layers
    bidirectional: bool = False  # read each sequence both ways
    dropout: float = 0.0  # between layers and before the head
    recurrent_dropout: float = 0.0  # one mask per sequence, off in eval (where: the mode below)
    zoneout: float = 0.0  # zoneout on h (and c): each unit keeps its value w.p. this; eval: mean
    # where recurrent_dropout's mask acts: h entering the product, or the candidate (g, n)
    recurrent_dropout_mode: Literal["variational", "semeniuta"] = "variational"
    embed_dim: int = 64  # series: width of the per-step projection, 0 = none
    # the states -> one vector: last real state of each direction, mean / max over real
    # steps, or attention
    pooling: Literal["last", "mean", "max", "attention"] = "last"
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # rnnkit layer implementation
    conv_filters: int = -1  # series: FCN branch beside the RNN (F, 2F, F filters); -1 = auto
    downsample: int = 0  # series: average-pool the input over this many steps; 0 = auto


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    dna: DnaConfig = field(default_factory=DnaConfig)  # DNA data only (docs/genomes.md)

    def __post_init__(self):  # Config(**json_dict) rebuilds the nested sections
        self.data = section(DataConfig, self.data, "data")
        self.model = section(ModelConfig, self.model, "model")
        self.dna = section(DnaConfig, self.dna, "dna")


# Small datasets (UCR sets hold tens to hundreds of series): evaluate often, stop when the
# validation metrics no longer improve; train.ensemble auto (0): ClassifyTask.auto_ensemble.
DATA_KEY = "data.name"  # what `rnnkit train classify --data X` sets

TRAIN_DEFAULTS: dict = {"train.steps": 1500, "train.eval_every": 100, "train.early_stop": 10,
                        "train.ensemble": 0, "optim.lr": 2e-3}


def drop_tokens(x: torch.Tensor, p: float, rng: np.random.Generator) -> torch.Tensor:
    """Token ids (B, T) with each real token (not padding, id 0) replaced by `<unk>` (id 1) with
    probability p: word dropout, so the model cannot lean on a few memorised words."""
    hit = torch.from_numpy(rng.random(tuple(x.shape)) < p) & (x > 0)
    return torch.where(hit, torch.ones_like(x), x)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


class ClassifyTask:
    """The Task contract for classification. Built by `make_task` (with data) or
    `task_from_metadata` (no data: to predict with a trained run)."""

    name = "classify"
    item_unit = "seq"  # what StepOutput.n_items counts, for the progress line

    def __init__(self, cfg: Config, prep: Prep, split: dict, train=(), valid=(), folds=None):
        self.cfg, self.prep, self.split = cfg, prep, split
        self.train = list(train)  # [(x array, y)] encoded
        self.valid = list(valid)
        self.folds = folds  # k-fold (rnnkit.tasks.classify.folds): index arrays into train
        self.weights = None
        if cfg.data.class_weights and not prep.regression and self.train:
            self.weights = class_weights([y for _, y in self.train], len(prep.classes))

    def build_model(self) -> torch.nn.Module:
        m, p = self.cfg.model, self.prep
        dna = self.cfg.dna.model_config() if p.kind == "dna" else None
        head = ClassifierConfig(  # DNA: a series model over the embedded bases
            input_kind="tokens" if p.kind == "text" else "series",
            vocab_size=p.vocab.size if p.vocab else 0,
            input_size=dna.width if dna else p.model_inputs, subword_buckets=p.subword_buckets,
            embed_dim=0 if dna else m.embed_dim, cell=m.cell,
            hidden_size=m.hidden_size,
            num_layers=m.num_layers, bidirectional=m.bidirectional, dropout=m.dropout,
            recurrent_dropout=m.recurrent_dropout, zoneout=m.zoneout,
            recurrent_dropout_mode=m.recurrent_dropout_mode,
            pooling=m.pooling, impl=m.impl, n_outputs=len(p.classes) if p.classes else 1,
            regression=p.regression,
            conv_filters=0 if dna else max(m.conv_filters, 0),  # DNA: its own front (models/dna)
            downsample=1 if dna else max(m.downsample, 1))
        if dna:  # base ids: embedded by the DNA front, then the same head
            return DnaClassifier(dna, head)
        return build_classifier(head)

    def auto_ensemble(self) -> int:
        """Members for `train.ensemble = 0` (auto), from the training part alone: one per fold
        with data.folds, else rnnkit.tasks.classify.auto.ensemble_size (several for small
        series sets, else 1)."""
        if self.folds is not None:
            return len(self.folds)
        return ensemble_size(self.prep.kind, [len(a) for a, _ in self.train],
                             self.cfg.model.downsample)

    def member(self, k: int) -> ClassifyTask:
        """The task ensemble member k trains (with data.folds: all folds but k, validated on
        fold k; otherwise this task)."""
        return self if self.folds is None else member_task(self, k)

    def ensemble(self, models: list[torch.nn.Module]) -> torch.nn.Module:
        """Members built by build_model() as one model: mean class probabilities (regression:
        mean value); the engine's `train.ensemble` uses it, and so do evaluate/predict."""
        return Ensemble(models, regression=self.prep.regression)

    def collate(self, items) -> dict:
        if self.prep.subword_buckets:  # (T_i, 1 + G_i): pad the n-gram columns to the widest
            width = max(a.shape[1] for a, _ in items)
            items = [(np.pad(a, ((0, 0), (0, width - a.shape[1]))), y) for a, y in items]
        x, lengths = pad_batch([torch.from_numpy(a) for a, _ in items])
        if self.prep.subword_buckets:
            x = x.long()
        dtype = torch.float32 if self.prep.regression else torch.int64
        return {"x": x, "lengths": lengths, "y": torch.tensor([y for _, y in items], dtype=dtype)}

    def _batches(self, items, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1,
                 size: int = 0):
        """(item indices, batch) pairs of `size` (0: data.batch_size) items; bucketed by length
        when data.bucket is set."""
        lengths = [len(a) for a, _ in items]
        order = bucket_batches(lengths, size or self.cfg.data.batch_size, shuffle=shuffle,
                               seed=seed, bucket=self.cfg.data.bucket)
        for idx in shard_batches(order, rank, world_size):
            yield idx, self.collate([items[i] for i in idx])

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        if not self.train:
            raise DataError("classify: this task was built without training data")
        d = self.cfg.data
        seed = d.seed * 100_003 + epoch  # a fresh, reproducible order per epoch
        drop = d.token_dropout if self.prep.kind == "text" else 0.0
        # Equal batches of at most data.batch_size: 33 items are 17 + 16, not 32 + 1 (a batch of
        # one gives BatchNorm and the gradient a single, noisy item).
        size = math.ceil(len(self.train) / math.ceil(len(self.train) / d.batch_size))
        for idx, batch in self._batches(self.train, True, seed, rank, world_size, size):
            if self.prep.kind == "series" and not self.prep.regression and \
                    (d.jitter > 0 or d.scaling > 0):
                rng = np.random.default_rng((d.seed, epoch, int(idx[0]), 1))
                batch["x"] = augment_series(batch["x"], batch["lengths"], rng,
                                            max(d.jitter, 0.0), max(d.scaling, 0.0))
            if drop:  # the mask depends on (seed, epoch, batch) only: same on resume and any rank
                rng = np.random.default_rng((d.seed, epoch, int(idx[0])))
                if batch["x"].dim() == 3:  # sub-words: drop the word ids, keep the n-grams
                    batch["x"][..., 0] = drop_tokens(batch["x"][..., 0], drop, rng)
                else:
                    batch["x"] = drop_tokens(batch["x"], drop, rng)
            if self.prep.kind == "dna" and self.cfg.dna.strands == "augment":
                batch = augment_strands(batch, np.random.default_rng((d.seed, epoch, int(idx[0]))))
            yield batch

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.prep.regression:
            return F.mse_loss(out, y)
        weight = None if self.weights is None else self.weights.to(out.device)
        return F.cross_entropy(out, y, weight=weight)

    def step(self, model, batch: dict, state=None) -> StepOutput:
        dev = _device(model)
        y = batch["y"].to(dev)
        out = model(batch["x"].to(dev), batch["lengths"].to(dev))
        loss = self._loss(out, y)
        metrics = {}
        if not self.prep.regression:
            metrics["accuracy"] = (out.argmax(-1) == y).float().mean().item()
        return StepOutput(loss=loss, n_items=int(y.shape[0]), state=None, metrics=metrics)

    @torch.no_grad()
    def outputs(self, model, items) -> tuple[np.ndarray, float]:
        """(per-item outputs: class probabilities (N, K) or values (N,), mean loss)."""
        was_training = model.training
        model.eval()
        dev = _device(model)
        result, total = None, 0.0
        try:
            for idx, batch in self._batches(items, shuffle=False, seed=0):
                out = model(batch["x"].to(dev), batch["lengths"].to(dev))
                total += self._loss(out, batch["y"].to(dev)).item() * len(idx)
                out = (out if self.prep.regression else torch.softmax(out, -1)).cpu().numpy()
                if result is None:
                    result = np.empty((len(items), *out.shape[1:]), dtype=out.dtype)
                result[idx] = out  # batches are bucketed: put items back in their order
        finally:
            model.train(was_training)
        if result is None:
            raise DataError("classify: nothing to evaluate (no items)")
        return result, total / len(items)

    def score(self, model, items) -> dict:
        """loss plus accuracy, macro_f1, confusion_matrix (regression: rmse, mae)."""
        out, loss = self.outputs(model, items)
        return self.report(out, loss, np.array([t for _, t in items]))

    def report(self, out: np.ndarray, loss: float, y: np.ndarray) -> dict:
        """score() from the outputs (probabilities (N, K) or values (N,)) and the targets."""
        if self.prep.regression:
            pred, true = self.prep.target_values(out), self.prep.target_values(y)
            return {"loss": loss, "rmse": float(np.sqrt(np.mean((pred - true) ** 2))),
                    "mae": float(np.mean(np.abs(pred - true)))}
        return {"loss": loss, **classification_report(y, out.argmax(1), self.prep.classes)}

    def evaluate(self, model) -> dict[str, float]:
        """Validation metrics; with data.folds out of fold (rnnkit.tasks.classify.folds)."""
        report = out_of_fold(self, model) if self.folds is not None else \
            self.score(model, self.valid)
        return {k: v for k, v in report.items() if isinstance(v, float)}

    def metadata(self) -> dict:
        return {"task": self.name, **self.prep.to_dict(), "split": self.split}


def load_data(cfg: DataConfig) -> Dataset:
    """The data set `cfg` names (a bundled set or your own files), with its test split."""
    train_path = cfg.train_path or (cfg.name if _is_file_name(cfg.name) else "")
    if train_path and is_dna_file(train_path, cfg.text_column):
        return load_dna_files(train_path, cfg.test_path, cfg.label_column, cfg.test_fraction,
                              cfg.seed)
    if not train_path and is_dna_set(cfg.name):
        return load_dna_set(cfg.name, cfg.test_fraction, cfg.valid_fraction, cfg.seed)
    if train_path:
        return load_files(train_path, cfg.test_path, cfg.text_column, cfg.label_column,
                          cfg.test_fraction, cfg.seed)
    return load_dataset(cfg.name, cfg.test_fraction, cfg.seed)


def _is_file_name(name: str) -> bool:
    """data.name names a file (a .ts, CSV or FASTA file) rather than a bundled data set."""
    return name.lower().endswith((".ts", ".csv")) or is_fasta_name(name)


def make_task(cfg: Config) -> ClassifyTask:
    """Load the data, cut the validation share, fit the preprocessing on train only."""
    if not isinstance(cfg, Config):
        cfg = Config(**cfg)
    d = cfg.data
    data = load_data(d)
    split = {"test": data.split, "valid": {"fraction": d.valid_fraction, "seed": d.seed}}
    if d.folds < 0:  # auto, from the training split alone
        d.folds = auto_folds(data.kind, [len(x) for x in data.train_x], cfg.model.downsample)
    folds = None
    if d.folds > 0:
        if "valid_indices" in data.split:
            raise ConfigError(f"data.folds: expected 0 for data with a validation part of its "
                              f"own ({data.name}), got {d.folds}")
        strata = data.train_y if data.classes is not None else [0] * len(data.train_y)
        folds = stratified_folds(strata, d.folds, d.seed)
        split["valid"] = {"folds": d.folds, "seed": d.seed,
                          "fold_indices": [f.tolist() for f in folds]}
        kept, held = np.arange(len(data.train_y)), None
    elif "valid_indices" in data.split:  # the data's own validation part (DNA: by genome region)
        held = np.array(data.split["valid_indices"], dtype=np.int64)
        kept = np.setdiff1d(np.arange(len(data.train_y)), held)
        split["valid"]["indices"] = held.tolist()
        if held.size == 0:
            held = None
    elif d.valid_fraction > 0:
        strata = data.train_y if data.classes is not None else [0] * len(data.train_y)
        kept, held = stratified_split(strata, d.valid_fraction, d.seed)
        split["valid"]["indices"] = held.tolist()
    else:
        kept, held = np.arange(len(data.train_y)), None
    train_x = [data.train_x[i] for i in kept]
    train_y = [data.train_y[i] for i in kept]
    resolve_auto(cfg, data.kind, train_x)
    prep = fit_prep(d, data.kind, data.classes, train_x, train_y)
    train = prep.encode_items(train_x, train_y, "training data")
    if folds is not None:  # every member validates on its own fold of the training split
        valid = []
    elif held is None:
        valid = prep.encode_items(data.test_x, data.test_y, "test data")
    else:
        valid = prep.encode_items([data.train_x[i] for i in held],
                                  [data.train_y[i] for i in held], "validation data")
    return ClassifyTask(cfg, prep, split, train, valid, folds)


def task_from_metadata(cfg: Config, metadata: dict) -> ClassifyTask:
    """A task holding only what a checkpoint keeps: builds the model, encodes new inputs."""
    if metadata.get("task", "classify") != "classify":
        raise ConfigError(f"run: expected a classify run, got task {metadata.get('task')!r}")
    return ClassifyTask(cfg, Prep.from_dict(metadata), metadata.get("split", {}))


def config_from_run(config: dict) -> Config:
    """The task section of a run's resolved config (the engine nests it under 'task')."""
    section = config.get("task") if isinstance(config.get("task"), dict) else config
    return Config(**{k: v for k, v in section.items() if k in ("data", "model", "dna")})
