"""Step by step == whole sequence == chunks with carried state; fused == reference == native;
proof that each impl really runs; the GRU of Cho et al. against its own equations."""

import pytest
import torch
from helpers import as_tuple, max_diff, twin_layers

import rnnkit
import rnnkit.cells.function as function_mod
import rnnkit.layers.base as layer_mod
from rnnkit.functional import LayerWeights, LSTMCellMath, lstm_seq
from rnnkit.functional.bptt import sequence_backward, sequence_forward

KINDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["fused", "reference", "native"])
def test_whole_equals_chunks_equals_steps(kind, impl):
    torch.manual_seed(0)
    layer, _ = twin_layers(kind, impl, 3, 6, num_layers=2, dtype=torch.float64)
    x = torch.randn(12, 2, 3, dtype=torch.float64)
    whole, whole_state = layer(x)
    outs, state = [], None
    for chunk in x.split([5, 4, 3]):  # uneven chunks, state carried across
        out, state = layer(chunk, state)
        outs.append(out)
    assert torch.allclose(torch.cat(outs), whole, atol=1e-12)
    assert max_diff(as_tuple(state), as_tuple(whole_state)) < 1e-12
    steps, state = [], None
    for t in range(x.shape[0]):
        out, state = layer(x[t:t + 1], state)
        steps.append(out)
    assert torch.allclose(torch.cat(steps), whole, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_cells_stepped_equal_the_layer(kind):
    torch.manual_seed(1)
    layer, _ = twin_layers(kind, "fused", 3, 4, dtype=torch.float64)
    cell_cls = {"rnn_tanh": rnnkit.RNNCell, "lstm": rnnkit.LSTMCell, "gru": rnnkit.GRUCell}[kind]
    cell = cell_cls(3, 4, dtype=torch.float64)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in layer.state_dict().items()})
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    whole, _ = layer(x)
    state = cell.init_state(2)
    for t in range(7):
        out, state = cell.step(x[t], state)
        assert torch.allclose(out, whole[t], atol=1e-12)


def count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


@pytest.mark.parametrize("impl", ["fused", "reference", "native", "auto"])
@pytest.mark.parametrize("lengths", [None, [3, 5]])
def test_each_impl_really_runs(monkeypatch, impl, lengths):
    general_fwd = count_calls(monkeypatch, function_mod, "sequence_forward")
    general_bwd = count_calls(monkeypatch, function_mod, "sequence_backward")
    whole_fwd = count_calls(monkeypatch, lstm_seq, "lstm_sequence_forward")
    whole_bwd = count_calls(monkeypatch, lstm_seq, "lstm_sequence_backward")
    native = count_calls(monkeypatch, layer_mod, "native_stack")
    layer = rnnkit.LSTM(3, 4, impl=impl)
    out, _ = layer(torch.randn(5, 2, 3, requires_grad=True), lengths=lengths)
    out.sum().backward()
    counts = tuple(map(len, (general_fwd, general_bwd, whole_fwd, whole_bwd, native)))
    fused = (1, 1, 0, 0, 0) if lengths else (0, 0, 1, 1, 0)  # lengths: the general loop
    ran = {"fused": fused, "reference": (1, 0, 0, 0, 0), "native": (0, 0, 0, 0, 1),
           "auto": (0, 0, 0, 0, 1)}
    assert counts == ran[impl]
    assert layer.last_impl == ("native" if impl == "auto" else impl)


