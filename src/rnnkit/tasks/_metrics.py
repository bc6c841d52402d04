"""Classification metrics on integer class ids (numpy, no torch): accuracy, macro-F1, the
confusion matrix, and a PNG of it. Rows of a confusion matrix are true classes, columns predicted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.files import save_figure


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(K, K) int64 counts: entry [i, j] = items of true class i predicted as j."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def accuracy(cm: np.ndarray) -> float:
    total = cm.sum()
    return float(np.trace(cm) / total) if total else 0.0


def macro_f1(cm: np.ndarray) -> float:
    """Unweighted mean over classes of F1 = 2 TP / (2 TP + FP + FN); classes that neither occur
    nor are predicted are left out of the mean (their F1 is undefined)."""
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    denom = 2 * tp + fp + fn
    seen = denom > 0
    if not seen.any():
        return 0.0
    return float(np.mean(2 * tp[seen] / denom[seen]))


def classification_report(y_true, y_pred, classes: list[str]) -> dict:
    """{'accuracy', 'macro_f1', 'confusion_matrix' (list of lists), 'classes'}: JSON-ready."""
    cm = confusion_matrix(y_true, y_pred, len(classes))
    return {"accuracy": accuracy(cm), "macro_f1": macro_f1(cm),
            "confusion_matrix": cm.tolist(), "classes": list(classes)}


def plot_confusion(cm, classes: list[str], path: str | Path, title: str = "") -> Path:
    """Write the confusion matrix as a PNG (row-normalised colours, raw counts in the cells).
    Uses matplotlib's object API, so no global pyplot state is touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    k = len(classes)
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = max(3.5, 0.45 * k + 2.0)
    fig = Figure(figsize=(size, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(k), classes, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.5 else "black")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, Path(path))
