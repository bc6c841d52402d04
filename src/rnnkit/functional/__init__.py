"""Pure tensor math: the step math of each cell family and the BPTT loops. The specification."""

from rnnkit.functional import lstm_seq, registry
from rnnkit.functional.bptt import (
    LayerWeights,
    SequenceCache,
    sequence_backward,
    sequence_forward,
)
from rnnkit.functional.gru import GRUCellMath
from rnnkit.functional.lstm import LSTMCellMath
from rnnkit.functional.registry import CellFamily
from rnnkit.functional.rnn import ElmanCell

__all__ = [
    "CellFamily",
    "ElmanCell",
    "GRUCellMath",
    "LSTMCellMath",
    "LayerWeights",
    "SequenceCache",
    "cell_math",
    "lstm_seq",
    "registry",
    "sequence_backward",
    "sequence_forward",
]


def cell_math(mode: str, nonlinearity: str = "tanh", reset_after: bool = True):
    """The step math for a layer mode ("RNN_TANH", "RNN_RELU", "LSTM", "GRU", or a registered
    variant's mode)."""
    return registry.by_mode(mode).math(nonlinearity, reset_after)
