"""A CTC recogniser (rnnkit.models.ctc.CTCRecognizer) as one checked ONNX file:

    x (B, T, F) float32 standardised frames, lengths (B,) int64
        -> log_probs (B, T', C) float32, out_lengths (B,) int64

the whole forward in eval mode: frames past each length set to zero, the shortening ("stack":
k frames side by side, "conv": Conv1d + ReLU, "none"), the recurrent stack with ONNX
sequence_lens = out_lengths (rnnkit.export.graph), the head and log_softmax over the classes
(blank = 0). T' = ceil(T / k) for "stack" and "none" (k = 1) as the model gives it; "conv" cuts it
to the longest output length, as the model does. Batch and time are dynamic axes.

What a run does around the model is not in the graph: reading a file into frames, and the
standardisation (x - mean) / scale with the run's mean and scale; the checkpoint's metadata
(alphabet, kind, mean, scale, factor) is stored as JSON under `rnnkit.metadata`. Greedy decoding
of the output is rnnkit.models.ctc_decode.greedy_decode on each row's first out_lengths frames
(docs/export.md shows it with onnxruntime alone).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch

from rnnkit.export.check import CheckReport, ExportError, check_cell, require_onnx, session
from rnnkit.files import write_bytes

# (T, B) of the check: one frame alone, short padded batches, and a long one.
CHECK_SHAPES = ((1, 1), (7, 3), (64, 8), (300, 2))


def recognizer_to_onnx(model, path: str | Path, metadata: dict | None = None,
                       tolerance: float = 1e-4, seed: int = 0) -> CheckReport:
    """Write `model` to `path`, checked in onnxruntime against it in float64 first (above
    `tolerance`, max abs: ExportError, nothing written). `metadata` is stored as JSON."""
    require_onnx()
    cfg = getattr(model, "cfg", None)
    if not hasattr(model, "rnn") or not hasattr(cfg, "subsample"):
        raise ExportError(f"recognizer_to_onnx exports a CTCRecognizer, got "
                          f"{type(model).__name__}")
    check_cell(model.rnn)
    model = copy.deepcopy(model).cpu().eval()
    data = _build(model, {} if metadata is None else {"rnnkit.metadata": json.dumps(metadata)})
    report = _verify(model, data, seed)
    report.enforce(tolerance, "export of the recognizer")
    report.path = str(write_bytes(path, data))
    return report


def _build(model, meta: dict) -> bytes:
    from onnx import helper

    from rnnkit.export.graph import FLOAT, INT64, GraphBuilder, add_stack, linear, zero_state

    cfg, g, rnn = model.cfg, GraphBuilder(), model.rnn
    i64 = lambda *v: g.const("i", np.array(v, np.int64))  # noqa: E731
    x = g.add_input("x", FLOAT, ["batch", "time", cfg.input_size])
    lengths = g.add_input("lengths", INT64, ["batch"])
    shape = g.node("Shape", [x])
    T = g.node("Gather", [shape, i64(1)])  # (1,): GraphBuilder.const makes no 0-d tensor
    steps = g.node("Range", [g.node("Squeeze", [i64(0)]), g.node("Squeeze", [T]),
                             g.node("Squeeze", [i64(1)])])  # (T,)
    mask = g.node("Less", [g.node("Unsqueeze", [steps, i64(0)]),
                           g.node("Unsqueeze", [lengths, i64(1)])])  # (B, T)
    x = g.node("Mul", [x, g.node("Unsqueeze", [g.node("Cast", [mask], to=FLOAT), i64(2)])])
    k = cfg.factor if cfg.subsample != "none" else 1
    out_len = lengths if k == 1 else g.node("Div", [g.node("Add", [lengths, i64(k - 1)]),
                                                    i64(k)])  # ceil(lengths / k)
    if cfg.subsample == "stack" and k > 1:
        T2 = g.node("Div", [g.node("Add", [T, i64(k - 1)]), i64(k)])  # ceil(T / k), (1,)
        extra = g.node("Sub", [g.node("Mul", [T2, i64(k)]), T])
        pads = g.node("Concat", [i64(0, 0, 0, 0), extra, i64(0)], axis=0)  # after the end
        x = g.node("Reshape", [g.node("Pad", [x, pads]), i64(0, -1, k * cfg.input_size)])
    elif model.conv is not None:
        conv = model.conv
        y = g.node("Conv", [g.node("Transpose", [x], perm=[0, 2, 1]),
                            g.const("conv_w", conv.weight.detach().float().numpy()),
                            g.const("conv_b", conv.bias.detach().float().numpy())],
                   kernel_shape=[2 * k - 1], strides=[k], pads=[k - 1, k - 1])
        y = g.node("Transpose", [g.node("Relu", [y])], perm=[0, 2, 1])  # (B, ceil(T/k), C)
        longest = g.node("ReduceMax", [out_len], keepdims=1)  # (1,)
        x = g.node("Slice", [y, i64(0), longest, i64(1)])
    h0, c0 = zero_state(g, rnn, x)
    y, _, _ = add_stack(g, rnn, g.node("Transpose", [x], perm=[1, 0, 2]), h0, c0, out_len)
    logits = linear(g, g.node("Transpose", [y], perm=[1, 0, 2]), model.head)  # (B, T', C)
    g.add_output("log_probs", g.node("LogSoftmax", [logits], axis=-1), FLOAT,
                 ["batch", "frames", cfg.n_classes])
    g.add_output("out_lengths", out_len, INT64, ["batch"])
    proto = g.model("rnnkit_ctc_recognizer", "rnnkit CTC recognizer")
    helper.set_model_props(proto, meta)
    return proto.SerializeToString()


def _verify(model, data: bytes, seed: int) -> CheckReport:
    ref = copy.deepcopy(model).to(torch.float64).eval()
    sess, gen, report = session(data), torch.Generator().manual_seed(seed), CheckReport()
    for T, B in CHECK_SHAPES:
        x = torch.randn(B, T, model.cfg.input_size, generator=gen, dtype=torch.float64)
        lengths = torch.randint(1, T + 1, (B,), generator=gen)
        if B > 1:
            lengths[1] = T  # a full row; row 0 may be shorter than every other
        with torch.no_grad():
            log_probs, out_len = ref(x, lengths)
        got = sess.run(None, {"x": np.float32(x.numpy()), "lengths": lengths.numpy()})
        got = dict(zip(("log_probs", "out_lengths"), got, strict=True))
        report.add(f"T={T} B={B}", got, {"log_probs": log_probs.numpy(),
                                         "out_lengths": out_len.numpy().astype(np.float64)})
    return report
