"""Issue #20's proxy for "a ~1 MB corpus of plays the defaults never saw": the first 1.1 MB of
`shakespeare`, its first 90% given to `rnnkit train lm` as a user's own file, its last 10% scored
by `rnnkit evaluate RUN --data val.txt` (text the run never read, not even for validation).

    PYTHONPATH=src python benchmarks/lm_small_corpus.py --out OUT [--chars 1100000] \\
        [--arm NAME KEY=VALUE ...] [--parallel] [--train-arg ARG ...]

Each `--arm NAME KEY=VALUE ...` is one training with those overrides on top of the defaults
(`--arm defaults` with none: the task's defaults). The arms run one after the other, or at once
with --parallel. Everything goes under OUT: train.txt and val.txt, a run directory per arm
(runs/NAME), its log (NAME.log), and results.json with every arm's held-out loss, its own
validation loss, the steps it took and the minutes; the table is printed at the end.
`--train-arg` passes the same extra arguments to every arm (e.g. --train-arg=--minutes=15).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="a new or empty directory for everything")
    ap.add_argument("--chars", type=int, default=1_100_000, help="corpus: the first N characters")
    ap.add_argument("--arm", nargs="+", action="append", metavar="NAME [KEY=VALUE]",
                    help="one training: a name, then overrides (repeatable)")
    ap.add_argument("--train-arg", action="append", default=[],
                    help="an argument for every arm's `rnnkit train lm`")
    ap.add_argument("--parallel", action="store_true", help="run the arms at once")
    return ap.parse_args(argv)


def write_texts(out: Path, chars: int) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT / "src"))
    from rnnkit.data.corpora import load_corpus

    text = load_corpus("shakespeare").text[:chars]
    cut = int(len(text) * 0.9)
    train, val = out / "train.txt", out / "val.txt"
    train.write_text(text[:cut], encoding="utf-8")
    val.write_text(text[cut:], encoding="utf-8")
    return train, val


def rnnkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnnkit", *args]


def start(out: Path, train: Path, name: str, overrides: list[str], extra: list[str]):
    cmd = rnnkit("train", "lm", f"--data.corpus={train}", "--out", str(out / "runs" / name),
                 "--plain", *extra, *(f"--{o}" if not o.startswith("--") else o
                                      for o in overrides))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    log = open(out / f"{name}.log", "w")  # noqa: SIM115 (closed in finish)
    print(f"[{name}] {' '.join(cmd[1:])}", flush=True)
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log, time.time()


def finish(out: Path, val: Path, name: str, overrides: list[str], proc, log, t0) -> dict:
    rc = proc.wait()
    log.close()
    minutes = (time.time() - t0) / 60
    run = out / "runs" / name
    row = {"arm": name, "overrides": overrides, "rc": rc, "minutes": round(minutes, 2)}
    if rc != 0:
        row["error"] = (out / f"{name}.log").read_text()[-2000:]
        return row
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    res = subprocess.run(rnnkit("evaluate", str(run), "--data", str(val), "--json"),
                         capture_output=True, text=True, env=env, check=True)
    row["held_out"] = json.loads(res.stdout)
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [e for e in events if e.get("kind") == "eval"]
    trains = [e for e in events if e.get("kind") == "train"]
    row["steps"] = max((e["step"] for e in trains), default=0)
    row["valid_best"] = min((e["loss"] for e in evals if "loss" in e), default=None)
    row["train_last"] = trains[-1]["loss"] if trains else None
    row["config_model"] = json.loads((run / "config.json").read_text())["task"]["model"]
    return row


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        sys.exit(f"lm_small_corpus: {out} is not empty; give a new directory")
    out.mkdir(parents=True, exist_ok=True)
    train, val = write_texts(out, args.chars)
    arms = args.arm or [["defaults"]]
    rows = []
    if args.parallel:
        running = [(a[0], a[1:], *start(out, train, a[0], a[1:], args.train_arg)) for a in arms]
        rows = [finish(out, val, *r) for r in running]
    else:
        for a in arms:
            rows.append(finish(out, val, a[0], a[1:], *start(out, train, a[0], a[1:],
                                                                 args.train_arg)))
    result = {"chars": args.chars, "machine": platform.processor() or platform.machine(),
              "load_at_end": os.getloadavg(), "train_args": args.train_arg, "arms": rows}
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(f"{'arm':<16} {'steps':>6} {'minutes':>8} {'train':>7} {'valid':>7} {'held-out':>9}")
    for r in rows:
        if r["rc"] != 0:
            print(f"{r['arm']:<16} failed (rc {r['rc']}): see {out / (r['arm'] + '.log')}")
            continue
        print(f"{r['arm']:<16} {r['steps']:>6} {r['minutes']:>8.1f} {r['train_last']:>7.3f} "
              f"{r['valid_best']:>7.3f} {r['held_out']['loss']:>9.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
