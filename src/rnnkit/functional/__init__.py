"""Pure tensor math: the step math of each cell family and the BPTT loops. The specification."""

from rnnkit.functional import lstm_seq
from rnnkit.functional.bptt import (
    LayerWeights,
    SequenceCache,
    sequence_backward,
    sequence_forward,
)
from rnnkit.functional.gru import GRUCellMath
from rnnkit.functional.lstm import LSTMCellMath
from rnnkit.functional.rnn import ElmanCell

__all__ = [
    "ElmanCell",
    "GRUCellMath",
    "LSTMCellMath",
    "LayerWeights",
    "SequenceCache",
    "cell_math",
    "lstm_seq",
    "sequence_backward",
    "sequence_forward",
]


def cell_math(mode: str, nonlinearity: str = "tanh", reset_after: bool = True):
    """The step math for a layer mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU"."""
    if mode == "LSTM":
        return LSTMCellMath()
    if mode == "GRU":
        return GRUCellMath(reset_after=reset_after)
    if mode in ("RNN_TANH", "RNN_RELU"):
        return ElmanCell("relu" if mode == "RNN_RELU" else nonlinearity)
    raise ValueError(f"mode must be one of RNN_TANH, RNN_RELU, LSTM, GRU; got {mode!r}")
