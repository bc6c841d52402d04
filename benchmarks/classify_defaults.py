"""rnnkit's default classifier against 1-NN Euclidean and 1-NN DTW on every UCR/UEA
classification set sktime ships, in one process.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/classify_defaults.py \\
        [--sets gunpoint,arrowhead] [--out runs/classify-defaults] [--json table.json] \\
        [--no-baselines] \\
        [-- --model.conv_filters=0 ...]

Each set: `rnnkit train classify --data.name=SET` with the default settings (no config file;
dotted overrides after `--` apply to every set) into OUT/SET, then `rnnkit evaluate OUT/SET
--data test` (checkpoint `best`, with the baselines, fitted on the whole training split).
Prints one row per set: test accuracy of rnnkit, of its member 0 alone (an ensemble run: the one
model of seed train.seed; otherwise the run itself) and of the baselines, training seconds, the
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


def run_set(name: str, out: Path, overrides: list[str], baselines: bool = True) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    summary = train_task("classify", data=name, out=str(out / name), overrides=overrides,
                         progress="off")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    config, metadata, state = load_run(out / name, "best")
    flag = {} if baselines else {"baselines": False}
    report = evaluate_loaded(config, metadata, state, "test", run_dir=out / name, **flag)
    base = report.get("baselines", {})
    last = evaluate_loaded(*load_run(out / name, "last"), "test", **flag)
    members = config["train"].get("ensemble", 1)
    one = report["accuracy"]  # member 0 is the one model of seed train.seed
    if members > 1:
        one = evaluate_loaded(*load_run(out / name / "members" / "0", "best"), "test",
                              baselines=False)["accuracy"]
    model = config["task"]["model"]
    data = config["task"]["data"]
    return {"set": name, "accuracy": report["accuracy"], "accuracy_last": last["accuracy"],
            "accuracy_member0": one,
            "ed": base.get(ED, {}).get("accuracy", float("nan")),
            "dtw": base.get(DTW, {}).get("accuracy", float("nan")), "train_s": seconds,
            "train_cpu_s": cpu,
            "steps": summary.get("step"),
            "chosen": {"conv_filters": model.get("conv_filters"),
                       "downsample": model.get("downsample"), "jitter": data.get("jitter"),
                       "scaling": data.get("scaling"), "series_norm": data.get("series_norm"),
                       "ensemble": members}}


def main() -> None:
    argv = sys.argv[1:]
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="", help="comma-separated names (default: all)")
    parser.add_argument("--out", default="runs/classify-defaults")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the 1-NN baselines (their columns read nan)")
    args = parser.parse_args(argv)
    sets = args.sets.split(",") if args.sets else classification_sets()
    out = Path(args.out)
    print(f"{'set':<20} {'rnnkit':>7} {'member0':>7} {'1NN-ED':>7} {'1NN-DTW':>7} "
          f"{'train s':>8}  chosen settings  >= both", flush=True)
    rows = []
    for name in sets:
        row = run_set(name, out, overrides, baselines=not args.no_baselines)
        rows.append(row)
        ok = "yes" if row["accuracy"] >= max(row["ed"], row["dtw"]) else "NO"
        print(f"{name:<20} {row['accuracy']:>7.4f} {row['accuracy_member0']:>7.4f} "
              f"{row['ed']:>7.4f} {row['dtw']:>7.4f} "
              f"{row['train_s']:>8.1f} (cpu {row['train_cpu_s']:.1f})  {row['chosen']}  {ok}",
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
