"""Run a classic experiment over cells and lengths: a table against the baseline, and figures.

    rows = run_experiment("adding", ["rnn", "lstm", "gru"], [100, 200], RunSettings(steps=2000),
                          out="runs/adding")

writes into `out`: results.json (every number, learning curves and gradient flows), per length
curves_<name>_T<T>.png (evaluation error against step, every cell, the baseline dotted), per cell
and length flow_<name>_<cell>_T<T>.png (||dL/dh_t|| against distance before and after training),
and flow_<name>_T<T>.png (all cells at initialisation and after training, one figure).
`exploding` trains each cell twice from a large recurrent initialisation (W_hh gate blocks
rescaled to spectral radius `init_scale`): clipping off, then on, and plots the gradient norm.
With `init="chrono"` the LSTM and GRU runs are labelled "lstm chrono", "gru chrono" (in the table,
results.json and file names: flow_<name>_lstm_chrono_T<T>.png); the Elman RNN keeps its default.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path

from rnnkit.experiments import adding, blocks, copy
from rnnkit.experiments.common import (
    Problem,
    RunResult,
    RunSettings,
    check_init,
    gated,
    train_problem,
)
from rnnkit.files import write_text
from rnnkit.functional import registry

PROBLEMS: dict[str, Problem] = {"adding": adding.PROBLEM, "copy": copy.PROBLEM,
                                "blocks": blocks.PROBLEM}
EXPERIMENTS = (*PROBLEMS, "exploding")
EXPLODING_SCALE = 3.0  # the default spectral radius of the large initialisation


def check_names(name: str, cells: list[str], lengths: list[int], init: str = "default") -> None:
    if name not in EXPERIMENTS:
        raise ValueError(f"experiment: expected one of {', '.join(EXPERIMENTS)}, got {name!r}")
    if not cells:
        raise ValueError(f"--cells: expected names from {', '.join(registry.names())}, got none")
    for c in cells:
        registry.get(c, key="--cells")  # an unknown name: the error lists the known ones
    if not lengths or any(t < 2 for t in lengths):
        raise ValueError(f"--lengths: expected integers >= 2, got {lengths}")
    if init == "chrono" and not any(gated(c) for c in cells):
        raise ValueError(f"--init chrono: expected --cells with lstm or gru (the Elman RNN has "
                         f"no gate to initialise), got {','.join(cells)}")


def run_experiment(name: str, cells: list[str], lengths: list[int], settings: RunSettings,
                   out: str | Path | None = None, log=print) -> list[RunResult]:
    """Train every (length, cell) one after the other; see the module docstring."""
    check_names(name, cells, lengths, settings.init)
    check_init(settings)
    problem = PROBLEMS["adding" if name == "exploding" else name]
    runs: list[tuple[str, RunSettings]] = [("", settings)]
    if name == "exploding":
        scale = settings.init_scale or EXPLODING_SCALE
        clip = settings.clip or 1.0
        runs = [(" clip off", replace(settings, init_scale=scale, clip=None)),
                (f" clip {clip:g}", replace(settings, init_scale=scale, clip=clip))]
    results = []
    for length in lengths:
        for cell in cells:
            for suffix, s in runs:
                chrono = " chrono" if s.init == "chrono" and gated(cell) else ""
                label = cell + chrono + suffix  # e.g. "lstm chrono", "rnn clip off"

                def progress(step, train, err, label=label, length=length):
                    log(f"  {name} T={length} {label}: step {step}: train {train:.4g}, "
                        f"eval {problem.error_name} {err:.4g}")

                r = train_problem(problem, cell, length, s, on_eval=progress)
                r.problem, r.cell = name, label
                results.append(r)
                if out is not None:  # after every run, so a long sweep can be stopped
                    write_figures([r for r in results if r.length == length], problem, out)
                    path = Path(out) / "results.json"
                    write_text(path, json.dumps(_finite([asdict(r) for r in results]), indent=1))
    return results


def _finite(tree):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(tree, dict):
        return {k: _finite(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_finite(v) for v in tree]
    if isinstance(tree, float) and not math.isfinite(tree):
        return None
    return tree


def write_figures(results: list[RunResult], problem: Problem, out: str | Path) -> list[Path]:
    """The PNGs of one length (see the module docstring)."""
    from rnnkit.diagnostics.plots import plot_curves, plot_flow

    out = Path(out)
    name, T = results[0].problem, results[0].length
    paths = [plot_curves({r.cell: [(s, e) for s, _, e in r.curve] for r in results},
                         out / f"curves_{name}_T{T}.png", f"{name}, T = {T}: evaluation error",
                         problem.error_name, results[0].baseline, log=True)]
    for r in results:
        paths.append(plot_flow({"initialisation": r.flow_start["norm"],
                                f"after {r.steps} steps": r.flow_end["norm"]},
                               out / f"flow_{name}_{r.cell.replace(' ', '_')}_T{T}.png",
                               f"{name}, T = {T}, {r.cell}: gradient reaching h_t"))
    flows = {f"{r.cell} init": r.flow_start["norm"] for r in results}
    flows.update({f"{r.cell} trained": r.flow_end["norm"] for r in results})
    paths.append(plot_flow(flows, out / f"flow_{name}_T{T}.png",
                           f"{name}, T = {T}: ||dL/dh_t|| against distance"))
    if name == "exploding":
        paths.append(plot_curves({r.cell: list(enumerate(r.grad_norms, 1)) for r in results},
                                 out / f"gradnorm_{name}_T{T}.png",
                                 f"T = {T}: total gradient norm before clipping", "norm",
                                 log=True))
    return paths


def table(results: list[RunResult], error_name: str) -> str:
    """Plain-text table: final error against the baseline, steps and seconds."""
    head = f"{'experiment':10} {'cell':14} {'T':>5} {'steps':>6} {'seconds':>8} " \
           f"{error_name:>12} {'baseline':>9} {'/ baseline':>10}"
    lines = [head, "-" * len(head)]
    for r in results:
        ratio = r.error / r.baseline if r.baseline else math.nan
        lines.append(f"{r.problem:10} {r.cell:14} {r.length:5d} {r.steps:6d} {r.seconds:8.1f} "
                     f"{r.error:12.4g} {r.baseline:9.4g} {ratio:10.3g}")
    return "\n".join(lines)
