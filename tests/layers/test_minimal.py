"""rnnkit.MinGRU / rnnkit.MinLSTM: shapes and torch.nn's arguments, h0 in and h_n out, lengths
and PackedSequence on real steps, bidirectional, step() against forward(), the fused path
against the reference, and the errors for what they cannot do."""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from rnnkit.checks import ShapeError
from rnnkit.functional import compiled

LAYERS = [rnnkit.MinGRU, rnnkit.MinLSTM]


def build(cls, seed=0, **kw):
    torch.manual_seed(seed)
    kw = {"input_size": 3, "hidden_size": 5, **kw}
    return cls(**kw, dtype=torch.float64)


def data(T=7, B=4, I=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, B, I, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_shapes_and_parameter_names(cls, bidirectional, batch_first):
    layer = build(cls, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    D, G = 2 if bidirectional else 1, cls.family.gates
    x = data()
    out, h_n = layer(x.transpose(0, 1) if batch_first else x)
    assert out.shape == ((4, 7, D * 5) if batch_first else (7, 4, D * 5))
    assert h_n.shape == (D * 2, 4, 5)
    assert layer.weight_ih_l1.shape == (G * 5, D * 5)
    names = {n for n, _ in layer.named_parameters()}
    assert ("weight_ih_l0_reverse" in names) == bidirectional
    assert not any(n.startswith("weight_hh") for n in names)
    if compiled.available(x)[0]:
        assert layer.last_impl == "compiled"  # the fast path really runs


@pytest.mark.parametrize("cls", LAYERS)
def test_fused_equals_reference_outputs_and_every_gradient(cls):
    kw = {"num_layers": 2, "bidirectional": True}
    fused, ref = build(cls, impl="fused", **kw), build(cls, impl="reference", **kw)
    x = data().requires_grad_()
    h0 = torch.randn(4, 4, 5, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([7, 3, 5, 1])
    grads = []
    for layer in (fused, ref):
        out, h_n = layer(x, h0, lengths=lengths)
        torch.manual_seed(5)
        d_out, d_h = torch.randn_like(out), torch.randn_like(h_n)
        leaves = [x, h0, *layer.parameters()]
        grads.append((out, h_n, *torch.autograd.grad((out, h_n), leaves, (d_out, d_h))))
    assert ref.last_impl == "reference"
    for got, want in zip(*grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cls", LAYERS)
def test_step_by_step_equals_forward_from_a_start_state(cls):
    layer = build(cls, num_layers=3)
    x, h0 = data(), torch.randn(3, 4, 5, dtype=torch.float64)
    out, h_n = layer(x, h0)
    h, steps = h0, []
    for x_t in x:
        y, h = layer.step(x_t, h)
        steps.append(y)
    torch.testing.assert_close(torch.stack(steps), out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h, h_n, rtol=1e-12, atol=1e-12)
    y, _ = layer.step(x[0])  # no state: zeros
    torch.testing.assert_close(y, layer(x[:1])[0][0])


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_run_each_row_on_its_real_steps(cls, bidirectional):
    layer = build(cls, num_layers=2, bidirectional=bidirectional)
    D = 2 if bidirectional else 1
    x, lengths = data(), torch.tensor([7, 3, 5, 1])
    h0 = torch.randn(2 * D, 4, 5, dtype=torch.float64)
    out, h_n = layer(x, h0, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, h_alone = layer(x[:n, b:b + 1], h0[:, b:b + 1])
        torch.testing.assert_close(out[:n, b:b + 1], alone)
        torch.testing.assert_close(h_n[:, b:b + 1], h_alone)
        assert (out[n:, b] == 0).all()
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out_p, h_p = layer(packed, h0)
    torch.testing.assert_close(h_p, h_n)
    torch.testing.assert_close(out_p.data, pack_padded_sequence(out, lengths,
                                                                enforce_sorted=False).data)


@pytest.mark.parametrize("cls", LAYERS)
def test_unbatched_float32_and_dropout(cls):
    layer = cls(3, 5, num_layers=2, dropout=0.5)
    x = torch.randn(6, 3)
    out, h_n = layer(x)
    assert out.shape == (6, 5) and h_n.shape == (2, 5)
    layer.eval()
    torch.testing.assert_close(layer(x)[0], layer(x)[0])  # no dropout in eval
    torch.testing.assert_close(layer(x)[0], layer(x.unsqueeze(1))[0].squeeze(1))
    layer.train()
    torch.manual_seed(0)
    a = layer(x)[0]
    torch.manual_seed(1)
    assert not torch.equal(a, layer(x)[0])  # dropout between the layers in training


@pytest.mark.parametrize("cls", LAYERS)
def test_state_dict_round_trip(cls):
    a, b = build(cls, seed=0, bidirectional=True), build(cls, seed=1, bidirectional=True)
    b.load_state_dict(a.state_dict())
    x = data()
    torch.testing.assert_close(a(x)[0], b(x)[0])


@pytest.mark.parametrize("cls", LAYERS)
def test_what_they_cannot_do_is_one_clear_error(cls):
    name = cls.__name__
    with pytest.raises(ShapeError, match="no proj_size"):
        cls(3, 5, proj_size=2)
    with pytest.raises(ValueError, match="torch has no kernel for " + name):
        cls(3, 5, impl="native")
    with pytest.raises(ValueError, match="impl must be one of"):
        cls(3, 5, impl="fast")
    with pytest.raises(TypeError, match="batch_first should be of type bool"):
        cls(3, 5, batch_first=1)
    layer = cls(3, 5)
    x = torch.randn(4, 2, 3)
    with pytest.raises(ShapeError, match="state is h alone"):
        layer(x, (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5)))
    with pytest.raises(ShapeError, match=r"Expected hidden size \(1, 2, 5\)"):
        layer(x, torch.zeros(2, 2, 5))
    with pytest.raises(ShapeError, match="input_size"):
        layer(torch.randn(4, 2, 4))
    with pytest.raises(ShapeError, match=r"lengths must lie in \[1, 4\]"):
        layer(x, lengths=[5, 1])
    with pytest.raises(ShapeError, match="cannot run step by step"):
        cls(3, 5, bidirectional=True).step(x[0])
    with pytest.raises(ShapeError, match=r"step takes x_t of shape \(batch, 3\)"):
        layer.step(x)
    with pytest.raises(ShapeError, match=r"input dtype \(torch.float64\) does not match"):
        layer.step(x[0].double())
