"""rnnkit: recurrent neural networks from their equations, with a hand-written BPTT.

The public layers and cells are drop-in replacements for their torch.nn namesakes.
"""

from rnnkit._version import __version__

__all__ = ["__version__"]
