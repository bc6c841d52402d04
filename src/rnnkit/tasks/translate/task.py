"""The `translate` task: data, model factory, loss and validation metrics for the trainer."""

from __future__ import annotations

import dataclasses

import torch

from rnnkit.data import bible, dates
from rnnkit.data.pairs import PairBatches, make_batch, read_pairs
from rnnkit.data.seq_vocab import SeqVocab
from rnnkit.data.spm_vocab import build_vocab, vocab_from_dict
from rnnkit.errors import ConfigError, RnnkitError
from rnnkit.models.from_state import build_checked
from rnnkit.models.seq2seq import Seq2Seq, smoothed_loss
from rnnkit.tasks._contract import StepOutput
from rnnkit.tasks.translate.config import Config, ModelConfig, check
from rnnkit.tasks.translate.metrics import chrf
from rnnkit.tasks.translate.translator import Translator

NAME = "translate"
Pair = tuple[str, str]


def load_split(cfg: Config, split: str) -> list[Pair]:
    """The pairs of `split` (train, valid, test; dates also test_locales) of the run's data."""
    d = cfg.data
    if not d.train_path and d.name == "bible":
        if split == "test_locales":
            raise RnnkitError("--data test_locales: only the dates data set has held-out locales")
        return bible.bible_pairs(split, d.seed)
    if not d.train_path:
        return dates.date_pairs(split, {"train": d.n_train, "valid": d.n_valid}.get(split,
                                                                                 d.n_test), d.seed)
    if split == "test_locales":
        raise RnnkitError("--data test_locales: only the dates data set has held-out locales")
    if split == "test":
        if not d.test_path:
            raise RnnkitError("--data test: this run has no data.test_path; pass a TSV file")
        return read_pairs(d.test_path, d.test_target_path)
    if split == "valid" and d.valid_path:
        return read_pairs(d.valid_path, d.valid_target_path)
    pairs = read_pairs(d.train_path, d.train_target_path)
    if d.valid_path:
        return pairs
    cut = len(pairs) - max(1, round(len(pairs) * d.valid_fraction))
    if cut < 1:
        raise RnnkitError(f"{d.train_path}: {len(pairs)} pair(s) cannot give both training and "
                          "validation pairs; add lines or pass data.valid_path")
    return pairs[:cut] if split == "train" else pairs[cut:]


def build_vocabs(cfg: Config, pairs: list[Pair]) -> tuple[SeqVocab, SeqVocab]:
    d = cfg.data
    if d.share_vocab:
        shared = build_vocab(d.tokenizer, [t for p in pairs for t in p], d.min_freq,
                             d.max_vocab)
        return shared, shared
    return (build_vocab(d.tokenizer, [s for s, _ in pairs], d.min_freq, d.max_vocab),
            build_vocab(d.tokenizer, [t for _, t in pairs], d.min_freq, d.max_vocab))


def build_model(model_cfg: ModelConfig, src_vocab: SeqVocab, tgt_vocab: SeqVocab) -> Seq2Seq:
    return Seq2Seq(src_vocab.size, tgt_vocab.size, **dataclasses.asdict(model_cfg))


