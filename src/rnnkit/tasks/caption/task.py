"""The `caption` task: generated pictures and their captions, the Captioner, the loss and the
validation metrics for the trainer."""

from __future__ import annotations

import dataclasses

import torch

from rnnkit.data import shapes
from rnnkit.data.caption_grammar import WORDS
from rnnkit.data.seq_vocab import BOS_ID, EOS_ID, SPECIALS, UNK_ID, SeqVocab
from rnnkit.errors import ConfigError, RnnkitError
from rnnkit.models.captioner import Captioner, decode_ids
from rnnkit.models.from_state import build_checked
from rnnkit.models.seq2seq import smoothed_loss
from rnnkit.tasks._contract import StepOutput
from rnnkit.tasks.caption.config import Config, DataConfig, ModelConfig, check
from rnnkit.tasks.caption.metrics import caption_scores

NAME = "caption"


def grammar_vocab() -> SeqVocab:
    """Words of the caption grammar, after the four special ids (0 = padding, BOS, EOS)."""
    return SeqVocab("word", [*SPECIALS, *WORDS])


def split_size(d: DataConfig, split: str) -> int:
    return {"train": d.n_train, "valid": d.n_valid, "valid-comp": d.n_valid}.get(split, d.n_test)


def load_split(d: DataConfig, split: str, indices=None) -> tuple[torch.Tensor, list[str]]:
    """(pictures (N, 3, S, S) in [0, 1], captions) of `split` (all its scenes, or `indices`)."""
    indices = range(split_size(d, split)) if indices is None else indices
    pictures, captions = shapes.scenes(split, indices, d.seed, d.held_out, d.image_size,
                                       d.max_things)
    return shapes.to_tensor(pictures), captions


def caption_batch(vocab: SeqVocab, captions: list[str]) -> torch.Tensor:
    """(B, T + 2) ids: BOS, the words, EOS, then padding (0)."""
    ids = [[BOS_ID, *vocab.encode(c), EOS_ID] for c in captions]
    out = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.int64)
    for i, row in enumerate(ids):
        out[i, :len(row)] = torch.tensor(row)
    return out


def build_model(model_cfg: ModelConfig, vocab: SeqVocab) -> Captioner:
    return Captioner(vocab.size, **dataclasses.asdict(model_cfg))


def describe(model: Captioner, vocab: SeqVocab, pictures: torch.Tensor, max_len: int,
             beam: int = 1, alpha: float = 1.0, batch_size: int = 250,
             keep_attention: bool = False):
    """(captions, hypotheses) of pictures (N, 3, S, S), decoded in batches."""
    device = next(model.parameters()).device
    hyps = []
    for i in range(0, pictures.shape[0], batch_size):
        hyps += decode_ids(model, pictures[i:i + batch_size].to(device), BOS_ID, EOS_ID, max_len,
                           beam, alpha, keep_attention)
    return [vocab.decode(h.tokens) for h in hyps], hyps


class CaptionTask:
    """Training scenes are drawn per batch from their index (nothing stored); the validation
    scenes are drawn once."""

    name = NAME
    item_unit = "pic"

    def __init__(self, cfg: Config):
        if not isinstance(cfg, Config):
            raise ConfigError(f"caption task: expected rnnkit.tasks.caption.Config, got "
                              f"{type(cfg).__name__}")
        self.cfg = check(cfg)
        self.vocab = grammar_vocab()
        self._valid = None
        self._valid_comp = None

    def build_model(self) -> Captioner:
        return build_model(self.cfg.model, self.vocab)

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        d = self.cfg.data
        g = torch.Generator().manual_seed(d.seed * 100_003 + epoch)
        order = torch.randperm(d.n_train, generator=g).tolist()
        for start in range(0, d.n_train - d.batch_size + 1, d.batch_size):
            idx = order[start:start + d.batch_size][rank::world_size]
            pictures, captions = load_split(d, "train", idx)
            yield pictures, caption_batch(self.vocab, captions)

    def step(self, model, batch, state) -> StepOutput:
        pictures, tgt = batch
        tgt_in = tgt[:, :-1]
        p = self.cfg.objective.word_dropout
        if p > 0 and model.training:
            drop = torch.rand(tgt_in.shape, device=tgt_in.device) < p
            drop[:, 0] = False  # BOS stays
            tgt_in = tgt_in.masked_fill(drop & (tgt_in > 0), UNK_ID)
        logits = model(pictures, tgt_in)  # (B, T, V)
        targets = tgt[:, 1:]
        return StepOutput(loss=smoothed_loss(logits, targets), n_items=pictures.shape[0])

    def evaluate(self, model) -> dict[str, float]:
        """Validation: loss (nats per word, teacher forced), and the greedy captions' BLEU-4,
        attribute F1, thing F1 and exact match (fractions); the same scores of `valid-comp`
        (pictures with held-out colour-shape pairs) as comp_*, for comparing settings: the
        best checkpoint is chosen by train.best_metric (valid exact) all the same."""
        d = self.cfg.data
        if self._valid is None:
            self._valid = load_split(d, "valid")
        out = {"loss": self._teacher_forced_loss(model, *self._valid)}
        out.update(self._greedy_scores(model, *self._valid))
        if d.held_out:
            if self._valid_comp is None:
                self._valid_comp = load_split(d, "valid-comp")
            out.update({f"comp_{k}": v for k, v in
                        self._greedy_scores(model, *self._valid_comp).items()})
        return out

    def _teacher_forced_loss(self, model, pictures, refs) -> float:
        device = next(model.parameters()).device
        B = self.cfg.data.eval_batch_size
        nats, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(refs), B):
                tgt = caption_batch(self.vocab, refs[i:i + B]).to(device)
                logits = model(pictures[i:i + B].to(device), tgt[:, :-1])
                targets = tgt[:, 1:]
                nats += torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                    ignore_index=0, reduction="sum").item()
                count += int((targets > 0).sum())
        return nats / max(count, 1)

    def _greedy_scores(self, model, pictures, refs) -> dict[str, float]:
        hyps, _ = describe(model, self.vocab, pictures, self.cfg.decode.max_len,
                           batch_size=self.cfg.data.eval_batch_size)
        s = caption_scores(hyps, refs)
        return {k: s[k] for k in ("bleu4", "attr_f1", "thing_f1", "exact")}

    def metadata(self) -> dict:
        return {"task": NAME, "vocab": self.vocab.to_dict(),
                "model": dataclasses.asdict(self.cfg.model),
                "decode": dataclasses.asdict(self.cfg.decode),
                "image_size": self.cfg.data.image_size}


def make_task(cfg: Config) -> CaptionTask:
    return CaptionTask(cfg)


def model_from_run(metadata: dict, state_dict: dict, device: str = "cpu"):
    """(model in eval mode, vocabulary) of a saved caption run."""
    if metadata.get("task") != NAME or "vocab" not in metadata:
        raise RnnkitError(f"not a caption run (its task is {metadata.get('task')!r}); train "
                          "one with `rnnkit train caption`")
    vocab = SeqVocab.from_dict(metadata["vocab"])
    try:
        model_cfg = ModelConfig(**metadata["model"])
        model_cfg.channels = tuple(model_cfg.channels)
    except TypeError as err:
        raise RnnkitError(f"checkpoint state.json: its model settings are damaged "
                          f"({err})") from None
    model = build_checked(lambda: build_model(model_cfg, vocab), state_dict)
    return model.to(device).eval(), vocab
