"""rnnkit: recurrent neural networks from their equations, with a hand-written BPTT.

The public layers and cells are drop-in replacements for their torch.nn namesakes:
rnnkit.RNN / LSTM / GRU and rnnkit.RNNCell / LSTMCell / GRUCell. rnnkit.Recurrent and
rnnkit.RecurrentCell take any registered cell family by name (rnnkit.functional.registry).
rnnkit.MinGRU / MinLSTM add the minimal RNNs of Feng et al. 2024.
"""

from rnnkit._version import __version__
from rnnkit.cells import GRUCell, LSTMCell, RecurrentCell, RNNCell
from rnnkit.layers import GRU, LSTM, RNN, MinGRU, MinLSTM, Recurrent

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "MinGRU", "MinLSTM", "RNN", "RNNCell",
           "Recurrent", "RecurrentCell",
           "__version__"]
