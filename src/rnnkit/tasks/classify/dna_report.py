"""What `rnnkit evaluate` adds for a DNA run: the F1 of each class and the bag-of-k-mers
baseline (rnnkit.models.kmer_baseline) fitted on the run's own training part, its settings picked
on the run's validation part, and scored on the same test items as the model."""

from __future__ import annotations

import numpy as np

from rnnkit.models.kmer_baseline import fit_kmer_baseline
from rnnkit.tasks._metrics import confusion_matrix, macro_f1
from rnnkit.tasks.classify.task import ClassifyTask, load_data


def per_class_f1(cm, classes) -> dict[str, float]:
    """{class: F1 = 2 TP / (2 TP + FP + FN)} (0.0 for a class never seen nor predicted)."""
    cm = np.asarray(cm)
    tp = np.diag(cm).astype(np.float64)
    denom = 2 * tp + (cm.sum(0) - tp) + (cm.sum(1) - tp)
    return {str(c): float(2 * t / d) if d else 0.0 for c, t, d in zip(classes, tp, denom,
                                                                        strict=True)}


def dna_extras(task: ClassifyTask, report: dict, test_x, test_labels) -> dict:
    """{'per_class_f1', 'kmer_baseline': {accuracy, macro_f1, per_class_f1, k_max, C}}."""
    classes = task.prep.classes
    data = load_data(task.cfg.data)
    held = set(task.split.get("valid", {}).get("indices") or [])
    train = [(x, y) for i, (x, y) in enumerate(zip(data.train_x, data.train_y, strict=True))
             if i not in held]
    valid = [(data.train_x[i], data.train_y[i]) for i in sorted(held)]
    baseline = fit_kmer_baseline([x for x, _ in train], [y for _, y in train],
                                 [x for x, _ in valid], [y for _, y in valid])
    pred = baseline.predict(list(test_x))
    index = {c: i for i, c in enumerate(classes)}
    cm = confusion_matrix([index[y] for y in test_labels], [index[str(p)] for p in pred],
                          len(classes))
    return {"per_class_f1": per_class_f1(report["confusion_matrix"], classes),
            "kmer_baseline": {"accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
                              "macro_f1": macro_f1(cm), "per_class_f1": per_class_f1(cm, classes),
                              "k_max": baseline.k_max, "C": baseline.C}}


def format_dna(report: dict) -> list[str]:
    """Text lines for the DNA extras of a report (none when it has none)."""
    lines = []
    if "per_class_f1" in report:
        lines.append("F1 per class: " + ", ".join(f"{c} {v:.4f}"
                                                   for c, v in report["per_class_f1"].items()))
    base = report.get("kmer_baseline")
    if base:
        lines.append(f"k-mer baseline (k <= {base['k_max']}, C = {base['C']}, logistic "
                     f"regression): accuracy {base['accuracy']:.4f}, macro_f1 "
                     f"{base['macro_f1']:.4f}")
    return lines
