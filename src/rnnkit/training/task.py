"""The Task contract: what the trainer needs from a task, and how a task module is found.

A task module `rnnkit/tasks/<name>.py` (or package `rnnkit/tasks/<name>/`) exposes
  - `Config`: a dataclass (typed fields; nested dataclasses such as `data` and `model`; the
    comment after each field is its one line in `rnnkit train TASK --help`),
  - `TRAIN_DEFAULTS`: dict of dotted overrides of the engine's defaults ({"optim.lr": 2e-3}),
  - `make_task(cfg: Config) -> Task`,
  - optionally `DATA_KEY`: the dotted key that `rnnkit train TASK --data X` sets.

The trainer knows nothing about models or data beyond this contract: it asks the task for a
model, for one epoch of batches, for the loss of a batch, and for validation metrics.

Optional members a task may add (the trainer uses them when present):
  - `item_unit: str` - what `StepOutput.n_items` counts, for the progress line ("tok",
    "samples"); default "items".
  - `ensemble(models: list[nn.Module]) -> nn.Module` - the members (each from build_model())
    as one model; needed for `train.ensemble` > 1 (rnnkit.training.ensemble).
  - `member(k: int) -> Task` - the task ensemble member k trains (classify's k-fold: its own
    validation fold); without it every member trains the task itself. One model is member 0.
  - `auto_ensemble() -> int` - how many members `train.ensemble = 0` (auto) trains, chosen from
    the task's training data (classify: rnnkit.tasks.classify.auto); without it, auto is 1.
  - `calibrate(model) -> dict | None` - what the task fits on its validation data with the
    trained model (forecast: the interval scale); called after training on the best and last
    checkpoints, saved in RUN_DIR/calibration.json (rnnkit.training.calibration).
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.errors import RnnkitError
from rnnkit.tasks._contract import StepOutput, Task  # noqa: F401  (the contract, re-exported)
from rnnkit.training.registry import available_tasks, load_task_module  # noqa: F401


def check_step_output(out: Any, task_name: str) -> StepOutput:
    """The trainer's check of what Task.step returned (one clear line when it is wrong)."""
    if not isinstance(out, StepOutput):
        raise RnnkitError(f"task {task_name!r}: step() must return StepOutput, got "
                          f"{type(out).__name__}")
    if not (torch.is_tensor(out.loss) and out.loss.dim() == 0):
        raise RnnkitError(f"task {task_name!r}: StepOutput.loss must be a scalar tensor, got "
                          f"{getattr(out.loss, 'shape', type(out.loss).__name__)}")
    return out
