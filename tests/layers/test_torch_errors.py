"""What torch.nn accepts and rejects, rnnkit accepts and rejects the same way, for every impl:
the same exception type (a ShapeError is both ValueError and RuntimeError), wording close to
torch's, and the same results where torch accepts an edge case (dropout=1, a batch of 0, cells
of size 0)."""

import re
import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from rnnkit.errors import RnnkitError

IMPLS = ("reference", "fused", "native", "auto")
NAMES = ("RNN", "LSTM", "GRU")


def _outcome(make):
    """The exception type make() raises, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    return None


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("arg,value", [
    ("bias", 0), ("bias", 1), ("bias", "True"), ("bias", "False"), ("bias", 1.0), ("bias", None),
    ("batch_first", "False"), ("batch_first", 1), ("batch_first", 0), ("batch_first", None),
    ("input_size", 3.0), ("hidden_size", 4.0), ("hidden_size", "4"), ("num_layers", 1.0),
    ("num_layers", "2"),
])
def test_flag_and_size_types_raise_typeerror_as_torch(name, arg, value):
    kw = {"input_size": 3, "hidden_size": 4, arg: value}
    assert issubclass(_outcome(lambda: getattr(torch.nn, name)(**kw)), TypeError)
    with pytest.raises(TypeError, match=re.escape(arg)):
        getattr(rnnkit, name)(**kw)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", ["yes", "False", 1, 0, None])
def test_bidirectional_must_be_a_bool(name, value):
    """Stricter than torch, which takes any truthy value: "False" would mean two directions."""
    with pytest.raises(TypeError, match=r"bidirectional should be of type bool, got"):
        getattr(rnnkit, name)(3, 4, bidirectional=value)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kw,match", [
    ({"input_size": 0}, "input_size must be greater than zero"),
    ({"hidden_size": 0}, "hidden_size must be greater than zero"),
    ({"num_layers": 0}, "num_layers must be greater than zero"),
    ({"dropout": 1.5}, r"dropout should be a number in range \[0, 1\]"),
    ({"dropout": -0.5}, r"dropout should be a number in range \[0, 1\]"),
    ({"dropout": True}, r"dropout should be a number in range \[0, 1\]"),
    ({"dropout": "0.1"}, r"dropout should be a number in range \[0, 1\]"),
])
def test_values_out_of_range_raise_valueerror_as_torch(name, kw, match):
    kw = {"input_size": 3, "hidden_size": 4} | kw
    assert issubclass(_outcome(lambda: getattr(torch.nn, name)(**kw)), ValueError)
    with pytest.raises(ValueError, match=match):
        getattr(rnnkit, name)(**kw)


@pytest.mark.parametrize("name", ("RNN", "GRU"))
@pytest.mark.parametrize("proj_size", [0, 2, -1])
def test_proj_size_outside_lstm_is_a_valueerror(name, proj_size):
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        getattr(torch.nn, name)(3, 4, proj_size=proj_size)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        getattr(rnnkit, name)(3, 4, proj_size=proj_size)


def test_lstm_proj_size_checks():
    with pytest.raises(ValueError, match=r"proj_size has to be smaller than hidden_size"):
        rnnkit.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match=r"proj_size must be at least 0, got -1"):
        rnnkit.LSTM(3, 4, proj_size=-1)
    with pytest.raises(TypeError, match=r"proj_size should be of type int"):
        rnnkit.LSTM(3, 4, proj_size=2.0)


def test_unknown_nonlinearity_wording():
    with pytest.raises(ValueError, match=r"^Unknown nonlinearity 'x'. Select from 'tanh' or "):
        rnnkit.RNN(3, 4, nonlinearity="x")


@pytest.mark.parametrize("name", NAMES)
def test_dropout_with_one_layer_warns_as_torch(name):
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        getattr(rnnkit, name)(3, 4, dropout=0.5)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", NAMES)
def test_dropout_one_is_accepted_and_zeroes_between_layers(name, impl):
    """dropout=1 in training: the second layer sees zeros, so its output is deterministic."""
    torch.manual_seed(0)
    ours = getattr(rnnkit, name)(3, 4, num_layers=2, dropout=1, impl=impl, dtype=torch.float64)
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, dropout=1, dtype=torch.float64)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])


def _state(name, batch, size=4, layers=1, dtype=torch.float32):
    h = torch.randn(layers, batch, size, dtype=dtype)
    return (h, torch.randn(layers, batch, size, dtype=dtype)) if name == "LSTM" else h


def _flat(state):
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("with_hx", [False, True])
def test_batch_of_zero_gives_empty_outputs(name, impl, with_hx):
    ours = getattr(rnnkit, name)(3, 4, num_layers=2, bidirectional=True, impl=impl)
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(6, 0, 3, requires_grad=True)
    hx = _state(name, 0, layers=4) if with_hx else None
    (out, state), (out_t, state_t) = ours(x, hx), theirs(x, hx)
    assert out.shape == out_t.shape == (6, 0, 8)
    assert [s.shape for s in _flat(state)] == [s.shape for s in _flat(state_t)]
    out.sum().backward()
    assert x.grad.shape == x.shape
    out_l, _ = ours(x, hx, lengths=torch.zeros(0, dtype=torch.long))  # rnnkit's lengths=
    assert out_l.shape == out.shape


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cls", ("RNNCell", "LSTMCell", "GRUCell"))
@pytest.mark.parametrize("sizes", [(3, 0, 2), (0, 3, 2), (3, 3, 0)])  # input, hidden, batch
def test_cells_of_size_zero_as_torch(cls, impl, sizes):
    I, H, B = sizes
    ours = getattr(rnnkit, cls)(I, H, impl=impl)
    theirs = getattr(torch.nn, cls)(I, H)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(B, I)
    for a, b in zip(_flat(ours(x)), _flat(theirs(x)), strict=True):
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------------- forward errors


def _call(case, name):
    """(module factory, call) for an error case; the call gets a module of the given class."""
    long = torch.ones(4, 2, 3, dtype=torch.long)
    packed64 = pack_padded_sequence(torch.randn(4, 2, 3, dtype=torch.float64), [4, 2])
    h = "hidden[0]" if name == "LSTM" else "hidden"
    return {
        "steps 0": (lambda m: m(torch.randn(0, 2, 3)),
                    r"Expected sequence length to be larger than 0 in RNN"),
        "unbatched steps 0": (lambda m: m(torch.randn(0, 3)),
                              r"Expected sequence length to be larger than 0 in RNN"),
        "4-D": (lambda m: m(torch.randn(4, 2, 3, 1)),
                rf"{name}: Expected input to be 2D or 3D, got 4D"),
        "input size": (lambda m: m(torch.randn(4, 2, 5)),
                       r"input.size\(-1\) must be equal to input_size. Expected 3, got 5"),
        "hidden batch": (lambda m: m(torch.randn(4, 2, 3), _state(name, 7)),
                         re.escape(f"Expected {h} size (1, 2, 4), got [1, 7, 4]")),
        "hidden size": (lambda m: m(torch.randn(4, 2, 3), _state(name, 2, size=5)),
                        re.escape(f"Expected {h} size (1, 2, 4), got [1, 2, 5]")),
        "hidden 2-D": (lambda m: m(torch.randn(4, 2, 3), _flat(_state(name, 2))[0][0]
                                   if name != "LSTM" else tuple(s[0] for s in _state(name, 2))),
                       r"For batched 3-D input, hidden(\[0\])? should also be 3-D but got 2-D"),
        "float64 input": (lambda m: m(torch.randn(4, 2, 3, dtype=torch.float64)),
                          re.escape("RNN input dtype (torch.float64) does not match weight dtype "
                                    "(torch.float32). Convert input: input.to(torch.float32), or "
                                    "convert model: model.to(torch.float64)")),
        "int input": (lambda m: m(long), r"input dtype \(torch.int64\) does not match weight"),
        "float64 packed": (lambda m: m(packed64),
                           r"input dtype \(torch.float64\) does not match weight dtype"),
    }[case]


TORCH_TYPES = {  # what torch.nn raises for each case (checked below against torch itself)
    "steps 0": RuntimeError, "unbatched steps 0": RuntimeError, "4-D": ValueError,
    "input size": RuntimeError, "hidden batch": RuntimeError, "hidden size": RuntimeError,
    "hidden 2-D": RuntimeError, "float64 input": ValueError, "int input": ValueError,
}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", list(TORCH_TYPES) + ["float64 packed"])
def test_forward_errors_as_torch(case, name, impl):
    call, match = _call(case, name)
    expected = TORCH_TYPES.get(case, ValueError)
    if case in TORCH_TYPES:
        assert _outcome(lambda: call(getattr(torch.nn, name)(3, 4))) is expected
    with pytest.raises(expected, match=match) as info:
        call(getattr(rnnkit, name)(3, 4, impl=impl))
    # one class for both: `except ValueError` (rnnkit's convention) and `except RuntimeError`
    # (torch's) both catch it; the message is one line
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    assert isinstance(info.value, RnnkitError) and "\n" not in str(info.value)


@pytest.mark.parametrize("impl", IMPLS)
def test_state_dtype_mismatch_is_a_clear_error(impl):
    """torch fails inside its kernel here; rnnkit says which tensor and how to convert it."""
    with pytest.raises(ValueError, match=r"hidden\[1\] dtype \(torch.float64\) does not match "):
        rnnkit.LSTM(3, 4, impl=impl)(torch.randn(4, 2, 3),
                                     (torch.randn(1, 2, 4), torch.randn(1, 2, 4).double()))


@pytest.mark.parametrize("impl", IMPLS)
def test_cell_dtype_mismatch(impl):
    with pytest.raises(ValueError, match=r"input dtype \(torch.float64\) does not match weight"):
        rnnkit.GRUCell(3, 4, impl=impl)(torch.randn(2, 3, dtype=torch.float64))
