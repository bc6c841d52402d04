"""The settings of `rnnkit train caption` (dotted keys: --data.image_size=48,
--model.attention=none, --decode.beam=3), and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rnnkit.data.shapes import HELD_OUT, held_out_pairs
from rnnkit.errors import ConfigError
from rnnkit.functional.registry import CellName


@dataclass
class DataConfig:
    name: Literal["shapes"] = "shapes"  # generated pictures of 1-3 shapes (rnnkit.data.shapes)
    image_size: int = 48  # pictures are image_size x image_size (a multiple of 3 * 2^stages)
    max_things: int = 3  # things per picture: 1 to this
    # colour-shape pairs never drawn in train / valid / test; every test-comp picture has one
    held_out: list[str] = field(default_factory=lambda: list(HELD_OUT))
    n_train: int = 100_000  # training scenes (drawn as needed, not stored)
    n_valid: int = 500  # validation scenes (choose settings on these)
    n_test: int = 1_000  # scenes in test and in test-comp
    seed: int = 0  # which scenes
    batch_size: int = 64  # pictures per training batch
    eval_batch_size: int = 250  # pictures decoded together in validation and evaluate


@dataclass
class ModelConfig:
    channels: tuple[int, ...] = (16, 32, 64)  # the CNN's stages (each halves the picture)
    feature_size: int = 64  # F: the grid's feature vectors
    embedding_size: int = 32  # word embedding width
    hidden_size: int = 128  # the decoder's
    num_layers: int = 1  # decoder layers
    cell: CellName = "lstm"  # decoder cell (rnnkit.functional.registry; stepped cells only)
    # soft attention over the grid: Bahdanau additive (as Show, Attend and Tell), Luong general
    # / dot, or none (Show and Tell: the picture only through the initial state)
    attention: Literal["bahdanau", "general", "dot", "none"] = "bahdanau"
    input_feed: bool = True  # the previous attentional vector joins the decoder's input
    dropout: float = 0.0  # on word embeddings, between layers and before the output layer
    # the decoder reads its previous word; false: only the fed-back attentional vector (it
    # names what it sees, not what usually follows the word before)
    read_words: bool = True


@dataclass
class ObjectiveConfig:
    # each input word of teacher forcing (not the first, BOS) is read as <unk> with this
    # probability in training (word dropout, Bowman et al. 2016): the decoder must look at the
    # picture instead of guessing the shape from the colour word before it; 0.5 was best of
    # 0, 0.5 and read_words=false on valid-comp attribute F1 (BENCHMARKS.md "Captioning")
    word_dropout: float = 0.5


@dataclass
class DecodeConfig:
    beam: int = 3  # `rnnkit caption` and `rnnkit evaluate`'s beam; 1 = greedy
    alpha: float = 1.0  # length normalisation: score = log p / length^alpha
    max_len: int = 24  # decoder steps at most, the end token included


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)


def check(cfg: Config) -> Config:
    """Ranges the types cannot say; one line naming the key, the expected and the value."""
    d, m, dec = cfg.data, cfg.model, cfg.decode
    unit = 3 * 2 ** len(m.channels)
    checks = [
        ("data.max_things", d.max_things, 1 <= d.max_things <= 9, "from 1 to 9"),
        ("data.n_train", d.n_train, d.n_train >= 1, ">= 1"),
        ("data.n_valid", d.n_valid, d.n_valid >= 1, ">= 1"),
        ("data.n_test", d.n_test, d.n_test >= 1, ">= 1"),
        ("data.batch_size", d.batch_size, d.batch_size >= 1, ">= 1"),
        ("data.eval_batch_size", d.eval_batch_size, d.eval_batch_size >= 1, ">= 1"),
        ("model.channels", m.channels, len(m.channels) >= 1 and min(m.channels) >= 1,
         "one or more channel counts >= 1"),
        ("data.image_size", d.image_size, d.image_size >= unit and d.image_size % unit == 0,
         f"a multiple of {unit} (3 layout cells x 2^{len(m.channels)} for the CNN's stages)"),
        ("objective.word_dropout", cfg.objective.word_dropout,
         0 <= cfg.objective.word_dropout < 1, "in [0, 1)"),
        ("decode.beam", dec.beam, dec.beam >= 1, ">= 1 (1 = greedy)"),
        ("decode.alpha", dec.alpha, dec.alpha >= 0, ">= 0"),
        ("decode.max_len", dec.max_len, dec.max_len >= 2, ">= 2 (a word and the end token)"),
    ]
    for key, value, ok, expected in checks:
        if not ok:
            raise ConfigError(f"{key}: expected {expected}, got {value}")
    held_out_pairs(d.held_out)
    return cfg
