"""Training a saved run's config again with a few overrides: `rnnkit evaluate RUN_DIR --refit`.

A task's backtest asks for one model per origin, each trained on the history before that
origin only (forecast: `--data.drop_last=N --data.folds=1`); `make_refit` gives it a function
that trains the run's resolved config.json (same steps, seed, model, ensemble) with those
overrides into RUN_DIR/refit/<name>/ (a complete run, replaced on each call) and returns what
`load_run` reads from its best checkpoint. Progress goes to stderr, one line per refit, so
`--json` output stays a single JSON object on stdout.
"""

from __future__ import annotations

import shutil
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

from rnnkit.errors import RnnkitError
from rnnkit.training.checkpoint import load_run
from rnnkit.training.registry import load_task_module
from rnnkit.training.run import train
from rnnkit.training.settings import resolve


def make_refit(run_dir: str | Path, config: dict, which: str = "best", log=None):
    """`refit(overrides: list[str], name: str) -> (config, metadata, state_dict)` for the run in
    `run_dir`, whose config.json is `config`."""
    run_dir = Path(run_dir)
    name = config.get("task_name")
    if not isinstance(name, str):
        raise RnnkitError(f"{run_dir}: config.json has no task_name; cannot refit")
    module = load_task_module(name)

    def refit(overrides: list[str], tag: str):
        out = run_dir / "refit" / tag
        if out.exists() or out.is_symlink():  # a previous --refit's run: trained again
            if out.is_symlink() or not (out / "config.json").is_file():
                raise RnnkitError(f"--refit: {out} is in the way and is not a refit run of "
                                  "rnnkit (a link, or no config.json); move it away")
            shutil.rmtree(out)
        cfg = resolve(module, name, overrides=list(overrides), base=config)
        stream = log or sys.stderr
        start = time.perf_counter()
        with redirect_stdout(stream):  # nothing of the training on stdout
            task = module.make_task(cfg.task)
            summary = train(task, cfg, out, argv=["train", name, "(refit)", *overrides],
                            progress="off")
        print(f"rnnkit: refit {tag} ({' '.join(overrides)}): {summary['step']} steps in "
              f"{time.perf_counter() - start:.1f} s -> {out}", file=stream, flush=True)
        return load_run(out, which)

    return refit
