"""The numbers behind the verdict, per layer and direction of an rnnkit module.

- `jacobian_norms`: ||dh_T/dh_t|| against the distance T - t, for the given batch (for a nonlinear
  RNN the Jacobian depends on the input). h_T is the state after the last processed step; the
  derivative follows the layer's own recurrence (its input sequence held fixed, and for the LSTM
  the cell state c_t held fixed: h_t is perturbed, its effect on c_{t+1}, ... is followed). The
  norm is the Frobenius norm (default) or the spectral norm (largest singular value) of the H x H
  matrix of each batch row, averaged over the rows.
- `gate_saturation`: the share of gate activations below 0.05 or above 0.95, per gate; sigmoid
  gates as they are, tanh units (LSTM g, GRU n, Elman h) on the same scale as (a + 1) / 2, i.e.
  |tanh| > 0.9.
- `spectral_radii`: max |eigenvalue| and the largest singular value of each gate block of W_hh
  (with an LSTM projection, of the block times W_hr: the map from h_{t-1} to the gate).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.diagnostics.trace import Trace
from rnnkit.layers.base import RecurrentBase

LOW, HIGH = 0.05, 0.95  # saturation thresholds on the sigmoid scale



def jacobian_norms(trace: Trace, norm: str = "fro") -> Tensor:
    """(T - 1,) batch-mean ||dh_last/dh_t|| for distances 1 .. T-1 (index d-1 is distance d).
    The trace must come from `trace_layer(..., requires_grad=True)`."""
    if norm not in ("fro", "spectral"):
        raise ValueError(f"norm must be 'fro' or 'spectral', got {norm!r}")
    hs = [s[0] for s in trace.states]  # processing order
    T = len(hs)
    if T < 2:
        return hs[0].new_zeros(0)
    h_last = hs[-1]  # (B, H)
    B, H = h_last.shape
    # One backward per output unit k, batched: row k of every dh_last/dh_t at once.
    eye = torch.eye(H, dtype=h_last.dtype, device=h_last.device)
    seeds = eye[:, None, :].expand(H, B, H)  # (H, B, H)
    grads = torch.autograd.grad(h_last, hs[:-1], grad_outputs=seeds, is_grads_batched=True,
                                allow_unused=True)
    norms = []
    for g in grads:  # each (H_k, B, H_j): g[k, b, j] = d h_last[b, k] / d h_t[b, j]
        if g is None:  # no path (e.g. a zero recurrent matrix)
            norms.append(h_last.new_zeros(()))
            continue
        J = g.permute(1, 0, 2)  # (B, H, H)
        n = torch.linalg.matrix_norm(J, ord="fro" if norm == "fro" else 2)
        norms.append(n.mean())
    return torch.stack(norms).flip(0).detach()  # by distance 1 .. T-1


def gate_saturation(layer: RecurrentBase, trace: Trace) -> dict[str, dict[str, float]]:
    """{gate: {"low": share < 0.05, "high": share > 0.95}} over all steps, rows and units."""
    result = {}
    for name, is_sigmoid in layer.family.gate_stats:  # cache fields, sigmoid (else tanh)
        values = torch.stack([getattr(c, name) for c in trace.caches]).detach()
        if not is_sigmoid:
            values = (values + 1) / 2
        result[name] = {"low": float((values < LOW).float().mean()),
                        "high": float((values > HIGH).float().mean())}
    return result


def spectral_radii(layer: RecurrentBase, index: int, direction: int) -> dict[str, dict[str, float]]:
    """{gate block: {"radius": max |eigenvalue|, "norm": largest singular value}} of W_hh."""
    w = layer._weights(index, direction)
    W = w.W_hh.detach()
    H = layer.hidden_size
    result = {}
    for k, name in enumerate(layer.family.blocks):
        block = W[k * H:(k + 1) * H]  # (H, H or P)
        if w.W_hr is not None:
            block = block @ w.W_hr.detach()  # (H, H): h_raw_{t-1} -> gate
        block = block.double()
        result[name] = {"radius": float(torch.linalg.eigvals(block).abs().max()),
                        "norm": float(torch.linalg.matrix_norm(block, ord=2))}
    return result
