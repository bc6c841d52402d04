"""Greedy translation with an exported translation model in onnxruntime alone (no torch):
`OnnxTranslator(encoder_path, step_path).translate(sentences)`.

The two files are the ones `rnnkit export RUN_DIR --onnx enc.onnx --step step.onnx` writes for a
translate run (rnnkit.export.translate). Decoding is rnnkit.tasks.translate.Translator's with
beam 1: sources encoded with the run's source vocabulary (pieces it lacks read as <unk>), sorted
by length and padded in batches, each sentence decoded from BOS by the most likely token at every
step until EOS or its maximum length ceil(max_len_ratio * source tokens) + max_len_extra (the
run's decode settings), then put back in order; an empty line gives an empty line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from rnnkit.data.seq_vocab import BOS_ID, EOS_ID, SeqVocab
from rnnkit.errors import ConfigError
from rnnkit.export.check import ExportError, open_session

WRITER = "rnnkit export TRANSLATE_RUN_DIR --onnx enc.onnx --step step.onnx"


class OnnxTranslator:
    """The encoder and decoder-step files in two onnxruntime sessions, with the run's
    vocabularies and decode settings (from the files' `rnnkit.metadata`)."""

    def __init__(self, encoder_path: str | Path, step_path: str | Path, threads: int = 0):
        self.encoder = open_session(encoder_path, threads, WRITER)
        self.step = open_session(step_path, threads, WRITER)
        enc_in = [i.name for i in self.encoder.get_inputs()]
        self.state_names = [o.name for o in self.encoder.get_outputs()]
        step_in = [i.name for i in self.step.get_inputs()]
        meta = _metadata(self.encoder)
        if enc_in != ["src", "src_lengths"] or meta.get("task") != "translate":
            raise ExportError(f"{encoder_path} is not the encoder of an exported rnnkit "
                              f"translation model: pass the --onnx file of `{WRITER}`")
        pair = [s.get_modelmeta().custom_metadata_map.get("rnnkit.weights")
                for s in (self.encoder, self.step)]
        if step_in != ["tokens", *self.state_names] or _metadata(self.step) != meta or \
                pair[0] != pair[1]:
            raise ExportError(f"{step_path} is not the decoder step exported with {encoder_path}"
                              f": pass the --step file of the same `{WRITER}`")
        self.src_vocab = SeqVocab.from_dict(meta["src_vocab"])
        self.tgt_vocab = SeqVocab.from_dict(meta["tgt_vocab"])
        decode = meta.get("decode", {})
        self.max_len_ratio = float(decode.get("max_len_ratio", 2.0))
        self.max_len_extra = int(decode.get("max_len_extra", 10))
        # the step's outputs after log_probs: new_<state> for what the decoder changes
        self.changed = [o.name.removeprefix("new_") for o in self.step.get_outputs()[1:]
                        if o.name.startswith("new_")]

    def max_len(self, n_source: int) -> int:
        return max(1, math.ceil(self.max_len_ratio * n_source) + self.max_len_extra)

    def translate(self, sources: list[str], batch_size: int = 64) -> list[str]:
        """The greedy translation of each source, in order."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        encoded = [self.src_vocab.encode(s) for s in sources]
        out = [""] * len(sources)
        order = sorted((i for i, ids in enumerate(encoded) if ids), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            for i, tokens in zip(idx, self.greedy([encoded[i] for i in idx]), strict=True):
                out[i] = self.tgt_vocab.decode(tokens)
        return out

    def greedy(self, sources: list[list[int]]) -> list[list[int]]:
        """Target ids (no BOS, no EOS) of each encoded source, decoded together."""
        lengths = np.array([len(s) for s in sources], np.int64)
        src = np.zeros((len(sources), int(lengths.max())), np.int64)
        for b, ids in enumerate(sources):
            src[b, : len(ids)] = ids
        state = dict(zip(self.state_names, self.encoder.run(None, {"src": src, "src_lengths":
                                                                   lengths}), strict=True))
        limits = [self.max_len(n) for n in lengths.tolist()]
        tokens = np.full(len(sources), BOS_ID, np.int64)
        out: list[list[int]] = [[] for _ in sources]
        done = [False] * len(sources)
        for _ in range(max(limits)):
            log_probs, *new = self.step.run(None, {"tokens": tokens} | state)
            state |= dict(zip(self.changed, new, strict=False))  # attention, if any, is last
            tokens = log_probs.argmax(1)
            for b, tok in enumerate(tokens.tolist()):
                if done[b]:
                    continue
                if tok == EOS_ID:
                    done[b] = True
                    continue
                out[b].append(tok)
                done[b] = len(out[b]) >= limits[b]
            if all(done):
                break
        return out


def _metadata(session) -> dict:
    return json.loads(session.get_modelmeta().custom_metadata_map.get("rnnkit.metadata", "{}"))
