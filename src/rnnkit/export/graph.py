"""ONNX graphs written node by node: an rnnkit recurrent stack as ONNX's own RNN / LSTM / GRU ops.

rnnkit does not trace a layer through torch's exporter: it writes the graph from the layer's
parameters, so every setting it can express maps to an ONNX operator attribute it chose:

    rnnkit / torch.nn             ONNX (opset 17, layout 0: X (T, B, I), Y (T, D, B, H))
    LSTM gates i, f, g, o         LSTM gates i, o, f, c           (no peepholes)
    GRU gates r, z, n             GRU gates z, r, h
    GRU reset_after=True          linear_before_reset=1  n = tanh(W x + b_in + r*(R h + b_hn))
    GRU reset_after=False         linear_before_reset=0  n = tanh(W x + b_in + R (r*h) + b_hn)
    RNN nonlinearity tanh / relu  RNN activations ["Tanh"] / ["Relu"]
    bidirectional                 direction="bidirectional", weights stacked (forward, reverse)
    layer k's h_0 / c_0           Slice [k*D, (k+1)*D) of the state input; finals concatenated

ONNX's B input is [Wb, Rb] per direction = [bias_ih, bias_hh] in ONNX gate order, so both GRU
forms are exact (the reset-before form keeps b_hn outside the reset gate, as rnnkit does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
INT32 = TensorProto.INT32
# torch.nn gate chunks in ONNX's order (index = torch chunk).
GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}
ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


@dataclass
class GraphBuilder:
    """Nodes, initializers and graph inputs / outputs, with fresh names for intermediates."""

    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    count: int = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint: str, array: np.ndarray) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], n_out: int = 1, hint: str = "", **attrs):
        outs = [self.fresh(hint or op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, **attrs))
        return outs if n_out > 1 else outs[0]

    def add_input(self, name: str, elem_type: int, shape: list) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def add_output(self, name: str, source: str, elem_type: int, shape: list) -> str:
        self.nodes.append(helper.make_node("Identity", [source], [name]))
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def model(self, name: str, doc: str = ""):
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="rnnkit", doc_string=doc)
        model.ir_version = 8  # readable by onnxruntime >= 1.10
        return model


def _reorder(t: torch.Tensor, mode: str, hidden: int) -> np.ndarray:
    """(G*H, ...) torch gate chunks -> ONNX gate order, as float32 numpy."""
    chunks = t.detach().to(torch.float32).cpu().split(hidden, dim=0)
    return torch.cat([chunks[k] for k in GATE_ORDER[mode]], dim=0).numpy()


def layer_weights(layer, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ONNX W (D, G*H, I), R (D, G*H, H), B (D, 2*G*H) of recurrent layer k."""
    mode, H = layer.mode, layer.hidden_size
    W, R, B = [], [], []
    for suffix in ("", "_reverse")[:layer.num_directions]:
        def get(kind: str, suffix: str = suffix):
            return getattr(layer, f"{kind}_l{k}{suffix}")

        W.append(_reorder(get("weight_ih"), mode, H))
        R.append(_reorder(get("weight_hh"), mode, H))
        if layer.bias:
            B.append(np.concatenate([_reorder(get("bias_ih"), mode, H),
                                     _reorder(get("bias_hh"), mode, H)]))
        else:
            B.append(np.zeros(2 * W[-1].shape[0], np.float32))
    return np.stack(W), np.stack(R), np.stack(B)


def _op_attrs(layer) -> dict:
    D = getattr(layer, "num_directions", 1)  # a cell (rnnkit.RecurrentCell) has one
    attrs = {"hidden_size": layer.hidden_size,
             "direction": "bidirectional" if D == 2 else "forward"}
    if layer.mode == "GRU":
        attrs["linear_before_reset"] = int(layer.reset_after)
    if layer.mode.startswith("RNN"):
        attrs["activations"] = ["Relu" if layer.mode == "RNN_RELU" else "Tanh"] * D
    return attrs


