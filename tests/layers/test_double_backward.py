"""Second-order gradients (create_graph=True) through every cell and implementation.

rnnkit's hand-written BPTT computes numbers, not a graph: with create_graph=True the fused path
must recompute through the reference math so that a gradient of a gradient is exact, never a
silent zero. float64 gradgradcheck for the exact check; float32 against torch.nn for the
gradient-penalty use case (loss = out.sum() + |d out / dx|^2).
"""

import pytest
import torch
from helpers import twin_layers
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from rnnkit.backends import dispatch

KINDS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
IMPLS = ("reference", "fused", "native", "auto")
F64 = torch.float64


def _as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def _initial_state(kind, layer, batch):
    L = layer.num_layers * layer.num_directions
    h = torch.randn(L, batch, layer.proj_size or layer.hidden_size, dtype=F64,
                    requires_grad=True)
    if kind.startswith("lstm"):
        return (h, torch.randn(L, batch, layer.hidden_size, dtype=F64, requires_grad=True))
    return (h,)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", (*KINDS, "lstm_proj"))
def test_gradgradcheck_stack(kind, impl):
    """2 layers, bidirectional, lengths and an initial state: second derivatives w.r.t. the
    input, the initial state and weights of both layers and both directions."""
    torch.manual_seed(0)
    layer, _ = twin_layers(kind, impl, input_size=2, hidden_size=4 if kind == "lstm_proj" else 3,
                           dtype=F64, num_layers=2, bidirectional=True)  # proj_size 3
    x = torch.randn(3, 2, 2, dtype=F64, requires_grad=True)
    state0 = _initial_state(kind, layer, 2)
    lengths = torch.tensor([3, 2])
    names = ["weight_hh_l0", "weight_ih_l1_reverse", "bias_hh_l1"]
    weights = tuple(getattr(layer, n).detach().clone().requires_grad_() for n in names)

    def fn(x, *rest):
        s0, w = rest[:len(state0)], dict(zip(names, rest[len(state0):], strict=True))
        hx = s0 if kind.startswith("lstm") else s0[0]
        out, state = torch.func.functional_call(layer, w, (x, hx), {"lengths": lengths})
        return (out, *_as_tuple(state))

    assert torch.autograd.gradgradcheck(fn, (x, *state0, *weights), atol=1e-5, rtol=1e-4,
                                        fast_mode=True)


@pytest.mark.parametrize("impl", ("reference", "fused", "auto"))
def test_gradgradcheck_gru_reset_before(impl):
    """The Cho et al. form, which only rnnkit's own paths run."""
    torch.manual_seed(5)
    layer = rnnkit.GRU(2, 3, num_layers=2, bidirectional=True, reset_after=False, impl=impl,
                       dtype=F64)
    x = torch.randn(3, 2, 2, dtype=F64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x: layer(x)[0], (x,), fast_mode=True)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
