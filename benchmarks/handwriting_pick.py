"""Pick the arm of benchmarks/handwriting_gpu.sh with the lowest validation CER (its best
evaluation), reading only each run's metrics.jsonl: no test number is involved.

    python benchmarks/handwriting_pick.py RUNS_DIR ARM [ARM ...]   -> JSON on stdout
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def best_eval(run: Path) -> dict:
    """The evaluation record with the lowest CER, and the run's last step."""
    evals, last = [], 0
    for line in (run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        last = max(last, int(record.get("step", 0)))
        if record.get("kind") == "eval":
            evals.append(record)
    if not evals:
        return {"valid_cer": None, "step": None, "steps": last}
    best = min(evals, key=lambda r: r["cer"])
    return {"valid_cer": best["cer"], "valid_seq_acc": best.get("seq_acc"), "step": best["step"],
            "steps": last}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = Path(argv[0])
    arms = {arm: best_eval(runs / arm) for arm in argv[1:] if (runs / arm / "metrics.jsonl")
            .is_file()}
    scored = {a: r for a, r in arms.items() if r["valid_cer"] is not None}
    chosen = min(scored, key=lambda a: scored[a]["valid_cer"]) if scored else None
    print(json.dumps({"arms": arms, "chosen": chosen}, indent=1))
    return 0 if chosen else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