def add_stack(g: GraphBuilder, layer, x: str, h0: str, c0: str | None,
              lengths: str | None = None):
    """Append `layer` (eval mode, time-major) to `g`: x (T, B, I), h0 / c0 (D*L, B, H) ->
    (y (T, B, D*H), h_n, c_n or None). `lengths` (B,) int64 becomes ONNX's sequence_lens: as
    rnnkit's lengths=, outputs past a length are zero and the final state is the last real step
    (the reverse direction starts at each row's last real step)."""
    D, lstm = layer.num_directions, layer.mode == "LSTM"
    hs, cs = [], []
    seq_lens = "" if lengths is None else g.node("Cast", [lengths], to=INT32)
    for k in range(layer.num_layers):
        W, R, B = (g.const(f"{n}_l{k}", a) for n, a in zip("WRB", layer_weights(layer, k),
                                                            strict=True))
        span = [g.const("start", np.array([k * D], np.int64)),
                g.const("end", np.array([(k + 1) * D], np.int64)),
                g.const("axis", np.array([0], np.int64))]
        inputs = [x, W, R, B, seq_lens, g.node("Slice", [h0, *span], hint=f"h0_l{k}")]
        if lstm:
            inputs.append(g.node("Slice", [c0, *span], hint=f"c0_l{k}"))
        outs = g.node(ONNX_OP[layer.mode], inputs, n_out=3 if lstm else 2, hint=f"l{k}",
                      **_op_attrs(layer))
        y = g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])  # (T, D, B, H) -> (T, B, D, H)
        x = g.node("Reshape", [y, g.const("shape", np.array([0, 0, -1], np.int64))])
        hs.append(outs[1])
        if lstm:
            cs.append(outs[2])
    cat = lambda parts: parts[0] if len(parts) == 1 else g.node("Concat", parts, axis=0)  # noqa: E731
    return x, cat(hs), (cat(cs) if lstm else None)


def add_cell_step(g: GraphBuilder, cell, x: str, h: str, c: str | None):
    """Append one step of `cell` (rnnkit.LSTMCell / GRUCell / RNNCell or a RecurrentCell of a
    native family): x (B, I), h / c (B, H) -> (h', c' or None), as ONNX's operator over one
    time step (so the gate mapping and both GRU forms are the layers' own)."""
    lstm, H, axis0 = cell.mode == "LSTM", cell.hidden_size, g.const("axis", np.array([0], np.int64))
    W = _reorder(cell.weight_ih, cell.mode, H)[None]  # (1, G*H, I)
    R = _reorder(cell.weight_hh, cell.mode, H)[None]
    B = (np.concatenate([_reorder(cell.bias_ih, cell.mode, H), _reorder(cell.bias_hh, cell.mode,
                                                                        H)])[None]
         if cell.bias else np.zeros((1, 2 * W.shape[1]), np.float32))
    lift = lambda t: g.node("Unsqueeze", [t, axis0])  # noqa: E731  (B, H) -> (1, B, H)
    inputs = [lift(x), g.const("W", W), g.const("R", R), g.const("B", B), "", lift(h)]
    if lstm:
        inputs.append(lift(c))
    outs = g.node(ONNX_OP[cell.mode], inputs, n_out=3 if lstm else 2, hint="cell",
                  **_op_attrs(cell))
    drop = lambda t: g.node("Squeeze", [t, axis0])  # noqa: E731
    return drop(outs[1]), (drop(outs[2]) if lstm else None)


def linear(g: GraphBuilder, x: str, lin) -> str:
    """x @ W^T + b of an nn.Linear, over the last axis of x."""
    y = g.node("MatMul", [x, g.const("weight_t", lin.weight.detach().float().numpy().T)])
    if lin.bias is None:
        return y
    return g.node("Add", [y, g.const("bias", lin.bias.detach().float().numpy())])


def zero_state(g: GraphBuilder, layer, like: str) -> tuple[str, str | None]:
    """Zero h0 [and c0] (D*num_layers, B, H) for `layer`, B the first axis of tensor `like`."""
    L, H = layer.num_layers * layer.num_directions, layer.hidden_size
    batch = g.node("Gather", [g.node("Shape", [like]), g.const("zero", np.array([0], np.int64))])
    shape = g.node("Concat", [g.const("L", np.array([L], np.int64)), batch,
                              g.const("H", np.array([H], np.int64))], axis=0)
    h0 = g.node("Expand", [g.const("zeros", np.zeros((L, 1, H), np.float32)), shape])
    return h0, (h0 if layer.mode == "LSTM" else None)


def state_inputs(g: GraphBuilder, layer) -> tuple[str, str | None]:
    """Graph inputs h0 [and c0 for an LSTM], (D*num_layers, batch, H)."""
    shape = [layer.num_layers * layer.num_directions, "batch", layer.hidden_size]
    h0 = g.add_input("h0", FLOAT, shape)
    return h0, (g.add_input("c0", FLOAT, shape) if layer.mode == "LSTM" else None)


def state_outputs(g: GraphBuilder, layer, hn: str, cn: str | None) -> None:
    """Graph outputs h_n [and c_n], shaped as the state inputs."""
    shape = [layer.num_layers * layer.num_directions, "batch", layer.hidden_size]
    g.add_output("h_n", hn, FLOAT, shape)
    if cn is not None:
        g.add_output("c_n", cn, FLOAT, shape)
