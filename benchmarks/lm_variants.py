"""The cell variants on the character language model at equal parameter count and equal wall
time (issue #18, section 4): validation (and held-out test) bits per character of each.

    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 python benchmarks/lm_variants.py \\
        [--corpus shakespeare] [--max-chars 40000] [--test-chars 20000] [--params 240000] \\
        [--valid-fraction 0.2] [--minutes 6] [--jobs 2] [--out /tmp/lm-variants] [--json t.json] \\
        [--variants lstm,ln_lstm,lstm+vd0.1,lstm+zo0.05,gru,mingru,minlstm] [--smoke] \\
        [-- --optim.lr=3e-3 ...]

A variant is `CELL[+vdP][+zoP]`: the cell by its registry name, `+vdP` variational recurrent
dropout P (`model.recurrent_dropout`), `+zoP` zoneout P (`model.zoneout`). For each one the hidden
size is solved so that the whole model (embedding, recurrent stack, decoder) has the parameter
count closest to --params; every variant then trains as its own process, `rnnkit train lm` on the
first --max-chars characters of the corpus (the last --valid-fraction of them validates) for
--minutes of wall clock (the cosine follows the clock; no early stop, so an over-fitting run shows
its validation loss rising), --jobs at a time, one thread each, into OUT/VARIANT. A finished run
there is read again, not retrained. The compiled loops are built before the first run starts.

The table: hidden size, parameters, steps done, wall and CPU minutes, the training loss of the last
100 steps (with any dropout or zoneout on, as trained), the best validation loss and its step, the
last one, and the `best` checkpoint on test text that neither trained nor picked anything: the
--test-chars characters of the corpus right after the first --max-chars (written to OUT/test.txt).
All in bits per character. `vs lstm` compares each row's best validation loss with the plain
LSTM's: "ok" when it is not worse, "WORSE" otherwise.

--smoke: a tiny corpus of generated text, a tiny model and a few steps per variant, in this
process: the whole table in seconds (tests/benchmarks/test_lm_variants.py runs it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from rnnkit.data.corpora import load_corpus
from rnnkit.data.tokenizers import build_tokenizer
from rnnkit.errors import ConfigError
from rnnkit.models.lm import LanguageModel
from rnnkit.training.metrics_log import read_metrics

# the rates picked on validation data (BENCHMARKS.md, "Cell variants: quality")
DEFAULT_VARIANTS = "lstm,ln_lstm,lstm+vd0.1,lstm+zo0.05,gru,mingru,minlstm"
LN2 = math.log(2.0)
_SPEC = re.compile(r"^([a-z_]+)((?:\+(?:vd|zo)[0-9.]+)*)$")
_PART = re.compile(r"\+(vd|zo)([0-9.]+)")


@dataclass(frozen=True)
class Variant:
    label: str
    cell: str
    recurrent_dropout: float = 0.0
    zoneout: float = 0.0


def parse_variant(text: str) -> Variant:
    """`lstm+vd0.25` -> Variant(cell="lstm", recurrent_dropout=0.25); ConfigError if malformed."""
    match = _SPEC.match(text)
    if not match:
        raise ConfigError(f"--variants: {text!r} is not CELL[+vdP][+zoP] (e.g. lstm+vd0.25)")
    rates = {"vd": 0.0, "zo": 0.0}
    for key, value in _PART.findall(match.group(2)):
        try:
            rates[key] = float(value)
        except ValueError:
            raise ConfigError(f"--variants: {text!r}: {value!r} is not a number") from None
        if not 0.0 < rates[key] < 1.0:
            raise ConfigError(f"--variants: {text!r}: the rate {value} is not in (0, 1)")
    return Variant(text, match.group(1), rates["vd"], rates["zo"])


def count_params(variant: Variant, vocab: int, hidden: int, embedding: int, layers: int) -> int:
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = LanguageModel(vocab, embedding_size=embedding, hidden_size=hidden,
                              num_layers=layers, cell=variant.cell,
                              recurrent_dropout=variant.recurrent_dropout,
                              zoneout=variant.zoneout)
    return sum(p.numel() for p in model.parameters())


def solve_hidden(variant: Variant, vocab: int, target: int, embedding: int,
                 layers: int) -> tuple[int, int]:
    """(hidden size, parameter count) with the count closest to `target` (it grows with H)."""
    lo, hi = 1, 8192
    while lo < hi:  # the smallest H whose count reaches the target
        mid = (lo + hi) // 2
        if count_params(variant, vocab, mid, embedding, layers) >= target:
            hi = mid
        else:
            lo = mid + 1
    sizes = [(abs(count_params(variant, vocab, h, embedding, layers) - target), h)
             for h in {max(1, lo - 1), lo}]
    hidden = min(sizes)[1]
    return hidden, count_params(variant, vocab, hidden, embedding, layers)


def corpus_texts(args) -> tuple[str, str]:
    """(the text that trains and validates, the held-out test text right after it)."""
    if args.smoke:
        import random
        rng = random.Random(0)
        words = ["the", "cell", "state", "gate", "of", "a", "and", "to", "forget", "input"]
        text = " ".join(rng.choice(words) for _ in range(6000)) + "\n"
        return text[:20000], text[20000:24000]
    text = load_corpus(args.corpus).text
    if len(text) < args.max_chars + args.test_chars:
        raise ConfigError(f"--max-chars + --test-chars: {args.max_chars + args.test_chars} > "
                          f"the {len(text)} characters of corpus {args.corpus!r}")
    return text[: args.max_chars], text[args.max_chars : args.max_chars + args.test_chars]


def train_command(args, variant: Variant, hidden: int, corpus: Path, run_dir: Path) -> list[str]:
    budget = [f"--train.steps={args.steps}"] if args.smoke else [f"--minutes={args.minutes}"]
    return [
        sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(corpus), "--plain",
        "--out", str(run_dir), *budget, f"--seed={args.seed}",
        f"--model.cell={variant.cell}", f"--model.hidden_size={hidden}",
        f"--model.embedding_size={args.embedding}", f"--model.num_layers={args.layers}",
        f"--model.recurrent_dropout={variant.recurrent_dropout}",
        f"--model.zoneout={variant.zoneout}",
        f"--data.valid_fraction={args.valid_fraction}",
        "--train.threads=1", "--train.early_stop=0", f"--train.eval_every={args.eval_every}",
        *args.overrides,
    ]


def finished(run_dir: Path) -> bool:
    return any(r.get("kind") == "event" and r.get("event") == "stop"
               for r in read_metrics(run_dir / "metrics.jsonl"))


def _record_seconds(run_dir: Path, wall: float, cpu: float) -> None:
    # the process's wall and CPU time (start-up and evaluations included), read with the run
    (run_dir.parent / f"{run_dir.name}.seconds").write_text(f"{wall:.1f} {cpu:.1f}\n")


def run_minutes(run_dir: Path) -> tuple[float, float]:
    """(wall, CPU) minutes of the run's process; NaN when not recorded."""
    path = run_dir.parent / f"{run_dir.name}.seconds"
    if not path.is_file():
        return math.nan, math.nan
    wall, cpu = (float(x) for x in path.read_text().split())
    return wall / 60, cpu / 60


