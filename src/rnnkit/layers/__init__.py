"""Layers: the time loop, stacking, bidirectional, lengths and PackedSequence."""

from rnnkit.checks import ShapeError
from rnnkit.layers import auto_measure  # noqa: F401  (gives impl="auto" its measurement)
from rnnkit.layers.base import RecurrentBase
from rnnkit.layers.init import chrono_init_, lstm_forget_bias_
from rnnkit.layers.minimal import MinGRU, MinLSTM
from rnnkit.layers.rnn import GRU, LSTM, RNN, Recurrent

__all__ = ["GRU", "LSTM", "RNN", "MinGRU", "MinLSTM", "Recurrent", "RecurrentBase", "ShapeError",
           "chrono_init_", "lstm_forget_bias_"]
