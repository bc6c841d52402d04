"""Using a trained classify run: predict labels for a file, evaluate on the test split or a file.

The CLI reads a run with the engine's `rnnkit.training.checkpoint.load_run(run_dir, which)` ->
(resolved config, metadata, model state_dict) and hands those here (tasks import nothing from
rnnkit.training); the model is rebuilt from the config and the metadata (classes, scaler,
vocabulary), so nothing but the run directory is needed to predict.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit.data.dna_sets import read_dna_file
from rnnkit.data.tabular import read_text_csv
from rnnkit.data.ts_format import read_ts
from rnnkit.errors import DataError
from rnnkit.files import write_json
from rnnkit.models.ensemble import model_from_state
from rnnkit.tasks._metrics import plot_confusion
from rnnkit.tasks.classify.baselines import baseline_report
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


def _load(task: ClassifyTask):
    """The run's data set (training and test split), checked to be the split it was trained
    with."""
    data = load_data(task.cfg.data)
    saved = task.split.get("test", {}).get("test_indices")
    regions = task.split.get("test", {}).get("regions")  # DNA sets split by genome region
    if regions is not None and regions != data.split.get("regions"):
        raise DataError(f"dataset {data.name!r}: its region split differs from the run's saved "
                        "split (the installed data changed?)")
    if saved is not None and saved != data.split.get("test_indices"):
        raise DataError(f"dataset {data.name!r}: its test split differs from the run's saved "
                        "split indices (the installed data changed?)")
    return data


BASELINES_FILE = "baselines.json"  # in RUN_DIR: the baselines of the run's own test split


def _baselines(task: ClassifyTask, data, test_x, test_y, run_dir) -> dict:
    """The baselines fitted on the run's whole training split and scored on (test_x, test_y);
    for the run's own test split (test_x None) they are computed once and kept in RUN_DIR."""
    cache = Path(run_dir) / BASELINES_FILE if run_dir is not None and test_x is None else None
    key = {"data": data.name, "split": data.split, "n_train": len(data.train_x)}
    if cache is not None and cache.is_file() and not cache.is_symlink():
        try:
            saved = json.loads(cache.read_text())
            if saved.get("key") == key:
                return saved["baselines"]
        except (json.JSONDecodeError, AttributeError, KeyError):
            pass  # not ours or damaged: computed again and replaced below
    if test_x is None:
        test_x, test_y = data.test_x, data.test_y
    result = baseline_report(task.prep.kind, task.prep.classes, data.train_x, data.train_y,
                             test_x, test_y)
    if cache is not None:
        write_json(cache, {"key": key, "baselines": result})
    return result


def _compare(report: dict) -> list[str]:
    """One line per baseline whose accuracy beats the run's."""
    return [f"{name} beats this run: accuracy {b['accuracy']:.4f} against "
            f"{report['accuracy']:.4f}" for name, b in report.get("baselines", {}).items()
            if b["accuracy"] > report["accuracy"]]


def format_report(report: dict) -> str:
    """The report as text: one line per number, then the confusion matrix."""
    lines = [f"data      {report['data']} ({report['n_items']} items)"]
    lines += [f"{k:<9} {v:.4f}" for k, v in report.items() if isinstance(v, float)]
    if report.get("baselines"):
        lines.append(f"{'baseline (fitted on the whole training split)':<46} accuracy macro_f1")
        lines.append(f"{'  this run':<46} {report['accuracy']:>8.4f} {report['macro_f1']:>8.4f}")
        for name, b in report["baselines"].items():
            lines.append(f"{'  ' + name:<46} {b['accuracy']:>8.4f} {b['macro_f1']:>8.4f}")
    lines += [f"NOTE: {line}" for line in report.get("baseline_wins", [])]
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
                    batch_size: int = 0, device: str = "cpu", run_dir=None,
                    baselines: bool = True) -> dict:
    """The report of a loaded run on `data` (None/'test': the run's test split, or a labelled
    CSV/.ts path): loss, accuracy, macro_f1, confusion_matrix, classes (regression: rmse, mae);
    with `run_dir`, also confusion_matrix.png there ('plot' gives its path). Classification
    with `baselines`: 'baselines' {name: {accuracy, macro_f1}} (rnnkit.tasks.classify.baselines,
    fitted on the run's training split) and 'baseline_wins', a line for each one that beats
    the run."""
    task, model = rebuild(config, metadata, state_dict, device)
    if batch_size:
        task.cfg.data.batch_size = batch_size
    dataset = xs = ys = None
    if data in (None, "", "test"):
        dataset = _load(task)
        source, test_x = dataset.name, dataset.test_x
        items = task.prep.encode_items(dataset.test_x, dataset.test_y, f"{source} test")
    else:
        xs, ys = read_inputs(task, data, labelled=True)
        source, test_x, items = str(data), xs, task.prep.encode_items(xs, ys, str(data))
    report = {"data": source, "n_items": len(items), **task.score(model, items)}
    if baselines and not task.prep.regression and task.prep.kind != "dna":  # DNA: k-mer below
        try:
            dataset = dataset or _load(task)
        except DataError as err:  # a file evaluated after the training data went away
            report["baseline_wins"] = [f"no baselines: the training split is not readable "
                                       f"({err})"]
        else:
            report["baselines"] = _baselines(task, dataset, xs, ys, run_dir)
            report["baseline_wins"] = _compare(report)
    if task.prep.kind == "dna":  # per-class F1 and the k-mer baseline on the same test items
        report.update(dna_extras(task, report, test_x, [task.prep.classes[y] for _, y in items]))
    if run_dir is not None and not task.prep.regression:
        path = Path(run_dir) / "confusion_matrix.png"
        cm = np.array(report["confusion_matrix"])
        report["plot"] = str(plot_confusion(cm, report["classes"], path, source))
    return report

