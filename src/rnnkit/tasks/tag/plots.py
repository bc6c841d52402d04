"""The figure `rnnkit evaluate` writes for a tag run: annotated and predicted tags along a stretch
of genome (coding on the + strand above the line, on the - strand below), and the predicted
probability of coding on each strand."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.files import save_figure
from rnnkit.tasks.tag.metrics import segments

COLOURS = {1: "tab:blue", 2: "tab:orange"}


def _track(ax, tags, y: float, label: str) -> None:
    for start, end, tag in segments(tags):
        side = 0.25 if tag == 1 else -0.25
        ax.broken_barh([(start, end - start)], (y + side - 0.12, 0.24),
                       color=COLOURS.get(tag, "0.5"))
    ax.axhline(y, color="0.7", lw=0.6)
    ax.text(-0.01, y, label, ha="right", va="center", transform=ax.get_yaxis_transform())


def plot_tags(true: np.ndarray, probs: np.ndarray, start: int, title: str, path) -> Path:
    """Write the PNG; true (L,) tags, probs (L, 3) predicted (non-coding, +, -)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.2))
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1])
    _track(top, true, 1.0, "annotated")
    _track(top, probs.argmax(1), 0.0, "predicted")
    top.set_ylim(-0.6, 1.6)
    top.set_yticks([])
    top.set_title(f"{title}: + strand coding (blue) above each line, - strand (orange) below")
    x = np.arange(len(true))
    bottom.plot(x, probs[:, 1], color=COLOURS[1], lw=0.8, label="p(coding, +)")
    bottom.plot(x, -probs[:, 2], color=COLOURS[2], lw=0.8, label="-p(coding, -)")
    bottom.axhline(0, color="0.7", lw=0.6)
    bottom.set_ylim(-1.05, 1.05)
    bottom.set_xlabel(f"base (from {start + 1} in the genome)")
    bottom.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, Path(path), dpi=80)
