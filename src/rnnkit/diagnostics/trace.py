"""Re-run an rnnkit layer with the pure step math of `rnnkit.functional`, step by step.

The layers' fast paths keep no per-step values; the diagnostics need them (gate activations, the
hidden states as autograd nodes for Jacobians). `capture_inputs` records what each rnnkit layer of
a model received in a forward call; `trace_layer` replays one layer and direction from it.
Dropout between layers is not applied: a trace describes the model as it runs in eval mode.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit.functional.bptt import input_projection, recurrent_bias
from rnnkit.functional.matmul import recurrent_products
from rnnkit.layers.base import RecurrentBase


@dataclass
class LayerCall:
    """What one rnnkit layer saw: x (T, B, I) in time-major order and its initial state tuple
    (each (num_layers * directions, B, H)); None for zeros."""

    x: Tensor
    state0: tuple[Tensor, ...] | None


@dataclass
class Trace:
    """One layer and direction over a sequence, in processing order (reversed for direction 1).

    states: the state tuple after each step; caches: the step math's cache of each step;
    out: (T, B, H_out) outputs in time order (the next layer's input)."""

    states: list[tuple[Tensor, ...]]
    caches: list
    out: Tensor


def rnn_layers(model: nn.Module) -> dict[str, RecurrentBase]:
    """{module name: layer} for every rnnkit RNN/LSTM/GRU layer in `model`."""
    found = {name or "": m for name, m in model.named_modules() if isinstance(m, RecurrentBase)}
    if not found:
        raise ValueError("diagnostics: the model has no rnnkit RNN/LSTM/GRU layer (a torch.nn "
                         "layer converts: rnnkit.LSTM(...).load_state_dict(lstm.state_dict()))")
    return found


def _as_call(layer: RecurrentBase, args: tuple, kwargs: dict) -> LayerCall:
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    lengths = args[2] if len(args) > 2 else kwargs.get("lengths")
    if not isinstance(x, Tensor) or lengths is not None:
        raise ValueError("diagnostics: the batch must be a padded-free tensor of equal-length "
                         "sequences (got a PackedSequence or lengths=); trace one length at a time")
    x = x.detach()
    if x.dim() == 2:  # unbatched (T, I)
        x = x.unsqueeze(1)
        hx = None if hx is None else tuple(s.unsqueeze(1) for s in _tuple(hx))
    elif layer.batch_first:
        x = x.transpose(0, 1)
    state0 = None if hx is None else tuple(s.detach() for s in _tuple(hx))
    return LayerCall(x, state0)


def _tuple(hx) -> tuple:
    return tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)


@contextmanager
def capture_inputs(model: nn.Module):
    """Inside the block, the first forward call of each rnnkit layer is recorded:
    yields {module name: LayerCall} (filled as the model runs)."""
    calls: dict[str, LayerCall] = {}
    handles = []
    for name, layer in rnn_layers(model).items():
        def hook(module, args, kwargs, name=name):
            if name not in calls:
                calls[name] = _as_call(module, args, kwargs)
        handles.append(layer.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def initial_state(layer: RecurrentBase, call: LayerCall, k: int) -> tuple[Tensor, ...]:
    """The initial state of layer-direction index k (= layer * directions + direction)."""
    if call.state0 is not None:
        return tuple(s[k] for s in call.state0)
    return tuple(s[k] for s in layer._zero_state(call.x.shape[1], call.x))


def trace_direction(layer: RecurrentBase, x: Tensor, state0: tuple, index: int,
                    direction: int) -> Trace:
    """Run layer `index`, `direction` over x (T, B, I) with the step math; differentiable in
    whatever requires grad (the caller decides: weights are detached here)."""
    w = layer._weights(index, direction).detached()
    cell = layer._cell
    gx = input_projection(cell, x, w)  # (T, B, G*H)
    # the plain (autograd-friendly) per-step product h W_hh^T (+ b_hh where not folded)
    recurrent, _ = recurrent_products(w.W_hh, recurrent_bias(cell, w), x.shape[1], packed=False)
    T = x.shape[0]
    order = range(T - 1, -1, -1) if direction else range(T)
    state, states, caches, outs = state0, [], [], [None] * T
    for t in order:
        state, _, cache = cell.step_forward(gx[t], state, w, recurrent)
        states.append(state)
        caches.append(cache)
        outs[t] = state[0]
    return Trace(states, caches, torch.stack(outs))


def trace_layer(layer: RecurrentBase, call: LayerCall, rows: int | None = None,
                requires_grad: bool = False) -> dict[tuple[int, int], Trace]:
    """{(layer index, direction): Trace} for every layer and direction of one rnnkit module.
    rows: trace only the first `rows` batch rows. requires_grad: the initial state of every
    layer-direction requires grad, so every traced state is an autograd node."""
    x = call.x if rows is None else call.x[:, :rows]
    D = layer.num_directions
    traces = {}
    for index in range(layer.num_layers):
        outs = []
        for d in range(D):
            s0 = initial_state(layer, LayerCall(x, _rows(call.state0, rows)), index * D + d)
            if requires_grad:
                s0 = tuple(s.detach().requires_grad_() for s in s0)
            tr = trace_direction(layer, x, s0, index, d)
            traces[(index, d)] = tr
            outs.append(tr.out)
        x = outs[0] if D == 1 else torch.cat(outs, dim=2)
        if requires_grad:  # the next layer's Jacobian is of its own recurrence only
            x = x.detach()
    return traces


def _rows(state0, rows):
    if state0 is None or rows is None:
        return state0
    return tuple(s[:, :rows] for s in state0)
