"""Finding task modules: rnnkit/tasks/<name>.py, listed without importing them (so that
`rnnkit --help` stays fast) and checked against the contract when loaded."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from rnnkit.errors import RnnkitError

TASKS_PACKAGE = "rnnkit.tasks"


def available_tasks() -> list[str]:
    """Names of the task modules under rnnkit/tasks (found without importing them)."""
    package = importlib.import_module(TASKS_PACKAGE)
    names = {m.name for m in pkgutil.iter_modules(package.__path__)}
    return sorted(n for n in names if not n.startswith("_"))


def load_task_module(name: str) -> ModuleType:
    """Import rnnkit.tasks.<name> and check that it follows the contract."""
    known = available_tasks()
    if name not in known:
        listing = ", ".join(known) or "(none installed)"
        raise RnnkitError(f"TASK: unknown task {name!r}; available tasks: {listing}")
    module = importlib.import_module(f"{TASKS_PACKAGE}.{name}")
    for member in ("Config", "make_task"):
        if not hasattr(module, member):
            raise RnnkitError(f"task module {module.__name__} has no {member}; a task module "
                              "exposes Config, TRAIN_DEFAULTS and make_task(cfg)")
    return module
