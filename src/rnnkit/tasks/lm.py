"""Task `lm`: character (or byte, or word) language modelling with truncated BPTT.

Data: a corpus (`stdlib` by default, `shakespeare`, or any text file, directory or glob) split
into train and validation text: the corpus is cut into `valid_slices` equal parts and the last
`valid_fraction` of each validates (rnnkit.data.corpora.validation_ranges), so validation
samples the whole corpus rather than one end of it (fewer slices where one would be shorter
than MIN_SLICE_CHARS); the training pieces are joined in order, as are the validation slices.
The tokenizer is fitted to the whole corpus. Training reads B parallel streams in chunks of T
tokens, carrying the recurrent state from chunk to chunk.
Model: `rnnkit.models.lm.LanguageModel`. Loss: cross-entropy of the next token, in nats per token.

Metrics (`evaluate`, and `evaluate_loaded` for `rnnkit evaluate`):
  loss        nats per predicted token (mean cross-entropy)
  perplexity  exp(loss)
  bpc         bits per character of the text: the summed nats / ln 2 / the number of characters
              the predicted tokens stand for. With the char tokenizer bpc = loss / ln 2; with bytes
              a character's continuation bytes add nats but no characters; a word counts its
              letters.
The checkpoint metadata holds the tokenizer and the model config, enough to rebuild the model.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.data.corpora import load_corpus, split_slices
from rnnkit.data.streams import TokenStreams
from rnnkit.data.tokenizers import build_tokenizer, tokenizer_from_dict
from rnnkit.data.unknown_chars import MAX_SHOWN, encode_for_scoring
from rnnkit.errors import ConfigError, DataError
from rnnkit.functional.registry import CellName
from rnnkit.models.from_state import build_checked
from rnnkit.models.lm import LanguageModel
from rnnkit.tasks._contract import StepOutput

NAME = "lm"


@dataclass
class DataConfig:
    corpus: str = "stdlib"  # stdlib | shakespeare | a text file, directory or glob
    tokenizer: Literal["char", "byte", "word"] = "char"  # byte: UTF-8 bytes, any text encodes
    min_freq: int = 1  # word tokenizer: rarer words become <unk>
    valid_fraction: float = 0.1  # the share of the corpus that validates (a 90/10 split)
    valid_slices: int = 5  # validation = up to this many slices spread over the corpus; 1 = its end
    max_chars: int = 0  # use only the first max_chars characters of the corpus; 0 = all
    batch_size: int = 32  # B parallel streams
    seq_len: int = 128  # T: tokens per truncated-BPTT chunk
    eval_batch_size: int = 64  # streams for validation (wider batches evaluate faster)


@dataclass
class ModelConfig:
    cell: CellName = "lstm"  # the recurrent layer (rnnkit.functional.registry; rnn = rnn_tanh)
    embedding_size: int = 64  # width of the token embedding
    hidden_size: int = 256  # units per recurrent layer
    num_layers: int = 2  # stacked recurrent layers
    dropout: float = 0.0  # on the embedding, between layers and before the decoder
    recurrent_dropout: float = 0.0  # one mask per sequence, off in eval (where: the mode below)
    zoneout: float = 0.0  # zoneout on h (and c): each unit keeps its value w.p. this; eval: mean
    # where recurrent_dropout's mask acts: h entering the product, or the candidate (g, n)
    recurrent_dropout_mode: Literal["variational", "semeniuta"] = "variational"
    tie_weights: bool = False  # needs hidden_size == embedding_size
    impl: Literal["auto", "reference", "fused", "native"] = "auto"  # rnnkit layer implementation


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)


# The best setting found for 15 minutes on 2 shared CPU cores (BENCHMARKS.md, "Language
# modelling"): a 2 x 256 LSTM, 32 streams of 128 characters, AdamW 3e-3 with a cosine that ends
# when the run does: by default after 15 minutes (the cosine follows the clock, so a faster
# machine takes more steps in them), with --steps N after N steps, with --minutes M after M
# minutes (rnnkit.training.schedules). Early stopping after 4 evaluations without a new best
# validation loss: on a small corpus the model can over-fit before the time is up, and `best/`
# keeps the best one. Threads measured, not assumed (rnnkit.training.threads): on a machine whose
# cores are busy with other work torch's two threads ran several times slower than one (each
# product waits for the slower thread), on an idle one they are faster.
DATA_KEY = "data.corpus"  # what `rnnkit train lm --data X` sets

TRAIN_DEFAULTS: dict = {
    "train.steps": 0,  # no step limit: the 15 minutes below end the run
    "train.minutes": 15.0,
    "train.threads": "auto",
    "train.eval_every": 250,
    "train.early_stop": 4,
    "train.clip_norm": 5.0,
    "optim.lr": 3e-3,
    "sched.name": "cosine",
    "sched.warmup_steps": 50,
    "sched.min_lr": 1e-4,
}


@dataclass
class LMData:
    train_ids: np.ndarray
    valid_ids: np.ndarray
    valid_char_lengths: np.ndarray  # characters each validation token stands for


# A validation slice is read as part of one stream, so each join of two slices costs a few
# characters' worth of context; slices of at least this many characters keep that under ~0.1%.
MIN_SLICE_CHARS = 10_000


def valid_slice_count(n_chars: int, d: DataConfig) -> int:
    """data.valid_slices, lowered so that every slice holds at least MIN_SLICE_CHARS characters
    (a small corpus validates on its end, as one slice)."""
    k = d.valid_slices
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"data.valid_slices: expected an integer >= 1, got {k!r}")
    fits = int(n_chars * d.valid_fraction) // MIN_SLICE_CHARS
    return max(1, min(k, fits))


def build_model(model_cfg: ModelConfig, vocab_size: int) -> LanguageModel:
    return LanguageModel(vocab_size, **dataclasses.asdict(model_cfg))


def evaluate_tokens(model, ids, char_lengths, batch_size: int = 16, seq_len: int = 128,
                    target_mask=None) -> dict:
    """loss (nats/token), perplexity and bpc of `model` predicting `ids` in B parallel streams,
    each read once from its start with the state carried (see rnnkit.data.streams).
    `target_mask` (bool per token, optional): only the targets where it is True are scored and
    counted (rnnkit.data.unknown_chars); None scores every target."""
    ids = np.asarray(ids)
    if len(ids) < 2:
        raise DataError(f"evaluation text has {len(ids)} token(s); need at least 2")
    streams = TokenStreams(ids, min(batch_size, len(ids) - 1), seq_len)
    n_tokens = streams.batch_size * streams.stream_len  # targets = ids[1 : n_tokens + 1]
    lengths = np.asarray(char_lengths)[1 : n_tokens + 1]
    masks = None
    if target_mask is not None:  # read in the same streams and chunks as the ids
        target_mask = np.asarray(target_mask, dtype=bool)
        masks = TokenStreams(target_mask.astype(np.int64), streams.batch_size, seq_len)
        n_tokens = int(np.count_nonzero(target_mask[1 : n_tokens + 1]))
        lengths = lengths[target_mask[1 : len(lengths) + 1]]
        if n_tokens == 0:
            raise DataError("evaluation text: every character to predict is outside the "
                            "model's vocabulary; nothing to score")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    nats, state = 0.0, None
    with torch.no_grad():
        for k, (inputs, targets) in enumerate(streams):
            logits, state = model(inputs.to(device), state)
            targets = targets.to(device).reshape(-1)
            logits = logits.reshape(-1, logits.shape[-1]).float()
            if masks is None:
                nats += F.cross_entropy(logits, targets, reduction="sum").item()
            else:
                keep = masks.chunk(k).targets.reshape(-1).to(device).bool()
                nats += F.cross_entropy(logits[keep], targets[keep], reduction="sum").item()
    model.train(was_training)
    n_chars = int(lengths.sum())
    loss = nats / n_tokens
    return {
        "loss": loss,
        "perplexity": math.exp(min(loss, 700.0)),
        "bpc": nats / math.log(2) / max(n_chars, 1),
        "tokens": float(n_tokens),
        "chars": float(n_chars),
    }


class LMTask:
    """The `lm` task; data is read on first use, so a run can be rebuilt without its corpus."""

    name = NAME
    item_unit = "tok"

    def __init__(self, cfg: Config, tokenizer=None):
        if not isinstance(cfg, Config):
            raise ConfigError(f"lm task: expected rnnkit.tasks.lm.Config, got {type(cfg).__name__}")
        self.cfg = cfg
        self._tokenizer = tokenizer
        self._data: LMData | None = None

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self.data()
        return self._tokenizer

    def data(self) -> LMData:
        if self._data is None:
            d = self.cfg.data
            if isinstance(d.max_chars, bool) or not isinstance(d.max_chars, int) or d.max_chars < 0:
                raise ConfigError(f"data.max_chars: expected an integer >= 0, got {d.max_chars!r}")
            text = load_corpus(d.corpus).text
            text = text[: d.max_chars] if d.max_chars else text
            train_parts, valid_parts = split_slices(text, d.valid_fraction,
                                                    valid_slice_count(len(text), d))
            if self._tokenizer is None:
                self._tokenizer = build_tokenizer(d.tokenizer, text, d.min_freq)
            tok = self._tokenizer

            def joined(encode, parts):  # each piece on its own: no word spans two of them
                return np.concatenate([np.asarray(encode(part)) for part in parts])

            self._data = LMData(joined(tok.encode, train_parts), joined(tok.encode, valid_parts),
                                joined(tok.char_lengths, valid_parts))
        return self._data

    def build_model(self) -> LanguageModel:
        return build_model(self.cfg.model, self.tokenizer.vocab_size)

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        d = self.cfg.data
        return iter(TokenStreams(self.data().train_ids, d.batch_size, d.seq_len, rank, world_size))

    def step(self, model, batch, state) -> StepOutput:
        inputs, targets = batch
        device = next(model.parameters()).device
        logits, state = model(inputs.to(device, non_blocking=True), state)  # (B, T, V)
        targets = targets.to(device, non_blocking=True).reshape(-1)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        return StepOutput(loss=loss, n_items=targets.numel(), state=state)

    def evaluate(self, model) -> dict[str, float]:
        data, d = self.data(), self.cfg.data
        return evaluate_tokens(model, data.valid_ids, data.valid_char_lengths,
                               d.eval_batch_size, d.seq_len)

    def metadata(self) -> dict:
        return {
            "task": NAME,
            "tokenizer": self.tokenizer.to_dict(),
            "model": dataclasses.asdict(self.cfg.model),
            "vocab_size": self.tokenizer.vocab_size,
            "seq_len": self.cfg.data.seq_len,
        }


def make_task(cfg: Config) -> LMTask:
    return LMTask(cfg)


def model_from_run(metadata: dict, state_dict: dict, device: str = "cpu"):
    """(model in eval mode, tokenizer) rebuilt from a checkpoint's metadata and weights."""
    if metadata.get("task") != NAME or "tokenizer" not in metadata or "model" not in metadata:
        raise DataError(f"not a language-model run (metadata task = {metadata.get('task')!r})")
    tokenizer = tokenizer_from_dict(metadata["tokenizer"])
    try:
        model_cfg = ModelConfig(**metadata["model"])
    except TypeError as err:
        raise DataError(f"checkpoint state.json: its model settings are damaged ({err})") from None
    # the sizes in state.json are checked against the weights' shapes before anything is built
    model = build_checked(lambda: build_model(model_cfg, tokenizer.vocab_size), state_dict)
    return model.to(device).eval(), tokenizer


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data: str | None,
                    batch_size: int = 16, device: str = "cpu", run_dir=None) -> dict[str, float]:
    """Metrics of a saved run (what `load_run` returned) on the text of `data`: a corpus name,
    file, directory or glob. `rnnkit evaluate` calls this; `run_dir` is not needed here.
    Characters the run's char vocabulary lacks are excluded as targets (`excluded` counts them,
    `unknown` names up to 10, `stand_in` is what they are read as as inputs); more than 5% of
    them is an error (rnnkit.data.unknown_chars)."""
    if not data:
        raise ConfigError("--data: an lm run needs a corpus name, file, directory or glob")
    model, tokenizer = model_from_run(metadata, state_dict, device)
    scoring = encode_for_scoring(tokenizer, load_corpus(data).text)
    metrics = evaluate_tokens(model, scoring.ids, scoring.char_lengths, batch_size,
                              int(metadata.get("seq_len", 128)), scoring.target_mask)
    # characters the vocabulary lacks: not scored as targets, read as `stand_in` as inputs
    return {**metrics, "excluded": scoring.excluded, "unknown": scoring.unknown,
            "stand_in": scoring.stand_in}



def format_report(metrics: dict) -> str:
    """`rnnkit evaluate`'s text output: one line per number, then what was excluded."""
    numbers = {k: v for k, v in metrics.items() if k not in ("excluded", "unknown", "stand_in")}
    lines = [f"{k:<10}  {v:.6g}" for k, v in numbers.items()]
    excluded = metrics.get("excluded", 0)
    line = f"{'excluded':<10}  {excluded}"
    if excluded:
        shown = metrics["unknown"]
        first = f"the first {len(shown)} distinct: " if len(shown) == MAX_SHOWN else ""
        line += (f" characters not in the model's vocabulary, not scored and read as "
                 f"{metrics['stand_in']!r} as inputs ({first}{', '.join(shown)})")
    return "\n".join([*lines, line])
