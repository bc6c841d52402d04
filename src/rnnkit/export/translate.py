"""A translation model (rnnkit.models.seq2seq.Seq2Seq) as two checked ONNX files, the halves of
its decoding:

    encoder   src (B, S) int64, src_lengths (B,) int64
                -> h [, c] (B, L, H), [feed (B, H)], [memory (B, S, H), keys (B, S, A),
                   mask (B, S) bool]                      = Seq2Seq.start(src, src_lengths)
    step      tokens (N,) int64 and those states
                -> log_probs (N, V), new_h [, new_c], [new_feed], [attention (N, S)]
                                                          = Seq2Seq.step, log_softmax'ed

Which states there are follows the model: c for an LSTM, feed with input feeding, memory / keys /
mask with attention (keys = the memory's projection for bahdanau, the memory itself otherwise).
The encoder is the embedding, the recurrent stack with ONNX sequence_lens (rnnkit.export.graph)
and each layer's final state with its directions side by side; the step is the embedding
(joined by the previous attentional vector), one ONNX LSTM / GRU / RNN operator per decoder layer
over one time step, the attention with the padding's scores at -inf, the combine layer and the
output layer. Batch, source length are dynamic axes; N is any number of rows (a beam's too).
The run's metadata (vocabularies, decode settings) is stored as JSON under `rnnkit.metadata` in
both files, with a digest of the weights (`rnnkit.weights`) that pairs them;
rnnkit.export.translate_runtime.OnnxTranslator decodes with them.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from rnnkit.export.check import CheckReport, ExportError, check_cell, require_onnx, session
from rnnkit.files import write_bytes

# (S, B) of the check: one token alone, padded batches, a long source.
CHECK_SHAPES = ((1, 1), (7, 3), (64, 8), (300, 2))


def translate_to_onnx(model, encoder_path: str | Path, step_path: str | Path,
                      metadata: dict | None = None, tolerance: float = 1e-4,
                      seed: int = 0) -> list[CheckReport]:
    """Write the encoder to `encoder_path` and the decoder step to `step_path`, both checked in
    onnxruntime against the model in float64 before either is written (above `tolerance`, max
    abs: ExportError, no file)."""
    require_onnx()
    if not all(hasattr(model, a) for a in ("encoder", "decoder", "start", "step", "states")):
        raise ExportError(f"translate_to_onnx exports a Seq2Seq translation model, got "
                          f"{type(model).__name__}")
    if Path(encoder_path) == Path(step_path):
        raise ExportError(f"the encoder and the step model are both {encoder_path}: give two "
                          "different paths")
    check_cell(model.encoder)
    for cell in model.decoder:
        check_cell(cell)
    model = copy.deepcopy(model).cpu().eval()
    meta = {"rnnkit.weights": weights_digest(model)}  # the runtime pairs the files by it
    if metadata is not None:
        meta["rnnkit.metadata"] = json.dumps(metadata)
    built = []
    for target, build, verify, what in ((encoder_path, _encoder, _verify_encoder, "encoder"),
                                        (step_path, _step, _verify_step, "decoder step")):
        data = build(model, meta)
        report = verify(model, data, seed)
        report.enforce(tolerance, f"export of the translation model's {what}")
        built.append((target, data, report))
    for target, data, report in built:  # both checked before the first file is written
        report.path = str(write_bytes(target, data))
    return [report for _, _, report in built]


def weights_digest(model) -> str:
    """SHA-256 of the model's parameters (names, shapes, float32 values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def state_names(model) -> list[str]:
    """The decoding state's entries, in the order of the files' inputs and outputs."""
    names = list(model.states) + (["feed"] if model.input_feed else [])
    return names + (list(model.STATIC) if model.attention is not None else [])


