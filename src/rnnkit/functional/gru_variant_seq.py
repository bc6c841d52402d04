"""The layer-normalised GRU's BPTT over a whole sequence in one compiled loop
(gru_variant_kernel.cpp), with or without recurrent dropout (variational or Semeniuta) and
zoneout (regularise.py).

The general loop of bptt.py over ln_gru.py's step math is the specification; this path is tested
equal to it on outputs, final states and every gradient (tests/functional/
test_lstm_variant_loop.py). It runs where `can_run` says so: the ln_gru step math (its `kernel`
is LN_GRU_KERNEL), unmasked, with the compiled loops built (compiled.available says why not; the
general loop runs then).

Outside the loop, over all steps at once:
    forward:  A = LN(x W_ih^T) * ln_ih_weight + b_ih                  one native_layer_norm
    backward: dgx, d ln_ih_weight, d b_ih by one native_layer_norm_backward of dA;
              dx = dgx W_ih;  dW_ih = dgx^T x;  dW_hh = dgh^T (h_prev [* drop])
where dA is the kernel's d_gates and dgh its d_hh; the kernel sums d ln_hh_weight and d b_hh.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional import compiled
from rnnkit.functional.bptt import LayerWeights, input_projection, previous_steps
from rnnkit.functional.chunked import kept_loop_weight, kept_or_fresh
from rnnkit.functional.gru import LN_GRU_KERNEL
from rnnkit.functional.lstm_variant_seq import EPS, zone_masks
from rnnkit.functional.matmul import loop_weight, mm, weight_grad
from rnnkit.functional.regularise import Regularised


def can_run(cell, mask, w: LayerWeights, x: Tensor) -> tuple[bool, str]:
    """Whether the compiled ln_gru loop runs this call, and why not."""
    if getattr(cell, "kernel", None) != LN_GRU_KERNEL:
        return False, "not the layer-normalised GRU"
    if mask is not None:
        return False, "variable lengths go through the general loop"
    return compiled.available(x)


class GRUVariantCache(NamedTuple):
    x: Tensor
    gx: Tensor  # (T*B, 3H) x W_ih^T before the input norm
    mean_x: Tensor
    rstd_x: Tensor
    gates: Tensor  # (T, B, 4H) r, z, n, ah_n
    NH: Tensor  # (T, B, 3H) the normalised recurrent products
    R: Tensor  # (T, B) their rstd
    out: Tensor
    h0: Tensor
    reverse: bool
    masks: tuple  # (drop, cand, zone) for the kernel
    loop: str  # "compiled": which loop filled the cache (the tests ask)


def _masks(cell, x: Tensor, H: int, reverse: bool) -> tuple[object, tuple]:
    drop, zone = None, (None,)
    if isinstance(cell, Regularised):
        drop, zone, cell = cell.drop, cell.zone, cell.inner
    cand = cell.candidate_mask
    T, B = x.shape[:2]
    contiguous = (None if t is None else t.contiguous() for t in (drop, cand))
    return cell, (*contiguous, zone_masks(zone[0], T, B, H, reverse))


def ln_gru_forward(cell, x: Tensor, state0: tuple, w: LayerWeights, mask=None,
                   reverse: bool = False):
    """(out (T, B, H), (h_T,), cache); `can_run` must hold."""
    T, B, H = x.shape[0], x.shape[1], w.W_hh.shape[1]
    inner, masks = _masks(cell, x, H, reverse)
    h0 = state0[0].contiguous()
    gx = input_projection(inner, x, w).view(T * B, 3 * H)  # owns_biases: no bias in it
    A, mean_x, rstd_x = torch.native_layer_norm(gx, (3 * H,), w.extra[0], w.b_ih, EPS)
    out, gates = x.new_empty(T, B, H), x.new_empty(T, B, 4 * H)
    NH, R = x.new_empty(T, B, 3 * H), x.new_empty(T, B)
    weight, packed = kept_loop_weight(w.W_hh, x)  # h @ W_hh^T
    torch.ops.rnnkit.lngru_forward_loop(A.view(T, B, 3 * H), weight, packed, h0, reverse, *masks,
                                        w.extra[1].contiguous(), w.b_hh, out, gates, NH, R)
    last = 0 if reverse else T - 1
    cache = GRUVariantCache(x, gx, mean_x, rstd_x, gates, NH, R, out, h0, reverse, masks,
                            "compiled")
    return out, (out[last].clone(),), cache


def ln_gru_backward(cell, d_out: Tensor, d_state_final: tuple, w: LayerWeights,
                    cache: GRUVariantCache, dh_record: list | None = None):
    """(dx, (dh_0,), grads) for ln_gru_forward's cache."""
    x = cache.x
    T, B, H = cache.out.shape
    n = T * B * 3 * H  # dA, dH in this thread's kept buffer where they fit (chunked.py)
    dA, dH = kept_or_fresh(x, 2 * n).view(2, T, B, 3 * H).unbind(0)
    d_extra = x.new_zeros(2, 3 * H)  # d ln_hh_weight, d b_hh
    seen = x.new_empty(T, B, H) if dh_record is not None else None
    weight, packed = loop_weight(w.W_hh.t(), B)  # dgh @ W_hh
    dh0 = torch.ops.rnnkit.lngru_backward_loop(
        d_out.contiguous(), d_state_final[0].contiguous(), cache.out, cache.h0, cache.gates,
        cache.NH, cache.R, weight, packed, cache.reverse, *cache.masks,
        w.extra[1].contiguous(), dA, dH, d_extra, seen)
    if dh_record is not None:
        dh_record.extend(seen.unbind(0))
    has_bias = w.b_ih is not None
    dgx, d_ln_ih, db_ih = torch.ops.aten.native_layer_norm_backward(  # through the input norm
        dA.view(T * B, 3 * H), cache.gx, (3 * H,), cache.mean_x, cache.rstd_x, w.extra[0],
        w.b_ih, [True, True, has_bias])
    dgh = dH.view(T * B, 3 * H)
    h_prev = previous_steps(cache.out, cache.h0, cache.reverse)  # what multiplied W_hh
    drop = cache.masks[0]
    if drop is not None:
        h_prev = h_prev * drop
    grads = {
        "W_ih": weight_grad(dgx, x.reshape(T * B, -1)),
        "W_hh": weight_grad(dgh, h_prev.reshape(T * B, H)),
        "b_ih": db_ih if has_bias else None,
        "b_hh": d_extra[1] if w.b_hh is not None else None,
        "W_hr": None,
        "extra": (d_ln_ih, d_extra[0]),
    }
    dx = mm(dgx, w.W_ih).view_as(x)  # through the input projection, all steps at once
    return dx, (dh0,), grads
