"""Figures with matplotlib's Agg canvas (no display, no pyplot global state). Small PNGs."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnkit.files import make_dir, save_figure

DPI = 80


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    make_dir(path.parent)
    FigureCanvasAgg(fig)
    fig.tight_layout()
    return save_figure(fig, path, dpi=DPI)


def _positive(xs, ys):
    """Points a log axis can show (a zero or non-finite norm is left out, not faked)."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y) and y > 0]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_diagnosis(diag, path: str | Path, title: str = "") -> Path:
    """Left: ||dL/dh_t|| and ||dh_T/dh_t|| against distance (log scale); right: gate saturation."""
    fig = Figure(figsize=(10, 3.8))
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for d in diag.layers:
        line, = ax.plot(*_positive(range(len(d.grad_norms)), d.grad_norms),
                        label=f"{d.label} ||dL/dh_t||")
        ax.plot(*_positive(range(1, len(d.jacobian) + 1), d.jacobian), "--",
                color=line.get_color(), label=f"{d.label} ||dh_T/dh_t|| ({diag.norm})")
    ax.set_yscale("log")
    ax.set_xlabel("distance T - t (steps)")
    ax.set_ylabel("norm (batch mean)")
    ax.set_title(f"{title} gradient flow: {diag.verdict}".strip())
    ax.legend(fontsize=7)
    names, lows, highs = [], [], []
    for d in diag.layers:
        for g, s in d.saturation.items():
            names.append(f"{d.label} {g}")
            lows.append(100 * s["low"])
            highs.append(100 * s["high"])
    xs = range(len(names))
    bx.bar([x - 0.2 for x in xs], lows, 0.4, label="< 0.05")
    bx.bar([x + 0.2 for x in xs], highs, 0.4, label="> 0.95")
    bx.set_xticks(list(xs), names, fontsize=6, rotation=90)
    bx.set_ylim(0, max([1.0, *lows, *highs]) * 1.1)
    bx.set_ylabel("% of activations saturated")
    bx.set_title("gate saturation (tanh units as (a+1)/2)")
    bx.legend(fontsize=7)
    return _save(fig, path)


def plot_flow(curves: dict[str, list[float]], path: str | Path, title: str) -> Path:
    """||dL/dh_t|| against distance, one line per label (e.g. "start", "end"), log scale."""
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot(1, 1, 1)
    for label, norms in curves.items():
        ax.plot(*_positive(range(len(norms)), norms), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("distance T - t from the loss (steps)")
    ax.set_ylabel("||dL/dh_t|| (batch mean)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_curves(curves: dict[str, list[tuple[int, float]]], path: str | Path, title: str,
                ylabel: str, baseline: float | None = None, log: bool = False) -> Path:
    """Learning curves: one line per label of (step, value); the baseline as a dotted line."""
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot(1, 1, 1)
    for label, pts in curves.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle=":", label=f"baseline {baseline:.3g}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)
