"""Reading a saved run for the commands that use one (caption, evaluate, forecast, generate,
predict, transcribe, translate), and telling the user which command fits a run of another task."""

from __future__ import annotations

import importlib
from types import ModuleType

from rnnkit.errors import RnnkitError

# The command that uses a run of each task (`evaluate` works on all of them).
COMMAND_FOR = {"lm": "generate", "classify": "predict", "forecast": "forecast",
               "recognize": "transcribe", "translate": "translate",
               "caption": "caption", "video": "predict"}


def load_run(run_dir: str, which: str):
    """(config, metadata, state_dict) of RUN_DIR's `which` checkpoint, by the engine's reader.
    Imported here, on use, so `rnnkit --help` does not load the training package."""
    from rnnkit.training.checkpoint import load_run as read

    return read(run_dir, which)


def run_task(config: dict, metadata: dict) -> str | None:
    """The task a run was trained on: config.json's task_name, else the checkpoint's own."""
    name = config.get("task_name") if isinstance(config, dict) else None
    if not isinstance(name, str) and isinstance(metadata, dict):
        name = metadata.get("task")
    return name if isinstance(name, str) else None


def wrong_task(run_dir, task: str, command: str) -> RnnkitError:
    """One line naming the run's task and the command that fits it."""
    article = "an" if task[:1].lower() in "aeiou" or task == "lm" else "a"
    fits = COMMAND_FOR.get(task, "evaluate")
    also = "" if fits == "evaluate" else " (or `rnnkit evaluate`)"
    return RnnkitError(f"{run_dir} is {article} {task} run, which `{command}` does not take; "
                       f"use `rnnkit {fits}`{also} with it")


def require_task(config: dict, metadata: dict, run_dir, command: str, wanted: str) -> None:
    """For a command that takes runs of one task only (`wanted`): a one-line error for a run of
    another task, before its settings are read; nothing when the run names no task."""
    task = run_task(config, metadata)
    if task is not None and task != wanted:
        raise wrong_task(run_dir, task, command)


def task_module(config: dict, metadata: dict, member: str, command: str,
                run_dir="the run") -> ModuleType:
    """The run's task module (config.json's `task_name`), which must have `member` (e.g.
    `evaluate_loaded` for `rnnkit evaluate`): each command dispatches on the run's task, so a
    new task plugs in by defining the member."""
    name = config.get("task_name") or metadata.get("task")
    if not isinstance(name, str) or not name.isidentifier():
        raise RnnkitError(f"run config has no valid task_name (got {name!r})")
    try:
        module = importlib.import_module(f"rnnkit.tasks.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"rnnkit.tasks.{name}":
            raise
        raise RnnkitError(f"the run's task {name!r} is not installed in this rnnkit") from None
    if not hasattr(module, member):
        raise wrong_task(run_dir, name, command)
    return module
