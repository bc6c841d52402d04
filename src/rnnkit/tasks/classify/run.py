"""Using a trained classify run: predict labels for a file, evaluate on the test split or a file.

The CLI reads a run with the engine's `rnnkit.training.checkpoint.load_run(run_dir, which)` ->
(resolved config, metadata, model state_dict) and hands those here (tasks import nothing from
rnnkit.training); the model is rebuilt from the config and the metadata (classes, scaler,
vocabulary), so nothing but the run directory is needed to predict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.dna_sets import read_dna_file
from rnnkit.data.tabular import read_text_csv
from rnnkit.data.ts_format import read_ts
from rnnkit.errors import DataError
from rnnkit.models.ensemble import model_from_state
from rnnkit.tasks._metrics import plot_confusion
from rnnkit.tasks.classify.dna_report import dna_extras, format_dna
from rnnkit.tasks.classify.task import ClassifyTask, config_from_run, load_data, task_from_metadata


def rebuild(config: dict, metadata: dict, state_dict: dict, device="cpu"):
    """(task without data, model in eval mode on `device`) from what load_run returns; an
    ensemble run's state_dict (members.<k>.*) gives the averaging ensemble of its members."""
    task = task_from_metadata(config_from_run(config), metadata)
    return task, model_from_state(task, state_dict).to(device).eval()


def read_inputs(task: ClassifyTask, path, labelled: bool):
    """(inputs, labels or None) of a CSV (text runs), .ts file (series runs), or FASTA / CSV
    with a `sequence` column (DNA runs)."""
    path = Path(path)
    if task.prep.kind == "dna":
        label_column = task.cfg.data.label_column if labelled else None
        xs, ys, _, _ = read_dna_file(path, label_column)
        return xs, ys
    is_ts = path.suffix.lower() == ".ts"
    if task.prep.kind == "series" and not is_ts:
        raise DataError(f"{path}: this run classifies series; expected a .ts file")
    if task.prep.kind == "text" and is_ts:
        raise DataError(f"{path}: this run classifies text; expected a CSV file")
    if is_ts:
        ts = read_ts(path)
        if labelled and not ts.labels:
            raise DataError(f"{path}: no labels in the file; evaluation needs them")
        return ts.series, (ts.labels if labelled else None)
    d = task.cfg.data
    texts, labels = read_text_csv(path, d.text_column, d.label_column if labelled else None)
    return texts, (labels if labelled else None)


def predict_loaded(config: dict, metadata: dict, state_dict: dict, path):
    """(classes, predicted label per item, probabilities (N, K)) for the rows/cases of `path`;
    regression: (None, values, values)."""
    task, model = rebuild(config, metadata, state_dict)
    xs, _ = read_inputs(task, path, labelled=False)
    out, _ = task.outputs(model, task.prep.encode_items(xs, None, str(path)))
    if task.prep.regression:
        values = task.prep.target_values(out)
        return None, values.tolist(), values
    classes = task.prep.classes
    return classes, [classes[i] for i in out.argmax(1)], out


def _test_items(task: ClassifyTask):
    """The run's own test split, checked to be the split it was trained with."""
    data = load_data(task.cfg.data)
    saved = task.split.get("test", {}).get("test_indices")
    regions = task.split.get("test", {}).get("regions")  # DNA sets split by genome region
    if regions is not None and regions != data.split.get("regions"):
        raise DataError(f"dataset {data.name!r}: its region split differs from the run's saved "
                        "split (the installed data changed?)")
    if saved is not None and saved != data.split.get("test_indices"):
        raise DataError(f"dataset {data.name!r}: its test split differs from the run's saved "
                        "split indices (the installed data changed?)")
    return data.name, task.prep.encode_items(data.test_x, data.test_y, f"{data.name} test"), data


def format_report(report: dict) -> str:
    """The report as text: one line per number, then the confusion matrix."""
    lines = [f"data      {report['data']} ({report['n_items']} items)"]
    lines += [f"{k:<9} {v:.4f}" for k, v in report.items() if isinstance(v, float)]
    if "confusion_matrix" in report:
        names = [str(c) for c in report["classes"]]
        width = max(5, *(len(n) for n in names))
        lines.append("confusion matrix (rows: true, columns: predicted)")
        lines.append(" " * width + " " + " ".join(f"{n:>{width}}" for n in names))
        for name, row in zip(names, report["confusion_matrix"], strict=True):
            lines.append(f"{name:>{width}} " + " ".join(f"{c:>{width}d}" for c in row))
    lines += format_dna(report)
    if "plot" in report:
        lines.append(f"plot: {report['plot']}")
    return "\n".join(lines)


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data=None,
                    batch_size: int = 0, device: str = "cpu", run_dir=None) -> dict:
    """The report of a loaded run on `data` (None/'test': the run's test split, or a labelled
    CSV/.ts path): loss, accuracy, macro_f1, confusion_matrix, classes (regression: rmse, mae);
    with `run_dir`, also confusion_matrix.png there ('plot' gives its path)."""
    task, model = rebuild(config, metadata, state_dict, device)
    if batch_size:
        task.cfg.data.batch_size = batch_size
    if data in (None, "", "test"):
        source, items, dataset = _test_items(task)
        test_x = dataset.test_x
    else:
        test_x, ys = read_inputs(task, data, labelled=True)
        source, items = str(data), task.prep.encode_items(test_x, ys, str(data))
    report = {"data": source, "n_items": len(items), **task.score(model, items)}
    if task.prep.kind == "dna":  # per-class F1 and the k-mer baseline on the same test items
        report.update(dna_extras(task, report, test_x, [task.prep.classes[y] for _, y in items]))
    if run_dir is not None and not task.prep.regression:
        path = Path(run_dir) / "confusion_matrix.png"
        cm = np.array(report["confusion_matrix"])
        report["plot"] = str(plot_confusion(cm, report["classes"], path, source))
    return report

