"""Cells: parameters, initialisation and the autograd binding of the hand-written backward."""

from rnnkit.cells.base import GRUCell, LSTMCell, RecurrentCell, RNNCell, RNNCellBase
from rnnkit.cells.function import FusedSequence, fused_sequence, run_direction

__all__ = [
    "FusedSequence", "GRUCell", "LSTMCell", "RNNCell", "RNNCellBase", "RecurrentCell",
    "fused_sequence", "run_direction",
]
