"""Property-based: random constructor arguments and forward inputs (shapes, dtypes, flags, states)
for rnnkit's layers and cells. Every call either gives torch.nn's numbers (1e-5 in float64) or
raises one ValueError / RuntimeError / TypeError with a message; never another exception type,
and never a result where torch.nn refuses the same call."""

import warnings

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnkit

ALLOWED = (ValueError, RuntimeError, TypeError)
IMPLS = st.sampled_from(("reference", "fused", "native", "auto"))
F64 = torch.float64
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


JUNK = st.sampled_from([None, "True", "1", 1.0, -1, 0, 2.5, True, False])


def _arguments(draw, valid: dict) -> dict:
    """Valid values from the strategies in `valid`; in a third of the draws one is replaced by
    a value of the wrong type or out of range."""
    kw = {name: draw(strategy) for name, strategy in valid.items()}
    if draw(st.integers(0, 2)) == 0:
        kw[draw(st.sampled_from(sorted(valid)))] = draw(JUNK)
    return kw


def _input_shape(draw, features):
    """Mostly (T, B, features) or (T, features); sometimes any rank and sizes, zeros included."""
    if draw(st.integers(0, 3)) and isinstance(features, int) and not isinstance(features, bool):
        lead = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.sampled_from([1, 2, 2]))))
        return (*lead, features)
    return tuple(draw(st.integers(0, 4)) for _ in range(draw(st.integers(0, 4))))


def _run(fn):
    """(result, None) or (None, exception), checking the exception is an allowed one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except ALLOWED as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"
        return None, e


def _flat(x):
    if isinstance(x, tuple):
        return tuple(t for item in x for t in _flat(item))
    return (x,)


@st.composite
def layer_calls(draw):
    name = draw(st.sampled_from(("RNN", "LSTM", "GRU")))
    valid = {"input_size": st.integers(1, 4), "hidden_size": st.integers(1, 4),
             "num_layers": st.integers(1, 3), "bias": st.booleans(),
             "batch_first": st.booleans(), "bidirectional": st.booleans(),
             "dropout": st.sampled_from([0.0, 0.5, 1.0])}
    if name == "RNN":
        valid["nonlinearity"] = st.sampled_from(["tanh", "relu"])
    if name == "LSTM" and draw(st.booleans()):
        valid["proj_size"] = st.integers(0, 3)
    kw = _arguments(draw, valid)
    if name != "LSTM" and draw(st.integers(0, 5)) == 0:
        kw["proj_size"] = draw(st.integers(0, 2))
    shape = _input_shape(draw, kw["input_size"])
    dtype = draw(st.sampled_from([F64] * 4 + [torch.float32, torch.int64]))
    state = None
    if draw(st.booleans()):
        state = _fitting_state(name, kw, shape)
        if state is None or draw(st.integers(0, 2)) == 0:  # a state of random rank and sizes
            n_state = 2 if name == "LSTM" and draw(st.integers(0, 4)) else 1
            state = tuple(tuple(draw(st.integers(0, 4)) for _ in range(draw(st.integers(1, 3))))
                          for _ in range(n_state))
    return name, kw, draw(IMPLS), shape, dtype, state


def _fitting_state(name, kw, shape):
    """The state shapes the layer expects for this input, or None where the settings are junk."""
    ints = [kw["num_layers"], kw["hidden_size"], kw.get("proj_size", 0)]
    if any(isinstance(v, bool) or not isinstance(v, int) for v in ints) or len(shape) not in (2, 3):
        return None
    L = kw["num_layers"] * (2 if kw["bidirectional"] is True else 1)
    batch = () if len(shape) == 2 else (shape[0] if kw["batch_first"] is True else shape[1],)
    h = (L, *batch, kw.get("proj_size", 0) or kw["hidden_size"])
    return (h, (L, *batch, kw["hidden_size"])) if name == "LSTM" else (h,)


def _build_state(shapes, name, gen):
    if shapes is None:
        return None
    tensors = tuple(torch.randn(s, dtype=F64, generator=gen) for s in shapes)
    return tensors if name == "LSTM" else tensors[0]


@SETTINGS
@given(layer_calls())
def test_layers_match_torch_or_raise_a_clear_error(call):
    name, kw, impl, shape, dtype, state_shapes = call
    ours, error = _run(lambda: getattr(rnnkit, name)(**kw, impl=impl, dtype=F64))
    if error is not None:
        return
    theirs, torch_error = _run(lambda: getattr(torch.nn, name)(**kw, dtype=F64))
    assert torch_error is None, f"rnnkit accepted {kw} which torch.nn refuses: {torch_error}"
    theirs.load_state_dict(ours.state_dict())
    ours.eval(), theirs.eval()  # dropout off: the two are compared number for number
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(shape, dtype=F64, generator=gen) * 2).to(dtype)
    hx = _build_state(state_shapes, name, gen)
    result, error = _run(lambda: ours(x, hx))
    if error is not None:
        return
    expected, torch_error = _run(lambda: theirs(x, hx))
    assert torch_error is None, f"rnnkit ran {kw} on {shape} which torch.nn refuses: {torch_error}"
    for a, b in zip(_flat(result), _flat(expected), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@st.composite
def cell_calls(draw):
    name = draw(st.sampled_from(("RNNCell", "LSTMCell", "GRUCell")))
    kw = _arguments(draw, {"input_size": st.integers(0, 4), "hidden_size": st.integers(0, 4),
                           "bias": st.booleans()})
    I, H, bias = kw["input_size"], kw["hidden_size"], kw["bias"]
    shape = _input_shape(draw, I)
    dtype = draw(st.sampled_from([F64, F64, torch.float32]))
    state = None
    if draw(st.booleans()):
        n_state = 2 if name == "LSTMCell" else 1
        state = tuple(tuple(draw(st.integers(0, 4)) for _ in range(draw(st.integers(1, 3))))
                      for _ in range(n_state))
    return name, (I, H, bias), draw(IMPLS), shape, dtype, state


@SETTINGS
@given(cell_calls())
def test_cells_match_torch_or_raise_a_clear_error(call):
    name, (I, H, bias), impl, shape, dtype, state_shapes = call
    ours, error = _run(lambda: getattr(rnnkit, name)(I, H, bias=bias, impl=impl, dtype=F64))
    if error is not None:
        return
    theirs, torch_error = _run(lambda: getattr(torch.nn, name)(I, H, bias=bias, dtype=F64))
    assert torch_error is None, f"rnnkit accepted {(I, H, bias)} which torch.nn refuses"
    theirs.load_state_dict(ours.state_dict())
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, dtype=F64, generator=gen).to(dtype)
    hx = _build_state(state_shapes, "LSTM" if name == "LSTMCell" else name, gen)
    result, error = _run(lambda: ours(x, hx))
    if error is not None:
        return
    expected, torch_error = _run(lambda: theirs(x, hx))
    assert torch_error is None, f"rnnkit ran {name} on {shape}, {state_shapes}: torch refuses"
    for a, b in zip(_flat(result), _flat(expected), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
