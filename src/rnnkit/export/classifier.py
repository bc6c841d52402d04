"""A many-to-one model (rnnkit.models.classifier.SequenceClassifier) as one checked ONNX file:

    x (B, T) int64 tokens, or (B, T, C) float32 series;  lengths (B,) int64
        -> logits (B, K), or values (B,) for a regression run

Embedding (Gather) or Linear -> the recurrent stack with ONNX sequence_lens (rnnkit.export.graph)
-> the run's pooling over real steps (last, mean, max, attention) -> Linear, in eval mode. What a
run does before the model (its vocabulary, its scaling of series) is not in the graph: the
metadata `rnnkit.metadata` holds the checkpoint's metadata (JSON) for a runtime to apply.
Refused with a reason: hashed sub-word inputs (EmbeddingBag), and ensembles.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch

from rnnkit.export.check import CheckReport, ExportError, check_cell, require_onnx, session
from rnnkit.export.layer import CHECK_SHAPES
from rnnkit.files import write_bytes


def classifier_to_onnx(model, path: str | Path, metadata: dict | None = None,
                       tolerance: float = 1e-4, seed: int = 0) -> CheckReport:
    """Write `model` to `path`, checked in onnxruntime against it in float64 first (above
    `tolerance`, max abs: ExportError, nothing written). `metadata` is stored as JSON."""
    require_onnx()
    cfg = getattr(model, "cfg", None)
    if cfg is None or not hasattr(model, "pool") or not hasattr(model, "head"):
        raise ExportError(f"classifier_to_onnx exports a SequenceClassifier, got "
                          f"{type(model).__name__} (an ensemble run: export one member)")
    if cfg.input_kind == "tokens" and cfg.subword_buckets:
        raise ExportError("a classifier with model.subword_buckets > 0 has no ONNX export yet "
                          "(its EmbeddingBag of n-grams); train it with subword_buckets=0")
    check_cell(model.rnn)
    if cfg.input_kind == "series" and (cfg.conv_filters or cfg.downsample > 1):
        raise ExportError("a series classifier with a convolutional branch or downsampling has "
                          "no ONNX export yet; train it with --model.conv_filters=0 "
                          "--model.downsample=1 to export it")
    model = copy.deepcopy(model).cpu().eval()
    data = _build(model, {} if metadata is None else {"rnnkit.metadata": json.dumps(metadata)})
    report = _verify(model, data, seed)
    report.enforce(tolerance, "export of the classifier")
    report.path = str(write_bytes(path, data))
    return report


def _f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().numpy()


def _build(model, meta: dict) -> bytes:
    from onnx import helper

    from rnnkit.export.graph import FLOAT, INT64, GraphBuilder, add_stack, linear, zero_state

    cfg, g, rnn = model.cfg, GraphBuilder(), model.rnn
    tokens = cfg.input_kind == "tokens"
    x = g.add_input("x", INT64 if tokens else FLOAT,
                    ["batch", "time"] if tokens else ["batch", "time", cfg.input_size])
    lengths = g.add_input("lengths", INT64, ["batch"])
    if tokens:
        e = g.node("Gather", [g.const("embedding", _f32(model.embed.weight)), x], axis=0)
    else:
        e = linear(g, x, model.embed) if cfg.embed_dim else x  # (B, T, E)
    L, D = rnn.num_layers * rnn.num_directions, rnn.num_directions
    h0, c0 = zero_state(g, rnn, x)  # (L, B, H) zeros
    y, hn, _ = add_stack(g, rnn, g.node("Transpose", [e], perm=[1, 0, 2]), h0, c0, lengths)
    out = g.node("Transpose", [y], perm=[1, 0, 2])  # (B, T, D*H), zero past each length
    z = _pool(g, cfg.pooling, model, out, hn, lengths, x, L - D)
    y = linear(g, z, model.head)  # (B, K)
    if cfg.regression:
        y = g.node("Squeeze", [y, g.const("axis", np.array([-1], np.int64))])
    g.add_output("values" if cfg.regression else "logits", y, FLOAT,
                 ["batch"] if cfg.regression else ["batch", model.head.out_features])
    proto = g.model("rnnkit_classifier", "rnnkit sequence classifier")
    helper.set_model_props(proto, meta)
    return proto.SerializeToString()


def _pool(g, kind: str, model, out: str, hn: str, lengths: str, x: str, top: int) -> str:
    """(B, D*H) summary over each row's real steps, as SequenceClassifier.pool."""
    i64 = lambda *v: g.const("i", np.array(v, np.int64))  # noqa: E731
    if kind == "last":  # the last layer's final state of each direction
        last = g.node("Slice", [hn, i64(top), i64(2 ** 62), i64(0)])  # (D, B, H)
        return g.node("Reshape", [g.node("Transpose", [last], perm=[1, 0, 2]), i64(0, -1)])
    T = g.node("Gather", [g.node("Shape", [x]), g.const("one", np.array(1, np.int64))])
    steps = g.node("Range", [g.const("t0", np.array(0, np.int64)), T,
                             g.const("dt", np.array(1, np.int64))])  # (T,)
    mask = g.node("Less", [g.node("Unsqueeze", [steps, i64(0)]),
                           g.node("Unsqueeze", [lengths, i64(1)])])  # (B, T)
    mask = g.node("Unsqueeze", [mask, i64(2)])  # (B, T, 1)
    neg_inf = g.const("neg_inf", np.array(-np.inf, np.float32))
    if kind == "mean":
        total = g.node("ReduceSum", [out, i64(1)], keepdims=0)
        count = g.node("Cast", [g.node("Unsqueeze", [lengths, i64(1)])], to=1)  # float
        return g.node("Div", [total, count])
    if kind == "max":
        return g.node("ReduceMax", [g.node("Where", [mask, out, neg_inf])], axes=[1], keepdims=0)
    from rnnkit.export.graph import linear

    scores = linear(g, g.node("Tanh", [linear(g, out, model.attn_proj)]), model.attn_score)
    weights = g.node("Softmax", [g.node("Where", [mask, scores, neg_inf])], axis=1)  # (B, T, 1)
    return g.node("ReduceSum", [g.node("Mul", [weights, out]), i64(1)], keepdims=0)


def _verify(model, data: bytes, seed: int) -> CheckReport:
    cfg, ref = model.cfg, copy.deepcopy(model).to(torch.float64).eval()
    sess, gen, report = session(data), torch.Generator().manual_seed(seed), CheckReport()
    name = "values" if cfg.regression else "logits"
    for T, B in CHECK_SHAPES:
        if cfg.input_kind == "tokens":
            x = torch.randint(1, cfg.vocab_size, (B, T), generator=gen)
            feed = x.numpy()
        else:
            x = torch.randn(B, T, cfg.input_size, generator=gen, dtype=torch.float64)
            feed = np.float32(x.numpy())
        lengths = torch.randint(1, T + 1, (B,), generator=gen)
        lengths[0] = T
        with torch.no_grad():
            expected = ref(x, lengths).numpy()
        got = sess.run(None, {"x": feed, "lengths": lengths.numpy()})[0]
        report.add(f"T={T} B={B}", {name: got}, {name: expected})
    return report
