"""Sampling from an exported language model with onnxruntime: the model runs in onnxruntime,
not in torch (`rnnkit generate --onnx lm.step.onnx`).

The file is the one-step model `rnnkit export RUN_DIR --step` writes (tokens (B,) int64, h0 [,
c0] -> logits (B, V), h_n [, c_n]); its tokenizer comes from its metadata (`rnnkit.tokenizer`).
The prime is read one token at a time with the state carried; the sampling rules are rnnkit's
own (`rnnkit.models.generate.sample_token`), so a seed gives the text `rnnkit generate RUN_DIR`
gives where the logits agree (they do to ~1e-6; a draw that falls that close to a boundary
between two tokens may differ).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.tokenizers import tokenizer_from_dict
from rnnkit.errors import ConfigError
from rnnkit.export.check import ExportError, open_session
from rnnkit.models.generate import Sampling, sample_token, start_ids


class OnnxStepModel:
    """An exported one-step language model in an onnxruntime session, with its state."""

    def __init__(self, path: str | Path, threads: int = 0):
        self.session = open_session(path, threads, "rnnkit export RUN_DIR --onnx lm.onnx "
                                    "--step lm.step.onnx")
        inputs = {i.name: i for i in self.session.get_inputs()}
        meta = self.session.get_modelmeta().custom_metadata_map
        if "tokens" not in inputs or len(inputs["tokens"].shape) != 1 \
                or "rnnkit.tokenizer" not in meta:
            raise ExportError(f"--onnx: {path} is not the one-step model of an rnnkit language "
                              "model (inputs tokens (B,), h0[, c0]; metadata rnnkit.tokenizer): "
                              "pass the file `rnnkit export ... --step` wrote")
        self.tokenizer = tokenizer_from_dict(json.loads(meta["rnnkit.tokenizer"]))
        self.state_names = [n for n in inputs if n != "tokens"]
        self._zero = {n: np.zeros([1 if isinstance(d, str) else d for d in inputs[n].shape],
                                  np.float32) for n in self.state_names}
        self.state = dict(self._zero)
        self._token = np.zeros(1, np.int64)

    def reset(self) -> None:
        self.state = dict(self._zero)

    def step(self, token: int) -> np.ndarray:
        """(V,) logits after reading `token`; the state moves on."""
        self._token[0] = token
        logits, *new = self.session.run(None, {"tokens": self._token} | self.state)
        self.state = dict(zip(self.state_names, new, strict=True))
        return logits[0]


def generate_onnx(model: OnnxStepModel, prime: str = "", length: int = 500,
                  sampling: Sampling | None = None) -> Iterator[str]:
    """The text of `length` sampled tokens continuing `prime`, as rnnkit.models.generate does
    it, with the model in onnxruntime. Arguments and the prime are checked before the first."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ConfigError(f"--length: expected an integer >= 0, got {length!r}")
    sampling = sampling or Sampling()
    start = start_ids(model.tokenizer, prime)  # DataError now for characters it lacks
    return _stream(model, start, length, sampling)


def _stream(model: OnnxStepModel, start: list[int], length: int, sampling: Sampling):
    generator = torch.Generator()
    if sampling.seed is None:
        generator.seed()
    else:
        generator.manual_seed(sampling.seed)
    decode = model.tokenizer.stream_decoder()
    model.reset()
    for token in start:
        logits = model.step(token)
    for i in range(length):
        token = sample_token(torch.from_numpy(logits), sampling, generator)
        yield decode(token)
        if i + 1 < length:
            logits = model.step(token)
