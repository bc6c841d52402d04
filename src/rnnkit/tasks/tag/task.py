"""The tag task itself: its typed config, the data, the model, the loss and the validation
scores (the package's __init__ says what the task does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.config import section
from rnnkit.data.batching import bucket_batches, pad_batch, shard_batches
from rnnkit.data.dna import encode
from rnnkit.data.tag_sets import STRAND_SWAP, TAG_NAMES, Stretch, load_tag_data
from rnnkit.errors import ConfigError, DataError
from rnnkit.functional.registry import CellName
from rnnkit.models.tagger import DnaTagger, TaggerConfig
from rnnkit.tasks._contract import StepOutput
from rnnkit.tasks._dna import DnaConfig, augment_strands
from rnnkit.tasks.tag.metrics import tag_report

IGNORE = -100  # the target of a padded step: no loss, no score


@dataclass
class DataConfig:
    name: str = "coding-tags"  # coding-tags, or a GenBank file whose CDS features give the tags
    test_fraction: float = 0.2  # share of the genome's blocks held out for the test
    valid_fraction: float = 0.1  # share of the blocks for validation (early stopping)
    seed: int = 0  # which blocks go to which split
    block: int = 8000  # bases per block of the region split
    chunk: int = 600  # bases per training stretch
    stride: int = 300  # a training stretch starts every `stride` bases
    batch_size: int = 16  # training stretches per batch

    def __post_init__(self):
        def need(ok: bool, key: str, expected: str) -> None:
            if not ok:
                raise ConfigError(f"data.{key}: expected {expected}, got {getattr(self, key)!r}")

        need(0.0 < self.test_fraction < 1.0, "test_fraction", "a number in (0, 1)")
        need(0.0 < self.valid_fraction < 1.0, "valid_fraction", "a number in (0, 1)")
        for key in ("block", "chunk", "stride", "batch_size"):
            need(getattr(self, key) >= 1, key, "a positive integer")


@dataclass
class ModelConfig:
    cell: CellName = "lstm"  # the recurrent cell, any of rnnkit.functional.registry
    hidden_size: int = 64  # units per direction and layer
    num_layers: int = 1  # stacked recurrent layers
    bidirectional: bool = True  # read each stretch both ways (a tag depends on what follows)
    dropout: float = 0.0  # on the embedded bases, between layers and before the head
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # rnnkit layer implementation


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    dna: DnaConfig = field(default_factory=DnaConfig)

    def __post_init__(self):
        self.data = section(DataConfig, self.data, "data")
        self.model = section(ModelConfig, self.model, "model")
        self.dna = section(DnaConfig, self.dna, "dna")


DATA_KEY = "data.name"
TRAIN_DEFAULTS: dict = {"train.steps": 2000, "train.eval_every": 100, "train.early_stop": 8,
                        "optim.lr": 3e-3}


def encode_stretch(s: Stretch):
    return encode(s.sequence), np.asarray(s.tags, dtype=np.int64)


class TagTask:
    """The Task contract for per-base tagging."""

    name = "tag"
    item_unit = "base"

    def __init__(self, cfg: Config, split: dict, train=(), valid=()):
        self.cfg, self.split = cfg, split
        self.classes = list(TAG_NAMES)
        self.train = [encode_stretch(s) for s in train]  # [(ids (L,), tags (L,))]
        self.valid = [encode_stretch(s) for s in valid]

    def build_model(self) -> torch.nn.Module:
        m = self.cfg.model
        return DnaTagger(self.cfg.dna.model_config(), TaggerConfig(
            n_tags=len(self.classes), cell=m.cell, hidden_size=m.hidden_size,
            num_layers=m.num_layers, bidirectional=m.bidirectional, dropout=m.dropout,
            impl=m.impl, strand_swap=tuple(STRAND_SWAP)))

    @staticmethod
    def collate(items) -> dict:
        x, lengths = pad_batch([torch.from_numpy(a) for a, _ in items])
        y, _ = pad_batch([torch.from_numpy(t) for _, t in items], pad_value=IGNORE)
        return {"x": x, "lengths": lengths, "y": y}

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        if not self.train:
            raise DataError("tag: this task was built without training data")
        d = self.cfg.data
        order = bucket_batches([len(a) for a, _ in self.train], d.batch_size, shuffle=True,
                               seed=d.seed * 100_003 + epoch)
        for idx in shard_batches(order, rank, world_size):
            batch = self.collate([self.train[i] for i in idx])
            if self.cfg.dna.strands == "augment":
                rng = np.random.default_rng((d.seed, epoch, int(idx[0])))
                batch = augment_strands(batch, rng, swap=STRAND_SWAP)
            yield batch

    def step(self, model, batch: dict, state=None) -> StepOutput:
        dev = next(model.parameters()).device
        y = batch["y"].to(dev)
        out = model(batch["x"].to(dev), batch["lengths"].to(dev))  # (B, T, K)
        loss = F.cross_entropy(out.transpose(1, 2), y, ignore_index=IGNORE)
        real = y != IGNORE
        acc = (out.argmax(-1)[real] == y[real]).float().mean().item()
        return StepOutput(loss=loss, n_items=int(real.sum()), metrics={"accuracy": acc})

    @torch.no_grad()
    def predict(self, model, ids_list, batch_size: int = 4):
        """[(probabilities (L_i, K))] of each sequence of ids, in the given order."""
        was_training = model.training
        model.eval()
        dev = next(model.parameters()).device
        out = []
        try:
            for k in range(0, len(ids_list), batch_size):
                chunk = ids_list[k:k + batch_size]
                x, lengths = pad_batch([torch.from_numpy(a) for a in chunk])
                probs = torch.softmax(model(x.to(dev), lengths.to(dev)), -1).cpu().numpy()
                out += [probs[i, :len(a)] for i, a in enumerate(chunk)]
        finally:
            model.train(was_training)
        return out

    def score(self, model, items) -> dict:
        """loss and tag_report over items [(ids, tags)]."""
        if not items:
            raise DataError("tag: nothing to evaluate (no items)")
        probs = self.predict(model, [a for a, _ in items])
        true = [t for _, t in items]
        nll = -sum(float(np.log(np.maximum(p[np.arange(len(t)), t], 1e-12)).sum())
                   for p, t in zip(probs, true, strict=True))
        n = sum(len(t) for t in true)
        report = tag_report(true, [p.argmax(1) for p in probs], self.classes)
        return {"loss": nll / n, **report}

    def evaluate(self, model) -> dict[str, float]:
        report = self.score(model, self.valid)
        return {k: v for k, v in report.items() if isinstance(v, float)}

    def metadata(self) -> dict:
        return {"task": self.name, "classes": self.classes, "strand_swap": STRAND_SWAP,
                "split": self.split}


def make_task(cfg: Config) -> TagTask:
    if not isinstance(cfg, Config):
        cfg = Config(**cfg)
    d = cfg.data
    data = load_tag_data(d.name, d.test_fraction, d.valid_fraction, d.seed, d.chunk, d.stride,
                         d.block)
    return TagTask(cfg, data.split, data.train, data.valid)


def task_from_metadata(cfg: Config, metadata: dict) -> TagTask:
    if metadata.get("task", "tag") != "tag":
        raise ConfigError(f"run: expected a tag run, got task {metadata.get('task')!r}")
    return TagTask(cfg, metadata.get("split", {}))


def config_from_run(config: dict) -> Config:
    section = config.get("task") if isinstance(config.get("task"), dict) else config
    return Config(**{k: v for k, v in section.items() if k in ("data", "model", "dna")})