def build_kernels() -> None:
    """Build (or load) the compiled loops once before any run, so that no run's minutes go to a
    cold build (about 45 s on an idle machine, minutes on a busy one)."""
    from rnnkit.functional import compiled
    ok, reason = compiled.available(torch.zeros(1, 1))
    print(f"compiled loops: {'ready' if ok else reason}", flush=True)


def run_all(args, jobs: list[tuple[Variant, list[str], Path]]) -> None:
    """Train every job not already finished, `args.jobs` at a time."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    todo = []
    for variant, cmd, run_dir in jobs:
        if finished(run_dir):
            print(f"{variant.label}: reusing the finished run in {run_dir}", flush=True)
        elif run_dir.exists():
            raise ConfigError(f"{run_dir}: an unfinished run is there; move it away and rerun")
        else:
            todo.append((variant, cmd, run_dir))
    running = []
    while todo or running:
        while todo and len(running) < max(1, args.jobs):
            variant, cmd, run_dir = todo.pop(0)
            print(f"{variant.label}: {' '.join(cmd[1:])}", flush=True)
            if args.smoke:  # in this process: seconds, not a process start per variant
                start, cpu = time.perf_counter(), time.process_time()
                _train_in_process(cmd, run_dir)
                _record_seconds(run_dir, time.perf_counter() - start, time.process_time() - cpu)
                continue
            run_dir.parent.mkdir(parents=True, exist_ok=True)
            log = open(run_dir.parent / f"{run_dir.name}.log", "w")  # noqa: SIM115
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            running.append((variant, proc, log, time.perf_counter()))
        for item in list(running):
            variant, proc, log, start = item
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # the child's CPU time too
            if pid == 0:
                continue
            proc.returncode = os.waitstatus_to_exitcode(status)
            log.close()
            _record_seconds(out_dir(proc.args), time.perf_counter() - start,
                            usage.ru_utime + usage.ru_stime)
            running.remove(item)
            if proc.returncode != 0:
                raise SystemExit(f"{variant.label}: rnnkit train failed ({proc.returncode}); "
                                 f"see {log.name}")
        time.sleep(0.5 if running else 0)


def out_dir(cmd: list[str]) -> Path:
    return Path(cmd[cmd.index("--out") + 1])


def _train_in_process(cmd: list[str], run_dir: Path) -> None:
    from rnnkit.training.run import train_task
    args = cmd[cmd.index("lm") + 1:]
    data = args[args.index("--data") + 1]
    steps = next(a.split("=", 1)[1] for a in args if a.startswith("--train.steps="))
    seed = next(a.split("=", 1)[1] for a in args if a.startswith("--seed="))
    overrides = [a for a in args if a.startswith("--") and "=" in a
                 and not a.startswith(("--seed=", "--train.steps="))]
    train_task("lm", out=str(run_dir), data=data, progress="off",
               overrides=[*overrides, f"--train.steps={steps}", f"--train.seed={seed}",
                          "--train.minutes=0"])


def summarise(variant: Variant, run_dir: Path, test_path: Path) -> dict:
    from rnnkit.tasks.lm import evaluate_loaded
    from rnnkit.training.checkpoint import load_run
    records = read_metrics(run_dir / "metrics.jsonl")
    train = [r for r in records if r.get("kind") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    if not train or not evals:
        raise SystemExit(f"{run_dir}: no training or validation records in metrics.jsonl")
    best = min(evals, key=lambda r: r["loss"])
    last_train = [r["loss"] for r in train[-100:]]
    config, metadata, state = load_run(run_dir, "best")
    test = evaluate_loaded(config, metadata, state, str(test_path), batch_size=16)
    return {"variant": variant.label, "steps": train[-1]["step"],
            "train_bpc": sum(last_train) / len(last_train) / LN2,
            "valid_bpc_best": best["bpc"], "best_step": best["step"],
            "valid_bpc_last": evals[-1]["bpc"], "test_bpc": test["bpc"]}


def format_table(rows: list[dict]) -> str:
    base = next((r for r in rows if r["variant"] == "lstm"), None)
    head = (f"{'variant':<16} {'hidden':>6} {'params':>8} {'steps':>6} {'min':>5} {'cpu':>5} "
            f"{'train':>6} {'valid best':>10} {'@step':>6} {'valid last':>10} {'test':>6}  vs lstm")
    lines = [head, "-" * len(head)]
    for r in rows:
        if base is None or r is base:
            verdict = ""
        else:
            verdict = "ok" if r["valid_bpc_best"] <= base["valid_bpc_best"] else "WORSE"
        lines.append(f"{r['variant']:<16} {r['hidden']:>6} {r['params']:>8} {r['steps']:>6} "
                     f"{r['minutes']:>5.1f} {r['cpu_minutes']:>5.1f} {r['train_bpc']:>6.3f} "
                     f"{r['valid_bpc_best']:>10.3f} "
                     f"{r['best_step']:>6} {r['valid_bpc_last']:>10.3f} {r['test_bpc']:>6.3f}  "
                     f"{verdict}".rstrip())
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="shakespeare")
    p.add_argument("--max-chars", type=int, default=40_000)
    p.add_argument("--test-chars", type=int, default=20_000)
    p.add_argument("--valid-fraction", type=float, default=0.2)
    p.add_argument("--params", type=int, default=240_000, help="target parameter count")
    p.add_argument("--embedding", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--minutes", type=float, default=6.0)
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="variants training at once")
    p.add_argument("--variants", default=DEFAULT_VARIANTS)
    p.add_argument("--out", default="runs/lm-variants")
    p.add_argument("--json", default=None, help="also write the rows here")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    args.overrides = overrides
    args.steps = 4
    if args.smoke:
        args.params, args.embedding, args.eval_every = 6_000, 8, 2
        args.overrides = [*overrides, "--data.batch_size=4", "--data.seq_len=16",
                          "--data.eval_batch_size=4", "--sched.warmup_steps=1"]
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    variants = [parse_variant(v.strip()) for v in args.variants.split(",") if v.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text, test_text = corpus_texts(args)
    corpus, test_path = out / "corpus.txt", out / "test.txt"
    for path, content in ((corpus, text), (test_path, test_text)):
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    vocab = build_tokenizer("char", text, 1).vocab_size  # as rnnkit train lm fits it
    sizes = {v.label: solve_hidden(v, vocab, args.params, args.embedding, args.layers)
             for v in variants}
    for v in variants:
        print(f"{v.label}: hidden {sizes[v.label][0]}, {sizes[v.label][1]:,} parameters "
              f"(target {args.params:,}, vocabulary {vocab})", flush=True)
    jobs = [(v, train_command(args, v, sizes[v.label][0], corpus, out / v.label), out / v.label)
            for v in variants]
    build_kernels()
    run_all(args, jobs)
    rows = []
    for v in variants:
        row = summarise(v, out / v.label, test_path)
        hidden, params = sizes[v.label]
        row.update(hidden=hidden, params=params, minutes=run_minutes(out / v.label)[0],
                   cpu_minutes=run_minutes(out / v.label)[1],
                   **{k: val for k, val in asdict(v).items() if k != "label"})
        rows.append(row)
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
