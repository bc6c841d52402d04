"""float64 gradcheck through whole layers with rnnkit's BPTT: stacked, bidirectional, lengths."""

import pytest
import torch

import rnnkit


@pytest.mark.parametrize("cls,kw", [
    (rnnkit.RNN, {}),
    (rnnkit.LSTM, {}),
    (rnnkit.LSTM, {"proj_size": 2}),
    (rnnkit.GRU, {}),
    (rnnkit.GRU, {"reset_after": False}),
])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_layer_gradcheck(cls, kw, with_lengths):
    torch.manual_seed(0)
    layer = cls(2, 3, num_layers=2, bidirectional=True, impl="fused", dtype=torch.float64, **kw)
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([2, 4, 1]) if with_lengths else None
    weights = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())
    # functional_call makes the weights inputs of the function, so gradcheck perturbs them.
    names = [n for n, _ in layer.named_parameters()]

    def fn_call(x, *weights):
        out, state = torch.func.functional_call(layer, dict(zip(names, weights, strict=True)),
                                                (x,), {"lengths": lengths})
        state = state if isinstance(state, tuple) else (state,)
        return (out, *state)

    assert torch.autograd.gradcheck(fn_call, (x, *weights), eps=1e-6, atol=1e-6, rtol=1e-5)
