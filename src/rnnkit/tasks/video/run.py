"""Using a trained video run: `rnnkit evaluate` (the generated test or validation clips: per-tag
F1, mAP, exact-set and motion-tag accuracy) and `rnnkit predict` (a .npy clip or a directory of
PNG frames: the tags and each tag's probability)."""

from __future__ import annotations

from rnnkit.data.video_files import read_clips
from rnnkit.errors import DataError
from rnnkit.models.ensemble import model_from_state
from rnnkit.tasks.video.task import (
    VideoTask,
    clip_items,
    config_from_run,
    load_split,
    task_from_metadata,
)

SPLITS = ("test", "valid")


def rebuild(config: dict, metadata: dict, state_dict: dict, device="cpu"):
    task = task_from_metadata(config_from_run(config), metadata)
    return task, model_from_state(task, state_dict).to(device).eval()


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data=None,
                    batch_size: int = 32, device: str = "cpu", run_dir=None) -> dict:
    """Scores of a loaded run on its generated test clips (data None or "test") or validation
    clips ("valid")."""
    split = "test" if data in (None, "") else str(data)
    if split not in SPLITS:
        raise DataError(f"--data: a video run is evaluated on its generated clips: expected "
                        f"{' or '.join(SPLITS)}, got {split!r}")
    task, model = rebuild(config, metadata, state_dict, device)
    items = clip_items(load_split(task.cfg, split))
    return {"data": f"{task.cfg.data.name} {split}", "n_clips": len(items),
            "model": task.cfg.model.kind, **task.score(model, items, batch_size)}


def format_report(report: dict) -> str:
    lines = [f"data      {report['data']} ({report['n_clips']} clips), model {report['model']}"]
    lines += [f"{k:<19} {v:.4f}" for k, v in report.items() if isinstance(v, float)]
    lines.append("F1 per tag: " + ", ".join(f"{t} {v:.3f}"
                                            for t, v in report["per_tag_f1"].items()))
    return "\n".join(lines)


def predict_loaded(config: dict, metadata: dict, state_dict: dict, path):
    """(tags, one label per clip: its predicted tags joined by spaces ("-" for none), the tag
    probabilities (N, K))."""
    task, model = rebuild(config, metadata, state_dict)
    clips = read_clips(path, task.cfg.data.size)
    probs = task.predict(model, clips)
    labels = [" ".join(t for t, p in zip(task.tags, row, strict=True) if p >= 0.5) or "-"
              for row in probs]
    return task.tags, labels, probs


__all__ = ["VideoTask", "evaluate_loaded", "format_report", "predict_loaded", "rebuild"]
