"""torch's own kernels for whole stacks (what torch.nn.RNN/LSTM/GRU call)."""

from __future__ import annotations

from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence

_FUNCS = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}


def native_stack(
    mode: str, x: Tensor | PackedSequence, state: tuple, flat_weights: list[Tensor], *, bias: bool,
    num_layers: int, dropout: float, training: bool, bidirectional: bool,
):
    """Run a whole stack on time-major x (T, B, I) or a PackedSequence whose hx is already in
    sorted order. state: (h_0,) or (h_0, c_0). Returns (output, final state tuple); output has
    x's kind."""
    fn = _FUNCS[mode]
    hx_arg = list(state) if mode == "LSTM" else state[0]
    args = (flat_weights, bias, num_layers, dropout, training, bidirectional)
    if isinstance(x, PackedSequence):
        result = fn(x.data, x.batch_sizes, hx_arg, *args)
        out = PackedSequence(result[0], x.batch_sizes, x.sorted_indices, x.unsorted_indices)
    else:
        result = fn(x, hx_arg, *args, False)  # batch_first=False: the layer made x time-major
        out = result[0]
    return out, (result[1], result[2]) if mode == "LSTM" else (result[1],)


def native_cell(mode: str, x: Tensor, state: tuple, w_ih, w_hh, b_ih, b_hh) -> tuple:
    """One step with torch's cell kernels; x (B, I), state (h,) or (h, c). Returns the new state."""
    if mode == "LSTM":
        return tuple(_VF.lstm_cell(x, list(state), w_ih, w_hh, b_ih, b_hh))
    fn = {"GRU": _VF.gru_cell, "RNN_TANH": _VF.rnn_tanh_cell, "RNN_RELU": _VF.rnn_relu_cell}[mode]
    return (fn(x, state[0], w_ih, w_hh, b_ih, b_hh),)


__all__ = ["native_cell", "native_stack"]
