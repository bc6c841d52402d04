"""Using a trained tag run: `rnnkit evaluate` (test split or a GenBank file: per-base and segment
scores, the k-mer window baseline on the same bases, RUN_DIR/tags.png) and `rnnkit predict`
(a FASTA file: one tag string per record)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.dna import encode
from rnnkit.data.fasta import read_fasta
from rnnkit.data.genbank import is_genbank_name, read_genbank
from rnnkit.data.genome_regions import coding_tags
from rnnkit.data.tag_sets import TAG_LETTERS, Stretch, load_tag_data
from rnnkit.errors import DataError
from rnnkit.models.ensemble import model_from_state
from rnnkit.models.kmer_baseline import fit_window_baseline
from rnnkit.tasks.tag.metrics import tag_report
from rnnkit.tasks.tag.plots import plot_tags
from rnnkit.tasks.tag.task import TagTask, config_from_run, task_from_metadata

PLOT_BASES = 6000  # the figure shows this much of the first evaluated stretch


def rebuild(config: dict, metadata: dict, state_dict: dict, device="cpu"):
    task = task_from_metadata(config_from_run(config), metadata)
    return task, model_from_state(task, state_dict).to(device).eval()


def _run_data(task: TagTask):
    d = task.cfg.data
    data = load_tag_data(d.name, d.test_fraction, d.valid_fraction, d.seed, d.chunk, d.stride,
                         d.block)
    saved = task.split.get("regions")
    if saved is not None and saved != data.split["regions"]:
        raise DataError(f"{d.name}: its region split differs from the run's saved split (the "
                        "installed data changed?)")
    return data


def _stretches(task: TagTask, data) -> tuple[str, list[Stretch]]:
    if data in (None, "", "test"):
        return f"{task.cfg.data.name} test", _run_data(task).test
    if not is_genbank_name(str(data)):
        raise DataError(f"{data}: expected 'test' or a GenBank file (.gb, .gbk, optionally .gz) "
                        "whose CDS features give the tags")
    records = read_genbank(data, kinds=("CDS",))
    return str(data), [Stretch(r.sequence, coding_tags(r).astype(np.int64), r.id, 0)
                       for r in records]


def _baseline(task: TagTask, stretches: list[Stretch]) -> dict:
    data = _run_data(task)
    base = fit_window_baseline([(s.sequence, s.tags) for s in data.train],
                               [(s.sequence, s.tags) for s in data.valid])
    preds = [base.predict(s.sequence) for s in stretches]
    report = tag_report([s.tags for s in stretches], preds, task.classes)
    keep = ("accuracy", "macro_f1", "coding_f1", "segment_f1", "segment_f1_exact")
    return {**{k: report[k] for k in keep}, "k_max": base.k_max, "half_window": base.half}


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data=None,
                    batch_size: int = 0, device: str = "cpu", run_dir=None) -> dict:
    """Per-base and segment scores of a loaded run on its test stretches (or a GenBank file),
    beside the k-mer window baseline; with `run_dir`, RUN_DIR/tags.png."""
    task, model = rebuild(config, metadata, state_dict, device)
    source, stretches = _stretches(task, data)
    items = [(encode(s.sequence), s.tags) for s in stretches]
    report = {"data": source, "n_bases": int(sum(len(t) for _, t in items)),
              **task.score(model, items)}
    report["kmer_baseline"] = _baseline(task, stretches)
    if run_dir is not None:
        first = stretches[0]
        n = min(PLOT_BASES, len(first.sequence))
        probs = task.predict(model, [items[0][0][:n]])[0]
        report["plot"] = str(plot_tags(first.tags[:n], probs, first.start,
                                       f"{first.record} {source}", Path(run_dir) / "tags.png"))
    return report


def format_report(report: dict) -> str:
    lines = [f"data      {report['data']} ({report['n_bases']} bases)"]
    lines += [f"{k:<16} {v:.4f}" for k, v in report.items() if isinstance(v, float)]
    lines.append("F1 per tag: " + ", ".join(f"{c} {v:.4f}"
                                            for c, v in report["per_tag_f1"].items()))
    seg = report["segments"]
    lines.append(f"coding segments: {seg['annotated']} annotated, {seg['predicted']} predicted, "
                 f"{seg['matched']} matched (IoU >= 0.5)")
    base = report.get("kmer_baseline")
    if base:
        lines.append(f"k-mer window baseline (k <= {base['k_max']}, +-{base['half_window']} "
                     f"bases, logistic regression): accuracy {base['accuracy']:.4f}, macro_f1 "
                     f"{base['macro_f1']:.4f}, coding_f1 {base['coding_f1']:.4f}, segment_f1 "
                     f"{base['segment_f1']:.4f}")
    if "plot" in report:
        lines.append(f"plot: {report['plot']}")
    return "\n".join(lines)


def predict_loaded(config: dict, metadata: dict, state_dict: dict, path):
    """(classes, one tag string per FASTA record ('.' non-coding, '+' / '-' coding on that
    strand), the mean probability of each tag over the record's bases (N, K))."""
    task, model = rebuild(config, metadata, state_dict)
    records = read_fasta(path)
    probs = task.predict(model, [encode(r.sequence) for r in records])
    labels = ["".join(TAG_LETTERS[t] for t in p.argmax(1)) for p in probs]
    return task.classes, labels, np.stack([p.mean(0) for p in probs])
