"""`rnnkit evaluate RUN_DIR [--data NAME_OR_PATH] [--json] [--refit]`: a saved model's metrics.

Dispatches on the run's task (config.json's `task_name`): the task module's
`evaluate_loaded(config, metadata, state_dict, data, batch_size=..., device=..., run_dir=...)`
returns the metrics as a dict (for `lm`: loss, bpc, perplexity; for `classify`: accuracy,
macro-F1, the confusion matrix), which this prints as one JSON object, or as text: the module's
`format_report(metrics) -> str` where it has one, else one line per metric."""

from __future__ import annotations

import inspect
import json

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import task_module
from rnnkit.cli.transcribe import add_decode_arguments, decode_options
from rnnkit.devices import check_device
from rnnkit.errors import RnnkitError


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="metrics of a trained run on a data set")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `rnnkit train`")
    p.add_argument("--data", default=None, metavar="NAME_OR_PATH",
                   help="lm: a corpus (stdlib, shakespeare), file, directory or glob; "
                        "classify: test (default), or a CSV / .ts file; "
                        "forecast: a bundled series or CSV (default: the run's own); "
                        "recognize: test (default), a WAV directory or a strokes .jsonl; "
                        "translate: test (default), valid, test_locales (dates) or a TSV; "
                        "caption: test (default), test-comp (held-out colour-shape pairs), "
                        "valid, valid-comp; video: test (default) or valid")
    p.add_argument("--checkpoint", "--which", dest="checkpoint", choices=("best", "last"),
                   default="best", help="checkpoint to use (default: best)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps (default cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-baselines", dest="baselines", action="store_false",
                   help="classify: skip the baselines (1-NN Euclidean and DTW for series, "
                        "TF-IDF + logistic regression for text) printed beside the run")
    p.add_argument("--refit", action="store_true",
                   help="forecast: before each backtest origin, train the run's config again "
                        "(same steps, seed, ensemble) on the history before it, as the "
                        "baselines are refitted; runs in RUN_DIR/refit/, progress on stderr")
    g = p.add_argument_group("recognize runs")
    add_decode_arguments(g, default_beam=8)
    p.set_defaults(run=run)


def format_metrics(metrics: dict) -> str:
    """One line per metric: numbers with 6 significant digits, anything else as JSON."""
    width = max(map(len, metrics), default=0)
    lines = []
    for key, value in metrics.items():
        shown = f"{value:.6g}" if isinstance(value, int | float) else json.dumps(value)
        lines.append(f"{key:<{width}}  {shown}")
    return "\n".join(lines)


def run(args) -> int:
    if args.batch_size < 1:
        raise RnnkitError(f"--batch-size: expected an integer >= 1, got {args.batch_size}")
    device = str(check_device(args.device, "--device"))
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    module = task_module(config, metadata, "evaluate_loaded", "rnnkit evaluate", args.run_dir)
    extra = {}
    if args.refit:
        if "refit" not in inspect.signature(module.evaluate_loaded).parameters:
            raise RnnkitError(f"--refit: task {config.get('task_name')!r} cannot refit; "
                              "expected a forecast run")
        from rnnkit.training.refit import make_refit

        extra["refit"] = make_refit(args.run_dir, config, args.checkpoint)
    if "beam" in inspect.signature(module.evaluate_loaded).parameters:  # recognize runs
        extra.update(decode_options(args))
    elif args.lm:
        raise RnnkitError(f"--lm: task {config.get('task_name')!r} has no beam search; "
                          "expected a recognize run")
    if "baselines" in inspect.signature(module.evaluate_loaded).parameters:  # classify runs
        extra["baselines"] = args.baselines
    elif not args.baselines:
        raise RnnkitError(f"--no-baselines: task {config.get('task_name')!r} prints no "
                          "baselines; expected a classify run")
    metrics = module.evaluate_loaded(
        config, metadata, state_dict, args.data, batch_size=args.batch_size, device=device,
        run_dir=args.run_dir, **extra,
    )
    if args.json:
        print(json.dumps(metrics))
    else:
        print(getattr(module, "format_report", format_metrics)(metrics))
    return 0
