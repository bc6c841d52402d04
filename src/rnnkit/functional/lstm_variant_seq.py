"""The LSTM variants' BPTT over a whole sequence in one compiled loop (lstm_variant_kernel.cpp):
peepholes (peephole_lstm.py), the layer-normalised LSTM (ln_lstm.py), and, on any of those or the
plain LSTM, variational and Semeniuta's recurrent dropout and zoneout (regularise.py).

The general loop of bptt.py over those step maths is the specification; this path is tested
equal to it on outputs, final states and every gradient (tests/functional/
test_lstm_variant_loop.py). It runs where `can_run` says so: an LSTM-like step math (its
`kernel` is VARIANT_KERNEL), unmasked, without projection, with the compiled loops built
(compiled.available says why not; the general loop runs then). In the general loop every step
of a variant costs ~240 small torch ops (BENCHMARKS.md, "Cell variants"); here a step is one
product and a few passes over its elements.

What runs outside the loop, over all steps at once:
    forward:  A = x W_ih^T + b_ih + b_hh                              (T, B, 4H)
              layer norm: A = LN(x W_ih^T) * ln_ih_weight + b_ih + b_hh, one native_layer_norm
    backward: dx = dgx W_ih;  dW_ih = dgx^T x;  dW_hh = dgh^T (h_prev [* drop]);  db = sum dA
where dgx is the kernel's d_gates (dA), or with the norms its d_x, the input norm's backward,
which the kernel runs row by row (torch's native_layer_norm_backward and the gain's sum over
the whole sequence took a fifth of ln_lstm's training step at T = 100, B = 16, H = 256), and
dgh its d_hh (the norms) or dA. The kernel sums the peepholes' and the norms' parameter
gradients (and with the norms the bias's) itself.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional import compiled
from rnnkit.functional.bptt import LayerWeights, input_projection, previous_steps
from rnnkit.functional.chunked import kept_loop_weight, kept_or_fresh
from rnnkit.functional.lstm import VARIANT_KERNEL
from rnnkit.functional.matmul import loop_weight, mm, weight_grad
from rnnkit.functional.regularise import Regularised

EPS = 1e-5  # ln_lstm.EPS, as torch.nn.LayerNorm


def can_run(cell, mask, w: LayerWeights, x: Tensor) -> tuple[bool, str]:
    """Whether the compiled variant loop runs this call, and why not."""
    if getattr(cell, "kernel", None) != VARIANT_KERNEL:
        return False, "not an LSTM variant"
    if mask is not None:
        return False, "variable lengths go through the general loop"
    if w.W_hr is not None:
        return False, "the projection (proj_size) goes through the general loop"
    return compiled.available(x)


class Options(NamedTuple):
    """The kernel's optional inputs for one sequence (None where absent)."""

    drop: Tensor | None  # (B, H) variational mask on h entering the product
    cand: Tensor | None  # (B, H) Semeniuta's mask on g
    zone_h: Tensor | None  # (T, B, H) zoneout's keep masks, indexed by the step t
    zone_c: Tensor | None
    peep: Tensor | None  # (3, H) w_ci, w_cf, w_co
    ln_hh: Tensor | None  # (4H,) the recurrent norm's gain
    ln_c: Tensor | None  # (2, H) the cell norm's gain and bias


def options(cell, w: LayerWeights, x: Tensor, reverse: bool) -> tuple[object, Options]:
    """(the inner step math, its Options) of a cell that `can_run` accepts."""
    drop, zone = None, (None, None)
    if isinstance(cell, Regularised):
        drop, zone, cell = cell.drop, cell.zone, cell.inner
    T, B, H = x.shape[0], x.shape[1], w.W_hh.shape[1]
    peep = ln_hh = ln_c = None
    if cell.loop_extras == "peephole":
        peep = torch.stack(w.extra)
    elif cell.loop_extras == "layer_norm":
        ln_hh, ln_c = w.extra[1].contiguous(), torch.stack(w.extra[2:])
    zh, zc = (zone_masks(z, T, B, H, reverse) for z in zone)
    cand = cell.candidate_mask
    return cell, Options(_c(drop), _c(cand), zh, zc, peep, ln_hh, ln_c)


