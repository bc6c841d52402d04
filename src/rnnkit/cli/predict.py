"""`rnnkit predict RUN_DIR --input PATH`: a label and class probabilities per input row.

Input: a CSV with the run's text column (text runs) or a `.ts` file (series runs); labels in it,
if any, are ignored. Video runs: a `.npy` clip (or N clips) or a directory of PNG frames; the
label is the predicted tags joined by spaces, the probabilities one per tag.
Output (stdout): CSV `row,label,p_<class>...` or, with --json, a list of
{"row", "label", "probabilities"}. Regression runs give `row,value`.
The run is read here with the engine's `load_run`; the command dispatches on the run's task
(config.json's `task_name`), whose `predict_loaded(config, metadata, state_dict, path) ->
(classes or None, labels or values, probabilities)` does the rest.
"""

from __future__ import annotations

import csv
import json
import sys

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import task_module


def add_parser(sub) -> None:
    p = sub.add_parser("predict",
                       help="predict labels with a trained run (classify, tag, video)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by `rnnkit train`")
    p.add_argument("--input", required=True, metavar="PATH",
                   help="CSV (text), .ts (series), FASTA (tag), .npy clip or directory of PNG "
                        "frames (video)")
    p.add_argument("--json", action="store_true", help="print JSON instead of CSV")
    p.add_argument("--which", choices=("best", "last"), default="best",
                   help="checkpoint to use (default: best)")
    p.set_defaults(run=run)


def rows(classes, labels, probs) -> list[dict]:
    if classes is None:  # regression
        return [{"row": i + 1, "value": float(v)} for i, v in enumerate(labels)]
    return [{"row": i + 1, "label": label,
             "probabilities": {c: round(float(p), 6) for c, p in zip(classes, ps, strict=True)}}
            for i, (label, ps) in enumerate(zip(labels, probs, strict=True))]


def run(args) -> int:
    config, metadata, state_dict = _load_run(args.run_dir, args.which)
    module = task_module(config, metadata, "predict_loaded", "rnnkit predict", args.run_dir)
    classes, labels, probs = module.predict_loaded(config, metadata, state_dict, args.input)
    table = rows(classes, labels, probs)
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if classes is None:
        writer.writerow(["row", "value"])
        writer.writerows([r["row"], f"{r['value']:.6g}"] for r in table)
        return 0
    writer.writerow(["row", "label", *(f"p_{c}" for c in classes)])
    for r in table:
        writer.writerow([r["row"], r["label"], *(f"{p:.6f}" for p in r["probabilities"].values())])
    return 0