@pytest.mark.parametrize("reverse", [False, True])
def test_whole_sequence_lstm_equals_the_general_loop(reverse):
    """The fast LSTM path against the readable specification, to float64 rounding."""
    torch.manual_seed(5)
    T, B, I, H = 7, 3, 4, 5
    f64 = dict(dtype=torch.float64)
    w = LayerWeights(torch.randn(4 * H, I, **f64), torch.randn(4 * H, H, **f64),
                     torch.randn(4 * H, **f64), torch.randn(4 * H, **f64))
    x = torch.randn(T, B, I, **f64)
    state0 = (torch.randn(B, H, **f64), torch.randn(B, H, **f64))
    d_out, d_h, d_c = (torch.randn(T, B, H, **f64), torch.randn(B, H, **f64),
                       torch.randn(B, H, **f64))
    cell = LSTMCellMath()
    results = []
    for fwd, bwd in ((sequence_forward, sequence_backward),
                     (lstm_seq.lstm_sequence_forward, lstm_seq.lstm_sequence_backward)):
        out, state, cache = fwd(cell, x, state0, w, None, reverse)
        record = []
        dx, d_state0, grads = bwd(cell, d_out, (d_h, d_c), w, cache, dh_record=record)
        results.append((out, state, dx, d_state0, grads, record))
    (o1, s1, dx1, ds1, g1, r1), (o2, s2, dx2, ds2, g2, r2) = results
    assert torch.allclose(o1, o2, atol=1e-12) and max_diff(s1, s2) < 1e-12
    assert torch.allclose(dx1, dx2, atol=1e-12) and max_diff(ds1, ds2) < 1e-12
    for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
        assert torch.allclose(g1[name], g2[name], atol=1e-12), name
    assert max_diff(r1, r2) < 1e-12


def cho_gru_reference(x, h, W_ih, W_hh, b_ih, b_hh):
    """The GRU of Cho et al. 2014 written out with autograd: reset applied before the matmul."""
    H = h.shape[-1]
    outs = []
    for x_t in x:
        gi = x_t @ W_ih.t() + b_ih
        r = torch.sigmoid(gi[:, :H] + h @ W_hh[:H].t() + b_hh[:H])
        z = torch.sigmoid(gi[:, H:2 * H] + h @ W_hh[H:2 * H].t() + b_hh[H:2 * H])
        n = torch.tanh(gi[:, 2 * H:] + (r * h) @ W_hh[2 * H:].t() + b_hh[2 * H:])
        h = (1 - z) * n + z * h
        outs.append(h)
    return torch.stack(outs), h


def test_gru_reset_before_matches_its_equations():
    torch.manual_seed(2)
    x = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    results = []
    for impl in ("fused", "reference"):
        layer = rnnkit.GRU(4, 5, reset_after=False, impl=impl, dtype=torch.float64)
        torch.manual_seed(3)
        layer.reset_parameters()
        out, h_n = layer(x)
        g = torch.randn_like(out)
        grads = torch.autograd.grad((out * g).sum(), [x, *layer.parameters()])
        results.append((out, h_n, grads))
    want_out, want_h = cho_gru_reference(x, torch.zeros(3, 5, dtype=torch.float64),
                                         *layer.parameters())
    want_grads = torch.autograd.grad((want_out * g).sum(), [x, *layer.parameters()])
    for out, h_n, grads in results:
        assert torch.allclose(out, want_out, atol=1e-12)
        assert torch.allclose(h_n[0], want_h, atol=1e-12)
        assert max_diff(grads, want_grads) < 1e-10


def test_gru_reset_before_auto_picks_fused_and_native_refuses():
    layer = rnnkit.GRU(3, 4, reset_after=False)
    layer(torch.randn(2, 1, 3))
    assert layer.last_impl == "fused"
    layer.impl = "native"
    with pytest.raises(ValueError, match="reset_after=False.*impl='fused'"):
        layer(torch.randn(2, 1, 3))


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(4)
    for impl in ("fused", "native"):
        layer = rnnkit.LSTM(3, 8, num_layers=2, dropout=0.5, impl=impl)
        x = torch.randn(5, 4, 3)
        layer.eval()
        a, _ = layer(x)
        b, _ = layer(x)
        assert torch.equal(a, b)
        layer.train()
        c, _ = layer(x)
        assert not torch.allclose(a, c)


