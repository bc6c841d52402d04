"""A language model (rnnkit.models.lm.LanguageModel) as two ONNX files, each checked first:

    whole sequence   tokens (B, T) int64, h0 [, c0]  ->  logits (B, T, V), h_n [, c_n]
    one step         tokens (B,)   int64, h0 [, c0]  ->  logits (B, V),    h_n [, c_n]

The step model is for streaming generation: feed each sampled token back with the state it
returned. Both are Embedding (Gather) -> the recurrent stack (rnnkit.export.graph) -> Linear
(MatMul + Add), in eval mode (no dropout). The tokenizer is stored in the model's metadata
("rnnkit.tokenizer", the JSON of the checkpoint's), so a runtime needs nothing else.
"""

from __future__ import annotations

import copy
import json
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
from rnnkit.export.layer import CHECK_SHAPES
from rnnkit.files import write_bytes


def lm_to_onnx(model, path: str | Path, step_path: str | Path | None = None,
               tokenizer: dict | None = None, tolerance: float = 1e-4,
               seed: int = 0) -> list[CheckReport]:
    """Write the whole-sequence model to `path` [and the one-step model to `step_path`], each
    checked in onnxruntime against the model in float64 before anything is written (above
    `tolerance`, max abs, ExportError and no file). `tokenizer` is its `to_dict()`."""
    require_onnx()
    if not hasattr(model, "embedding") or not hasattr(model, "rnn"):
        raise ExportError(f"lm_to_onnx exports a language model, got {type(model).__name__}")
    check_cell(model.rnn)
    model = copy.deepcopy(model).cpu().eval()
    meta = {} if tokenizer is None else {"rnnkit.tokenizer": json.dumps(tokenizer)}
    todo = [(path, False)] + ([(step_path, True)] if step_path is not None else [])
    built = []
    for target, step in todo:
        data = _build(model, step, meta)
        report = _verify(model, data, step, seed)
        report.enforce(tolerance, f"export of the language model ({'step' if step else 'whole'})")
        built.append((target, data, report))
    for target, data, report in built:  # all checked before the first file is written
        report.path = str(write_bytes(target, data))
    return [report for _, _, report in built]


def _build(model, step: bool, meta: dict) -> bytes:
    from onnx import helper

    from rnnkit.export.graph import (
        FLOAT,
        INT64,
        GraphBuilder,
        add_stack,
        state_inputs,
        state_outputs,
    )

    g, rnn = GraphBuilder(), model.rnn
    V = model.decoder.out_features
    tokens = g.add_input("tokens", INT64, ["batch"] if step else ["batch", "time"])
    h0, c0 = state_inputs(g, rnn)
    emb = g.const("embedding", model.embedding.weight.detach().float().numpy())
    x = g.node("Gather", [emb, tokens], axis=0)  # (B, E) or (B, T, E)
    if step:
        x = g.node("Unsqueeze", [x, g.const("axis", np.array([0], np.int64))])  # (1, B, E)
    else:
        x = g.node("Transpose", [x], perm=[1, 0, 2])  # (T, B, E)
    y, hn, cn = add_stack(g, rnn, x, h0, c0)  # (T, B, H)
    if step:
        y = g.node("Squeeze", [y, g.const("axis", np.array([0], np.int64))])  # (B, H)
    else:
        y = g.node("Transpose", [y], perm=[1, 0, 2])  # (B, T, H)
    w = g.const("decoder_weight_t", model.decoder.weight.detach().float().numpy().T)
    b = g.const("decoder_bias", model.decoder.bias.detach().float().numpy())
    logits = g.node("Add", [g.node("MatMul", [y, w]), b])
    g.add_output("logits", logits, FLOAT, ["batch", V] if step else ["batch", "time", V])
    state_outputs(g, rnn, hn, cn)
    proto = g.model("rnnkit_lm_step" if step else "rnnkit_lm", "rnnkit language model")
    helper.set_model_props(proto, meta)
    return proto.SerializeToString()


def _verify(model, data: bytes, step: bool, seed: int) -> CheckReport:
    ref = copy.deepcopy(model).to(torch.float64).eval()
    sess, gen, report = session(data), torch.Generator().manual_seed(seed), CheckReport()
    V = model.decoder.out_features
    for T, B in CHECK_SHAPES:
        tokens = torch.randint(V, (B, 1 if step else T), generator=gen)
        state0, feeds = random_state(ref.rnn, B, gen)
        with torch.no_grad():
            logits, state = ref(tokens, state0)
        feeds["tokens"] = (tokens[:, 0] if step else tokens).numpy()
        got = dict(zip(("logits", "h_n", "c_n"), sess.run(None, feeds), strict=False))
        expected = {"logits": (logits[:, 0] if step else logits).numpy()} | state_arrays(state)
        report.add(f"B={B}" if step else f"T={T} B={B}", got, expected)
    return report