class TranslateTask:
    """Data is read on first use; vocabularies come from the training pairs."""

    name = NAME
    item_unit = "tok"

    def __init__(self, cfg: Config, vocabs: tuple[SeqVocab, SeqVocab] | None = None):
        if not isinstance(cfg, Config):
            raise ConfigError(f"translate task: expected rnnkit.tasks.translate.Config, got "
                              f"{type(cfg).__name__}")
        self.cfg = check(cfg)
        self._vocabs = vocabs
        self._train: PairBatches | None = None
        self._valid: list[Pair] | None = None

    @property
    def vocabs(self) -> tuple[SeqVocab, SeqVocab]:
        if self._vocabs is None:
            self._load()
        return self._vocabs

    def _load(self) -> None:
        d = self.cfg.data
        train = load_split(self.cfg, "train")
        if self._vocabs is None:
            self._vocabs = build_vocabs(self.cfg, train)
        src_v, tgt_v = self._vocabs
        src, tgt = [], []
        for s, t in train:
            si, ti = src_v.encode(s), tgt_v.encode(t)
            if si and ti and (not d.max_tokens or max(len(si), len(ti)) <= d.max_tokens):
                src.append(si)
                tgt.append(ti)
        if not src:
            raise RnnkitError(f"no training pairs left (data.max_tokens={d.max_tokens})")
        self._train = PairBatches(src, tgt, d.batch_size, seed=d.seed)
        self._valid = load_split(self.cfg, "valid")

    def build_model(self) -> Seq2Seq:
        return build_model(self.cfg.model, *self.vocabs)

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        if self._train is None:
            self._load()
        return self._train.epoch(epoch, rank, world_size)

    def step(self, model, batch, state) -> StepOutput:
        src, lengths, tgt = batch
        o = self.cfg.objective
        logits = model(src, lengths, tgt[:, :-1], sample_prob=o.sample_prob)  # (B, T, V)
        targets = tgt[:, 1:]
        loss = smoothed_loss(logits, targets, o.label_smoothing)
        return StepOutput(loss=loss, n_items=int((targets > 0).sum()))

    def evaluate(self, model) -> dict[str, float]:
        """Validation: loss (nats per target token, teacher forced, no smoothing), and greedy
        translations' exact match and chrF (percent)."""
        if self._valid is None:
            self._load()
        return evaluate_pairs(model, *self.vocabs, self._valid, self.cfg)

    def metadata(self) -> dict:
        src_v, tgt_v = self.vocabs
        return {"task": NAME, "src_vocab": src_v.to_dict(), "tgt_vocab": tgt_v.to_dict(),
                "model": dataclasses.asdict(self.cfg.model),
                "decode": dataclasses.asdict(self.cfg.decode)}


def evaluate_pairs(model, src_v: SeqVocab, tgt_v: SeqVocab, pairs: list[Pair],
                   cfg: Config) -> dict[str, float]:
    device = next(model.parameters()).device
    nats, count = 0.0, 0
    B = cfg.data.eval_batch_size
    with torch.no_grad():
        for i in range(0, len(pairs), B):
            chunk = [(src_v.encode(s), tgt_v.encode(t)) for s, t in pairs[i:i + B]]
            chunk = [(s, t) for s, t in chunk if s]
            if not chunk:
                continue
            src, lengths, tgt = (x.to(device) for x in make_batch(*zip(*chunk, strict=True)))
            logits = model(src, lengths, tgt[:, :-1])
            targets = tgt[:, 1:]
            nats += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                ignore_index=0, reduction="sum").item()
            count += int((targets > 0).sum())
    dec = cfg.decode
    out = Translator(model, src_v, tgt_v, dec.max_len_ratio, dec.max_len_extra).translate(
        [s for s, _ in pairs], batch_size=B)
    hyps, refs = [t[0].text for t in out], [t for _, t in pairs]
    exact = sum(h == r for h, r in zip(hyps, refs, strict=True))
    return {"loss": nats / max(count, 1), "exact": 100.0 * exact / len(pairs),
            "chrf": chrf(hyps, refs)}


def make_task(cfg: Config) -> TranslateTask:
    return TranslateTask(cfg)


def model_from_run(metadata: dict, state_dict: dict, device: str = "cpu"):
    """(model in eval mode, source vocabulary, target vocabulary) of a saved translate run."""
    if metadata.get("task") != NAME or "src_vocab" not in metadata:
        raise RnnkitError(f"not a translate run (its task is {metadata.get('task')!r}); train "
                          "one with `rnnkit train translate`")
    src_v, tgt_v = vocab_from_dict(metadata["src_vocab"]), vocab_from_dict(metadata["tgt_vocab"])
    try:
        model_cfg = ModelConfig(**metadata["model"])
    except TypeError as err:
        raise RnnkitError(f"checkpoint state.json: its model settings are damaged "
                          f"({err})") from None
    # the sizes in state.json are checked against the weights' shapes before anything is built
    model = build_checked(lambda: build_model(model_cfg, src_v, tgt_v), state_dict)
    return model.to(device).eval(), src_v, tgt_v
