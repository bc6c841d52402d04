"""Helpers for the training tests: a quick toy configuration, a run, its metrics."""

import json
from pathlib import Path

from rnnkit.tasks import toy
from rnnkit.training.run import train
from rnnkit.training.settings import resolve

# A small, quick toy configuration shared by the engine's tests.
FAST = ["--train.eval_every=10", "--data.chunks_per_epoch=7", "--data.batch_size=8",
        "--model.hidden_size=16", "--train.log_every=1000"]


def toy_config(*overrides: str):
    return resolve(toy, "toy", overrides=[*FAST, *overrides])


def run_toy(run_dir: Path, *overrides: str, task=None, resume=False) -> dict:
    cfg = toy_config(*overrides)
    return train(task or toy.make_task(cfg.task), cfg, run_dir, resume=resume, progress="off")


def records(run_dir: Path, kind: str | None = None) -> list[dict]:
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    out = [json.loads(line) for line in lines if line.strip()]
    return [r for r in out if kind is None or r["kind"] == kind]


