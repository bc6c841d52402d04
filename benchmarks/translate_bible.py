"""The `bible` target of issue #16: attention against `attention = none`, same settings and
budget, on the KJV -> Reina-Valera 1909 test split; greedy and beam 5 beside copy-the-source.

    PYTHONPATH=src python3 benchmarks/translate_bible.py --device cuda --minutes 5 \\
        --data-dir .gpu/bible --out OUT [--steps N] [--sequential] [--set KEY=VALUE ...]

--data-dir holds the exported splits (benchmarks/export_bible.py: train/valid/test.tsv), so this
runs where pysword and the SWORD modules are not. The two trainings (`rnnkit train translate
--config configs/translate-bible-gpu.toml`, one with --attention, one with none) run as two
processes at once (one GPU can hold both; --sequential runs one after the other), each for
--minutes (the cosine follows the clock), or --steps if that comes first. Each run's best
checkpoint (by validation chrF) is then scored on the test split as `rnnkit evaluate --data
test` does: BLEU and chrF (sacrebleu), exact match, greedy and beam --beam. Written to --out:
results.json (the table, every number, the end of each training log) and attention.png, two
files; the run directories (checkpoints, metrics.jsonl, full logs) go to --work. Nothing here
imports pysword or builds C++.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnnkit.tasks.translate import evaluate_loaded
from rnnkit.training.checkpoint import load_run
from rnnkit.training.metrics_log import read_metrics

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "translate-bible-gpu.toml"
SPLITS = ("train", "valid", "test")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True, help="train.tsv, valid.tsv, test.tsv")
    ap.add_argument("--out", required=True, help="where results.json and the logs go")
    ap.add_argument("--work", default="", help="run directories (default: a new temp dir)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    ap.add_argument("--minutes", type=float, default=5.0, help="time cap of each training")
    ap.add_argument("--steps", type=int, default=0,
                    help="a step limit for each run, and the cosine's length (0 = none)")
    ap.add_argument("--attention", default="bahdanau", choices=["bahdanau", "general", "dot"])
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--sequential", action="store_true", help="train one run after the other")
    ap.add_argument("--test-limit", type=int, default=0,
                    help="score only the first N test pairs (a smoke test; 0 = all)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="more overrides for both runs, e.g. model.dropout=0.2")
    return ap.parse_args(argv)


def check_data(data_dir: Path) -> dict[str, Path]:
    paths = {s: data_dir / f"{s}.tsv" for s in SPLITS}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        sys.exit(f"translate_bible: missing {', '.join(missing)}; write them with "
                 f"`PYTHONPATH=src python benchmarks/export_bible.py --out {data_dir}`")
    return paths


def train_command(args, paths: dict[str, Path], attention: str, run_dir: Path) -> list[str]:
    overrides = [f"--data.{s}_path={p.resolve()}" for s, p in paths.items()]
    overrides += [f"--model.attention={attention}", f"--train.device={args.device}",
                  f"--decode.beam={args.beam}", f"--train.minutes={args.minutes}",
                  f"--train.steps={args.steps}", f"--sched.total_steps={args.steps}"]
    overrides += [f"--{kv.removeprefix('--')}" for kv in args.set]
    return [sys.executable, "-m", "rnnkit", "train", "translate", "--config", args.config,
            "--out", str(run_dir), "--plain", *overrides]


def gpu_is_shared(device: str) -> bool:
    """False when the GPU admits one process at a time (nvidia-smi's compute mode
    Exclusive_Process or Prohibited): the second training could not start there."""
    index = device.partition(":")[2] or "0"
    try:
        mode = subprocess.run(["nvidia-smi", "--query-gpu=compute_mode", "--format=csv,noheader",
                               "-i", index], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # no nvidia-smi: assume the default mode
    return mode.strip() in ("", "Default")


def train_all(args, paths, runs: dict[str, str], work: Path) -> dict[str, dict]:
    """Start the trainings (together unless --sequential); their wall times and exit codes."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]),
        PYTHONUNBUFFERED="1")
    info: dict[str, dict] = {}
    procs = {}
    for name, attention in runs.items():
        cmd = train_command(args, paths, attention, work / name)
        log = open(work / f"train-{name}.log", "w", encoding="utf-8")  # noqa: SIM115
        info[name] = {"command": " ".join(cmd[1:]), "start": time.perf_counter()}
        print(f"[{name}] {' '.join(cmd[1:])}", flush=True)
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=ROOT), log)
        if args.sequential:
            _wait(name, procs.pop(name), info)
    for name, proc in procs.items():
        _wait(name, proc, info)
    return info


def _wait(name: str, proc_log, info: dict) -> None:
    proc, log = proc_log
    rc = proc.wait()
    log.close()
    info[name]["wall_s"] = time.perf_counter() - info[name].pop("start")
    info[name]["returncode"] = rc
    print(f"[{name}] finished: exit {rc}, {info[name]['wall_s']:.0f} s", flush=True)


