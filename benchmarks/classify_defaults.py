"""rnnkit's default classifier against 1-NN Euclidean and 1-NN DTW on every UCR/UEA
classification set sktime ships, in one process.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/classify_defaults.py \\
        [--sets gunpoint,arrowhead] [--out runs/classify-defaults] [--json table.json] \\
        [-- --model.conv_filters=0 ...]

Each set: `rnnkit train classify --data.name=SET` with the default settings (no config file;
dotted overrides after `--` apply to every set) into OUT/SET, then `rnnkit evaluate OUT/SET
--data test` (checkpoint `best`, with the baselines, fitted on the whole training split).
Prints one row per set: test accuracy of rnnkit and of the baselines, training seconds, the
settings chosen from the training split; the last column says whether rnnkit >= both.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rnnkit.data.datasets import list_datasets, load_dataset
from rnnkit.tasks.classify import evaluate_loaded
from rnnkit.tasks.classify.baselines import DTW, ED
from rnnkit.training.checkpoint import load_run
from rnnkit.training.run import train_task


def classification_sets() -> list[str]:
    """Every shipped UCR/UEA set with classes (the regression sets left out)."""
    names = [n for n in list_datasets() if n not in ("tweets", "digits")]
    return [n for n in names if load_dataset(n).classes is not None]


def run_set(name: str, out: Path, overrides: list[str]) -> dict:
    start = time.perf_counter()
    summary = train_task("classify", data=name, out=str(out / name), overrides=overrides,
                         progress="off")
    seconds = time.perf_counter() - start
    config, metadata, state = load_run(out / name, "best")
    report = evaluate_loaded(config, metadata, state, "test", run_dir=out / name)
    model = config["task"]["model"]
    data = config["task"]["data"]
    return {"set": name, "accuracy": report["accuracy"],
            "ed": report["baselines"][ED]["accuracy"],
            "dtw": report["baselines"][DTW]["accuracy"], "train_s": seconds,
            "steps": summary.get("step"),
            "chosen": {"conv_filters": model["conv_filters"], "downsample": model["downsample"],
                       "jitter": data["jitter"], "scaling": data["scaling"]}}


def main() -> None:
    argv = sys.argv[1:]
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="", help="comma-separated names (default: all)")
    parser.add_argument("--out", default="runs/classify-defaults")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    args = parser.parse_args(argv)
    sets = args.sets.split(",") if args.sets else classification_sets()
    out = Path(args.out)
    print(f"{'set':<20} {'rnnkit':>7} {'1NN-ED':>7} {'1NN-DTW':>7} {'train s':>8}  "
          "chosen settings  >= both", flush=True)
    rows = []
    for name in sets:
        row = run_set(name, out, overrides)
        rows.append(row)
        ok = "yes" if row["accuracy"] >= max(row["ed"], row["dtw"]) else "NO"
        print(f"{name:<20} {row['accuracy']:>7.4f} {row['ed']:>7.4f} {row['dtw']:>7.4f} "
              f"{row['train_s']:>8.1f}  {row['chosen']}  {ok}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
