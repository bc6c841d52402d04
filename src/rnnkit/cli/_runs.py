"""Reading a saved run for the commands that use one (evaluate, forecast, generate, predict)."""

from __future__ import annotations


def load_run(run_dir: str, which: str):
    """(config, metadata, state_dict) of RUN_DIR's `which` checkpoint, by the engine's reader.
    Imported here, on use, so `rnnkit --help` does not load the training package."""
    from rnnkit.training.checkpoint import load_run as read

    return read(run_dir, which)
