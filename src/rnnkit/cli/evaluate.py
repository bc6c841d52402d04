"""`rnnkit evaluate RUN_DIR --data NAME_OR_PATH`: a saved model's metrics on other data.

Dispatches on the run's task: the task module's `evaluate_run(config, metadata, state_dict, data,
batch_size=..., device=...) -> dict[str, float]` computes the metrics (for `lm`: loss, bpc,
perplexity)."""

from __future__ import annotations

import importlib
import json

from rnnkit.errors import RnnkitError


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="metrics of a trained run on a data set")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `rnnkit train`")
    p.add_argument("--data", required=True, metavar="NAME_OR_PATH",
                   help="a named corpus (stdlib, shakespeare), a file, directory or glob")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _load_run(run_dir: str, which: str):
    from rnnkit.training.checkpoint import load_run

    return load_run(run_dir, which)


def task_evaluator(config: dict, metadata: dict):
    """The `evaluate_run` function of the run's task module."""
    name = config.get("task_name") or metadata.get("task")
    if not isinstance(name, str) or not name.isidentifier():
        raise RnnkitError(f"run config has no valid task_name (got {name!r})")
    try:
        module = importlib.import_module(f"rnnkit.tasks.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"rnnkit.tasks.{name}":
            raise
        raise RnnkitError(f"the run's task {name!r} is not installed in this rnnkit") from None
    evaluator = getattr(module, "evaluate_run", None)
    if evaluator is None:
        raise RnnkitError(f"task {name!r} does not support `rnnkit evaluate` (no evaluate_run)")
    return evaluator


def run(args) -> int:
    if args.batch_size < 1:
        raise RnnkitError(f"--batch-size: expected an integer >= 1, got {args.batch_size}")
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    metrics = task_evaluator(config, metadata)(
        config, metadata, state_dict, args.data, batch_size=args.batch_size, device=args.device
    )
    if args.json:
        print(json.dumps(metrics))
    else:
        width = max(map(len, metrics))
        for key, value in metrics.items():
            print(f"{key:<{width}}  {value:.6g}")
    return 0
