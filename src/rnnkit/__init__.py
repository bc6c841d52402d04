"""rnnkit: recurrent neural networks from their equations, with a hand-written BPTT.

The public layers and cells are drop-in replacements for their torch.nn namesakes:
rnnkit.RNN / LSTM / GRU and rnnkit.RNNCell / LSTMCell / GRUCell. rnnkit.MinGRU / MinLSTM add the
minimal RNNs of Feng et al. 2024.
"""

from rnnkit._version import __version__
from rnnkit.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.layers import GRU, LSTM, RNN, MinGRU, MinLSTM

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "MinGRU", "MinLSTM", "RNN", "RNNCell",
           "__version__"]
