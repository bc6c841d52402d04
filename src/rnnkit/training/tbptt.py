"""Truncated BPTT helpers: carried state across chunks of the same streams, cut from the graph.

char-rnn's scheme: B streams are cut into consecutive chunks of `chunk_len` steps; the state
after chunk k starts chunk k+1 (so memory crosses chunks), but it is detached at the boundary
(so gradients, and the autograd graph kept for them, stop there and memory stays flat however
long the stream).
"""

from __future__ import annotations

from typing import Any

import torch


def detach_state(state: Any) -> Any:
    """The same structure with every tensor detached (tensors, tuples, named tuples, lists,
    dicts and None)."""
    if state is None:
        return None
    if torch.is_tensor(state):
        return state.detach()
    if isinstance(state, tuple) and hasattr(state, "_fields"):  # a named tuple, e.g. LSTMState
        return type(state)(*(detach_state(s) for s in state))
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state
