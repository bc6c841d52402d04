"""The video task itself: its typed config, the generated clips, the model, the loss and the
validation scores (the package's __init__ says what the task does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.config import section
from rnnkit.data.batching import bucket_batches, pad_batch, shard_batches
from rnnkit.data.moving_shapes import MOTIONS, OBJECT_TAGS, TAGS, check_sizes, generate, tag_vector
from rnnkit.errors import ConfigError, DataError
from rnnkit.functional.registry import CellName
from rnnkit.models.video_tagger import VideoTagger, VideoTaggerConfig
from rnnkit.tasks._contract import StepOutput
from rnnkit.tasks.video.metrics import tag_report

DATA_NAMES = ("moving-shapes",)


@dataclass
class DataConfig:
    name: str = "moving-shapes"  # the generated data set (moving-shapes)
    seed: int = 0  # which clips are generated (each split has its own stream)
    train_clips: int = 3000  # clips in the training split
    valid_clips: int = 300  # clips for validation (early stopping, the best checkpoint)
    test_clips: int = 1000  # clips `rnnkit evaluate --data test` scores
    size: int = 32  # pixels per side of a frame
    min_frames: int = 12  # the fewest frames per clip (lengths are drawn uniformly)
    max_frames: int = 20  # the most frames per clip
    batch_size: int = 16  # clips per training batch

    def __post_init__(self):
        if self.name not in DATA_NAMES:
            raise ConfigError(f"data.name: expected one of {', '.join(DATA_NAMES)}, got "
                              f"{self.name!r}")
        for key in ("train_clips", "valid_clips", "test_clips", "batch_size"):
            if not (isinstance(getattr(self, key), int) and getattr(self, key) >= 1):
                raise ConfigError(f"data.{key}: expected a positive integer, got "
                                  f"{getattr(self, key)!r}")
        check_sizes(self.size, self.min_frames, self.max_frames)


@dataclass
class ModelConfig:
    kind: Literal["rnn", "frame_average"] = "rnn"  # frame_average: the baseline, no recurrence
    cell: CellName = "lstm"  # the recurrent cell, any of rnnkit.functional.registry
    hidden_size: int = 64  # recurrent units (frame_average: its hidden layer)
    num_layers: int = 1  # stacked recurrent layers
    channels: list[int] = field(default_factory=lambda: [16, 32, 32])  # CNN stage widths
    feature_size: int = 64  # the CNN's pooled vector per frame
    coords: bool = True  # x, y coordinate channels on each frame (position into the vector)
    pool: Literal["max", "mean", "grid"] = "max"  # frame vector: grid max, mean, or all (Linear)
    over_time: Literal["mean", "last"] = "mean"  # rnn: mean of its outputs, or its last state
    keypoints: int = 32  # spatial soft-argmax keypoints (where) beside the pooled vector; 0: none
    frame_stride: int = 2  # read every s-th frame of a clip (half the CNN's work at 2)
    deltas: bool = True  # rnn: its layer reads each frame vector and its change from the last
    skip: bool = True  # rnn: plus the frame average's term (the baseline + what order adds)
    dropout: float = 0.0  # on the frame vectors and before the head
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # rnnkit layer implementation


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self):
        self.data = section(DataConfig, self.data, "data")
        self.model = section(ModelConfig, self.model, "model")


DATA_KEY = "data.name"
TRAIN_DEFAULTS: dict = {"train.steps": 3000, "train.eval_every": 200, "train.early_stop": 5,
                        "optim.lr": 3e-3, "sched.name": "cosine", "sched.min_lr": 1e-4}


def clip_items(clips) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(c.frames, tag_vector(c.tags)) for c in clips]


def frames_tensor(clips) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips (T_i, S, S, 3) uint8 or float in [0, 1] -> (B, T, 3, S, S) float32, lengths (B,)."""
    tensors = []
    for c in clips:
        t = torch.from_numpy(np.ascontiguousarray(c))
        t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
        tensors.append(t.permute(0, 3, 1, 2))  # (T, 3, S, S)
    return pad_batch(tensors)


