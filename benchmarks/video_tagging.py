"""Video tagging on `moving-shapes`: rnnkit's recurrent tagger and the frame-averaging baseline
(the same CNN, the mean over frames, no recurrence), trained side by side by the same command.

    python benchmarks/video_tagging.py --out /work/runs/video/bench [--steps N] [--cell lstm]
        [-- --model.hidden_size=64 ...]   (more `rnnkit train video` settings, given to both)

Each model is trained with `rnnkit train video` (the baseline with --model.kind=frame_average)
in OUT/rnn and OUT/frame_average, one thread each (both at once with --jobs 2), then scored with
`rnnkit evaluate RUN --data test --json`. Prints one row per model: motion-tag accuracy (the
clip's motion tags all right), object-tag mAP, mAP over all tags, exact-set accuracy, macro-F1,
and the training time (wall and the process's CPU seconds: the host may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = ("motion_accuracy", "object_map", "map", "exact_set_accuracy", "macro_f1",
           "motion_map")


def start(kind: str, out: Path, steps: int, cell: str, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "rnnkit", "train", "video", f"--model.kind={kind}",
           f"--model.cell={cell}", "--train.threads=1", "--steps", str(steps), "--out",
           str(out / kind), "--plain", *extra]
    log = open(out / f"{kind}.log", "w")  # closed in finish()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    return {"kind": kind, "cmd": cmd, "proc": proc, "log": log, "t0": time.perf_counter()}


def finish(job: dict, out: Path) -> dict:
    """Wait for the training (its own CPU seconds from wait4), then score the test clips."""
    _, status, usage = os.wait4(job["proc"].pid, 0)
    wall = time.perf_counter() - job["t0"]
    job["log"].close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{job['kind']}: training failed, see {out / (job['kind'] + '.log')}")
    run_dir = out / job["kind"]
    done = subprocess.run([sys.executable, "-m", "rnnkit", "evaluate", str(run_dir), "--data",
                           "test", "--json"], check=True, capture_output=True, text=True)
    report = json.loads(done.stdout)
    report.update(train_wall_s=wall, train_cpu_s=usage.ru_utime + usage.ru_stime,
                  command=" ".join(job["cmd"][1:]))
    (out / f"{job['kind']}.json").write_text(json.dumps(report, indent=1))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="a new or empty directory")
    parser.add_argument("--steps", type=int, default=1500, help="training steps per model")
    parser.add_argument("--cell", default="lstm", help="the recurrent cell of the rnn model")
    parser.add_argument("--only", choices=("rnn", "frame_average"), default=None)
    parser.add_argument("--jobs", type=int, choices=(1, 2), default=1,
                        help="2: train both models at once (one thread each)")
    parser.add_argument("extra", nargs="*", help="more `rnnkit train video` settings (after --)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = [args.only] if args.only else ["rnn", "frame_average"]
    reports = {}
    if args.jobs == 2:
        jobs = [start(k, args.out, args.steps, args.cell, args.extra) for k in kinds]
        reports = {job["kind"]: finish(job, args.out) for job in jobs}
    else:
        for k in kinds:
            reports[k] = finish(start(k, args.out, args.steps, args.cell, args.extra), args.out)
    first = next(iter(reports.values()))
    print(f"{first['data']}: {first['n_clips']} clips; {args.steps} steps per model")
    print(f"{'model':<16}" + "".join(f"{c:>19}" for c in COLUMNS) + f"{'wall s':>8}{'cpu s':>8}")
    for kind, r in reports.items():
        name = f"rnnkit {args.cell}" if kind == "rnn" else "frame average"
        print(f"{name:<16}" + "".join(f"{r[c]:>19.4f}" for c in COLUMNS)
              + f"{r['train_wall_s']:>8.0f}{r['train_cpu_s']:>8.0f}")


if __name__ == "__main__":
    main()
