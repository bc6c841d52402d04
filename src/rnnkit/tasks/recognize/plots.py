"""The CTC alignment figure: an input's features over time, and the frame-wise probability of
every label that is likely somewhere (blank dashed), as `rnnkit evaluate` writes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.files import save_figure


def plot_alignment(x: np.ndarray, log_probs: np.ndarray, alphabet: str, text: str,
                   path) -> Path:
    """Write the PNG; x (T, F) features, log_probs (T', 1 + len(alphabet))."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    probs = np.exp(log_probs)
    fig = Figure(figsize=(10, 5.5))
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1)
    top.imshow(x.T, aspect="auto", origin="lower", interpolation="nearest")
    top.set_title(f"input ({x.shape[0]} frames x {x.shape[1]} features), text {text!r}")
    top.set_ylabel("feature")
    frames = np.arange(len(probs))
    bottom.plot(frames, probs[:, 0], "--", color="0.6", label="blank")
    for k in np.flatnonzero(probs[:, 1:].max(0) > 0.2) + 1:
        peak = int(probs[:, k].argmax())
        line, = bottom.plot(frames, probs[:, k])
        bottom.annotate(alphabet[k - 1], (peak, probs[peak, k]), color=line.get_color(),
                        ha="center", va="bottom", fontsize=11)
    bottom.set_xlabel("output frame")
    bottom.set_ylabel("p(label)")
    bottom.set_ylim(0, 1.1)
    bottom.legend(loc="upper right")
    fig.tight_layout()
    return save_figure(fig, Path(path), dpi=80)  # never through a link in the run directory
