"""After training: what a task fits on its validation data with the trained model
(`task.calibrate(model) -> dict | None`, e.g. a forecaster's interval scale), saved beside the
checkpoints.

    RUN_DIR/calibration.json   {"best": {...}, "last": {...}}: task.calibrate of each checkpoint
                               (of the whole ensemble for an ensemble run)

`rnnkit.training.checkpoint.load_run(RUN_DIR, which)` returns the `which` entry as
metadata["calibration"]; the task decides whether to use it (forecast: model.calibrate).
"""

from __future__ import annotations

from pathlib import Path

import torch

from rnnkit.files import write_json
from rnnkit.training.ensemble import trained_model
from rnnkit.training.task import Task


@torch.no_grad()
def write_calibration(task: Task, run_dir: Path) -> dict | None:
    """Fit and write RUN_DIR/calibration.json (see the module doc); nothing when the task
    fits nothing (None, e.g. no validation windows)."""
    fitted = {which: task.calibrate(trained_model(task, run_dir, which))
              for which in ("best", "last")}
    if any(v is None for v in fitted.values()):
        return None
    write_json(Path(run_dir) / "calibration.json", fitted)
    return fitted
