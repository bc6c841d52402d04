"""Connectionist temporal classification (Graves et al. 2006): the loss from its equations.

Notation, per batch item: log-probabilities log y_t(k) over C classes (blank = `blank`) for
t < T; a target l of length L; the blank-extended target l' = (b, l_1, b, l_2, ..., l_L, b) of
length S = 2L + 1. A path is a label per frame; it maps to l when its repeats are merged and its
blanks removed. p(l | x) sums the probabilities of every such path. In log space:

    alpha_0(0) = log y_0(b),  alpha_0(1) = log y_0(l_1)
    alpha_t(s) = log y_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1),
                                          alpha_{t-1}(s-2) if l'_s != b and l'_s != l'_{s-2})
    log p(l | x) = logsumexp(alpha_{T-1}(S-1), alpha_{T-1}(S-2))

beta_t(s) is the log-probability of the frames after t given position s at t (no emission at t):

    beta_{T-1}(S-1) = beta_{T-1}(S-2) = 0
    beta_t(s) = logsumexp over s' in {s, s+1, s+2 (the same skip rule at s')} of
                log y_{t+1}(l'_{s'}) + beta_{t+1}(s')

so exp(alpha_t(s) + beta_t(s)) is the probability of the paths through s at t, and

    d(-log p) / d log y_t(k) = -sum_{s: l'_s = k} exp(alpha_t(s) + beta_t(s) - log p).

This file is the readable reference (principle 2): a loop over time, vectorised over the batch
and the S positions. `ctc_loss` has torch.nn.functional.ctc_loss's arguments and meaning; with
impl="torch" it runs torch's kernel, tested equal to this one (tests/functional/test_ctc.py).
A target longer than its input allows (T < L + the number of repeated neighbours in l) has no
path: its loss is +inf (`zero_infinity=True` makes it 0 with a zero gradient, as in torch).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

NEG_INF = -math.inf


def extend_targets(targets: Tensor, target_lengths: Tensor, blank: int) -> Tensor:
    """(B, 2 * L_max + 1) blank-extended targets l' from padded targets (B, L_max)."""
    B, L = targets.shape
    ext = targets.new_full((B, 2 * L + 1), blank)
    ext[:, 1::2] = targets
    # positions past an item's own 2 L_b + 1 stay blank and are never reached
    steps = torch.arange(L, device=targets.device)
    ext[:, 1::2] = torch.where(steps[None, :] < target_lengths[:, None], targets, blank)
    return ext


