"""`train.ensemble = N`: N members trained one after another from seeds seed..seed+N-1.

    RUN_DIR/config.json        the resolved config (train.ensemble = N)
    RUN_DIR/members/<k>/       member k: a complete run (config.json with train.seed = seed+k
                               and train.ensemble = 1, metrics.jsonl, best/, last/), plus
                               done.json (its summary) once it has finished
    RUN_DIR/ensemble.json      validation metrics of the averaged members, `best` and `last`

The members share the task object (the same data, split and vocabulary) and differ in their
initial weights and dropout masks -- unless the task gives each member its own data
(`task.member(k)`: classify's k-fold, where member k validates on fold k). `--resume RUN_DIR`
skips finished members (done.json), resumes the one that was interrupted and trains the rest.
`load_run(RUN_DIR, which)` merges the members' `which` checkpoints into one state_dict
(`members.<k>.*`) for the task's `ensemble(models)` (classify: the mean of the members' class
probabilities).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch

from rnnkit.errors import ConfigError
from rnnkit.files import refuse_link, write_json
from rnnkit.models.ensemble import model_from_state
from rnnkit.training.checkpoint import load_run
from rnnkit.training.settings import RunConfig
from rnnkit.training.task import Task


def member_dir(run_dir: Path, k: int) -> Path:
    return Path(run_dir) / "members" / str(k)


def resolve_members(task: Task, cfg: RunConfig) -> RunConfig:
    """`cfg` with `train.ensemble = 0` (auto) replaced by the task's choice from its training
    data (`task.auto_ensemble()`), 1 for a task without one or under torchrun; a given number
    is kept. The run's config.json then holds the number, so evaluate and --resume see it."""
    if cfg.train.ensemble != 0:
        return cfg
    choose = getattr(task, "auto_ensemble", None)
    n = 1
    if callable(choose) and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        n = int(choose())
    if n < 1:
        raise ConfigError(f"train.ensemble: task {task.name!r} chose {n} members for auto; "
                          "expected >= 1")
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, ensemble=n))


def member_task(task: Task, k: int) -> Task:
    """What member k trains on: `task.member(k)` where the task has it (classify's k-fold:
    its own validation fold), else the task itself."""
    member = getattr(task, "member", None)
    return member(k) if callable(member) else task


def check_ensemble(task: Task, cfg: RunConfig) -> None:
    n = cfg.train.ensemble
    if not callable(getattr(task, "ensemble", None)):
        raise ConfigError(f"train.ensemble: task {task.name!r} cannot average members (it has "
                          f"no ensemble()); expected 1, got {n}")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError(f"train.ensemble: expected 1 under torchrun (members train one after "
                          f"another in one process), got {n}")


def train_ensemble(task: Task, cfg: RunConfig, run_dir: Path, train_one, prepare,
                   resume: bool = False) -> dict:
    """Train the members (`train_one(task, cfg, dir, resume)`, i.e. run.train) and score the
    averaged members on the validation data; `prepare(run_dir, cfg, resume)` writes config.json."""
    check_ensemble(task, cfg)
    n, seed = cfg.train.ensemble, cfg.train.seed
    prepare(run_dir, cfg, resume)
    summaries = []
    for k in range(n):
        mdir = refuse_link(member_dir(run_dir, k))  # a member is written only where it lies
        done = mdir / "done.json"
        if resume and done.is_file():
            summaries.append(json.loads(done.read_text()))
            continue
        member = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=seed + k,
                                                                    ensemble=1))
        again = resume and (mdir / "config.json").is_file()
        result = train_one(member_task(task, k), member, mdir, again)
        write_json(done, _plain(result))
        summaries.append(result)
    valid = {which: score_members(task, run_dir, which) for which in ("best", "last")}
    write_json(run_dir / "ensemble.json", {
        "members": n, "seeds": list(range(seed, seed + n)), "valid": valid,
        "members_last_valid": [s.get("last_eval", {}) for s in summaries]})
    return {"run_dir": str(run_dir), "rank": 0, "members": n, "valid": valid,
            "step": summaries[-1]["step"], "stop": summaries[-1]["stop"],
            "skipped": sum(s["skipped"] for s in summaries),
            "restores": sum(s["restores"] for s in summaries)}


def ensemble_finished(run_dir: Path, n: int) -> bool:
    """Whether every member of the ensemble run has finished and the ensemble was scored."""
    run_dir = Path(run_dir)
    return (run_dir / "ensemble.json").is_file() and all(
        (member_dir(run_dir, k) / "done.json").is_file() for k in range(n))


def trained_model(task: Task, run_dir: Path, which: str) -> torch.nn.Module:
    """The run's `which` checkpoint as one model in eval mode (the members' ensemble for an
    ensemble run), on the CPU."""
    _, _, state_dict = load_run(run_dir, which)
    return model_from_state(task, state_dict).eval()


@torch.no_grad()
def score_members(task: Task, run_dir: Path, which: str) -> dict[str, float]:
    """The task's validation metrics of the members' `which` checkpoints, averaged."""
    model = trained_model(task, run_dir, which)
    return {k: float(v) for k, v in task.evaluate(model).items()}


def _plain(summary: dict) -> dict:
    """A summary JSON can hold (infinities and NaN as strings)."""
    def fix(v):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return str(v)
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v
    return {k: fix(v) for k, v in summary.items()}
