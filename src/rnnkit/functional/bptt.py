"""Backpropagation through time for one layer in one direction, written out by hand.

The forward loop and the backward loop are mirror images over an explicit per-step cache:

    forward:  gx = x @ W_ih^T + b          one GEMM for all T steps          # (T, B, G*H)
              for t in order:   state_t, cache_t = cell.step_forward(gx[t], state_{t-1})
    backward: for t in reversed(order):
                  dgx[t], dgh[t], dstate_{t-1} = cell.step_backward(dstate_t + dout[t], cache_t)
              dW_ih = dgx^T @ x,  dx = dgx @ W_ih                          one GEMM each
              dW_hh = dgh^T @ h_in                                          one GEMM (cell-defined)

`dgx[t]` is the gradient of the loss w.r.t. the input projection of step t and `dgh[t]` w.r.t. the
recurrent pre-activation (they differ only for the GRU, whose candidate gate multiplies the
recurrent term by the reset gate). Variable lengths are a boolean mask per step: where a row's
sequence is over, its state is held unchanged and its output is zero, so the final state is the
one of the last real step (forward) and the reverse direction starts at each row's own last step.

A cell family (see `rnn.py`, `lstm.py`, `gru.py`) provides:
    gates, fold_bias_hh, state_size(weights) -> tuple of feature sizes of the state tensors
    step_forward(gx_t, state, weights, recurrent) -> (state_new, rin_t, cache)
    step_backward(dstate, cache, weights, grads, through_w) -> (dgx_t, dgh_t, dstate_prev)
    recurrent_weight_grad(dgh, rin) -> dW_hh
where `state[0]` is the output h_t, `rin_t` is what multiplied W_hh at step t, `grads` collects
gradients of the parameters the step uses directly (the LSTM projection "W_hr", the family's
extras "extra"[k], and with `owns_biases` "b_ih" / "b_hh"), and `recurrent(h)` = h W_hh^T
(+ b_hh where the cell does not fold it into the input projection), `through_w(d)` = d W_hh
are the per-step products (prepacked for the whole sequence on the fused path, see matmul.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.matmul import linear, linear_into, mm, recurrent_products, weight_grad


class LayerWeights(NamedTuple):
    """The parameters of one layer in one direction, named as torch.nn names them, and the
    family's extra parameters (norm gains, peepholes: family.py's `extra`, in that order)."""

    W_ih: Tensor  # (G*H, I)
    W_hh: Tensor  # (G*H, H_out)
    b_ih: Tensor | None  # (G*H,)
    b_hh: Tensor | None  # (G*H,)
    W_hr: Tensor | None = None  # (P, H), LSTM projection only
    extra: tuple = ()  # the family's extra parameters

    def tensors(self) -> tuple:
        """The five torch.nn fields, then the extras: one flat tuple (None where absent)."""
        return (*self[:5], *self.extra)

    @classmethod
    def from_tensors(cls, flat) -> LayerWeights:
        """The inverse of `tensors`."""
        flat = tuple(flat)
        return cls(*flat[:5], tuple(flat[5:]))

    def detached(self) -> LayerWeights:
        return LayerWeights.from_tensors(None if t is None else t.detach() for t in self.tensors())


@dataclass
class SequenceCache:
    """What the backward loop needs from the forward loop."""

    x: Tensor  # (T, B, I)
    steps: list  # per-step caches, in time order
    rin: Tensor  # (T, B, K) the recurrent input of every step
    mask: Tensor | None  # (T, B, 1) bool, True where the step is real
    reverse: bool


def projection_bias(cell, w: LayerWeights) -> Tensor | None:
    """The bias of the input projection: b_ih, plus b_hh where the cell folds it in; none where
    the cell adds its biases in its step (`owns_biases`: a layer norm sits between)."""
    if getattr(cell, "owns_biases", False):
        return None
    bias = w.b_ih
    if cell.fold_bias_hh and w.b_hh is not None:
        bias = w.b_hh if bias is None else bias + w.b_hh
    return bias


def recurrent_bias(cell, w: LayerWeights) -> Tensor | None:
    """The bias added to the per-step product h W_hh^T: b_hh where the cell neither folds it
    into the input projection nor adds it in its step."""
    if cell.fold_bias_hh or getattr(cell, "owns_biases", False):
        return None
    return w.b_hh


def input_projection(cell, x: Tensor, w: LayerWeights) -> Tensor:
    """gx = x @ W_ih^T + b_ih (+ b_hh where the cell folds it in), for all steps at once."""
    T, B, I = x.shape
    return linear(x.reshape(T * B, I), w.W_ih, projection_bias(cell, w)).view(T, B, w.W_ih.shape[0])


def input_projection_into(A: Tensor, x: Tensor, w: LayerWeights, bias: Tensor | None) -> Tensor:
    """A (n, B, G) <- x (n, B, I) W_ih^T + bias (`projection_bias`), in place, outside autograd;
    returns A."""
    n, B, G = A.shape
    linear_into(A.view(n * B, G), x.reshape(n * B, -1), w.W_ih, bias)
    return A


def previous_steps(seq: Tensor, first: Tensor, reverse: bool) -> Tensor:
    """The previous step's value for every step: (first, seq[0..T-2]), or mirrored for reverse."""
    if reverse:
        return torch.cat((seq[1:], first.unsqueeze(0)))
    return torch.cat((first.unsqueeze(0), seq[:-1]))


