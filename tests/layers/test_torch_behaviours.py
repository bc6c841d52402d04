"""The behaviours PyTorch's own RNN tests check (test/test_nn.py and the RNN / GRU / LSTM entries of
torch/testing/_internal/common_modules.py), written anew against rnnkit's classes, for every impl.
Where rnnkit deliberately differs, docs/reliability.md says so."""

import copy
import pickle

import pytest
import torch
from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence

import rnnkit

IMPLS = ("reference", "fused", "native", "auto")
F64 = torch.float64


def _flat(state):
    return state if isinstance(state, tuple) else (state,)


def _twins(name, impl, *args, **kw):
    ours = getattr(rnnkit, name)(*args, impl=impl, dtype=F64, **kw)
    theirs = getattr(torch.nn, name)(*args, dtype=F64, **kw)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _close(a, b):
    for x, y in zip(_flat(a), _flat(b), strict=True):
        torch.testing.assert_close(x, y)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("p", [0.0, 0.276, 0.731, 1.0])
@pytest.mark.parametrize("train", [True, False])
def test_dropout_sits_between_layers(impl, p, train):
    """A 2-layer ReLU RNN of ones: layer 1 outputs 10 everywhere; dropout zeroes some of those and
    scales the rest by 1/(1-p), so each unit of layer 2 sees (kept units) * 10 / (1-p)."""
    torch.manual_seed(0)
    rnn = rnnkit.RNN(10, 100, 2, bias=False, dropout=p, nonlinearity="relu", impl=impl,
                     dtype=F64)
    rnn.train(train)
    with torch.no_grad():
        for w in rnn.parameters():
            w.fill_(1)
    out, hy = rnn(torch.ones(1, 1, 10, dtype=F64), torch.zeros(2, 1, 100, dtype=F64))
    torch.testing.assert_close(hy[0], torch.full_like(hy[0], 10.0))
    torch.testing.assert_close(out[0], hy[1])
    first = out[0, 0, 0].item()
    assert (out == first).all()  # the same dropped inputs reach every unit of layer 2
    if not train or p == 0:
        assert first == pytest.approx(1000.0)
    elif p == 1:
        assert first == 0.0
    else:
        kept = first * (1 - p) / 10
        assert kept == pytest.approx(round(kept), abs=1e-6) and 0 <= round(kept) <= 100


@pytest.mark.parametrize("impl", IMPLS)
def test_changing_dropout_after_construction_takes_effect(impl):
    torch.manual_seed(0)
    rnn = rnnkit.LSTM(3, 4, 2, impl=impl, dtype=F64)
    x = torch.randn(5, 2, 3, dtype=F64)
    rnn.train()
    reference = rnn(x)[0]
    rnn.dropout = 1.0
    with_zeros = rnn(x)[0]
    rnn.dropout = 0.0
    _close(rnn(x)[0], reference)
    assert not torch.allclose(with_zeros, reference)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", ("RNN", "LSTM", "GRU"))
def test_no_initial_state_means_zeros(name, impl):
    torch.manual_seed(1)
    kw = {"proj_size": 2} if name == "LSTM" else {}
    rnn = getattr(rnnkit, name)(3, 4, 2, bidirectional=True, impl=impl, dtype=F64, **kw)
    x = torch.randn(5, 2, 3, dtype=F64)
    h = torch.zeros(4, 2, kw.get("proj_size", 4), dtype=F64)
    hx = (h, torch.zeros(4, 2, 4, dtype=F64)) if name == "LSTM" else h
    _close(rnn(x), rnn(x, hx))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name,kw", [("RNN", {"nonlinearity": "relu"}), ("RNN", {}),
                                     ("GRU", {}), ("LSTM", {}), ("LSTM", {"proj_size": 2})])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_unbatched_input_equals_a_batch_of_one(name, kw, impl, bias, batch_first, bidirectional):
    """common_modules' no-batch-dim samples: 2-D input (and 2-D state) == batch of one, and
    torch.nn's numbers."""
    torch.manual_seed(2)
    ours, theirs = _twins(name, impl, 2, 3, 2, bias=bias, batch_first=batch_first,
                          bidirectional=bidirectional, **kw)
    x = torch.randn(4, 2, dtype=F64)
    L, H_out = (4 if bidirectional else 2), kw.get("proj_size", 3)
    h = torch.randn(L, H_out, dtype=F64)
    hx = (h, torch.randn(L, 3, dtype=F64)) if name == "LSTM" else h
    for args in ((x,), (x, hx)):
        out, state = ours(*args)
        _close((out, *_flat(state)), (lambda o, s: (o, *_flat(s)))(*theirs(*args)))
        batched_args = [x.unsqueeze(0 if batch_first else 1)]
        if len(args) == 2:
            batched_args.append(tuple(s.unsqueeze(1) for s in _flat(hx)))
            if name != "LSTM":
                batched_args[1] = batched_args[1][0]
        out_b, state_b = ours(*batched_args)
        _close(out, out_b.squeeze(0 if batch_first else 1))
        _close(_flat(state), tuple(s.squeeze(1) for s in _flat(state_b)))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", ("RNN", "LSTM", "GRU"))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequence_equals_each_sequence_alone(name, impl, bidirectional):
    """test_variable_sequence: a packed batch gives each sequence the output and final state it
    has when run alone, and the input gradients agree."""
    torch.manual_seed(3)
    rnn = getattr(rnnkit, name)(3, 4, 2, bidirectional=bidirectional, impl=impl, dtype=F64)
    seqs = [torch.randn(n, 3, dtype=F64, requires_grad=True) for n in (5, 2, 4)]
    out, state = rnn(pack_sequence(seqs, enforce_sorted=False))
    padded, lengths = pad_packed_sequence(out)
    total = padded.sum() + sum(s.sum() for s in _flat(state))
    grads = torch.autograd.grad(total, seqs)
    for i, seq in enumerate(seqs):
        x = seq.detach().clone().requires_grad_()
        out_i, state_i = rnn(x.unsqueeze(1))
        _close(padded[:lengths[i], i], out_i[:, 0])
        _close(tuple(s[:, i] for s in _flat(state)), tuple(s[:, 0] for s in _flat(state_i)))
        (g,) = torch.autograd.grad(out_i.sum() + sum(s.sum() for s in _flat(state_i)), x)
        _close(grads[i], g)