def training_summary(run_dir: Path) -> dict:
    records = read_metrics(run_dir / "metrics.jsonl")
    train = [r for r in records if r["kind"] == "train"]
    evals = [{k: r[k] for k in ("step", "loss", "chrf", "exact") if k in r}
             for r in records if r["kind"] == "eval"]
    best = max(evals, key=lambda e: e.get("chrf", float("-inf")), default=None)
    rates = sorted(r["tok_per_s"] for r in train if "tok_per_s" in r)
    return {"steps": train[-1]["step"] if train else 0,
            "epochs": train[-1].get("epoch", 0) if train else 0,
            "median_tok_per_s": rates[len(rates) // 2] if rates else 0.0,
            "valid": evals, "best_valid": best}


def score(run_dir: Path, args, keep_heatmap: bool) -> dict:
    config, metadata, state_dict = load_run(run_dir, "best")
    data = "test"
    if args.test_limit:
        pairs = Path(args.data_dir) / "test.tsv"
        head = pairs.read_text(encoding="utf-8").split("\n")[: args.test_limit]
        data = str(run_dir / f"test-first-{args.test_limit}.tsv")
        Path(data).write_text("\n".join(head) + "\n", encoding="utf-8")
    return evaluate_loaded(config, metadata, state_dict, data, batch_size=250,
                           device=args.device, run_dir=run_dir if keep_heatmap else None)


def table(results: dict, beam_key: str) -> str:
    rows = ["| model | steps | train s | search | BLEU | chrF | exact % | sent/s |",
            "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for name, r in results["runs"].items():
        if "test" not in r:
            rows.append(f"| {name} ({r['attention']}) | training failed: see its log_tail |")
            continue
        for search in ("greedy", beam_key):
            m = r["test"][search]
            rows.append(f"| {name} ({r['attention']}) | {r['training']['steps']} | "
                        f"{r['wall_s']:.0f} | {search} | {m['bleu']:.2f} | {m['chrf']:.2f} | "
                        f"{m['exact']:.2f} | {m['sentences_per_s']:.1f} |")
    c = results.get("copy_source")
    if c:
        rows.append(f"| copy the source | | | | {c['bleu']:.2f} | {c['chrf']:.2f} | "
                    f"{c['exact']:.2f} | |")
    return "\n".join(rows)


def verdict(results: dict, beam_key: str) -> dict | None:
    """The target, from each model's better search; None unless both runs were scored."""
    runs = results["runs"]
    if not all("test" in runs.get(n, {}) for n in ("attention", "none")):
        return None
    att, none = runs["attention"]["test"], runs["none"]["test"]
    best = {n: max(r["test"]["greedy"]["chrf"], r["test"][beam_key]["chrf"])
            for n, r in runs.items()}
    gain = best["attention"] - best["none"]
    return {"attention_minus_none_chrf": gain, "attention_beats_none_by_5_chrf": gain >= 5,
            "beam_ge_greedy_chrf": {n: r["test"][beam_key]["chrf"] >= r["test"]["greedy"]["chrf"]
                                    for n, r in runs.items()},
            "attention_greedy_chrf": att["greedy"]["chrf"], "none_greedy_chrf":
                none["greedy"]["chrf"]}


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="translate_bible-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = check_data(Path(args.data_dir))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"translate_bible: --device {args.device} but CUDA is not available here")
    if args.device.startswith("cuda") and not args.sequential and not gpu_is_shared(args.device):
        args.sequential, args.minutes = True, args.minutes / 2
        print(f"translate_bible: the GPU takes one process at a time; training one after the "
              f"other, {args.minutes:g} minutes each", flush=True)
    runs = {"attention": args.attention, "none": "none"}
    start = time.perf_counter()
    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "device": args.device, "torch": torch.__version__, "python": platform.python_version(),
        "minutes": args.minutes, "steps": args.steps, "parallel": not args.sequential,
        "config": args.config, "set": args.set, "work": str(work), "runs": {}}
    info = train_all(args, paths, runs, work)
    beam_key = f"beam{args.beam}"
    for name, attention in runs.items():  # results.json is rewritten after each stage
        log = (work / f"train-{name}.log").read_text(errors="replace")
        entry = results["runs"][name] = {"attention": attention, **info[name],
                                         "log_tail": log[-2000:]}
        if info[name]["returncode"] != 0:
            print(f"--- train-{name}.log (end) ---\n{entry['log_tail']}", flush=True)
            continue
        t0 = time.perf_counter()
        test = score(work / name, args, keep_heatmap=attention != "none")
        results["copy_source"] = test.pop("copy_source")
        entry.update(training=training_summary(work / name), test=test,
                     scoring_s=time.perf_counter() - t0)
        if "attention_png" in test:
            shutil.copy(test["attention_png"], out / "attention.png")
        _write(out, results)
    if args.device.startswith("cuda"):
        results["device"] = torch.cuda.get_device_name(torch.device(args.device))
    results["target"] = verdict(results, beam_key)
    results["total_s"] = time.perf_counter() - start
    text = results["table"] = table(results, beam_key)
    _write(out, results)
    print(text)
    print(json.dumps(results["target"]))
    print(f"total {results['total_s']:.0f} s; results in {out / 'results.json'}")
    failed = [n for n, r in results["runs"].items() if "test" not in r]
    if failed:
        print(f"translate_bible: training failed for {', '.join(failed)} (logs in {work})")
    return 1 if failed else 0


def _write(out: Path, results: dict) -> None:
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
