"""`to_onnx(layer, path)`: a bare rnnkit.RNN / LSTM / GRU as an ONNX file, checked first."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from rnnkit.export.check import (
    CheckReport,
    ExportError,
    check_cell,
    random_state,
    require_onnx,
    session,
    state_arrays,
)
from rnnkit.files import write_bytes
from rnnkit.layers.base import RecurrentBase

# (T, B) of the check: one step and one batch row (torch's exporter's classic traps), and more.
CHECK_SHAPES = ((1, 1), (7, 3), (64, 8))


def to_onnx(layer, path: str | Path, tolerance: float = 1e-4, seed: int = 0,
            lengths: bool = False) -> CheckReport:
    """Write `layer` (rnnkit.RNN / LSTM / GRU, or torch.nn's) to `path` as an ONNX model.

    What is exported: the layer in eval mode (no dropout) as ONNX's RNN / LSTM / GRU operators,
    one per layer, written from its parameters in float32 (rnnkit.export.graph has the mapping;
    both GRU forms, reset_after True and False, are exact ONNX attributes). Inputs: `input`
    (T, B, I), or (B, T, I) with batch_first, and `h0` (D*num_layers, B, H) [and `c0` for an
    LSTM]; outputs `output`, `h_n` [and `c_n`], as the layer's forward with the state passed in.
    T and B are dynamic axes ("time", "batch"), so one file serves every length and batch size
    and carries state between calls. With `lengths=True` the model also takes `lengths` (B,)
    int64, as the layer's forward(..., lengths=): zero outputs past each length, final states
    from each row's last real step.

    Before anything is written the model runs in onnxruntime at (T, B) in CHECK_SHAPES and is
    compared with the layer in float64; above `tolerance` (max abs) it raises ExportError and
    writes nothing. Returns the check's report (max_abs_diff, shapes, path).
    """
    require_onnx()
    from rnnkit.export.graph import (
        FLOAT,
        INT64,
        GraphBuilder,
        add_stack,
        state_inputs,
        state_outputs,
    )

    layer = copy.deepcopy(_check_layer(layer)).cpu().eval()  # the caller's stays as it is
    layer.dh_recorder = None  # rnnkit.diagnostics' recording, not part of the model
    g = GraphBuilder()
    x_shape = ["batch", "time", layer.input_size] if layer.batch_first else [
        "time", "batch", layer.input_size]
    x = g.add_input("input", FLOAT, x_shape)
    h0, c0 = state_inputs(g, layer)
    n = g.add_input("lengths", INT64, ["batch"]) if lengths else None
    if layer.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    y, hn, cn = add_stack(g, layer, x, h0, c0, n)
    if layer.batch_first:
        y = g.node("Transpose", [y], perm=[1, 0, 2])
    out_shape = [*x_shape[:2], layer.num_directions * layer.hidden_size]
    g.add_output("output", y, FLOAT, out_shape)
    state_outputs(g, layer, hn, cn)
    data = g.model(type(layer).__name__, f"rnnkit export of {layer!r}").SerializeToString()
    report = verify_layer(layer, data, seed, lengths=lengths)
    report.enforce(tolerance, f"export of {type(layer).__name__}")
    report.path = str(write_bytes(path, data))
    return report


def _check_layer(layer):
    if isinstance(layer, torch.nn.RNNBase) and not isinstance(layer, RecurrentBase):
        layer = _from_torch(layer)
    if not isinstance(layer, RecurrentBase):
        raise ExportError(f"to_onnx exports an rnnkit.RNN, LSTM or GRU layer, got "
                          f"{type(layer).__name__}; export a model with `rnnkit export RUN_DIR`")
    check_cell(layer)
    if layer.proj_size:
        raise ExportError(f"an LSTM with proj_size={layer.proj_size} has no ONNX operator (ONNX "
                          "LSTM has no projection); export one with proj_size=0")
    return layer


def _from_torch(layer: torch.nn.RNNBase) -> RecurrentBase:
    """torch.nn.RNN / LSTM / GRU -> the rnnkit layer with the same settings and state_dict."""
    from rnnkit.layers import GRU, LSTM, RNN

    kw = dict(num_layers=layer.num_layers, bias=layer.bias, batch_first=layer.batch_first,
              bidirectional=layer.bidirectional)
    if layer.mode == "LSTM":
        ours = LSTM(layer.input_size, layer.hidden_size, proj_size=layer.proj_size, **kw)
    elif layer.mode == "GRU":
        ours = GRU(layer.input_size, layer.hidden_size, **kw)
    else:
        ours = RNN(layer.input_size, layer.hidden_size, nonlinearity=layer.nonlinearity, **kw)
    ours.load_state_dict(layer.state_dict())
    return ours


def verify_layer(layer, model_bytes: bytes, seed: int = 0, shapes=CHECK_SHAPES,
                 lengths: bool = False) -> CheckReport:
    """Run the exported layer in onnxruntime and the layer in float64 on the same random inputs."""
    ref = copy.deepcopy(layer).to(torch.float64).eval()
    sess = session(model_bytes)
    gen = torch.Generator().manual_seed(seed)
    report = CheckReport()
    for T, B in shapes:
        x = torch.randn((B, T, layer.input_size) if layer.batch_first else
                        (T, B, layer.input_size), generator=gen, dtype=torch.float64)
        state0, feeds = random_state(layer, B, gen)
        n = torch.randint(1, T + 1, (B,), generator=gen) if lengths else None
        if n is not None:
            n[0] = T  # one full row, so the output has T steps
            feeds["lengths"] = n.numpy()
        with torch.no_grad():
            out, state = ref(x, state0, lengths=n)
        feeds["input"] = np.float32(x.numpy())
        outs = dict(zip(("output", "h_n", "c_n"), sess.run(None, feeds), strict=False))
        report.add(f"T={T} B={B}", outs, {"output": out.numpy()} | state_arrays(state))
    return report
