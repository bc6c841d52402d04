"""Transcribing with an exported CTC recogniser in onnxruntime (the file `rnnkit export RUN_DIR
--onnx rec.onnx` writes for a recognize run): `OnnxRecognizer(path).transcribe(frames)`.

What `rnnkit transcribe RUN_DIR` does with greedy decoding, with the model in onnxruntime: each
item's frames are made into the run's features (pen strokes normalised as the run's
`pen_norm` says, rnnkit.data.pen_normalize, and given the pen's height) and
standardised with the run's mean and scale (from the file's `rnnkit.metadata`), padded into one
batch, run, and each row's first out_lengths frames decoded by best path
(rnnkit.models.ctc_decode.greedy_decode: argmax, merge repeats, drop blanks).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit.errors import DataError
from rnnkit.export.check import ExportError, open_session
from rnnkit.models.ctc_decode import greedy_decode

WRITER = "rnnkit export RECOGNIZE_RUN_DIR --onnx rec.onnx"


class OnnxRecognizer:
    """An exported recogniser in an onnxruntime session, with its run's alphabet and scaler."""

    def __init__(self, path: str | Path, threads: int = 0):
        self.session = open_session(path, threads, WRITER)
        names = [i.name for i in self.session.get_inputs()]
        meta = json.loads(self.session.get_modelmeta().custom_metadata_map.get(
            "rnnkit.metadata", "{}"))
        if names != ["x", "lengths"] or meta.get("task") != "recognize":
            raise ExportError(f"--onnx: {path} is not an exported rnnkit recogniser (inputs x, "
                              f"lengths; metadata of a recognize run): pass the file `{WRITER}` "
                              "wrote")
        self.alphabet, self.kind = meta["alphabet"], meta["kind"]
        self.mean = np.asarray(meta["mean"], np.float32)
        self.scale = np.asarray(meta["scale"], np.float32)
        self.pen_norm = meta.get("pen_norm", "none")  # pen strokes: as the run normalised them

    def features(self, frames) -> np.ndarray:
        """One item's raw frames (T, F) -> the standardised features the model reads."""
        from rnnkit.tasks.recognize.task import frame_features

        x = frame_features(self.kind, frames, self.pen_norm)
        if x.ndim != 2 or x.shape[1] != len(self.mean) or len(x) < 1:
            raise DataError(f"expected at least one frame of {len(self.mean)} features, got "
                            f"shape {tuple(x.shape)}")
        return (x - self.mean) / self.scale

    def log_probs(self, items: list) -> tuple[np.ndarray, np.ndarray]:
        """(log-probabilities (B, T', C), output lengths (B,)) of raw items, padded together."""
        xs = [self.features(f) for f in items]
        lengths = np.array([len(x) for x in xs], np.int64)
        batch = np.zeros((len(xs), int(lengths.max()), len(self.mean)), np.float32)
        for b, x in enumerate(xs):
            batch[b, : len(x)] = x
        log_probs, out_lengths = self.session.run(None, {"x": batch, "lengths": lengths})
        return log_probs, out_lengths

    def transcribe(self, items: list) -> list[str]:
        """The greedy (best path) text of each item, in order."""
        if not items:
            return []
        log_probs, out_lengths = self.log_probs(items)
        return ["".join(self.alphabet[k - 1] for k in greedy_decode(lp[:n]))
                for lp, n in zip(log_probs, out_lengths.tolist(), strict=True)]