def test_gradgradcheck_packed(kind, impl):
    torch.manual_seed(1)
    layer, _ = twin_layers(kind, impl, input_size=2, hidden_size=3, dtype=F64)
    x = torch.randn(4, 3, 2, dtype=F64, requires_grad=True)

    def fn(x):
        packed = pack_padded_sequence(x, torch.tensor([4, 1, 3]), enforce_sorted=False)
        out, state = layer(packed)
        return (out.data, *_as_tuple(state))

    assert torch.autograd.gradgradcheck(fn, (x,), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("impl", ("reference", "fused", "auto"))
@pytest.mark.parametrize("cls", (rnnkit.RNNCell, rnnkit.LSTMCell, rnnkit.GRUCell))
def test_gradgradcheck_cell(cls, impl):
    torch.manual_seed(2)
    cell = cls(2, 3, impl=impl, dtype=F64)
    x = torch.randn(2, 2, dtype=F64, requires_grad=True)
    h = torch.randn(2, 3, dtype=F64, requires_grad=True)
    hx = (h, torch.randn(2, 3, dtype=F64)) if cls is rnnkit.LSTMCell else h
    assert torch.autograd.gradgradcheck(lambda x, h: cell(x, hx)[0] if cls is rnnkit.LSTMCell
                                        else cell(x, h), (x, h))


def _penalty_grads(layer, x):
    """loss = out.sum() + |d out.sum() / dx|^2; returns its gradient w.r.t. x and each weight."""
    out, _ = layer(x)
    (dx,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    loss = out.sum() + dx.pow(2).sum()
    return torch.autograd.grad(loss, (x, *layer.parameters()))


@pytest.mark.parametrize("impl", (*IMPLS, "auto-picks-fused"))
@pytest.mark.parametrize("kind", KINDS)
def test_gradient_penalty_float32_matches_torch(kind, impl, monkeypatch):
    torch.manual_seed(3)
    if impl == "auto-picks-fused":  # what auto does for large float32 GRU / Elman layers
        monkeypatch.setattr(dispatch, "auto_choice", lambda *a, **k: ("fused", "test"))
        impl = "auto"
    ours, theirs = twin_layers(kind, impl, input_size=8, hidden_size=64, num_layers=2)
    x = torch.randn(20, 8, 8, requires_grad=True)
    for g_ours, g_torch in zip(_penalty_grads(ours, x), _penalty_grads(theirs, x), strict=True):
        # float32 sums over T*B = 160 terms of products of gradients: 1e-4 of the scale.
        scale = g_torch.abs().max().item()
        assert (g_ours - g_torch).abs().max().item() <= 1e-4 * max(scale, 1.0)
        assert scale > 0


def test_second_order_term_is_not_zero_on_the_fused_path():
    """The defect itself: the gradient of a gradient through the fused path was silently 0."""
    torch.manual_seed(4)
    layer = rnnkit.GRU(2, 3, impl="fused", dtype=F64)
    x = torch.randn(4, 1, 2, dtype=F64, requires_grad=True)
    (dx,) = torch.autograd.grad(layer(x)[0].sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(dx.pow(2).sum(), layer.weight_hh_l0)
    twin = torch.nn.GRU(2, 3, dtype=F64)
    twin.load_state_dict(layer.state_dict())
    (dx_t,) = torch.autograd.grad(twin(x)[0].sum(), x, create_graph=True)
    (d2_t,) = torch.autograd.grad(dx_t.pow(2).sum(), twin.weight_hh_l0)
    assert d2_t.abs().max() > 1e-3
    torch.testing.assert_close(d2, d2_t, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("impl", ("reference", "fused", "auto"))
@pytest.mark.parametrize("cls", (rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN))
def test_torch_func_transforms(cls, impl):
    """vmap, grad and jvp give torch.nn's numbers (torch.nn itself cannot vmap its kernels)."""
    torch.manual_seed(5)
    layer = cls(2, 3, impl=impl, dtype=F64)
    ref = cls(2, 3, impl="reference", dtype=F64)
    ref.load_state_dict(layer.state_dict())
    xs = torch.randn(3, 4, 2, 2, dtype=F64)
    params = dict(layer.named_parameters())

    def loss(module):
        return lambda p, x: torch.func.functional_call(module, p, (x,))[0].pow(2).sum()

    torch.testing.assert_close(torch.func.vmap(lambda x: layer(x)[0])(xs),
                               torch.stack([ref(x)[0] for x in xs]))
    per_sample = torch.func.vmap(torch.func.grad(loss(layer)), in_dims=(None, 0))(params, xs)
    for i, x in enumerate(xs):
        grads = torch.autograd.grad(loss(ref)(dict(ref.named_parameters()), x),
                                    list(ref.parameters()))
        for name, g in zip(params, grads, strict=True):
            torch.testing.assert_close(per_sample[name][i], g)
    _, tangent = torch.func.jvp(lambda x: layer(x)[0], (xs[0],), (xs[1],))
    _, tangent_ref = torch.func.jvp(lambda x: ref(x)[0], (xs[0],), (xs[1],))
    torch.testing.assert_close(tangent, tangent_ref)


def test_recording_with_create_graph_is_an_error():
    from rnnkit.errors import RnnkitError

    layer = rnnkit.GRU(2, 3, impl="fused", dtype=F64)
    layer.dh_recorder = {}
    x = torch.randn(3, 1, 2, dtype=F64, requires_grad=True)
    with pytest.raises(RnnkitError, match="create_graph"):
        torch.autograd.grad(layer(x)[0].sum(), x, create_graph=True)
