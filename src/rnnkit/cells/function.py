"""Binds the hand-written BPTT to autograd: `loss.backward()` runs rnnkit's own backward loop.

The hand-written loop computes numbers, not a graph. Where a graph of the gradient is wanted
(`create_graph=True`: gradient penalties, meta-learning, `torch.autograd.grad` of a gradient) the
backward recomputes the layer through the reference step math under autograd and differentiates
that, so second-order terms are exact rather than silently zero. Under torch.func transforms
(vmap, grad, jvp, ...) and forward-mode AD the reference path runs instead of the fused one.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor

from rnnkit.errors import RnnkitError
from rnnkit.functional import gru_variant_seq, lstm_seq, lstm_variant_seq, rnn_seq
from rnnkit.functional.bptt import LayerWeights, sequence_backward, sequence_forward
from rnnkit.functional.infer import sequence_infer


def sequence_path(cell, mask, w: LayerWeights, x: Tensor):
    """The (forward, backward) pair of rnnkit's BPTT for this call: the whole-sequence LSTM path
    where `lstm_seq.can_run` allows it, the compiled Elman / GRU loops where `rnn_seq.can_run`
    does, the compiled loop of the LSTM variants (peepholes, layer norm, recurrent dropout,
    zoneout) where `lstm_variant_seq.can_run` does, the ln_gru loop where
    `gru_variant_seq.can_run` does, the family's whole-sequence form where its
    math has one (`sequence`, family.py), else the general loop. All are tested equal."""
    whole = getattr(cell, "sequence", None)
    if whole is not None:
        return whole
    if lstm_seq.can_run(cell, mask, w)[0]:
        return lstm_seq.lstm_sequence_forward, lstm_seq.lstm_sequence_backward
    if w.W_hr is None and rnn_seq.can_run(cell, mask, w, x)[0]:
        return rnn_seq.rnn_sequence_forward, rnn_seq.rnn_sequence_backward
    if lstm_variant_seq.can_run(cell, mask, w, x)[0]:
        return lstm_variant_seq.lstm_variant_forward, lstm_variant_seq.lstm_variant_backward
    if gru_variant_seq.can_run(cell, mask, w, x)[0]:
        return gru_variant_seq.ln_gru_forward, gru_variant_seq.ln_gru_backward
    return partial(sequence_forward, packed=True), sequence_backward


class FusedSequence(torch.autograd.Function):
    """One layer, one direction, over a whole sequence. Settings: the cell math, the mask,
    reverse, the number of state tensors, and a list to receive dL/dh_t of every step (or None).
    Inputs: x (T, B, I), the n_state initial state tensors, then W_ih, W_hh, b_ih, b_hh, W_hr.
    Outputs: out (T, B, H_out) and the final state tensors."""

    @staticmethod
    def forward(ctx, cell, mask, reverse: bool, n_state: int, dh_record, x: Tensor, *rest):
        state0, w = tuple(rest[:n_state]), LayerWeights.from_tensors(rest[n_state:])
        forward, ctx.backward_loop = sequence_path(cell, mask, w, x)
        out, state, cache = forward(cell, x, state0, w, mask, reverse)
        ctx.cell, ctx.cache, ctx.n_state, ctx.dh_record = cell, cache, n_state, dh_record
        ctx.mask, ctx.reverse = mask, reverse
        # x and state0 are kept for a differentiable backward (x is held by the cache anyway).
        ctx.save_for_backward(x, *state0, *(t for t in w.tensors() if t is not None))
        ctx.has = tuple(t is not None for t in w.tensors())
        # Return copies: the caches hold `out` and the final state, and an output kept on ctx
        # makes a reference cycle through its grad_fn, which only Python's cycle collector frees:
        # a language model training on this path grew by a whole sequence's cache every step
        # (~50 MB for a 2 x 256 LSTM at B 32, T 128) until the collector ran.
        return (out.clone(), *(s.clone() for s in state))

    @staticmethod
    def backward(ctx, d_out, *d_state):
        x, *saved = ctx.saved_tensors
        state0, saved = tuple(saved[:ctx.n_state]), iter(saved[ctx.n_state:])
        w = LayerWeights.from_tensors(next(saved) if has else None for has in ctx.has)
        if torch.is_grad_enabled():  # create_graph=True: the gradient itself needs a graph
            return (None,) * 5 + differentiable_backward(ctx, x, state0, w, d_out, d_state)
        dx, d_state0, grads = ctx.backward_loop(ctx.cell, d_out, d_state, w, ctx.cache,
                                                dh_record=ctx.dh_record)
        d_weights = (*(grads[name] for name in LayerWeights._fields[:5]), *grads.get("extra", ()))
        return (None, None, None, None, None, dx, *d_state0, *d_weights)


def differentiable_backward(ctx, x: Tensor, state0: tuple, w: LayerWeights, d_out: Tensor,
                            d_state: tuple) -> tuple:
    """The gradients for (x, *state0, *w) with a graph: the forward recomputed through the
    reference step math (autograd-traceable) and differentiated with create_graph=True."""
    if ctx.dh_record is not None:
        raise RnnkitError(
            "recording dL/dh_t (rnnkit.diagnostics) runs rnnkit's hand-written BPTT, which has no "
            "graph of its own; call backward without create_graph=True while recording"
        )
    inputs = (x, *state0, *w.tensors())
    needs = ctx.needs_input_grad[5:]  # after cell, mask, reverse, n_state, dh_record
    wrt = [t for t, need in zip(inputs, needs, strict=True) if need]
    with torch.enable_grad():
        out, state, _ = sequence_forward(ctx.cell, x, state0, w, ctx.mask, ctx.reverse)
    pairs = [(o, g) for o, g in zip((out, *state), (d_out, *d_state), strict=True)
             if o.requires_grad]
    grads = iter(torch.autograd.grad([o for o, _ in pairs], wrt, [g for _, g in pairs],
                                     create_graph=True, allow_unused=True, materialize_grads=True))
    return tuple(next(grads) if need else None for need in needs)


def transforms_active() -> bool:
    """True under torch.func transforms (vmap, grad, jvp, ...) or forward-mode AD, which an
    autograd.Function with a hand-written backward cannot serve: the reference path runs there."""
    return bool(torch._C._are_functorch_transforms_active()) or fwAD._current_level >= 0


def fused_sequence(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None, reverse=False,
                   dh_record: list | None = None):
    """(out, final_state) with rnnkit's BPTT as the backward; a plain forward without grad.
    dh_record, if a list, receives dL/dh_t for every step (time order) when backward runs."""
    needs_grad = torch.is_grad_enabled() and (
        x.requires_grad or any(t.requires_grad for t in (*state0, *w.tensors()) if t is not None)
    )
    if transforms_active():
        out, state, _ = sequence_forward(cell, x, state0, w, mask, reverse)
        return out, state
    if not needs_grad:
        return sequence_infer(cell, x, state0, w, mask, reverse)  # keeps nothing for a backward
    out, *state = FusedSequence.apply(cell, mask, reverse, len(state0), dh_record, x, *state0,
                                      *w.tensors())
    return out, tuple(state)


def run_direction(impl: str, cell, x: Tensor, state0: tuple, w: LayerWeights, mask, reverse,
                  dh_record: list | None = None):
    """One layer, one direction: (out (T, B, H_out), final state tuple). "reference": autograd
    differentiates the step math; "fused": rnnkit's hand-written BPTT is the backward."""
    if impl == "fused" and x.numel() and w.W_hh.numel():
        return fused_sequence(cell, x, state0, w, mask, reverse, dh_record)
    if impl in ("reference", "fused"):  # empty (B, I or H = 0): nothing to fuse, the reference
        out, state, _ = sequence_forward(cell, x, state0, w, mask, reverse)
        return out, state
    raise ValueError(f"run_direction runs 'fused' or 'reference', got {impl!r}")