class VideoTask:
    """The Task contract for multi-label clip tagging."""

    name = "video"
    item_unit = "clip"

    def __init__(self, cfg: Config, train=(), valid=()):
        self.cfg = cfg
        self.tags = list(TAGS)
        self.n_object = len(OBJECT_TAGS)
        self.train = clip_items(train)  # [(frames (T, S, S, 3) uint8, targets (K,))]
        self.valid = clip_items(valid)

    def build_model(self) -> torch.nn.Module:
        m = self.cfg.model
        return VideoTagger(VideoTaggerConfig(
            n_tags=len(self.tags), kind=m.kind, channels=tuple(m.channels),
            feature_size=m.feature_size, coords=m.coords, pool=m.pool,
            over_time=m.over_time, frame_stride=m.frame_stride, keypoints=m.keypoints,
            skip=m.skip, deltas=m.deltas, frame_size=self.cfg.data.size, cell=m.cell,
            hidden_size=m.hidden_size, num_layers=m.num_layers, dropout=m.dropout, impl=m.impl))

    @staticmethod
    def collate(items) -> dict:
        x, lengths = frames_tensor([f for f, _ in items])
        return {"x": x, "lengths": lengths, "y": torch.from_numpy(np.stack([y for _, y in items]))}

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        if not self.train:
            raise DataError("video: this task was built without training data")
        d = self.cfg.data
        order = bucket_batches([len(f) for f, _ in self.train], d.batch_size, shuffle=True,
                               seed=d.seed * 100_003 + epoch)
        for idx in shard_batches(order, rank, world_size):
            yield self.collate([self.train[i] for i in idx])

    def step(self, model, batch: dict, state=None) -> StepOutput:
        dev = next(model.parameters()).device
        y = batch["y"].to(dev)
        logits = model(batch["x"].to(dev), batch["lengths"].to(dev))  # (B, K)
        loss = F.binary_cross_entropy_with_logits(logits, y)
        exact = ((logits >= 0) == (y > 0.5)).all(1).float().mean().item()
        return StepOutput(loss=loss, n_items=int(y.shape[0]), metrics={"exact_set": exact})

    @torch.no_grad()
    def predict(self, model, clips, batch_size: int = 32) -> np.ndarray:
        """(N, K) tag probabilities of clips (T_i, S, S, 3), in the given order."""
        was_training = model.training
        model.eval()
        dev = next(model.parameters()).device
        out = []
        try:
            for k in range(0, len(clips), batch_size):
                x, lengths = frames_tensor(clips[k:k + batch_size])
                out.append(torch.sigmoid(model(x.to(dev), lengths.to(dev))).cpu().numpy())
        finally:
            model.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, len(self.tags)), np.float32)

    def score(self, model, items, batch_size: int = 32) -> dict:
        """loss (mean BCE per tag) and tag_report over items [(frames, targets)]."""
        if not items:
            raise DataError("video: nothing to evaluate (no clips)")
        probs = self.predict(model, [f for f, _ in items], batch_size)
        targets = np.stack([y for _, y in items])
        p = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
        loss = -float(np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p)))
        return {"loss": loss, **tag_report(probs, targets, self.tags, self.n_object)}

    def evaluate(self, model) -> dict[str, float]:
        report = self.score(model, self.valid)
        return {k: v for k, v in report.items() if isinstance(v, float)}

    def metadata(self) -> dict:
        return {"task": self.name, "tags": self.tags, "object_tags": list(OBJECT_TAGS),
                "motion_tags": list(MOTIONS), "frame_size": self.cfg.data.size}


def load_split(cfg: Config, split: str):
    d = cfg.data
    n = {"train": d.train_clips, "valid": d.valid_clips, "test": d.test_clips}[split]
    return generate(split, n, d.seed, d.size, d.min_frames, d.max_frames)


def make_task(cfg: Config) -> VideoTask:
    if not isinstance(cfg, Config):
        cfg = Config(**cfg)
    return VideoTask(cfg, load_split(cfg, "train"), load_split(cfg, "valid"))


def task_from_metadata(cfg: Config, metadata: dict) -> VideoTask:
    if metadata.get("task", "video") != "video":
        raise ConfigError(f"run: expected a video run, got task {metadata.get('task')!r}")
    task = VideoTask(cfg)
    if metadata.get("tags", task.tags) != task.tags:
        raise DataError("run: its tags differ from this rnnkit's moving-shapes tags (trained by "
                        "another version?)")
    return task


def config_from_run(config: dict) -> Config:
    section = config.get("task") if isinstance(config.get("task"), dict) else config
    return Config(**{k: v for k, v in section.items() if k in ("data", "model")})
