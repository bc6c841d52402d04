"""The check every export passes before its file is written: run the ONNX model in onnxruntime
and compare it with PyTorch in float64 on the same inputs."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnkit.errors import RnnkitError


class ExportError(RnnkitError):
    """A model cannot be exported, or its export does not compute what PyTorch computes."""


def check_cell(layer) -> None:
    """ONNX has operators for torch's cells only (LSTM, GRU, Elman RNN): refuse a variant, and
    zoneout, whose eval form (each unit keeps p of its previous state) no operator has.
    Recurrent dropout needs no check: it is off in eval, and the export is the eval model."""
    family = getattr(layer, "family", None)
    if family is not None and not family.native:
        raise ExportError(f"the {family.name} cell has no ONNX operator (ONNX has LSTM, GRU and "
                          f"RNN); export a model built with model.cell=lstm, gru or rnn_tanh")
    zoneout = getattr(layer, "zoneout", 0.0)
    if zoneout:
        raise ExportError(f"zoneout={zoneout:g} has no ONNX export (in eval each unit keeps "
                          f"{zoneout:g} of its previous state, which ONNX's LSTM/GRU/RNN "
                          "operators cannot do); train with model.zoneout=0 to export")


def require_onnx() -> None:
    """One line, not a traceback, where the `export` extra is not installed."""
    for name in ("onnx", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise ExportError(f"ONNX export needs the '{name}' package: pip install "
                              "'rnnkit[export]' (onnx, onnxruntime)") from None


def session(model_bytes: bytes):
    """An onnxruntime CPU session of a serialized model, on one thread (the check is small)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def open_session(path, threads: int = 0, writer: str = "rnnkit export RUN_DIR --onnx FILE"):
    """An onnxruntime CPU session of the file at `path` (`threads` 0: onnxruntime's default);
    one line naming `writer`, the command that writes such a file, where it cannot be loaded."""
    require_onnx()
    import onnxruntime as ort
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidGraph, InvalidProtobuf

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"--onnx: {path} is not a file (write one with `{writer}`)")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except (Fail, InvalidGraph, InvalidProtobuf) as err:  # not an ONNX model it can run
        raise ExportError(f"--onnx: onnxruntime cannot load {path}: "
                          f"{str(err).splitlines()[0]}") from None


@dataclass
class CheckReport:
    """The largest |onnxruntime - PyTorch float64| over every output of every checked shape."""

    max_abs_diff: float = 0.0
    shapes: list = field(default_factory=list)  # what was checked, e.g. "T=7 B=3"
    path: str | None = None

    def add(self, label: str, ours: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> None:
        for name, expected in ref.items():
            got = ours[name]
            if got.shape != expected.shape:
                raise ExportError(f"the ONNX model's {name} has shape {got.shape} at {label}, "
                                  f"PyTorch's {expected.shape}: this is a bug in rnnkit's export")
            if got.size:
                diff = float(np.max(np.abs(got.astype(np.float64) - expected)))
                self.max_abs_diff = max(self.max_abs_diff, diff)
        self.shapes.append(label)

    def enforce(self, tolerance: float, what: str) -> None:
        if not self.max_abs_diff <= tolerance:  # also catches NaN
            raise ExportError(
                f"{what}: onnxruntime differs from PyTorch by {self.max_abs_diff:.3g} (max abs, "
                f"tolerance {tolerance:g}, checked {', '.join(self.shapes)}); nothing was written"
            )

    def __str__(self) -> str:
        where = f" -> {self.path}" if self.path else ""
        return (f"checked in onnxruntime at {', '.join(self.shapes)}: max abs difference "
                f"{self.max_abs_diff:.3g} from PyTorch (float64){where}")


def random_state(layer, batch: int, gen: torch.Generator):
    """A random float64 initial state for `layer` (what its forward takes) and its float32
    onnxruntime feeds {"h0": ..[, "c0": ..]}."""
    shape = (layer.num_layers * layer.num_directions, batch, layer.hidden_size)
    parts = [torch.randn(shape, generator=gen, dtype=torch.float64)
             for _ in range(2 if layer.mode == "LSTM" else 1)]
    feeds = {name: np.float32(p.numpy()) for name, p in zip(("h0", "c0"), parts, strict=False)}
    return (tuple(parts) if len(parts) == 2 else parts[0]), feeds


def state_arrays(state) -> dict[str, np.ndarray]:
    """A layer's final state as {"h_n": ..[, "c_n": ..]} numpy arrays."""
    parts = state if isinstance(state, tuple) else (state,)
    return {name: p.numpy() for name, p in zip(("h_n", "c_n"), parts, strict=False)}