def _skip_allowed(ext: Tensor, blank: int) -> Tensor:
    """(B, S) bool: the transition s-2 -> s is allowed (l'_s is a label unlike l'_{s-2})."""
    skip = torch.zeros_like(ext, dtype=torch.bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return skip


def min_input_lengths(targets: Tensor, target_lengths: Tensor) -> Tensor:
    """(B,) the fewest frames each target needs: L + the number of equal neighbours in l
    (a blank must separate a repeated label)."""
    L = targets.shape[1]
    steps = torch.arange(1, L, device=targets.device)
    repeats = (targets[:, 1:] == targets[:, :-1]) & (steps[None, :] < target_lengths[:, None])
    return target_lengths + repeats.sum(1)


def _shift(a: Tensor, k: int, fill: float = NEG_INF) -> Tensor:
    """a[:, s - k] at s (fill where s < k): the value k positions to the left."""
    out = torch.full_like(a, fill)
    out[:, k:] = a[:, :-k]
    return out


def _unshift(a: Tensor, k: int, fill: float = NEG_INF) -> Tensor:
    """a[:, s + k] at s (fill where s + k >= S): the value k positions to the right."""
    out = torch.full_like(a, fill)
    out[:, :-k] = a[:, k:]
    return out


def ctc_alpha(emit: Tensor, skip: Tensor, input_lengths: Tensor,
              target_lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(alpha (T, B, S), log p (B,), the end positions (B, 2): S_b - 1, S_b - 2) from the
    emission log-probabilities emit (T, B, S) = log y_t(l'_s)."""
    T, B, S = emit.shape
    alpha = emit.new_full((T, B, S), NEG_INF)
    alpha[0, :, 0] = emit[0, :, 0]
    has_label = target_lengths > 0
    if S > 1:
        alpha[0, :, 1] = torch.where(has_label, emit[0, :, 1], NEG_INF)
    for t in range(1, T):
        prev = alpha[t - 1]
        two = torch.where(skip, _shift(prev, 2), NEG_INF)  # from s-2, where allowed
        alpha[t] = emit[t] + torch.logsumexp(torch.stack([prev, _shift(prev, 1), two]), 0)
    last = (2 * target_lengths)[:, None]  # S_b - 1
    ends = torch.cat([last, (last - 1).clamp(min=0)], 1)  # (B, 2)
    final = alpha[input_lengths - 1, torch.arange(B, device=emit.device)]  # (B, S) at T_b - 1
    end_vals = final.gather(1, ends)
    end_vals[:, 1] = torch.where(has_label, end_vals[:, 1], NEG_INF)  # L = 0: one end only
    return alpha, torch.logsumexp(end_vals, 1), ends


def ctc_beta(emit: Tensor, skip: Tensor, input_lengths: Tensor, target_lengths: Tensor,
             ends: Tensor) -> Tensor:
    """beta (T, B, S): log-probability of frames t+1 .. T_b-1 given position s at t."""
    T, B, S = emit.shape
    start = emit.new_full((B, S), NEG_INF)  # beta at t = T_b - 1: 0 at the ends
    second = torch.where(target_lengths > 0, 0.0, NEG_INF).to(emit.dtype)[:, None]
    start.scatter_(1, ends[:, 1:], second)  # S_b - 2 (for L = 0 this is 0 = S_b - 1: next line)
    start.scatter_(1, ends[:, :1], 0.0)
    skip_next = _unshift(skip, 2, False)  # the skip s -> s+2 is allowed
    beta = emit.new_full((T, B, S), NEG_INF)
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            nxt = emit[t + 1] + beta[t + 1]  # log y_{t+1}(l'_s) + beta_{t+1}(s)
            two = torch.where(skip_next, _unshift(nxt, 2), NEG_INF)
            stepped = torch.logsumexp(torch.stack([nxt, _unshift(nxt, 1), two]), 0)
        else:
            stepped = start
        beta[t] = torch.where((input_lengths - 1 == t)[:, None], start, stepped)
    return beta


def ctc_nll_and_grad(log_probs: Tensor, targets: Tensor, input_lengths: Tensor,
                     target_lengths: Tensor, blank: int = 0) -> tuple[Tensor, Tensor]:
    """(-log p(l | x) (B,), its gradient w.r.t. log_probs (T, B, C)); frames past an item's
    input length get zero gradient. log_probs (T, B, C); targets (B, L_max) padded."""
    T, B, C = log_probs.shape
    ext = extend_targets(targets, target_lengths, blank)
    skip = _skip_allowed(ext, blank)  # (B, S)
    emit = log_probs.gather(2, ext[None].expand(T, B, ext.shape[1]))  # (T, B, S)
    alpha, log_p, ends = ctc_alpha(emit, skip, input_lengths, target_lengths)
    beta = ctc_beta(emit, skip, input_lengths, target_lengths, ends)
    occupancy = torch.exp(alpha + beta - log_p[None, :, None])  # (T, B, S)
    # an infeasible item (log p = -inf) has no path: no occupancy, though some of its alphas
    # and betas are finite (which would give +inf here, and nan once summed and zeroed)
    occupancy = torch.where(torch.isfinite(log_p)[None, :, None], occupancy, 0.0)
    grad = torch.zeros_like(log_probs)
    grad.scatter_add_(2, ext[None].expand(T, B, -1), -occupancy)
    live = torch.arange(T, device=log_probs.device)[:, None] < input_lengths[None, :]
    grad = grad * live[..., None]
    return -log_p, grad


class _CTCReference(torch.autograd.Function):
    """The hand-written gradient bound to autograd (per-item losses, no reduction)."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        nll, grad = ctc_nll_and_grad(log_probs.detach(), targets, input_lengths, target_lengths,
                                     blank)
        if zero_infinity:
            bad = torch.isinf(nll)
            nll = torch.where(bad, 0.0, nll)
            grad = grad * (~bad)[None, :, None]
        ctx.save_for_backward(grad)
        return nll

    @staticmethod
    def backward(ctx, d_nll):
        (grad,) = ctx.saved_tensors
        return grad * d_nll[None, :, None], None, None, None, None, None


def _check(log_probs: Tensor, targets: Tensor, input_lengths: Tensor, target_lengths: Tensor,
           blank: int) -> None:
    """One clear line for each way the arguments can be wrong (principle 7)."""
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs: expected (T, B, C), got shape {tuple(log_probs.shape)}")
    T, B, C = log_probs.shape
    if not 0 <= blank < C:
        raise ValueError(f"blank: expected a class index in [0, {C}), got {blank}")
    if targets.dim() != 2 or targets.shape[0] != B:
        raise ValueError(f"targets: expected padded (B={B}, L_max), got {tuple(targets.shape)}")
    for name, v in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if v.shape != (B,):
            raise ValueError(f"{name}: expected shape ({B},), got {tuple(v.shape)}")
    if B and (int(input_lengths.min()) < 1 or int(input_lengths.max()) > T):
        raise ValueError(f"input_lengths: expected values in [1, T={T}], got "
                         f"{input_lengths.tolist()}")
    if B and (int(target_lengths.min()) < 0 or int(target_lengths.max()) > targets.shape[1]):
        raise ValueError(f"target_lengths: expected values in [0, {targets.shape[1]}], got "
                         f"{target_lengths.tolist()}")
    live = torch.arange(targets.shape[1])[None, :] < target_lengths[:, None].cpu()
    labels = targets.cpu()[live]
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= C
                           or bool((labels == blank).any())):
        raise ValueError(f"targets: labels must lie in [0, {C}) and differ from blank={blank}")
    check_log_probs(log_probs, input_lengths)


def check_log_probs(log_probs: Tensor, input_lengths: Tensor, tol: float = 1e-3) -> None:
    """log_probs must be log-probabilities: each real frame's exp sums to 1 (log_softmax)."""
    T = log_probs.shape[0]
    live = torch.arange(T, device=log_probs.device)[:, None] < input_lengths[None, :]
    total = torch.logsumexp(log_probs.detach().double(), -1)[live]
    if total.numel() and float(total.abs().max()) > tol:
        raise ValueError("log_probs: not log-probabilities (logsumexp over classes is "
                         f"{float(total.abs().max()):.3g} away from 0 in some frame); "
                         "apply log_softmax(-1) to the model's outputs first")


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Tensor, target_lengths: Tensor,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False,
             impl: str = "reference") -> Tensor:
    """torch.nn.functional.ctc_loss's arguments and meaning (padded targets (B, L_max) only).

    reduction "none": (B,) losses; "sum"; "mean": each loss divided by its target length
    (at least 1), then the mean over the batch. impl "reference" runs this file's loops;
    "torch" runs torch's kernel (equal, faster). Both check the arguments first."""
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"reduction: expected 'none', 'sum' or 'mean', got {reduction!r}")
    if impl not in ("reference", "torch"):
        raise ValueError(f"impl: expected 'reference' or 'torch', got {impl!r}")
    input_lengths = torch.as_tensor(input_lengths, dtype=torch.long)
    target_lengths = torch.as_tensor(target_lengths, dtype=torch.long)
    _check(log_probs, targets, input_lengths, target_lengths, blank)
    if impl == "torch":
        nll = torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths,
                                           blank=blank, reduction="none",
                                           zero_infinity=zero_infinity)
    else:
        nll = _CTCReference.apply(log_probs, targets.to(log_probs.device).long(),
                                  input_lengths.to(log_probs.device),
                                  target_lengths.to(log_probs.device), blank, zero_infinity)
    if reduction == "none":
        return nll
    if reduction == "sum":
        return nll.sum()
    return (nll / target_lengths.to(nll.device).clamp(min=1).to(nll.dtype)).mean()