def _hold(mask_t: Tensor | None, new: tuple, old: tuple) -> tuple:
    if mask_t is None:
        return new
    return tuple(torch.where(mask_t, n, o) for n, o in zip(new, old, strict=True))


def sequence_forward(
    cell, x: Tensor, state0: tuple, w: LayerWeights, mask: Tensor | None = None,
    reverse: bool = False, packed: bool = False,
) -> tuple[Tensor, tuple, SequenceCache]:
    """One layer over x (T, B, I) from state0: (out (T, B, H_out), final state, cache).
    packed: the recurrent products use a weight prepacked for the sequence (no autograd)."""
    T = x.shape[0]
    gx = input_projection(cell, x, w)
    recurrent, _ = recurrent_products(w.W_hh, recurrent_bias(cell, w), x.shape[1], packed)
    out = x.new_empty(T, x.shape[1], state0[0].shape[-1])  # (T, B, H_out)
    rins, steps = [None] * T, [None] * T
    state = state0
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        new, rins[t], steps[t] = cell.step_forward(gx[t], state, w, recurrent)
        m = None if mask is None else mask[t]
        state = _hold(m, new, state)
        out[t] = new[0] if m is None else new[0] * m  # padding gives zero output
    cache = SequenceCache(x, steps, torch.stack(rins) if T else x.new_empty(0), mask, reverse)
    return out, state, cache


def sequence_backward(
    cell, d_out: Tensor, d_state_final: tuple, w: LayerWeights, cache: SequenceCache,
    dh_record: list | None = None,
) -> tuple[Tensor, tuple, dict[str, Tensor | None]]:
    """The mirror loop. d_out (T, B, H_out) and d_state_final are upstream gradients.

    Returns (dx (T, B, I), d_state0, grads) with grads keyed by LayerWeights field names. If
    dh_record is a list, dL/dh_t (the total gradient reaching h_t, from the output and from the
    future) is appended for every step in time order, for the gradient-flow diagnostics.
    """
    x, mask = cache.x, cache.mask
    T = x.shape[0]
    G_H = w.W_hh.shape[0]
    _, through_w = recurrent_products(w.W_hh, None, x.shape[1], packed=True)
    dgx = x.new_empty(T, x.shape[1], G_H)  # (T, B, G*H)
    dgh = dgx if cell.same_dgx_dgh else x.new_empty(T, x.shape[1], G_H)
    grads: dict = {"W_hr": None if w.W_hr is None else torch.zeros_like(w.W_hr),
                   "extra": [torch.zeros_like(p) for p in w.extra]}
    owns_biases = getattr(cell, "owns_biases", False)
    if owns_biases:  # the step adds the biases, so it sums their gradients
        grads["b_ih"] = None if w.b_ih is None else torch.zeros_like(w.b_ih)
        grads["b_hh"] = None if w.b_hh is None else torch.zeros_like(w.b_hh)
    if dh_record is not None:
        dh_seen = [None] * T
    dstate = d_state_final
    for t in (range(T) if cache.reverse else range(T - 1, -1, -1)):
        d_out_t = d_out[t] if mask is None else d_out[t] * mask[t]  # padding outputs are constant
        dh = dstate[0] + d_out_t  # from the output of step t and from step t+1
        if dh_record is not None:
            dh_seen[t] = dh
        dstate = (dh,) + tuple(dstate[1:])
        if mask is None:
            dgx_t, dgh_t, dstate = cell.step_backward(dstate, cache.steps[t], w, grads, through_w)
        else:  # a held state passes its gradient straight back; a real step goes through the cell
            m = mask[t]
            real = tuple(d * m for d in dstate)
            dgx_t, dgh_t, dprev = cell.step_backward(real, cache.steps[t], w, grads, through_w)
            dstate = tuple(torch.where(m, p, d) for p, d in zip(dprev, dstate, strict=True))
        dgx[t] = dgx_t
        if dgh is not dgx:
            dgh[t] = dgh_t
    if dh_record is not None:
        dh_record.extend(dh_seen)
    flat_dgx = dgx.view(T * x.shape[1], G_H)
    dx = mm(flat_dgx, w.W_ih).view_as(x)  # through the input projection, all steps at once
    grads["W_ih"] = weight_grad(flat_dgx, x.reshape(-1, x.shape[-1]))
    grads["W_hh"] = cell.recurrent_weight_grad(dgh, cache.rin)
    grads["extra"] = tuple(grads["extra"])
    if owns_biases:
        return dx, dstate, grads
    db = flat_dgx.sum(0)
    db_hh = db if dgh is dgx else dgh.view(-1, G_H).sum(0)
    grads["b_ih"] = None if w.b_ih is None else db
    grads["b_hh"] = None if w.b_hh is None else db_hh
    return dx, dstate, grads


def default_recurrent_weight_grad(dgh: Tensor, rin: Tensor) -> Tensor:
    """dW_hh = sum over steps and rows of dgh_t^T h_{t-1}: one GEMM over all T*B rows."""
    return weight_grad(dgh.reshape(-1, dgh.shape[-1]), rin.reshape(-1, rin.shape[-1]))
