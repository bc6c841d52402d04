"""The whole-sequence form of minGRU and minLSTM on the input projections proj (T, B, G*H): the
forward and the hand-written backward, each run by one of three scans, all tested equal:

- "compiled":   the gate math and the sequential scan in one C++ pass (scan_kernel.cpp), on
                the CPU where the compiled loops are built;
- "parallel":   the coefficients in torch ops, then the log2(T)-round parallel scan
                (scan.parallel_scan), on a GPU;
- "sequential": the coefficients in torch ops, then the scan as a Python loop (scan.scan): the
                specification, and the CPU fallback where the kernels cannot be built.

`scan_method` is the pure predicate that picks one for a tensor. Variable lengths: past a row's
length a step keeps its state (a = 1, b = 0), so out[t] there is the state at the length (the
layer zeroes it) and the last row of out is each row's final state.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.functional import compiled
from rnnkit.functional.scan import (
    ScanFamily,
    carry_dtype,
    hold_past_lengths,
    parallel_scan,
    scan,
    scan_backward,
)

METHODS = ("compiled", "parallel", "sequential")


def scan_method(x: Tensor, warn: bool = True) -> tuple[str, str]:
    """(method, reason) for a sequence like x: the compiled loop on the CPU where it is built,
    the parallel scan on a GPU, else the sequential Python loop."""
    if x.device.type == "cpu":
        ok, reason = compiled.available(x, warn=warn)
        return ("compiled", reason) if ok else ("sequential", reason)
    return "parallel", f"on {x.device.type} the parallel scan (log2(T) rounds) runs"


def length_mask(lengths: Tensor | None, T: int, device) -> Tensor | None:
    """(T, B, 1) bool, True on real steps; None without lengths."""
    if lengths is None:
        return None
    return (torch.arange(T)[:, None] < lengths[None, :]).unsqueeze(-1).to(device)


def forward(family: ScanFamily, proj: Tensor, h0: Tensor, lengths: Tensor | None,
            method: str) -> Tensor:
    """out (T, B, H) of the scan of proj (T, B, G*H) from h0 (B, H); lengths (B,) int64 CPU."""
    if method == "compiled":
        proj, h0 = proj.contiguous(), h0.contiguous()
        out = proj.new_empty(proj.shape[0], proj.shape[1], h0.shape[-1])
        torch.ops.rnnkit.scan_forward_loop(proj, h0, lengths, family.kernel_kind, out)
        return out
    wide = proj.to(carry_dtype(proj.dtype))  # the coefficients too: see scan.py
    a, b = hold_past_lengths(*family.coefficients(wide), length_mask(lengths, len(proj),
                                                                     proj.device))
    return (parallel_scan if method == "parallel" else scan)(a, b, h0).to(proj.dtype)


def backward(family: ScanFamily, d_out: Tensor, proj: Tensor, out: Tensor, h0: Tensor,
             lengths: Tensor | None, method: str, dh_final: Tensor | None = None,
             bias_grad: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
    """(d_proj, dh0, d_bias) from d_out (T, B, H) and dh_final (B, H), the gradient of out[-1]
    as the final state (or None); the other arguments are forward()'s and its out. d_bias:
    d_proj summed over steps and batch where bias_grad, else None."""
    if method == "compiled":
        d_proj = torch.empty_like(proj, memory_format=torch.contiguous_format)
        d_bias = proj.new_empty(proj.shape[-1]) if bias_grad else None
        dh0 = torch.ops.rnnkit.scan_backward_loop(
            d_out.contiguous(), None if dh_final is None else dh_final.contiguous(),
            proj.contiguous(), out, h0.contiguous(), lengths, family.kernel_kind, d_proj, d_bias)
        return d_proj, dh0, d_bias
    mask = length_mask(lengths, len(proj), proj.device)
    wide = carry_dtype(proj.dtype)
    proj_w, d_out_w = proj.to(wide), d_out.to(wide)
    if dh_final is not None:
        d_out_w = torch.cat([d_out_w[:-1], (d_out_w[-1] + dh_final).unsqueeze(0)])
    a, _ = hold_past_lengths(*family.coefficients(proj_w), mask)
    run = parallel_scan if method == "parallel" else scan
    da, db, dh0 = scan_backward(d_out_w, a, out.to(wide), h0.to(wide), run)
    d_proj = family.coefficients_backward(proj_w, da, db)
    if mask is not None:
        d_proj = d_proj.masked_fill(~mask, 0)  # a held step does not use its projection
    d_bias = d_proj.sum((0, 1)).to(proj.dtype) if bias_grad else None
    return d_proj.to(proj.dtype), dh0.to(h0.dtype), d_bias


def differentiable(family: ScanFamily, proj: Tensor, h0: Tensor,
                   lengths: Tensor | None) -> Tensor:
    """forward() in torch ops autograd can trace (for second-order gradients and torch.func)."""
    a, b = hold_past_lengths(*family.coefficients(proj), length_mask(lengths, len(proj),
                                                                     proj.device))
    outs, h = [], h0
    for t in range(len(proj)):
        h = torch.addcmul(b[t], a[t], h)
        outs.append(h)
    return torch.stack(outs)
