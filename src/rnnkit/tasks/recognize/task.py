"""The Task contract for CTC recognition: batches of (features, text), the CTC loss, CER/WER.

Labels: the alphabet's characters are classes 1..A (class 0 is the blank). Features are
standardised per channel with a mean and scale fitted on the training items (kept in the
checkpoint's metadata). An item whose text needs more output frames than the model gives it
(L + repeated neighbours > frames after subsampling: CTC has no path, the loss is infinite) is
handled by `loss.infeasible`: "skip" leaves it out of the loss, "zero" counts it as 0 (torch's
zero_infinity), "error" stops with the items named. The `infeasible` metric counts them.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.data.batching import bucket_batches, pad_batch, shard_batches
from rnnkit.data.handwriting import handwriting_items
from rnnkit.data.pen_normalize import parse_steps, pen_features
from rnnkit.errors import DataError
from rnnkit.functional.ctc import ctc_loss, min_input_lengths
from rnnkit.models.ctc import CTCModelConfig, CTCRecognizer
from rnnkit.models.ctc_decode import decode_batch
from rnnkit.tasks._contract import StepOutput
from rnnkit.tasks.recognize.config import factor_for
from rnnkit.tasks.recognize.metrics import error_rates


class Alphabet:
    """Characters <-> classes 1..A (0 is the CTC blank)."""

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars) or not chars:
            raise DataError(f"alphabet: expected distinct characters, got {chars!r}")
        self.chars = chars
        self.index = {c: i + 1 for i, c in enumerate(chars)}

    def encode(self, text: str, where: str = "text") -> list[int]:
        bad = sorted({c for c in text if c not in self.index})
        if bad:
            raise DataError(f"{where}: character(s) {''.join(bad)!r} of {text!r} are not in the "
                            f"alphabet {self.chars!r}; remove them or retrain with them")
        return [self.index[c] for c in text]

    def decode(self, labels) -> str:
        return "".join(self.chars[k - 1] for k in labels)


class RecognizeTask:
    name = "recognize"
    item_unit = "utt"

    def __init__(self, cfg, alphabet: Alphabet, kind: str, mean: np.ndarray, scale: np.ndarray,
                 train=(), valid=(), pen_norm: str | None = None):
        self.cfg, self.alphabet, self.kind = cfg, alphabet, kind
        # pen strokes' normalisation: the run's own (metadata) when rebuilt, else data.pen_norm
        self.pen_norm = cfg.data.pen_norm if pen_norm is None else pen_norm
        self.mean, self.scale = np.asarray(mean, np.float32), np.asarray(scale, np.float32)
        self.train = [self.encode_item(x, t, f"training item {i}") for i, (x, t) in
                      enumerate(train)]
        self.valid = [self.encode_item(x, t, f"validation item {i}") for i, (x, t) in
                      enumerate(valid)]

    def encode_item(self, x: np.ndarray, text: str, where: str):
        x = frame_features(self.kind, x, self.pen_norm)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise DataError(f"{where}: expected frames of {len(self.mean)} features, got shape "
                            f"{tuple(x.shape)}")
        return (x - self.mean) / self.scale, text, self.alphabet.encode(text, where)

    @property
    def factor(self) -> int:
        """The subsampling factor this task's model uses (model.factor, or by kind if 0)."""
        return factor_for(self.cfg.model.factor, self.kind)

    def model_config(self) -> CTCModelConfig:
        m = self.cfg.model
        return CTCModelConfig(
            input_size=len(self.mean), n_classes=len(self.alphabet.chars) + 1, cell=m.cell,
            hidden_size=m.hidden_size, num_layers=m.num_layers, bidirectional=m.bidirectional,
            dropout=m.dropout, recurrent_dropout=m.recurrent_dropout, zoneout=m.zoneout,
            recurrent_dropout_mode=m.recurrent_dropout_mode,
            subsample=m.subsample, factor=self.factor,
            conv_channels=m.conv_channels, impl=m.impl)

    def build_model(self) -> torch.nn.Module:
        return CTCRecognizer(self.model_config())

    def collate(self, items) -> dict:
        x, lengths = pad_batch([torch.from_numpy(a) for a, _, _ in items])
        L = max(1, max(len(labels) for _, _, labels in items))
        targets = torch.zeros(len(items), L, dtype=torch.long)
        for b, (_, _, labels) in enumerate(items):
            targets[b, : len(labels)] = torch.tensor(labels, dtype=torch.long)
        target_lengths = torch.tensor([len(labels) for _, _, labels in items])
        return {"x": x, "lengths": lengths, "targets": targets, "target_lengths": target_lengths,
                "texts": [t for _, t, _ in items]}

    def batches(self, items, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1):
        order = bucket_batches([len(a) for a, _, _ in items], self.cfg.data.batch_size,
                               shuffle=shuffle, seed=seed)
        for idx in shard_batches(order, rank, world_size):
            yield idx, self.collate([items[i] for i in idx])

    def train_batches(self, epoch: int, rank: int = 0, world_size: int = 1):
        if not self.train:
            raise DataError("recognize: this task was built without training data")
        d = self.cfg.data
        seed = d.seed * 100_003 + epoch
        train = self.epoch_items(epoch)
        order = bucket_batches([len(a) for a, _, _ in train], d.batch_size, shuffle=True,
                               seed=seed)
        for idx in shard_batches(order, rank, world_size):
            items = [train[i] for i in idx]
            if d.warp and self.kind == "speech":  # same on resume and any rank: (seed, epoch, item)
                rng = np.random.default_rng((d.seed, epoch, int(idx[0])))
                items = [(self.warp(x, rng.uniform(1 - d.warp, 1 + d.warp)), t, labels)
                         for x, t, labels in items]
            yield self.collate(items)

    def epoch_items(self, epoch: int) -> list:
        """The training items of an epoch: with data.fresh (generated handwriting), epochs after
        the first draw a new set of the same size from (data.seed, epoch); the scaler stays the
        one fitted on the first."""
        d = self.cfg.data
        if not (d.fresh and epoch > 0 and self.kind == "strokes" and not d.path):
            return self.train
        if getattr(self, "_fresh", (None,))[0] != epoch:
            fonts = [f for f in d.fonts.split(",") if f]
            items = handwriting_items(len(self.train), [d.seed, 1000 + epoch], fonts, d.wobble,
                                      d.pen_noise)
            self._fresh = (epoch, [self.encode_item(x, t, f"epoch {epoch} item {i}")
                                   for i, (x, t) in enumerate(items)])
        return self._fresh[1]

    def warp(self, x: np.ndarray, factor: float) -> np.ndarray:
        """Standardised log-mel frames with the mel axis stretched by `factor` about band 0
        (a vocal-tract-length perturbation: a longer or shorter voice), bands past the top
        repeat the last one."""
        raw = x * self.scale + self.mean
        bands = np.arange(raw.shape[1], dtype=np.float64)
        source = np.clip(bands / factor, 0, raw.shape[1] - 1)
        lo = np.floor(source).astype(int)
        hi = np.minimum(lo + 1, raw.shape[1] - 1)
        frac = (source - lo).astype(np.float32)
        warped = raw[:, lo] * (1 - frac) + raw[:, hi] * frac
        return ((warped - self.mean) / self.scale).astype(np.float32)

    def losses(self, model, batch: dict):
        """(summed loss over the feasible items, their label count, infeasible count,
        log-probabilities (B, T', C), output lengths)."""
        dev = next(model.parameters()).device
        log_probs, out_len = model(batch["x"].to(dev), batch["lengths"].to(dev))
        targets, target_lengths = batch["targets"], batch["target_lengths"]
        feasible = min_input_lengths(targets, target_lengths) <= out_len.cpu()
        n_bad = int((~feasible).sum())
        mode = self.cfg.loss.infeasible
        if n_bad and mode == "error":
            bad = [(t, int(n)) for t, n, ok in zip(batch["texts"], out_len.tolist(),
                                                   feasible.tolist(), strict=True) if not ok]
            raise DataError(f"recognize: {n_bad} item(s) too short for their text after "
                            f"subsampling, e.g. {bad[0][0]!r} in {bad[0][1]} frames; lower "
                            "model.factor or set loss.infeasible=skip|zero")
        nll = ctc_loss(log_probs.transpose(0, 1), targets.to(dev), out_len, target_lengths,
                       reduction="none", zero_infinity=True, impl=self.cfg.loss.impl)
        keep = feasible if mode == "skip" else torch.ones_like(feasible)
        n_labels = int(target_lengths[keep].sum())
        return nll[keep.to(dev)].sum(), n_labels, n_bad, log_probs, out_len

    def step(self, model, batch: dict, state=None) -> StepOutput:
        total, n_labels, n_bad, _, _ = self.losses(model, batch)
        loss = total / max(n_labels, 1)  # per label (character)
        return StepOutput(loss=loss, n_items=len(batch["texts"]), state=None,
                          metrics={"infeasible": float(n_bad)})

    @torch.no_grad()
    def transcribe(self, model, items, beam: int = 0, **beam_args) -> tuple[list[str], float]:
        """(hypotheses in item order, loss per label) for encoded items."""
        was = model.training
        model.eval()
        hyps: list[str] = [""] * len(items)
        total, count = 0.0, 0
        try:
            for idx, batch in self.batches(items, shuffle=False, seed=0):
                nll, n, _, lp, out_len = self.losses(model, batch)
                total, count = total + float(nll), count + n
                for i, labels in zip(idx, decode_batch(lp, out_len.cpu(), beam=beam,
                                                       **beam_args), strict=True):
                    hyps[i] = self.alphabet.decode(labels)
        finally:
            model.train(was)
        return hyps, total / max(count, 1)

    def score(self, model, items, beam: int = 0, **beam_args) -> dict:
        hyps, loss = self.transcribe(model, items, beam, **beam_args)
        return {"loss": loss, **error_rates([t for _, t, _ in items], hyps)}

    def evaluate(self, model) -> dict[str, float]:
        return self.score(model, self.valid)

    def metadata(self) -> dict:
        return {"task": self.name, "alphabet": self.alphabet.chars, "kind": self.kind,
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "factor": self.factor,
                "pen_norm": self.pen_norm}


def frame_features(kind: str, x, pen_norm: str = "none") -> np.ndarray:
    """What the model reads of an item's frames: pen strokes (dx, dy, pen_up) are normalised by
    the steps in `pen_norm` and gain the pen's height (rnnkit.data.pen_normalize.pen_features);
    other kinds are read as they are."""
    x = np.asarray(x, np.float32)
    if kind == "strokes" and x.ndim == 2 and x.shape[1] == 3:
        return pen_features(x, parse_steps(pen_norm))
    return x


def fit_scaler(kind: str, items, pen_norm: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (at least 1e-3) over every training frame."""
    frames = np.concatenate([frame_features(kind, x, pen_norm).astype(np.float64)
                             for x, _ in items])
    return frames.mean(0), np.maximum(frames.std(0), 1e-3)
