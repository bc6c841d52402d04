"""The linear scan h_t = a_t * h_{t-1} + b_t of minGRU and minLSTM (mingru.py, minlstm.py), in
torch ops: the sequential loop (the specification, and the fallback where the compiled loop of
scan_kernel.cpp cannot run), its hand-written backward, and a parallel scan for the GPU.

How it stays accurate in float32 (the float32 scan within 1e-5 relative of float64 at
T = 4096, the gate biased so that a state lasts 10^4 steps included: tests/functional/test_scan.py,
BENCHMARKS.md "minGRU and minLSTM"):
- Linear space. The paper's log-space scan (Heinsen 2023) adds exp(log) round trips whose
  float32 errors grow with T (6.6e-2 relative in the gradient at T = 4096, /work/shared/PERF.md);
  on the CPU a sequential loop is also the faster one (3x on 2 cores).
- The sums in float64 (`carry_dtype`). A rounding error made at step t is multiplied by the
  later a's, which damp it unless a is near 1, a gate that keeps its state, the very reason to
  use these cells; then float32 sums build up errors over the steps (measured up to 1.4e-5 at
  T = 4096). Float64 sums round 2^29 times finer.
- The factor a = 1 - z never formed by a float32 subtraction, which would lose z's digits just
  where a is near 1: the torch-op paths compute the coefficients in float64 too (and 1 - z as
  sigmoid(-k)); the compiled loop takes h + z (c - h) in double.

The parallel scan (`parallel_scan`) is Hillis and Steele's: log2(T) rounds, each combining
every step with the one 2^k steps earlier, (A, B)_t <- (A_t A_{t-d}, A_t B_{t-d} + B_t). It
does T log T work, which pays on a GPU (many lanes, one launch per round) and not on 2 CPU
cores. Its sums are trees of depth log2(T), so its rounding grows with log T, not T.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class ScanFamily:
    """A cell whose recurrence is the linear scan: everything the layers and kernels ask it.
    gates: blocks of H in the input projection; kernel_kind: its number in scan_kernel.cpp;
    coefficients(proj (T, B, G*H)) -> (a, b) (T, B, H); coefficients_backward(proj, da, db)
    -> d_proj; step(x_t, h, weight, bias) -> h_t, the form for generation; gate_names: the
    blocks' names in the order of the weight's rows."""

    name: str
    gates: int
    kernel_kind: int
    gate_names: tuple[str, ...]
    coefficients: Callable[[Tensor], tuple[Tensor, Tensor]]
    coefficients_backward: Callable[[Tensor, Tensor, Tensor], Tensor]
    step: Callable[..., Tensor]

    # what the layers, models and export ask of a registered family (family.py): its state is
    # h alone, torch has no kernel (nor ONNX an operator) for it, it has no forget/input pair
    states = ("h",)
    native = False
    lstm_like = False


def carry_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the scan sums in: float64 for float32 and below (see the module docstring)."""
    return torch.float64 if dtype in (torch.float32, torch.float16, torch.bfloat16) else dtype


def hold_past_lengths(a: Tensor, b: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Past a row's length the step keeps its state: a = 1, b = 0. mask (T, B, 1) bool."""
    if mask is None:
        return a, b
    return torch.where(mask, a, torch.ones_like(a)), torch.where(mask, b, torch.zeros_like(b))


def scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """h_t = a_t h_{t-1} + b_t for t = 0 .. T-1 from h_{-1} = h0. a, b (T, B, H); h0 (B, H).
    Returns out (T, B, H), in the dtype of b."""
    wide = carry_dtype(b.dtype)
    h = h0.to(wide)
    out = torch.empty(b.shape, dtype=wide, device=b.device)
    a_w, b_w = a.to(wide), b.to(wide)
    for t in range(b.shape[0]):
        h = torch.addcmul(b_w[t], a_w[t], h, out=out[t])
    return out.to(b.dtype)


def scan_backward(d_out: Tensor, a: Tensor, out: Tensor, h0: Tensor, run=None):
    """The scan's backward. With g_t = dL/dh_t in total (from out[t] and from step t+1):
        g_t = d_out[t] + a_{t+1} g_{t+1};  da_t = g_t h_{t-1};  db_t = g_t;  dh0 = a_0 g_0
    The g's are the same scan run backwards in time, by `run` (scan or parallel_scan; default
    scan). Returns (da, db, dh0)."""
    # a reversed scan: g_t = a_{t+1} g_{t+1} + d_out[t], with a_T = 0
    a_next = torch.cat([a[1:], torch.zeros_like(a[:1])])
    g = (run or scan)(a_next.flip(0), d_out.flip(0), torch.zeros_like(h0)).flip(0)
    h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
    return g * h_prev, g, a[0] * g[0]


def parallel_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """scan() in log2(T) rounds (Hillis and Steele), for the GPU. Same arguments and result.
    h0 enters as step -1's b, folded into b_0 = a_0 h0 + b_0 (the start state the minGRU
    implementations that disagreed with their own sequential form dropped)."""
    wide = carry_dtype(b.dtype)
    A, B = a.to(wide), b.to(wide)
    B = torch.cat([(A[0] * h0.to(wide) + B[0]).unsqueeze(0), B[1:]])
    T, d = a.shape[0], 1
    while d < T:
        # (A, B)_t covers steps t-2d+1 .. t after this round: it takes in (A, B)_{t-d}
        B = torch.cat([B[:d], torch.addcmul(B[d:], A[d:], B[:-d])])
        A = torch.cat([A[:d], A[d:] * A[:-d]])
        d *= 2
    return B.to(b.dtype)
