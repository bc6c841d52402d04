"""Binds the hand-written BPTT to autograd: `loss.backward()` runs rnnkit's own backward loop."""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.functional import lstm_seq, rnn_seq
from rnnkit.functional.bptt import LayerWeights, sequence_backward, sequence_forward
from rnnkit.functional.infer import sequence_infer


def sequence_path(cell, mask, w: LayerWeights, x: Tensor):
    """The (forward, backward) pair of rnnkit's BPTT for this call: the whole-sequence LSTM path
    where `lstm_seq.can_run` allows it, the compiled Elman / GRU loops where `rnn_seq.can_run`
    does, else the general loop. All are tested equal."""
    if lstm_seq.can_run(cell, mask, w)[0]:
        return lstm_seq.lstm_sequence_forward, lstm_seq.lstm_sequence_backward
    if w.W_hr is None and rnn_seq.can_run(cell, mask, w, x)[0]:
        return rnn_seq.rnn_sequence_forward, rnn_seq.rnn_sequence_backward
    return partial(sequence_forward, packed=True), sequence_backward


class FusedSequence(torch.autograd.Function):
    """One layer, one direction, over a whole sequence. Settings: the cell math, the mask,
    reverse, the number of state tensors, and a list to receive dL/dh_t of every step (or None).
    Inputs: x (T, B, I), the n_state initial state tensors, then W_ih, W_hh, b_ih, b_hh, W_hr.
    Outputs: out (T, B, H_out) and the final state tensors."""

    @staticmethod
    def forward(ctx, cell, mask, reverse: bool, n_state: int, dh_record, x: Tensor, *rest):
        state0, w = tuple(rest[:n_state]), LayerWeights(*rest[n_state:])
        forward, ctx.backward_loop = sequence_path(cell, mask, w, x)
        out, state, cache = forward(cell, x, state0, w, mask, reverse)
        ctx.cell, ctx.cache, ctx.n_state, ctx.dh_record = cell, cache, n_state, dh_record
        ctx.save_for_backward(*(t for t in w if t is not None))
        ctx.has = tuple(t is not None for t in w)
        # Clone the final state: it is also held by the cache, and an output kept on ctx would
        # make a reference cycle through its grad_fn.
        return (out, *(s.clone() for s in state))

    @staticmethod
    @once_differentiable  # the hand-written backward is not itself differentiated
    def backward(ctx, d_out, *d_state):
        saved = iter(ctx.saved_tensors)
        w = LayerWeights(*(next(saved) if has else None for has in ctx.has))
        dx, d_state0, grads = ctx.backward_loop(ctx.cell, d_out, d_state, w, ctx.cache,
                                                dh_record=ctx.dh_record)
        d_weights = tuple(grads[name] for name in LayerWeights._fields)
        return (None, None, None, None, None, dx, *d_state0, *d_weights)


def fused_sequence(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None, reverse=False,
                   dh_record: list | None = None):
    """(out, final_state) with rnnkit's BPTT as the backward; a plain forward without grad.
    dh_record, if a list, receives dL/dh_t for every step (time order) when backward runs."""
    needs_grad = torch.is_grad_enabled() and (
        x.requires_grad or any(t.requires_grad for t in (*state0, *w) if t is not None)
    )
    if not needs_grad:
        return sequence_infer(cell, x, state0, w, mask, reverse)  # keeps nothing for a backward
    out, *state = FusedSequence.apply(cell, mask, reverse, len(state0), dh_record, x, *state0,
                                      *w)
    return out, tuple(state)


def run_direction(impl: str, cell, x: Tensor, state0: tuple, w: LayerWeights, mask, reverse,
                  dh_record: list | None = None):
    """One layer, one direction: (out (T, B, H_out), final state tuple). "reference": autograd
    differentiates the step math; "fused": rnnkit's hand-written BPTT is the backward."""
    if impl == "fused":
        return fused_sequence(cell, x, state0, w, mask, reverse, dh_record)
    if impl == "reference":
        out, state, _ = sequence_forward(cell, x, state0, w, mask, reverse)
        return out, state
    raise ValueError(f"run_direction runs 'fused' or 'reference', got {impl!r}")
