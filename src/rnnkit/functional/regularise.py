"""Recurrent dropout and zoneout as settings of any cell: a wrapper around a family's step math
that the layers put in place for one sequence, one layer and direction.

Variational recurrent dropout (Gal & Ghahramani 2016, the "tied" form of Keras and cuDNN-style
frameworks): one mask per sequence on the state that enters the recurrent product,

    a_t = ... + (h_{t-1} * m) W_hh^T,     m ~ Bernoulli(1 - p) / (1 - p)   per row and unit,

the same m at every step, so the noise does not accumulate over time as per-step dropout on h
does. The state itself (the GRU's z * h_{t-1}, the LSTM's c) is not masked. Off in eval.

Semeniuta, Severyn & Barth 2016 ("Recurrent dropout without memory loss"): the mask acts on the
candidate instead, the LSTM's g in c_t = f c_{t-1} + i (g * m) and the GRU's n in
h_t = (1 - z) (n * m) + z h_{t-1}, so what the cell already holds is never dropped. Here too one
mask per sequence (the paper found per-step and per-sequence masks to work alike). The step math
applies it (its `candidate_mask`: lstm.py, gru.py and the variants); the Elman RNN, which has no
candidate, refuses it. Off in eval.

Zoneout (Krueger et al. 2017) on every state tensor (h, and c for the LSTM-like cells): each unit
keeps its previous value with probability p, a fresh mask per step,

    s_t = d_t * s_{t-1} + (1 - d_t) * s~_t,     d_t ~ Bernoulli(p);   in eval d_t = p,

so eval uses the expectation. The output of a step is its zoned h.

The wrapper keeps the step contract of bptt.py: the variational mask goes into the products
(`recurrent` and `through_w`) and into rin, so dW_hh = sum dgh^T (h m); zoneout mixes the new
state with the old in the forward and splits the gradient in the backward. Per-step masks are
drawn for the whole sequence up front and used in the order the steps run (they are i.i.d., so
the order does not matter); a rerun of the same sequence (the differentiable backward) sees the
same masks. A wrapped LSTM-like cell (the LSTM, peephole_lstm, ln_lstm) keeps a compiled loop:
lstm_variant_seq.py's, which takes the masks as inputs (`kernel` VARIANT_KERNEL), and ln_gru
gru_variant_seq.py's; other wrapped cells run the general loop (`kernel` None).
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.gru import LN_GRU_KERNEL
from rnnkit.functional.lstm import VARIANT_KERNEL


def variant_kernel(cell) -> str | None:
    """The kernel of `cell` with a dropout mask or zoneout: the variant loop for the LSTM-like
    cells, the ln_gru loop for ln_gru, none (the general loop) for the others."""
    kernel = getattr(cell, "kernel", None)
    if kernel in ("lstm", VARIANT_KERNEL):
        return VARIANT_KERNEL
    return LN_GRU_KERNEL if kernel == LN_GRU_KERNEL else None


class RegularisedCache(NamedTuple):
    inner: object  # the wrapped math's cache
    keep: tuple  # per state tensor: the zoneout mask d_t (B, H) or the scalar p, or None


class Regularised:
    """The step math `inner` with variational dropout mask `drop` (B, H_out) on h entering the
    recurrent product, and zoneout masks `zone` (one per state tensor: (T, B, H) drawn per step,
    a 0-d tensor p for eval's expectation, or None)."""

    def __init__(self, inner, drop: Tensor | None, zone: tuple):
        self.inner, self.drop, self.zone = inner, drop, zone
        self.kernel = variant_kernel(inner)
        self.gates, self.fold_bias_hh = inner.gates, inner.fold_bias_hh
        self.same_dgx_dgh = inner.same_dgx_dgh
        self.owns_biases = getattr(inner, "owns_biases", False)
        self.recurrent_weight_grad = inner.recurrent_weight_grad
        self._step = 0  # steps run; the k-th step of a sequence takes mask k % T

    def _keep(self) -> tuple:
        k, self._step = self._step, self._step + 1
        return tuple(z if z is None or z.dim() == 0 else z[k % z.shape[0]] for z in self.zone)

    def step_forward(self, gx_t: Tensor, state: tuple, w, recurrent):
        m = self.drop
        if m is not None:
            inner_recurrent = recurrent
            recurrent = lambda h: inner_recurrent(h * m)  # noqa: E731
        new, rin, cache = self.inner.step_forward(gx_t, state, w, recurrent)
        if m is not None:
            rin = rin * m  # what multiplied W_hh
        keep = self._keep()
        new = tuple(n if d is None else torch.lerp(n, s, d)  # d s_prev + (1 - d) s_new
                    for n, s, d in zip(new, state, keep, strict=True))
        return new, rin, RegularisedCache(cache, keep)

    def step_backward(self, dstate: tuple, cache: RegularisedCache, w, grads: dict, through_w):
        keep = cache.keep
        to_new = tuple(d if k is None else d * (1 - k) for d, k in zip(dstate, keep, strict=True))
        m = self.drop
        if m is not None:
            inner_through = through_w
            through_w = lambda d: inner_through(d) * m  # noqa: E731
        dgx, dgh, dprev = self.inner.step_backward(to_new, cache.inner, w, grads, through_w)
        dprev = tuple(p if k is None else p + d * k  # the kept share goes straight back
                      for p, d, k in zip(dprev, dstate, keep, strict=True))
        return dgx, dgh, dprev


MODES = ("variational", "semeniuta")


def has_candidate(cell) -> bool:
    """Whether the step math takes a dropout mask on its candidate (Semeniuta's dropout)."""
    return hasattr(cell, "candidate_mask")


def regularise(cell, x: Tensor, state0: tuple, dropout: float, zoneout: float, training: bool,
               mode: str = "variational"):
    """`cell` wrapped for one sequence x (T, B, I) from state0, or `cell` itself where neither
    setting acts (no dropout in eval; zoneout's eval uses the expectation p). mode: where the
    dropout mask acts, "variational" or "semeniuta" (see the module docstring)."""
    drop = None
    if dropout and training:  # the layer refuses a cell that cannot take the mode
        h0 = state0[0]
        mask = torch.bernoulli(torch.full_like(h0, 1 - dropout)).div_(1 - dropout)  # (B, H)
        if mode == "semeniuta":
            cell = copy.copy(cell)  # this sequence's math: its own mask
            cell.candidate_mask, cell.kernel = mask, variant_kernel(cell)
        else:
            drop = mask
    zone: tuple = (None,) * len(state0)
    if zoneout:
        if training:
            # d ~ Bernoulli(p) as rand < p: 1.7x faster than torch.bernoulli of a tensor of p
            # here, which was a sixth of a zoneout LSTM's compiled training step
            zone = tuple((torch.rand((x.shape[0], *s.shape), dtype=s.dtype, device=s.device)
                          < zoneout).to(s.dtype) for s in state0)  # (T, B, H) per state tensor
        else:
            zone = tuple(torch.tensor(zoneout, dtype=s.dtype, device=s.device) for s in state0)
    if drop is None and all(z is None for z in zone):
        return cell  # (a copy with its candidate mask for Semeniuta's dropout)
    return Regularised(cell, drop, zone)
