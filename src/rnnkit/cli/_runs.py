"""Reading a saved run for the commands that use one (evaluate, forecast, generate, predict)."""

from __future__ import annotations

import importlib
from types import ModuleType

from rnnkit.errors import RnnkitError


def load_run(run_dir: str, which: str):
    """(config, metadata, state_dict) of RUN_DIR's `which` checkpoint, by the engine's reader.
    Imported here, on use, so `rnnkit --help` does not load the training package."""
    from rnnkit.training.checkpoint import load_run as read

    return read(run_dir, which)


def task_module(config: dict, metadata: dict, member: str, command: str) -> ModuleType:
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
        raise RnnkitError(f"task {name!r} does not support `{command}` (no {member}); "
                          "use a run of a task that does")
    return module
