"""A training step through rnnkit's own backward leaves no reference cycle behind: once the
caller drops the outputs, everything the forward kept for the backward is freed at once, not when
Python's cycle collector next runs. (An output also held by the autograd Function's cache made
such a cycle: a language model on impl="fused" grew by a whole sequence's cache, ~50 MB, a step.)
"""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

import rnnkit
from rnnkit.functional import registry


@pytest.fixture
def no_collector():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was:
        gc.enable()


def _step(layer, x, lengths=None):
    out, state = layer(x, lengths=lengths) if lengths is not None else layer(x)
    states = state if isinstance(state, tuple) else (state,)
    (out.square().sum() + sum(s.sum() for s in states)).backward()
    return out, states


CASES = [(cell, {}) for cell in registry.names()] + [
    ("lstm", {"recurrent_dropout": 0.25}), ("lstm", {"zoneout": 0.1}),
    ("gru", {"recurrent_dropout": 0.25}), ("lstm", {"bidirectional": True, "num_layers": 2}),
]


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize(("cell", "extra"), CASES, ids=lambda v: str(v))
def test_outputs_and_what_backward_kept_are_freed_without_the_collector(cell, extra, masked,
                                                                          no_collector):
    torch.manual_seed(0)
    layer = rnnkit.Recurrent(cell, 5, 8, impl="fused", **extra)
    x = torch.randn(7, 3, 5)
    lengths = torch.tensor([7, 5, 2]) if masked else None
    out, states = _step(layer, x, lengths)
    refs = [weakref.ref(t) for t in (out, *states)]
    del out, states
    alive = [r for r in refs if r() is not None]
    assert not alive, f"{len(alive)} output(s) of a {cell} layer outlived their last reference"
