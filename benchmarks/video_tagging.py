"""Video tagging on `moving-shapes`: rnnkit's recurrent tagger and the frame-averaging baseline
(the same CNN, the mean over frames, no recurrence), trained side by side by the same command.

    python benchmarks/video_tagging.py --out /work/runs/video/bench [--steps N] [--cell lstm]
        [-- --model.hidden_size=64 ...]   (more `rnnkit train video` settings, given to both)

Each model is trained with `rnnkit train video` (the baseline with --model.kind=frame_average)
in OUT/rnn and OUT/frame_average, one thread each, one after the other, then scored with
`rnnkit evaluate RUN --data test --json`. Prints one row per model: motion-tag accuracy (the
clip's motion tags all right), object-tag mAP, mAP over all tags, exact-set accuracy, macro-F1,
and the training time (wall and the process's CPU seconds: the host may be shared).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = ("motion_accuracy", "object_map", "map", "exact_set_accuracy", "macro_f1",
           "motion_map")


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_and_score(kind: str, out: Path, steps: int, cell: str, extra: list[str]) -> dict:
    run_dir = out / kind
    cmd = [sys.executable, "-m", "rnnkit", "train", "video", f"--model.kind={kind}",
           f"--model.cell={cell}", "--train.threads=1", "--steps", str(steps), "--out",
           str(run_dir), "--plain", *extra]
    wall, cpu = time.perf_counter(), _cpu_children()
    with open(out / f"{kind}.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall, cpu = time.perf_counter() - wall, _cpu_children() - cpu
    done = subprocess.run([sys.executable, "-m", "rnnkit", "evaluate", str(run_dir), "--data",
                           "test", "--json"], check=True, capture_output=True, text=True)
    report = json.loads(done.stdout)
    report.update(train_wall_s=wall, train_cpu_s=cpu, command=" ".join(cmd[1:]))
    (out / f"{kind}.json").write_text(json.dumps(report, indent=1))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="a new or empty directory")
    parser.add_argument("--steps", type=int, default=1500, help="training steps per model")
    parser.add_argument("--cell", default="lstm", help="the recurrent cell of the rnn model")
    parser.add_argument("--only", choices=("rnn", "frame_average"), default=None)
    parser.add_argument("extra", nargs="*", help="more `rnnkit train video` settings (after --)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = [args.only] if args.only else ["rnn", "frame_average"]
    reports = {k: train_and_score(k, args.out, args.steps, args.cell, args.extra) for k in kinds}
    first = next(iter(reports.values()))
    print(f"{first['data']}: {first['n_clips']} clips; {args.steps} steps per model")
    print(f"{'model':<16}" + "".join(f"{c:>19}" for c in COLUMNS) + f"{'wall s':>8}{'cpu s':>8}")
    for kind, r in reports.items():
        name = f"rnnkit {args.cell}" if kind == "rnn" else "frame average"
        print(f"{name:<16}" + "".join(f"{r[c]:>19.4f}" for c in COLUMNS)
              + f"{r['train_wall_s']:>8.0f}{r['train_cpu_s']:>8.0f}")


if __name__ == "__main__":
    main()
