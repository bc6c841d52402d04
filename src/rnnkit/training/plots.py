"""The PNG of a run's curves (training loss raw and smoothed, validation loss, learning rate and
gradient norm), drawn from metrics.jsonl with matplotlib's Agg canvas (no global backend)."""

from __future__ import annotations

from pathlib import Path

from rnnkit.errors import RnnkitError
from rnnkit.files import save_figure
from rnnkit.training.metrics_log import read_metrics

PLOT_NAME = "curves.png"


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    run_dir = Path(run_dir)
    records = read_metrics(run_dir / "metrics.jsonl")
    if not records:
        raise RnnkitError(f"{run_dir}: no metrics.jsonl with records to plot")
    train = [r for r in records if r["kind"] == "train" and isinstance(r.get("loss"), float)]
    evals = [r for r in records if r["kind"] == "eval" and isinstance(r.get("loss"), float)]

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    ax_loss, ax_side = fig.subplots(1, 2)
    if train:
        steps = [r["step"] for r in train]
        losses = [r["loss"] for r in train]
        ax_loss.plot(steps, losses, color="tab:blue", alpha=0.3, lw=0.8, label="train")
        ax_loss.plot(steps, _smooth(losses), color="tab:blue", lw=1.5, label="train (smoothed)")
    if evals:
        ax_loss.plot([r["step"] for r in evals], [r["loss"] for r in evals], "o-",
                     color="tab:orange", label="validation")
    for r in records:
        if r["kind"] == "event" and r.get("event") == "restore":
            ax_loss.axvline(r["step"], color="tab:red", ls=":", lw=1)
    ax_loss.set(xlabel="step", ylabel="loss", title=run_dir.name)
    ax_loss.legend()
    if train:
        ax_side.plot(steps, [r.get("grad_norm") for r in train], color="tab:green", lw=0.8,
                     label="grad norm (before clipping)")
        ax_side.set(xlabel="step", ylabel="grad norm")
        ax_lr = ax_side.twinx()
        ax_lr.plot(steps, [r.get("lr") for r in train], color="tab:purple", lw=1, label="lr")
        ax_lr.set_ylabel("learning rate")
        ax_side.legend(loc="upper left")
        ax_lr.legend(loc="upper right")
    fig.tight_layout()
    out = Path(out) if out else run_dir / PLOT_NAME
    return save_figure(fig, out)  # never through a link planted in the run directory


def _smooth(values: list[float], beta: float = 0.9) -> list[float]:
    """Bias-corrected exponential moving average."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out
