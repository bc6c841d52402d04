"""Diagnose a model on a batch: gradient flow through time, Jacobians, gates, W_hh, a verdict.

    diag = diagnose(model, lambda m: loss_fn(m(x), y))     # one forward, one backward
    print(diag.text())                                     # the verdict with its numbers
    diag.to_log()                                          # flat {name: float} for a logger

`loss_of(model)` must run the model on one batch of equal-length sequences and return the scalar
loss; the backward it gets is rnnkit's own BPTT, which records dL/dh_t of every step on the way
(no second backward pass). Parameters' .grad are left as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from rnnkit.diagnostics.gradients import record_state_grads
from rnnkit.diagnostics.plots import plot_diagnosis
from rnnkit.diagnostics.stats import gate_saturation, jacobian_norms, spectral_radii
from rnnkit.diagnostics.trace import capture_inputs, rnn_layers, trace_layer
from rnnkit.diagnostics.verdict import Verdict, judge
from rnnkit.files import make_dir, write_text


@dataclass
class LayerDiagnosis:
    """One layer and direction of one rnnkit module."""

    module: str
    layer: int
    direction: int
    grad_norms: list[float]  # batch-mean ||dL/dh_t|| by distance 0 .. T-1 from the last step
    jacobian: list[float]  # batch-mean ||dh_T/dh_t|| by distance 1 .. T-1
    saturation: dict[str, dict[str, float]]
    spectral: dict[str, dict[str, float]]
    verdict: Verdict

    @property
    def label(self) -> str:
        name = self.module or "rnn"
        return f"{name}.l{self.layer}" + (".reverse" if self.direction else "")


@dataclass
class Diagnosis:
    loss: float
    norm: str  # "fro" or "spectral": the Jacobian norm used
    layers: list[LayerDiagnosis] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """The worst over layers: exploding, then vanishing, then healthy."""
        kinds = [d.verdict.kind for d in self.layers]
        return next((k for k in ("exploding", "vanishing") if k in kinds), "healthy")

    def text(self) -> str:
        lines = [f"loss {self.loss:.4g}; verdict: {self.verdict}"]
        for d in self.layers:
            lines.append(f"{d.label}: {d.verdict.kind}: {d.verdict.reason}")
            sat = ", ".join(f"{g} {100 * s['low']:.0f}%/{100 * s['high']:.0f}%"
                            for g, s in d.saturation.items())
            if sat:
                lines.append(f"  gates saturated (<0.05 / >0.95): {sat}")
            rad = ", ".join(f"{g} {s['radius']:.3g}" for g, s in d.spectral.items())
            lines.append(f"  spectral radius of W_hh per gate block: {rad}")
        return "\n".join(lines)

    def to_log(self, prefix: str = "diag/") -> dict[str, float]:
        """Flat {name: float}: the verdict's numbers, saturation and radii per layer."""
        out: dict[str, float] = {f"{prefix}loss": self.loss}
        for d in self.layers:
            p = f"{prefix}{d.label}."
            v = d.verdict
            out[p + "grad_h_near"] = v.grad_near
            out[p + "grad_h_far"] = v.grad_far
            out[p + "jacobian_d1"] = v.jac_near
            out[p + "jacobian_far"] = v.jac_far
            out[p + "jacobian_per_step"] = v.per_step
            out[p + "vanishing"] = float(v.kind == "vanishing")
            out[p + "exploding"] = float(v.kind == "exploding")
            for g, s in d.saturation.items():
                out[p + f"sat_{g}_low"] = s["low"]
                out[p + f"sat_{g}_high"] = s["high"]
            for g, s in d.spectral.items():
                out[p + f"radius_{g}"] = s["radius"]
        return out


def diagnose(model: nn.Module, loss_of: Callable[[nn.Module], Tensor], norm: str = "fro",
             jacobian_rows: int = 8) -> Diagnosis:
    """All the figures for `model` on the batch `loss_of` runs; see the module docstring.
    jacobian_rows: the Jacobians are averaged over the first this many batch rows."""
    if jacobian_rows < 1:
        raise ValueError(f"jacobian_rows must be >= 1, got {jacobian_rows}")
    layers = rnn_layers(model)
    saved = {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}
    with capture_inputs(model) as calls, record_state_grads(model) as rec:
        loss = loss_of(model)
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise ValueError("diagnose: loss_of(model) must return a scalar tensor")
        loss.backward()
    for n, p in model.named_parameters():
        p.grad = saved[n]
    diag = Diagnosis(float(loss.detach()), norm)
    for name, layer in layers.items():
        if name not in calls:
            continue  # a layer the loss did not use
        plain = trace_layer(layer, calls[name])
        with torch.enable_grad():
            graph = trace_layer(layer, calls[name], rows=jacobian_rows, requires_grad=True)
        for (index, d), tr in plain.items():
            gn = rec.grads(name, index, d, 0).norm(dim=-1).mean(dim=1)  # (T,) time order
            gn = gn.flip(0) if d == 0 else gn  # by distance from the last processed step
            jac = jacobian_norms(graph[(index, d)], norm)
            diag.layers.append(LayerDiagnosis(
                name, index, d, gn.tolist(), jac.tolist(), gate_saturation(layer, tr),
                spectral_radii(layer, index, d), judge(gn.tolist(), jac.tolist())))
    return diag


def training_figures(model: nn.Module, loss_of: Callable[[nn.Module], Tensor],
                     prefix: str = "diag/") -> dict[str, float]:
    """For a trainer's log every N steps: `diagnose(...).to_log(prefix)`; leaves .grad alone.
    The model runs in eval mode for it (no dropout: the replayed layers match it exactly, and no
    random numbers are drawn, so a resumed run stays the same) and returns to its mode after.
    Non-finite figures are kept (a logger should record that the gradient exploded)."""
    was_training = model.training
    model.eval()
    try:
        return diagnose(model, loss_of).to_log(prefix)
    finally:
        model.train(was_training)


def write_report(model: nn.Module, loss_of: Callable[[nn.Module], Tensor], out: str | Path,
                 title: str = "", norm: str = "fro") -> tuple[Diagnosis, Path, Path]:
    """diagnose(), then out/diagnosis.png (gradient flow, gate saturation), out/diagnosis.txt
    (the verdict with its numbers) and out/diagnosis.json (every figure)."""
    out = Path(out)
    make_dir(out)
    diag = diagnose(model, loss_of, norm)
    png = plot_diagnosis(diag, out / "diagnosis.png", title)
    txt = out / "diagnosis.txt"
    write_text(txt, diag.text() + "\n")
    write_text(out / "diagnosis.json", json.dumps(asdict(diag), indent=1, default=str))
    return diag, png, txt
