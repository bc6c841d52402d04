"""rnnkit cells against torch.nn cells: outputs and every gradient, every impl; unbatched input."""

import pytest
import torch
from helpers import as_tuple, max_diff, random_upstream, weighted_loss

import rnnkit

CELLS = [
    (rnnkit.RNNCell, torch.nn.RNNCell, {}),
    (rnnkit.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    (rnnkit.LSTMCell, torch.nn.LSTMCell, {}),
    (rnnkit.GRUCell, torch.nn.GRUCell, {}),
]


@pytest.mark.parametrize("ours_cls,theirs_cls,kw", CELLS)
@pytest.mark.parametrize("impl", ["fused", "reference", "native"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_hx", [True, False])
def test_cell_parity(ours_cls, theirs_cls, kw, impl, bias, with_hx):
    torch.manual_seed(0)
    ours = ours_cls(4, 5, bias=bias, impl=impl, **kw)
    theirs = theirs_cls(4, 5, bias=bias, **kw)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 4, requires_grad=True)
    hx = None
    if with_hx:
        h = torch.randn(3, 5, requires_grad=True)
        hx = (h, torch.randn(3, 5, requires_grad=True)) if ours_cls is rnnkit.LSTMCell else h
    results = []
    for cell in (ours, theirs):
        new = as_tuple(cell(x, hx))
        g_out, g_state = random_upstream(new[0], new[1:])
        wrt = [x, *cell.parameters(), *([] if hx is None else as_tuple(hx))]
        grads = torch.autograd.grad(weighted_loss(new[0], new[1:], g_out, g_state), wrt)
        results.append((new, grads))
    assert max_diff(results[0][0], results[1][0]) <= 1e-6
    assert max_diff(results[0][1], results[1][1]) <= 1e-5
    assert ours.last_impl == impl


def test_unbatched_cell():
    cell = rnnkit.LSTMCell(3, 4)
    h, c = cell(torch.randn(3))
    assert h.shape == (4,) and c.shape == (4,)
    h2, _ = cell(torch.randn(3), (h, c))
    assert h2.shape == (4,)


def test_gru_cell_reset_before_equals_layer():
    torch.manual_seed(1)
    cell = rnnkit.GRUCell(3, 4, reset_after=False, dtype=torch.float64)
    layer = rnnkit.GRU(3, 4, reset_after=False, dtype=torch.float64)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    out, _ = layer(x)
    h = None
    for t in range(5):
        h = cell(x[t], h)
    assert torch.allclose(h, out[-1], atol=1e-12)
    assert cell.last_impl == "fused"


@pytest.mark.parametrize("bad,match", [
    (lambda c: c(torch.randn(2, 3, 3)), "LSTMCell: Expected input to be 1D or 2D, got 3D instead"),
    (lambda c: c(torch.randn(2, 7)), "input has inconsistent input_size: got 7 expected 3"),
    (lambda c: c(torch.randn(2, 3), (torch.randn(2, 5), torch.randn(2, 4))),
     "hidden0 has inconsistent hidden_size: got 5, expected 4"),
    (lambda c: c(torch.randn(2, 3), (torch.randn(2, 4), torch.randn(3, 4))),
     "Input batch size 2 doesn't match hidden1 batch size 3"),
    (lambda c: c(torch.randn(2, 3), (torch.randn(2, 1, 1, 4), torch.randn(2, 4))),
     r"LSTMCell: Expected hx\[0\] to be 1D or 2D, got 4D instead"),
    (lambda c: c(torch.randn(3), (torch.randn(1, 4), torch.randn(1, 4))),  # torch refuses too
     r"for unbatched 1-D input, hx\[0\] should also be 1-D, got 2-D"),
])
def test_cell_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        bad(rnnkit.LSTMCell(3, 4))
