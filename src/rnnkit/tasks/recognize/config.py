"""The recognize task's typed config: data, model and loss sections (`rnnkit train recognize
--help` lists every key with its meaning)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from rnnkit.data.pen_normalize import parse_steps
from rnnkit.errors import ConfigError
from rnnkit.functional.registry import CellName


@dataclass
class DataConfig:
    name: Literal["handwriting", "spoken-digits", "ctc-toy"] = "handwriting"  # generated data set
    path: str = ""  # your own data: a directory of WAVs + transcript.txt, or a .jsonl of strokes
    n_train: int = 4000  # generated data: training items
    n_valid: int = 200  # generated data: validation items
    n_test: int = 400  # generated data: test items
    seed: int = 0  # seed of the generated items and of the own-data split
    batch_size: int = 32  # items per training batch
    # handwriting: training fonts, and the unseen fonts of the validation and test items
    fonts: str = "cursive,scripts,futural,futuram,timesr,timesi,timesib"
    valid_font: str = "timesrb"  # handwriting: the validation font(s), comma-separated
    test_font: str = "scriptc"  # handwriting: the test font (never trained on)
    cache_dir: str = ""  # spoken-digits: where the WAVs are kept ("" = ~/.cache/rnnkit)
    # speech training items: mel axis stretched by U(1 - w, 1 + w); 0 = off (0.15: it won on
    # held-out training voices, BENCHMARKS.md "Recognition (CTC)", speech settings)
    warp: float = 0.15
    wobble: float = 0.0  # handwriting training items: per-letter and elastic distortion; 0 = off
    # handwriting training items: stroke splits, retraces, jitter, speed (1.0: validation CER
    # 0.063-0.081 against 0.164 without, BENCHMARKS.md "Recognition (CTC)", handwriting)
    pen_noise: float = 1.0
    fresh: bool = False  # handwriting: a new set of training items every epoch after the first
    # pen strokes (generated or your own): normalising steps before the model reads them, 'none'
    # or a comma-separated subset of slant,height,resample,turn (rnnkit.data.pen_normalize)
    pen_norm: str = "none"
    valid_fraction: float = 0.1  # own data: share held out for validation (and as much for test)

    def __post_init__(self):
        for key in ("n_train", "n_valid", "n_test", "batch_size"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                raise ConfigError(f"data.{key}: expected a positive integer, got "
                                  f"{getattr(self, key)!r}")
        for key in ("wobble", "pen_noise"):
            if not 0.0 <= getattr(self, key) <= 2.0:
                raise ConfigError(f"data.{key}: expected a number in [0, 2], got "
                                  f"{getattr(self, key)!r}")
        parse_steps(self.pen_norm)
        if not 0.0 <= self.warp < 0.5:
            raise ConfigError(f"data.warp: expected a number in [0, 0.5), got {self.warp!r}")
        if not 0.0 < self.valid_fraction < 0.5:
            raise ConfigError(f"data.valid_fraction: expected a number in (0, 0.5), got "
                              f"{self.valid_fraction!r}")


@dataclass
class ModelConfig:
    cell: CellName = "lstm"  # the recurrent cell (rnnkit.functional.registry)
    hidden_size: int = 128  # units per direction of each recurrent layer
    num_layers: int = 2  # stacked recurrent layers
    bidirectional: bool = True  # read the input both ways
    dropout: float = 0.1  # dropout between the recurrent layers
    recurrent_dropout: float = 0.0  # one mask per sequence, off in eval (where: the mode below)
    zoneout: float = 0.0  # zoneout on h (and c): each unit keeps its value w.p. this; eval: mean
    # where recurrent_dropout's mask acts: h entering the product, or the candidate (g, n)
    recurrent_dropout_mode: Literal["variational", "semeniuta"] = "variational"
    # shorten the input: none, stack (frame stacking) or conv (a strided Conv1d)
    subsample: Literal["none", "stack", "conv"] = "stack"
    # frames merged into one by the subsampling (stride of the conv); 0 = by the kind of data
    # (FACTOR_BY_KIND: speech 3, pen strokes 4, other 2)
    factor: int = 0
    conv_channels: int = 128  # subsample=conv: output channels of the strided Conv1d
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # the recurrent layers' impl


    def __post_init__(self):
        if not isinstance(self.factor, int) or self.factor < 0:
            raise ConfigError(f"model.factor: expected an integer >= 0 (0 = by the kind of "
                              f"data), got {self.factor!r}")


# model.factor=0: frames per output frame by the kind of data (docs/recognize.md, "Settings":
# how these were chosen). A run records the factor it used (task metadata), so changing this
# table never changes how an old run is rebuilt.
FACTOR_BY_KIND = {"speech": 3, "strokes": 4}


def factor_for(factor: int, kind: str) -> int:
    return factor or FACTOR_BY_KIND.get(kind, 2)


@dataclass
class LossConfig:
    impl: Literal["torch", "reference"] = "torch"  # torch's kernel, or rnnkit.functional.ctc
    # text longer than the frames allow: skip the item, zero its loss, or stop with an error
    infeasible: Literal["skip", "zero", "error"] = "skip"

    def __post_init__(self):
        if self.impl not in ("torch", "reference"):
            raise ConfigError(f"loss.impl: expected 'torch' or 'reference', got {self.impl!r}")
        if self.infeasible not in ("skip", "zero", "error"):
            raise ConfigError(f"loss.infeasible: expected 'skip', 'zero' or 'error', got "
                              f"{self.infeasible!r}")


def _section(cls, value, where: str):
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return cls(**value)


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self):  # Config(**json_dict) rebuilds the nested sections
        self.data = _section(DataConfig, self.data, "task.data")
        self.model = _section(ModelConfig, self.model, "task.model")
        self.loss = _section(LossConfig, self.loss, "task.loss")
