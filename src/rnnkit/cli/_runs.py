"""Reading a saved run for the commands that use one (evaluate, forecast, generate, predict)."""

from __future__ import annotations

from rnnkit.errors import RnnkitError

# The command that uses a run of each task (`evaluate` works on all of them).
COMMAND_FOR = {"lm": "generate", "classify": "predict", "forecast": "forecast"}


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


def require_task(config: dict, metadata: dict, run_dir, command: str, wanted: str) -> None:
    """One line naming the run's task and the command for it, where `command` (which needs a
    `wanted` run) was given a run of another task; nothing when the task is unknown."""
    task = run_task(config, metadata)
    if task is None or task == wanted:
        return
    article = "an" if task[:1].lower() in "aeiou" or task == "lm" else "a"
    fits = COMMAND_FOR.get(task, "evaluate")
    raise RnnkitError(f"{run_dir} is {article} {task} run and `rnnkit {command}` needs a {wanted} "
                      f"run; use `rnnkit {fits}` (or `rnnkit evaluate`) with it")