def _c(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.contiguous()


def zone_masks(z: Tensor | None, T: int, B: int, H: int, reverse: bool) -> Tensor | None:
    """Regularised's masks as the kernel reads them: the k-th step run takes z[k % len(z)]
    (regularise.py), the kernel takes step t's; eval's expectation p is a mask full of p."""
    if z is None:
        return None
    if z.dim() == 0:
        return z.expand(T, B, H).contiguous()
    masks = z if z.shape[0] == T else z[torch.arange(T) % z.shape[0]]
    return (masks.flip(0) if reverse else masks).contiguous()


class VariantCache(NamedTuple):
    x: Tensor
    gx: Tensor | None  # (T*B, 4H) x W_ih^T before the input norm (layer norm only)
    mean_x: Tensor | None
    rstd_x: Tensor | None
    A: Tensor  # (T, B, 4H) activated gates
    C: Tensor  # (T, B, H) the cell before zoneout
    TC: Tensor  # (T, B, H) th
    S: Tensor  # (T, B, H) the cell state after zoneout (C itself without it)
    NH: Tensor | None  # (T, B, 4H) normalised recurrent products
    NC: Tensor | None  # (T, B, H) normalised cells
    R: Tensor | None  # (T, B, 2) the two norms' rstd
    out: Tensor
    h0: Tensor
    c0: Tensor
    reverse: bool
    opts: Options
    loop: str  # "compiled": which loop filled the cache (the tests ask)


def lstm_variant_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None,
                         reverse: bool = False):
    """(out (T, B, H), (h_T, c_T), cache); `can_run` must hold."""
    inner, opts = options(cell, w, x, reverse)
    h0, c0 = state0[0].contiguous(), state0[1].contiguous()
    T, B, H = x.shape[0], x.shape[1], c0.shape[-1]
    gx = mean_x = rstd_x = None
    if opts.ln_hh is not None:  # A = LN(x W_ih^T) * ln_ih_weight + b_ih + b_hh, all steps
        gx = input_projection(inner, x, w).view(T * B, 4 * H)  # owns_biases: no bias in it
        bias = None if w.b_ih is None else w.b_ih + w.b_hh
        A, mean_x, rstd_x = torch.native_layer_norm(gx, (4 * H,), w.extra[0], bias, EPS)
        A = A.view(T, B, 4 * H)
    else:
        A = input_projection(inner, x, w).contiguous()  # (T, B, 4H), biases folded in
    C, TC, out = x.new_empty(T, B, H), x.new_empty(T, B, H), x.new_empty(T, B, H)
    S = C if opts.zone_c is None else x.new_empty(T, B, H)
    ln = opts.ln_hh is not None
    NH, NC, R = ((x.new_empty(T, B, 4 * H), x.new_empty(T, B, H), x.new_empty(T, B, 2)) if ln
                 else (None, None, None))
    weight, packed = kept_loop_weight(w.W_hh, x)  # h @ W_hh^T
    torch.ops.rnnkit.lstmv_forward_loop(A, weight, packed, h0, c0, reverse, *opts, C, TC, out,
                                        S, NH, NC, R)
    last = 0 if reverse else T - 1
    cache = VariantCache(x, gx, mean_x, rstd_x, A, C, TC, S, NH, NC, R, out, h0, c0, reverse,
                         opts, "compiled")
    return out, (out[last].clone(), S[last].clone()), cache


def lstm_variant_backward(cell, d_out: Tensor, d_state_final: tuple, w: LayerWeights,
                          cache: VariantCache, dh_record: list | None = None):
    """(dx, (dh_0, dc_0), grads) for lstm_variant_forward's cache."""
    opts, x = cache.opts, cache.x
    T, B, H = cache.C.shape
    ln = opts.ln_hh is not None
    # dA (and dH) in this thread's kept buffer where they fit: fresh memory costs a page fault
    # per 4 KiB (chunked.py); nothing returned is a view of it. With the norms dgx overwrites dA.
    n = T * B * 4 * H
    work = kept_or_fresh(x, 2 * n if ln else n)
    dA = work[:n].view(T, B, 4 * H)
    dH, dX = (work[n:].view(T, B, 4 * H), dA) if ln else (None, None)
    d_extra = x.new_zeros(3 if opts.peep is not None else 14 if ln else 0, H)
    norm_in = ((w.extra[0].contiguous(), cache.gx.view(T, B, 4 * H), cache.mean_x.view(T, B),
                cache.rstd_x.view(T, B)) if ln else (None,) * 4)
    seen = x.new_empty(T, B, H) if dh_record is not None else None
    weight, packed = loop_weight(w.W_hh.t(), B)  # dgh @ W_hh
    dh0, dc0 = torch.ops.rnnkit.lstmv_backward_loop(
        d_out.contiguous(), d_state_final[0].contiguous(), d_state_final[1].contiguous(),
        cache.A, cache.C, cache.TC, cache.S, cache.c0, weight, packed, cache.reverse, *opts,
        cache.NH, cache.NC, cache.R, dA, dH, d_extra, *norm_in, dX, seen)
    if dh_record is not None:
        dh_record.extend(seen.unbind(0))
    flat = dA.view(T * B, 4 * H)
    has_bias = w.b_ih is not None
    if ln:  # the kernel ran the input norm's backward and summed the norms' gradients
        dgx, dgh = dX.view(T * B, 4 * H), dH.view(T * B, 4 * H)
        sums = d_extra.view(-1)
        d_ln_ih, d_ln_hh = sums[2 * H:6 * H], sums[6 * H:10 * H]
        db = sums[10 * H:] if has_bias else None
        extra = (d_ln_ih, d_ln_hh, d_extra[0], d_extra[1])
    else:
        dgx = dgh = flat
        db = flat.sum(0) if has_bias else None
        extra = tuple(d_extra.unbind(0))
    h_prev = previous_steps(cache.out, cache.h0, cache.reverse)  # what multiplied W_hh
    if opts.drop is not None:
        h_prev = h_prev * opts.drop
    grads = {
        "W_ih": weight_grad(dgx, x.reshape(T * B, -1)),
        "W_hh": weight_grad(dgh, h_prev.reshape(T * B, H)),
        "b_ih": db,
        "b_hh": db if w.b_hh is not None else None,
        "W_hr": None,
        "extra": extra,
    }
    dx = mm(dgx, w.W_ih).view_as(x)  # through the input projection, all steps at once
    return dx, (dh0, dc0), grads