@pytest.mark.parametrize("impl", ["fused", "reference", "native"])
def test_unbatched_input(impl):
    ours, theirs = twin_layers("lstm", impl, 3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(6, 3)
    (o1, (h1, c1)), (o2, (h2, c2)) = ours(x), theirs(x)
    assert o1.shape == (6, 8) and h1.shape == (4, 4)
    assert max_diff((o1, h1, c1), (o2, h2, c2)) < 1e-6


def test_auto_follows_the_measured_rule(monkeypatch):
    from rnnkit.backends.dispatch import FUSED_MIN_WORK, LayerSpec, auto_choice
    from rnnkit.functional import compiled

    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "onednn")  # the rule measured on AMD
    x = torch.randn(5, 16, 8)  # B = 16
    big, small = LayerSpec("GRU", True, 512), LayerSpec("GRU", True, 64)
    assert 16 * 512**2 >= FUSED_MIN_WORK[("GRU", True)] > 16 * 64**2
    assert auto_choice(big, x, training=True)[0] == "fused"
    assert auto_choice(small, x, training=True)[0] == "native"
    assert auto_choice(LayerSpec("LSTM", True, 512), x, training=True)[0] == "native"
    assert auto_choice(big, x.double(), training=True) == (
        "native", "rnnkit's fast products need float32 with oneDNN on the CPU")
    assert auto_choice(LayerSpec("GRU", False, 64), x, training=False)[0] == "fused"  # Cho
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "mkl")  # Intel: the compiled loops, where built
    built = compiled.available(x, warn=False)[0]
    for spec in (big, small, LayerSpec("RNN_TANH", True, 256)):
        for training in (True, False):
            assert auto_choice(spec, x, training)[0] == ("fused" if built else "native")
            assert auto_choice(spec, x, training, masked=True)[0] == "native"
    assert auto_choice(LayerSpec("LSTM", True, 512), x, training=False) == (
        "native", "torch's LSTM kernel (oneDNN's fused kernel) is as fast or faster")
    assert auto_choice(LayerSpec("GRU", True, 512), x.double(), training=False) == (
        "native", "rnnkit's fast products need float32 with oneDNN on the CPU")
    assert auto_choice(LayerSpec("GRU", False, 64), x, training=True)[0] == "fused"  # Cho
    monkeypatch.setattr(compiled, "_load", lambda: (False, "not built in this test"))
    assert auto_choice(small, x, training=False)[0] == "native"


def test_auto_layer_reports_what_ran(monkeypatch):
    monkeypatch.setenv("RNNKIT_PRODUCT_LIBRARY", "onednn")
    gru = rnnkit.GRU(8, 512)
    gru(torch.randn(3, 16, 8))
    assert gru.last_impl == "fused"  # training (the weights require grad)
    with torch.no_grad():
        gru(torch.randn(3, 1, 8))
    assert gru.last_impl == "native"  # inference at batch 1


@pytest.mark.parametrize("impl", ["native", "fused"])
def test_packed_input_is_padded_only_for_rnnkits_loops(monkeypatch, impl):
    calls = []
    original = layer_mod.pad_packed_sequence
    monkeypatch.setattr(layer_mod, "pad_packed_sequence",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    seqs = [torch.randn(n, 3) for n in (4, 2, 3)]
    packed = torch.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
    layer = rnnkit.LSTM(3, 5, impl=impl)
    ref = torch.nn.LSTM(3, 5)
    ref.load_state_dict(layer.state_dict())
    out, (h, c) = layer(packed)
    assert len(calls) == (0 if impl == "native" else 1)
    out_ref, (h_ref, c_ref) = ref(packed)
    assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
    torch.testing.assert_close(out.data, out_ref.data, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("impl", ["native", "fused"])
def test_a_parametrized_weight_is_the_one_used(impl):
    """torch.nn.utils.parametrize turns weight_hh_l0 into a computed attribute (it leaves
    _parameters): the layer must run on its value, as torch.nn does."""
    from torch import nn
    from torch.nn.utils import parametrize

    class Half(nn.Module):
        def forward(self, w):
            return 0.5 * w

    torch.manual_seed(0)
    ours = rnnkit.LSTM(3, 4, impl=impl)
    theirs = nn.LSTM(3, 4)
    theirs.load_state_dict(ours.state_dict())
    with torch.no_grad():
        theirs.weight_hh_l0.mul_(0.5)
    parametrize.register_parametrization(ours, "weight_hh_l0", Half())
    assert "weight_hh_l0" not in ours._parameters
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], atol=1e-6, rtol=0)
