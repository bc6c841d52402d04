"""The settings of `rnnkit train translate` (dotted keys: --data.name=dates, --model.attention=none,
--objective.label_smoothing=0.1, --decode.beam=5), and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rnnkit.errors import ConfigError
from rnnkit.functional.registry import CellName


@dataclass
class DataConfig:
    name: str = "dates"  # dates (built in), bible (KJV -> RV1909, Debian packages), or files
    train_path: str = ""  # a TSV (source<TAB>target), or the source side of two aligned files
    train_target_path: str = ""  # the target side, when train_path is a source file
    valid_path: str = ""  # as train_path; "" = split valid_fraction off the training pairs
    valid_target_path: str = ""  # the target side, when valid_path is a source file
    test_path: str = ""  # as train_path; for `rnnkit evaluate --data test`
    test_target_path: str = ""  # the target side, when test_path is a source file
    valid_fraction: float = 0.05  # files without valid_path: the last part of the training pairs
    # tokens: characters, whitespace words, or sentencepiece (a unigram model of data.max_vocab
    # pieces, 0 = 8000, trained on the training pairs)
    tokenizer: Literal["char", "word", "sentencepiece"] = "char"
    share_vocab: bool = False  # one vocabulary for both sides (needed by share_embeddings)
    min_freq: int = 1  # rarer pieces become <unk>
    max_vocab: int = 0  # ids per side, specials included; 0 = no cap
    max_tokens: int = 0  # drop training pairs with a side longer than this; 0 = keep all
    n_train: int = 100_000  # dates: pairs per split
    n_valid: int = 1_000  # dates: validation pairs
    n_test: int = 2_000  # dates: test pairs (unseen dates)
    seed: int = 0  # dates: which dates and pairs; files: the valid_fraction split is not random
    batch_size: int = 64  # sentence pairs per batch
    eval_batch_size: int = 256  # sentences per batch when decoding validation and test


@dataclass
class ModelConfig:
    cell: CellName = "lstm"  # encoder and decoder cell (rnnkit.functional.registry)
    embedding_size: int = 64  # token embedding width, both sides
    hidden_size: int = 128  # the decoder's; a bidirectional encoder has half in each direction
    num_layers: int = 1  # encoder and decoder each
    bidirectional: bool = True  # the encoder
    dropout: float = 0.0  # on embeddings, between layers and before the output layer
    recurrent_dropout: float = 0.0  # the encoder's: one mask per sequence, off in eval
    zoneout: float = 0.0  # the encoder's zoneout on h (and c); eval: the expectation
    # where recurrent_dropout's mask acts: h entering the product, or the candidate (g, n)
    recurrent_dropout_mode: Literal["variational", "semeniuta"] = "variational"
    # Luong general / dot, Bahdanau additive, or none (the last encoder state only)
    attention: Literal["general", "dot", "bahdanau", "none"] = "general"
    input_feed: bool = True  # the previous attentional vector joins the decoder's input
    share_embeddings: bool = False  # one embedding for both sides (needs data.share_vocab)
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # the encoder's layers


@dataclass
class ObjectiveConfig:
    label_smoothing: float = 0.0  # of the target distribution, spread over the vocabulary
    sample_prob: float = 0.0  # scheduled sampling: feed the model's own previous token this often


@dataclass
class DecodeConfig:
    beam: int = 5  # `rnnkit translate` and `rnnkit evaluate`'s beam; 1 = greedy
    alpha: float = 1.0  # length normalisation: score = log p / length^alpha
    max_len_ratio: float = 2.0  # a translation has at most ratio * source tokens + max_len_extra
    max_len_extra: int = 10  # tokens allowed beyond max_len_ratio * source length


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)


def check(cfg: Config) -> Config:
    """Ranges the types cannot say; one line naming the key, the expected and the value."""
    d, o, dec = cfg.data, cfg.objective, cfg.decode
    checks = [
        ("data.valid_fraction", d.valid_fraction, 0 < d.valid_fraction < 1, "in (0, 1)"),
        ("data.min_freq", d.min_freq, d.min_freq >= 1, ">= 1"),
        ("data.max_tokens", d.max_tokens, d.max_tokens >= 0, ">= 0 (0 = keep all)"),
        ("data.n_train", d.n_train, d.n_train >= 1, ">= 1"),
        ("data.n_valid", d.n_valid, d.n_valid >= 1, ">= 1"),
        ("data.n_test", d.n_test, d.n_test >= 1, ">= 1"),
        ("data.batch_size", d.batch_size, d.batch_size >= 1, ">= 1"),
        ("data.eval_batch_size", d.eval_batch_size, d.eval_batch_size >= 1, ">= 1"),
        ("objective.label_smoothing", o.label_smoothing, 0 <= o.label_smoothing < 1, "in [0, 1)"),
        ("objective.sample_prob", o.sample_prob, 0 <= o.sample_prob <= 1, "in [0, 1]"),
        ("decode.beam", dec.beam, dec.beam >= 1, ">= 1 (1 = greedy)"),
        ("decode.alpha", dec.alpha, dec.alpha >= 0, ">= 0"),
        ("decode.max_len_ratio", dec.max_len_ratio, dec.max_len_ratio > 0, "> 0"),
        ("decode.max_len_extra", dec.max_len_extra, dec.max_len_extra >= 0, ">= 0"),
    ]
    for key, value, ok, expected in checks:
        if not ok:
            raise ConfigError(f"{key}: expected {expected}, got {value}")
    if d.name not in ("dates", "bible", "files"):
        raise ConfigError(f"data.name: expected dates, bible or files (with data.train_path), "
                          f"got {d.name!r}")
    if d.name == "files" and not d.train_path:
        raise ConfigError("data.name=files needs data.train_path (a TSV, or a source file with "
                          "data.train_target_path)")
    if cfg.model.share_embeddings and not d.share_vocab:
        raise ConfigError("model.share_embeddings needs data.share_vocab=true (one vocabulary)")
    return cfg
