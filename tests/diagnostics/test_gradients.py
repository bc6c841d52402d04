"""dL/dh_t recorded from rnnkit's BPTT equals autograd's gradient w.r.t. each h_t."""

import pytest
import torch

import rnnkit
from rnnkit.diagnostics import record_state_grads

CELLS = {"rnn": (rnnkit.RNN, torch.nn.RNNCell), "lstm": (rnnkit.LSTM, torch.nn.LSTMCell),
         "gru": (rnnkit.GRU, torch.nn.GRUCell)}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("lengths", [None, [6, 3]])
def test_recorded_state_grads_equal_autograd(kind, lengths):
    torch.manual_seed(0)
    layer_cls, cell_cls = CELLS[kind]
    layer = layer_cls(3, 4, dtype=torch.float64)
    cell = cell_cls(3, 4, dtype=torch.float64)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in layer.state_dict().items()})
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    target = torch.randn(6, 2, 4, dtype=torch.float64)
    T = torch.tensor(lengths) if lengths else torch.full((2,), 6)
    mask = (torch.arange(6)[:, None] < T[None, :]).unsqueeze(-1)

    with record_state_grads(layer) as rec:
        out, _ = layer(x, lengths=lengths)
        ((out - target) ** 2 * mask).sum().backward()
    got = rec.grads("")  # (T, B, H)

    # autograd, step by step with torch's cell; a row past its length keeps its state
    state, hs = None, []
    for t in range(6):
        hx = None if state is None else (state if kind == "lstm" else state[0])
        new = cell(x[t], hx)
        new = new if isinstance(new, tuple) else (new,)
        if state is not None:
            new = tuple(torch.where(mask[t], n, s) for n, s in zip(new, state, strict=True))
        new[0].retain_grad()
        hs.append(new[0])
        state = new
    loss = sum((((h - target[t]) ** 2) * mask[t]).sum() for t, h in enumerate(hs))
    loss.backward()
    want = torch.stack([h.grad for h in hs])
    real = mask.expand_as(want)
    assert torch.allclose(got[real], want[real], atol=1e-10)
    assert layer.last_impl == "fused" and layer.dh_recorder is None


def test_norms_shape_for_a_stacked_bidirectional_model():
    model = torch.nn.Sequential()
    model.add_module("rnn", rnnkit.GRU(3, 4, num_layers=2, bidirectional=True))
    with record_state_grads(model) as rec:
        out, _ = model.rnn(torch.randn(7, 2, 3))
        out.pow(2).sum().backward()
    assert rec.norms()["rnn"].shape == (2, 2, 7)


def test_needs_an_rnnkit_layer():
    with pytest.raises(ValueError, match="no rnnkit RNN/LSTM/GRU layer"):
        with record_state_grads(torch.nn.Linear(2, 2)):
            pass
