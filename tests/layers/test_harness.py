"""One harness for every layer and cell: shapes, state_dict both ways with torch.nn, a training
step, dtype moves, repr."""

import pytest
import torch

import rnnkit

LAYERS = [
    (rnnkit.RNN, torch.nn.RNN, {}),
    (rnnkit.LSTM, torch.nn.LSTM, {}),
    (rnnkit.LSTM, torch.nn.LSTM, {"proj_size": 2}),
    (rnnkit.GRU, torch.nn.GRU, {}),
    (rnnkit.RNNCell, torch.nn.RNNCell, {}),
    (rnnkit.LSTMCell, torch.nn.LSTMCell, {}),
    (rnnkit.GRUCell, torch.nn.GRUCell, {}),
]
LAYER_KW = {"num_layers": 2, "bidirectional": True}


def build(cls, extra):
    kw = dict(extra)
    if not cls.__name__.endswith("Cell"):
        kw |= LAYER_KW
    return cls(3, 4, **kw)


def forward_any(module, x):
    if isinstance(module, (rnnkit.RNNCell, rnnkit.LSTMCell, rnnkit.GRUCell,
                           torch.nn.RNNCellBase)):
        out = module(x[0])
        return out[0] if isinstance(out, tuple) else out
    return module(x)[0]


@pytest.mark.parametrize("ours_cls,theirs_cls,extra", LAYERS)
def test_state_dict_moves_both_ways(ours_cls, theirs_cls, extra):
    ours, theirs = build(ours_cls, extra), build(theirs_cls, extra)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, p in ours.named_parameters():
        assert p.shape == dict(theirs.named_parameters())[name].shape, name
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(5, 2, 3)
    assert torch.allclose(forward_any(ours, x), forward_any(theirs, x), atol=1e-6)
    torch.nn.init.normal_(next(theirs.parameters()))
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert torch.allclose(forward_any(ours, x), forward_any(theirs, x), atol=1e-6)


@pytest.mark.parametrize("ours_cls,theirs_cls,extra", LAYERS)
@pytest.mark.parametrize("impl", ["fused", "reference", "native"])
def test_a_training_step_lowers_the_loss(ours_cls, theirs_cls, extra, impl):
    torch.manual_seed(0)
    module = build(ours_cls, extra)
    module.impl = impl
    x, target = torch.randn(5, 2, 3), torch.randn(1)
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    losses = []
    for _ in range(3):
        loss = (forward_any(module, x).mean() - target).pow(2)
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all()
                   for p in module.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("ours_cls,theirs_cls,extra", LAYERS)
def test_dtype_moves(ours_cls, theirs_cls, extra):
    module = build(ours_cls, extra).double()
    out = forward_any(module, torch.randn(4, 2, 3, dtype=torch.float64))
    assert out.dtype == torch.float64
    module.float()
    assert forward_any(module, torch.randn(4, 2, 3)).dtype == torch.float32


def test_repr_names_settings():
    assert repr(rnnkit.LSTM(3, 4, num_layers=2, impl="fused")) == \
        "LSTM(3, 4, num_layers=2, impl='fused')"
    assert "reset_after=False" in repr(rnnkit.GRU(3, 4, reset_after=False))