@pytest.mark.parametrize("impl", IMPLS)
def test_backward_twice_with_retain_graph(impl):
    """test_rnn_retain_variables: a second backward over a retained graph gives the same grads."""
    torch.manual_seed(4)
    rnn = rnnkit.LSTM(3, 4, 2, impl=impl, dtype=F64)
    x = torch.randn(5, 2, 3, dtype=F64, requires_grad=True)
    out, _ = rnn(x)
    first = None
    for _ in range(2):
        rnn.zero_grad()
        x.grad = None
        out.sum().backward(retain_graph=True)
        grads = [x.grad.clone(), *(p.grad.clone() for p in rnn.parameters())]
        if first is not None:
            _close(tuple(grads), tuple(first))
        first = grads


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", ("RNN", "LSTM", "GRU"))
def test_weight_norm_parametrization(name, impl):
    """test_rnn_weight_norm: a parametrized weight_hh_l0 is what the forward uses."""
    torch.manual_seed(5)
    ours, theirs = _twins(name, impl, 3, 4, 2)
    wn = torch.nn.utils.parametrizations.weight_norm
    ours, theirs = wn(ours, "weight_hh_l0"), wn(theirs, "weight_hh_l0")
    with torch.no_grad():
        for m in (ours, theirs):
            m.parametrizations.weight_hh_l0.original0.mul_(2.0)  # change g: the weight doubles
    x = torch.randn(5, 2, 3, dtype=F64)
    _close(ours(x)[0], theirs(x)[0])


@pytest.mark.parametrize("name", ("RNN", "LSTM", "GRU"))
def test_state_dict_round_trip_with_torch(name):
    ours, theirs = _twins(name, "auto", 3, 4, 2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    back = getattr(rnnkit, name)(3, 4, 2, bidirectional=True, dtype=F64)
    back.load_state_dict(theirs.state_dict())
    x = torch.randn(5, 2, 3, dtype=F64)
    _close(back(x)[0], theirs(x)[0])
    assert [[w.shape for w in ws] for ws in ours.all_weights] == \
        [[w.shape for w in ws] for ws in theirs.all_weights]


@pytest.mark.parametrize("impl", IMPLS)
def test_deepcopy_and_pickle_keep_the_numbers(impl):
    torch.manual_seed(6)
    rnn = rnnkit.GRU(3, 4, 2, impl=impl, dtype=F64)
    x = torch.randn(5, 2, 3, dtype=F64)
    for twin in (copy.deepcopy(rnn), pickle.loads(pickle.dumps(rnn))):  # noqa: S301 - our own
        _close(twin(x), rnn(x))
        assert twin.impl == impl


def test_rnn_nonlinearity_attribute_and_positional_argument():
    assert rnnkit.RNN(1, 10).nonlinearity == "tanh"
    assert rnnkit.RNN(1, 10, nonlinearity="relu").nonlinearity == "relu"
    assert rnnkit.RNN(1, 10, 1, "relu").nonlinearity == "relu"  # torch's positional order


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cls", ("RNNCell", "LSTMCell", "GRUCell"))
def test_cells_unbatched_and_batched_match_torch(cls, impl):
    """common_modules' cell samples: 1-D input and state equal a batch of one and torch.nn."""
    torch.manual_seed(7)
    ours = getattr(rnnkit, cls)(5, 10, impl=impl, dtype=F64)
    theirs = getattr(torch.nn, cls)(5, 10, dtype=F64)
    theirs.load_state_dict(ours.state_dict())
    x, h = torch.randn(5, dtype=F64), torch.randn(10, dtype=F64)
    hx = (h, torch.randn(10, dtype=F64)) if cls == "LSTMCell" else h
    _close(ours(x, hx), theirs(x, hx))
    batched = tuple(s.unsqueeze(0) for s in _flat(hx))
    _close(ours(x, hx), tuple(s.squeeze(0) for s in _flat(
        ours(x.unsqueeze(0), batched if cls == "LSTMCell" else batched[0]))))


@pytest.mark.parametrize("impl", IMPLS)
def test_cell_state_does_not_broadcast(impl):
    """test_RNN_cell_no_broadcasting: a state of batch 1 for an input of batch 3 is refused."""
    cell = rnnkit.GRUCell(10, 20, impl=impl)
    for hx in (torch.randn(1, 20), torch.randn(3, 1)):
        with pytest.raises(RuntimeError):
            cell(torch.randn(3, 10), hx)
