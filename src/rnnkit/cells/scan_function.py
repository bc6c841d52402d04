"""Binds the hand-written backward of one minGRU / minLSTM layer direction (the input
projection, then functional/scan_seq.py's scan) to autograd.

Forward: proj = x W^T + b for all steps in one GEMM, then the scan. Backward: the scan's
backward gives d_proj (and, from the compiled loop, the bias gradient in the same pass), then
dx = d_proj W and dW = d_proj^T x, one GEMM each over all steps.

Second-order gradients (`create_graph=True`) recompute the layer in torch ops under autograd
and differentiate that, so they are exact; under torch.func transforms and forward-mode AD the
traceable form runs instead of this Function (as cells/function.py does for the other cells).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.function import transforms_active
from rnnkit.functional import scan_seq
from rnnkit.functional.scan import ScanFamily


def traceable(family: ScanFamily, x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor,
              lengths: Tensor | None) -> tuple[Tensor, Tensor]:
    """(out, h_n) in torch ops autograd can differentiate: the reference."""
    out = scan_seq.differentiable(family, F.linear(x, weight, bias), h0, lengths)
    return out, out[-1]


class ScanLayer(torch.autograd.Function):
    """Settings: the family, lengths (B,) int64 CPU or None, the method (scan_seq.METHODS).
    Inputs: x (T, B, I), weight (G*H, I), bias (G*H,) or None, h0 (B, H).
    Outputs: out (T, B, H) (held past each length) and h_n = out[-1] (B, H)."""

    @staticmethod
    def forward(ctx, family: ScanFamily, lengths, method: str, x: Tensor, weight: Tensor,
                bias: Tensor | None, h0: Tensor):
        proj = F.linear(x, weight, bias)  # (T, B, G*H): one GEMM over all steps
        out = scan_seq.forward(family, proj, h0, lengths, method)
        ctx.family, ctx.lengths, ctx.method = family, lengths, method
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight, bias, h0, proj, out)
        return out, out[-1].clone()  # a clone: an output kept on ctx would make a cycle

    @staticmethod
    def backward(ctx, d_out, dh_final):
        x, weight, bias, h0, proj, out = ctx.saved_tensors
        needs = ctx.needs_input_grad[3:]  # x, weight, bias, h0
        if torch.is_grad_enabled():  # create_graph=True: the gradient itself needs a graph
            return (None, None, None, *double_backward(ctx, needs, d_out, dh_final))
        d_proj, dh0, d_bias = scan_seq.backward(ctx.family, d_out, proj, out, h0, ctx.lengths,
                                                ctx.method, dh_final, needs[2])
        flat = d_proj.reshape(-1, d_proj.shape[-1])  # (T*B, G*H)
        dx = (flat @ weight).view(x.shape) if needs[0] else None
        dW = flat.t() @ x.reshape(-1, x.shape[-1]) if needs[1] else None
        return None, None, None, dx, dW, d_bias, (dh0 if needs[3] else None)


def double_backward(ctx, needs, d_out: Tensor, dh_final: Tensor) -> tuple:
    x, weight, bias, h0, _, _ = ctx.saved_tensors
    inputs = (x, weight, bias, h0)
    wrt = [t for t, need in zip(inputs, needs, strict=True) if need]
    with torch.enable_grad():
        out, h_n = traceable(ctx.family, x, weight, bias, h0, ctx.lengths)
    grads = iter(torch.autograd.grad((out, h_n), wrt, (d_out, dh_final), create_graph=True,
                                     allow_unused=True, materialize_grads=True))
    return tuple(next(grads) if need else None for need in needs)


def scan_layer(family: ScanFamily, x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor,
               lengths: Tensor | None, method: str) -> tuple[Tensor, Tensor]:
    """(out (T, B, H), h_n (B, H)) of one layer direction over x (T, B, I): the hand-written
    backward where autograd needs one, a plain forward where it does not, the traceable form
    under torch.func transforms. out past a row's length holds its final state."""
    if transforms_active():
        return traceable(family, x, weight, bias, h0, lengths)
    tensors = (x, weight, h0) if bias is None else (x, weight, bias, h0)
    if not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors)):
        out = scan_seq.forward(family, F.linear(x, weight, bias), h0, lengths, method)
        return out, out[-1]
    return ScanLayer.apply(family, lengths, method, x, weight, bias, h0)
