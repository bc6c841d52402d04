"""float64 gradcheck of the hand-written backward: every cell family, with masks and reverse."""

import pytest
import torch

from rnnkit.cells.function import FusedSequence
from rnnkit.functional import LayerWeights, cell_math

CASES = [
    ("RNN_TANH", {}, 0),
    ("RNN_RELU", {}, 0),
    ("LSTM", {}, 0),
    ("LSTM", {}, 2),  # projection
    ("GRU", {"reset_after": True}, 0),
    ("GRU", {"reset_after": False}, 0),
]
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def make(mode, proj, bias, T=4, B=3, I=3, H=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    rnd = lambda *s: (torch.randn(*s, generator=gen, dtype=torch.float64) * 0.5).requires_grad_()  # noqa: E731
    G, H_out = GATES[mode], proj or H
    w = LayerWeights(rnd(G * H, I), rnd(G * H, H_out), rnd(G * H) if bias else None,
                     rnd(G * H) if bias else None, rnd(proj, H) if proj else None)
    state0 = (rnd(B, H_out), rnd(B, H)) if mode == "LSTM" else (rnd(B, H_out),)
    return rnd(T, B, I), state0, w


@pytest.mark.parametrize("mode,kw,proj", CASES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_sequence_gradcheck(mode, kw, proj, bias, reverse, masked):
    cell = cell_math(mode, **kw)
    x, state0, w = make(mode, proj, bias)
    mask = None
    if masked:
        lengths = torch.tensor([4, 2, 1])
        mask = (torch.arange(4)[:, None] < lengths[None, :]).unsqueeze(-1)
    has = [t is not None for t in w.tensors()]  # the five torch.nn weights, then the extras
    n = len(state0)

    def fn(x, *rest):
        given = iter(rest[n:])
        weights = [next(given) if present else None for present in has]
        return FusedSequence.apply(cell, mask, reverse, n, None, x, *rest[:n], *weights)

    inputs = (x, *state0, *(t for t in w.tensors() if t is not None))
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)