def _encoder(model, meta: dict) -> bytes:
    from onnx import TensorProto, helper

    from rnnkit.export.graph import FLOAT, INT64, GraphBuilder, add_stack, linear, zero_state

    g, rnn = GraphBuilder(), model.encoder
    i64 = lambda *v: g.const("i", np.array(v, np.int64))  # noqa: E731
    L, D, H = model.num_layers, model.num_directions, model.hidden_size
    src = g.add_input("src", INT64, ["batch", "source"])
    lengths = g.add_input("src_lengths", INT64, ["batch"])
    emb = g.node("Gather", [g.const("src_embed", _f32(model.src_embed.weight)), src], axis=0)
    h0, c0 = zero_state(g, rnn, src)
    y, hn, cn = add_stack(g, rnn, g.node("Transpose", [emb], perm=[1, 0, 2]), h0, c0, lengths)
    memory = g.node("Transpose", [y], perm=[1, 0, 2])  # (B, S, H), zero past each length
    for name, final in zip(model.states, (hn, cn), strict=False):
        # (L*D, B, H/D) -> (B, L, H): each layer's directions side by side, as Seq2Seq.start
        parts = g.node("Reshape", [final, i64(L, D, -1, H // D)])
        g.add_output(name, g.node("Reshape", [g.node("Transpose", [parts], perm=[2, 0, 1, 3]),
                                              i64(0, L, H)]), FLOAT, ["batch", L, H])
    if model.input_feed:
        batch = g.node("Gather", [g.node("Shape", [src]), i64(0)])
        shape = g.node("Concat", [batch, i64(H)], axis=0)
        g.add_output("feed", g.node("Expand", [g.const("zeros", np.zeros((1, H), np.float32)),
                                               shape]), FLOAT, ["batch", H])
    if model.attention is not None:
        keys = linear(g, memory, model.attention.memory) if model.attention.kind == "bahdanau" \
            else memory
        S = g.node("Gather", [g.node("Shape", [src]), i64(1)])
        steps = g.node("Range", [g.node("Squeeze", [i64(0)]), g.node("Squeeze", [S]),
                                 g.node("Squeeze", [i64(1)])])  # (S,)
        mask = g.node("Less", [g.node("Unsqueeze", [steps, i64(0)]),
                               g.node("Unsqueeze", [lengths, i64(1)])])  # (B, S)
        g.add_output("memory", memory, FLOAT, ["batch", "source", H])
        g.add_output("keys", keys, FLOAT, ["batch", "source", _key_size(model)])
        g.add_output("mask", mask, TensorProto.BOOL, ["batch", "source"])
    proto = g.model("rnnkit_translate_encoder", "rnnkit translation model: encoder")
    helper.set_model_props(proto, meta)
    return proto.SerializeToString()


def _step(model, meta: dict) -> bytes:
    from onnx import TensorProto, helper

    from rnnkit.export.graph import FLOAT, INT64, GraphBuilder, add_cell_step, linear

    g, H, lstm = GraphBuilder(), model.hidden_size, "c" in model.states
    i64 = lambda *v: g.const("i", np.array(v, np.int64))  # noqa: E731
    L = model.num_layers
    tokens = g.add_input("tokens", INT64, ["rows"])
    state = {name: g.add_input(name, FLOAT, ["rows", L, H]) for name in model.states}
    if model.input_feed:
        state["feed"] = g.add_input("feed", FLOAT, ["rows", H])
    if model.attention is not None:
        state["memory"] = g.add_input("memory", FLOAT, ["rows", "source", H])
        state["keys"] = g.add_input("keys", FLOAT, ["rows", "source", _key_size(model)])
        state["mask"] = g.add_input("mask", TensorProto.BOOL, ["rows", "source"])
    x = g.node("Gather", [g.const("tgt_embed", _f32(model.tgt_embed.weight)), tokens], axis=0)
    if model.input_feed:
        x = g.node("Concat", [x, state["feed"]], axis=1)  # (N, E + H)
    layer = lambda s, k: g.node("Squeeze", [g.node("Gather", [s, i64(k)], axis=1), i64(1)])  # noqa: E731
    hs, cs = [], []
    for k, cell in enumerate(model.decoder):
        x, c = add_cell_step(g, cell, x, layer(state["h"], k),
                             layer(state["c"], k) if lstm else None)
        hs.append(x)
        cs.append(c)
    stack = lambda parts: g.node("Concat", [g.node("Unsqueeze", [p, i64(1)]) for p in parts],  # noqa: E731
                                 axis=1)  # (N, L, H)
    out, weights = x, None
    if model.attention is not None:
        weights = _attention(g, model.attention, out, state, i64)
        context = g.node("Squeeze", [g.node("MatMul", [g.node("Unsqueeze", [weights, i64(1)]),
                                                       state["memory"]]), i64(1)])  # (N, H)
        out = g.node("Tanh", [linear(g, g.node("Concat", [context, out], axis=1),
                                     model.combine)])  # h~_t
    log_probs = g.node("LogSoftmax", [linear(g, out, model.out)], axis=1)
    g.add_output("log_probs", log_probs, FLOAT, ["rows", model.out.out_features])
    g.add_output("new_h", stack(hs), FLOAT, ["rows", L, H])
    if lstm:
        g.add_output("new_c", stack(cs), FLOAT, ["rows", L, H])
    if model.input_feed:
        g.add_output("new_feed", out, FLOAT, ["rows", H])
    if weights is not None:
        g.add_output("attention", weights, FLOAT, ["rows", "source"])
    proto = g.model("rnnkit_translate_step", "rnnkit translation model: one decoder step")
    helper.set_model_props(proto, meta)
    return proto.SerializeToString()


def _attention(g, attn, query: str, state: dict, i64) -> str:
    """(N, S) weights over the real source positions (rnnkit.models.attention)."""
    from rnnkit.export.graph import linear

    if attn.kind == "bahdanau":  # v^T tanh(W_q q + keys)
        q = g.node("Unsqueeze", [linear(g, query, attn.query), i64(1)])  # (N, 1, A)
        scores = linear(g, g.node("Tanh", [g.node("Add", [q, state["keys"]])]), attn.v)
    else:  # keys (N, S, Hm) @ q (N, Hm, 1), q = W q for general
        q = linear(g, query, attn.weight) if attn.kind == "general" else query
        scores = g.node("MatMul", [state["keys"], g.node("Unsqueeze", [q, i64(2)])])
    scores = g.node("Squeeze", [scores, i64(2)])  # (N, S)
    neg_inf = g.const("neg_inf", np.array(-np.inf, np.float32))
    return g.node("Softmax", [g.node("Where", [state["mask"], scores, neg_inf])], axis=1)


def _key_size(model) -> int:
    attn = model.attention
    return attn.memory.out_features if attn.kind == "bahdanau" else model.hidden_size


def _f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().numpy()


def _lengths(S: int, B: int, gen: torch.Generator) -> torch.Tensor:
    lengths = torch.randint(1, S + 1, (B,), generator=gen)
    lengths[B // 2] = S  # one full row; the others may be shorter
    return lengths


def _arrays(state: dict) -> dict[str, np.ndarray]:
    return {k: v.numpy().astype(np.float64) for k, v in state.items()}


def _verify_encoder(model, data: bytes, seed: int) -> CheckReport:
    ref = copy.deepcopy(model).to(torch.float64).eval()
    sess, gen, report = session(data), torch.Generator().manual_seed(seed), CheckReport()
    names = [o.name for o in sess.get_outputs()]
    for S, B in CHECK_SHAPES:
        src = torch.randint(1, ref.src_embed.num_embeddings, (B, S), generator=gen)
        lengths = _lengths(S, B, gen)
        with torch.no_grad():
            expected = _arrays(ref.start(src, lengths))
        got = dict(zip(names, sess.run(None, {"src": src.numpy(), "src_lengths":
                                              lengths.numpy()}), strict=True))
        report.add(f"S={S} B={B}", got, expected)
    return report


def _verify_step(model, data: bytes, seed: int) -> CheckReport:
    ref = copy.deepcopy(model).to(torch.float64).eval()
    sess, gen, report = session(data), torch.Generator().manual_seed(seed), CheckReport()
    names = [o.name for o in sess.get_outputs()]
    L, H = model.num_layers, model.hidden_size
    for S, B in CHECK_SHAPES:
        state = {n: torch.randn(B, L, H, generator=gen, dtype=torch.float64) for n in ref.states}
        if ref.input_feed:
            state["feed"] = torch.randn(B, H, generator=gen, dtype=torch.float64)
        if ref.attention is not None:
            state["memory"] = torch.randn(B, S, H, generator=gen, dtype=torch.float64)
            with torch.no_grad():
                state["keys"] = ref.attention.keys(state["memory"])
            state["mask"] = torch.arange(S)[None, :] < _lengths(S, B, gen)[:, None]
        tokens = torch.randint(0, ref.out.out_features, (B,), generator=gen)
        with torch.no_grad():
            logits, new, weights = ref.step(tokens, state)
        expected = {"log_probs": torch.log_softmax(logits, 1).numpy()}
        expected |= {f"new_{n}": new[n].numpy() for n in state_names(ref) if n not in ref.STATIC}
        if weights is not None:
            expected["attention"] = weights.numpy()
        feeds = {n: (v.numpy() if v.dtype == torch.bool else np.float32(v.numpy()))
                 for n, v in state.items()}
        got = dict(zip(names, sess.run(None, {"tokens": tokens.numpy()} | feeds), strict=True))
        report.add(f"S={S} B={B}", got, expected)
    return report
