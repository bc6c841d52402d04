"""Setting up a run: the run directory, config.json, device, seeding, DDP, then the Trainer.

`train_task(...)` is what `rnnkit train` calls; `train(task, cfg, run_dir)` trains a Task object
you built yourself (tests, notebooks).
"""

from __future__ import annotations

import gc
import os
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from rnnkit._version import __version__
from rnnkit.errors import RnnkitError
from rnnkit.files import make_dir, write_json
from rnnkit.models.from_state import check_fits
from rnnkit.training import distributed as D
from rnnkit.training.calibration import write_calibration
from rnnkit.training.checkpoint import checkpoint_dir, read_state
from rnnkit.training.ensemble import (
    ensemble_finished,
    member_task,
    resolve_members,
    train_ensemble,
)
from rnnkit.training.metrics_log import truncate_after
from rnnkit.training.plots import plot_run
from rnnkit.training.readers import check_counters, read_config, read_json, tensor_shapes
from rnnkit.training.registry import load_task_module
from rnnkit.training.rng import seed_everything
from rnnkit.training.rundir import RunLock, check_fresh, check_no_links
from rnnkit.training.settings import RunConfig, load_file, resolve
from rnnkit.training.task import Task
from rnnkit.training.threads import auto_threads
from rnnkit.training.trainer import Trainer


def train_task(task_name: str | None, *, config_file: str | None = None, out: str | None = None,
               resume: str | None = None, overrides: list[str] = (), argv: list[str] | None = None,
               progress: str = "auto", data: str | None = None) -> dict:
    """Resolve the config of `task_name` (or of the run being resumed) and train it. `data`
    sets the task's main data key (its DATA_KEY, e.g. lm's data.corpus) before the overrides."""
    base = None
    if resume:
        run_dir = Path(resume)
        if not (run_dir / "config.json").is_file():
            raise RnnkitError(f"--resume: {run_dir} is not a run directory (no config.json)")
        base = read_config(run_dir / "config.json")
        if task_name and task_name != base["task_name"]:
            raise RnnkitError(f"--resume: {run_dir} is a run of task {base['task_name']!r}, "
                              f"not {task_name!r}")
        task_name = base["task_name"]
    elif not task_name:
        from rnnkit.training.registry import available_tasks
        raise RnnkitError("TASK: no task given; available tasks: " + ", ".join(available_tasks()))
    module = load_task_module(task_name)
    if data is not None:
        key = getattr(module, "DATA_KEY", None)
        if key is None:
            raise RnnkitError(f"--data: task {task_name!r} has no data to name (it generates "
                              "its own); set its data.* keys instead")
        overrides = [f"--{key}={data}", *overrides]
    file_data = load_file(config_file) if config_file else None
    cfg = resolve(module, task_name, file_data=file_data, file_name=str(config_file or ""),
                  overrides=list(overrides), base=base)
    if not resume:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(out) if out else Path("runs") / f"{task_name}-{stamp}"
    task = module.make_task(cfg.task)
    return train(task, cfg, run_dir, resume=bool(resume), argv=argv, progress=progress)


def train(task: Task, cfg: RunConfig, run_dir: str | Path, *, resume: bool = False,
          argv: list[str] | None = None, progress: str = "auto") -> dict:
    """Train `task` under `cfg`, writing to `run_dir`; returns the run's summary. With
    train.ensemble = N > 1, N members in run_dir/members/<k> (rnnkit.training.ensemble);
    train.ensemble = 0 (auto) is the task's choice, saved as a number."""
    run_dir = Path(run_dir)
    cfg = resolve_members(task, cfg)
    with _claim(run_dir, resume):
        if resume and cfg.train.ensemble == 1:
            _check_unfinished(run_dir, cfg)
        elif resume and ensemble_finished(run_dir, cfg.train.ensemble):
            raise RnnkitError(f"--resume: {run_dir} is finished: all {cfg.train.ensemble} "
                              "members have trained and the ensemble is scored; a finished "
                              "member is not trained further: train a new run to train longer")
        return _train_claimed(task, cfg, run_dir, resume, argv, progress)


def _check_unfinished(run_dir: Path, cfg: RunConfig) -> None:
    """Refuse to resume a run that already reached its limits (the loop would train one more
    step and rewrite best/); say how to train it longer."""
    state = _last_state(run_dir)
    if state is None:
        return
    t, step, epoch = cfg.train, state["step"], state["epoch"]
    if t.steps and step >= t.steps:
        reason = f"it has trained {step} steps of --steps {t.steps}"
        longer = f"--steps N with N > {step}"
    elif t.epochs and epoch >= t.epochs:
        reason = f"it has trained {epoch} epochs of train.epochs={t.epochs}"
        longer = f"--train.epochs=E with E > {epoch}"
    elif t.early_stop and state["evals_since_best"] >= t.early_stop:
        reason = (f"it stopped early ({state['evals_since_best']} evaluations without "
                  f"improvement, train.early_stop={t.early_stop})")
        longer = "a larger --train.early_stop (or 0 = off)"
    else:
        return
    raise RnnkitError(f"--resume: {run_dir} is finished: {reason}; to train it longer, "
                      f"resume with {longer}")


def _last_state(run_dir: Path) -> dict | None:
    """state.json of the run's last checkpoint; None when the run stopped before its first
    (killed between config.json and the step-0 checkpoint)."""
    try:
        path = checkpoint_dir(run_dir, "last")
    except RnnkitError:
        return None
    state = read_state(path)
    check_counters(state, path / "state.json")
    return state


@contextmanager
def _claim(run_dir: Path, resume: bool):
    """The run directory, checked (a new run: missing or empty) and locked for this process
    (rnnkit.training.rundir); under torchrun rank 0 holds the lock for all ranks."""
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    if not resume:
        check_fresh(run_dir)  # before the lock file: nothing written into someone's folder
    check_no_links(run_dir)
    make_dir(run_dir)
    with RunLock(run_dir):
        yield


def _train_claimed(task: Task, cfg: RunConfig, run_dir: Path, resume: bool,
                   argv: list[str] | None, progress: str) -> dict:
    if cfg.train.ensemble > 1:
        def one(task_, member_cfg, member_dir, again):
            return _train_one(task_, member_cfg, member_dir, again, argv, progress)

        def prepare(directory, run_cfg, again):
            _prepare_run_dir(directory, run_cfg, again, argv)

        result = train_ensemble(task, cfg, run_dir, one, prepare, resume=resume)
    else:  # one model is member 0 (a task whose members differ in data: its first part)
        result = _train_one(member_task(task, 0), cfg, run_dir, resume, argv, progress)
    if result.get("rank", 0) == 0 and callable(getattr(task, "calibrate", None)):
        write_calibration(task, run_dir)
    return result


def _train_one(task: Task, cfg: RunConfig, run_dir: Path, resume: bool,
               argv: list[str] | None, progress: str) -> dict:
    t = cfg.train
    if t.threads != "auto" and t.threads > 0:
        torch.set_num_threads(t.threads)
    device = _device(t.device)
    dist = D.setup(device.type)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    try:
        result = _train_in_group(task, cfg, run_dir, dist, device, resume, argv, progress)
        gc.collect()  # the DDP wrapper goes before its process group (gloo aborts otherwise)
        return result
    finally:
        D.teardown(dist)


def _train_in_group(task: Task, cfg: RunConfig, run_dir: Path, dist: D.DistInfo,
                    device: torch.device, resume: bool, argv: list[str] | None,
                    progress: str) -> dict:
    t = cfg.train
    if dist.is_main:
        _prepare_run_dir(run_dir, cfg, resume, argv)
        if resume:  # forget what a crashed run logged after its last checkpoint
            state = _last_state(run_dir)
            truncate_after(run_dir / "metrics.jsonl", state["step"] if state else 0)
            if state is None:
                print(f"rnnkit: {run_dir} stopped before its first checkpoint; training it "
                      "from step 0", file=sys.stderr)
    D.barrier(dist)
    resume = resume and _last_state(run_dir) is not None  # else from step 0, as a new run
    if resume:  # the saved shapes against the settings, before the model takes any memory
        weights = checkpoint_dir(run_dir, "last") / "model.safetensors"
        check_fits(task.build_model, tensor_shapes(weights), str(weights))
    seed_everything(t.seed)
    model = task.build_model().to(device)
    if dist.rank > 0:
        seed_everything(t.seed + dist.rank)  # own dropout masks; DDP copies rank 0's weights
    trainer = Trainer(task, model, cfg, run_dir, dist, device, progress=progress)
    if t.threads == "auto":
        trainer.threads = auto_threads(device.type, dist.enabled)
    try:
        if resume:
            trainer.resume_from(run_dir)
        else:
            trainer.save("last")  # step 0: the guards always have a checkpoint to go back to
        result = trainer.fit()
    finally:
        trainer.close()
        if dist.is_main and (run_dir / "metrics.jsonl").stat().st_size > 0:
            plot_run(run_dir)
    D.barrier(dist)  # no rank leaves the process group while another still uses it
    return result


def _prepare_run_dir(run_dir: Path, cfg: RunConfig, resume: bool, argv: list[str] | None) -> None:
    command = shlex.join(["rnnkit", *(argv if argv is not None else sys.argv[1:])])
    check_no_links(run_dir)  # an ensemble's member directory too
    if resume:
        saved = read_json(run_dir / "config.json")
        record = dict(saved, **cfg.to_dict())
        record["resumed"] = [*saved.get("resumed", []), command]
    else:
        check_fresh(run_dir)  # again, under the lock: another process may have come first
        make_dir(run_dir)
        record = {"command_line": command, "rnnkit_version": __version__,
                  "torch_version": torch.__version__,
                  "world_size": int(os.environ.get("WORLD_SIZE", "1")), **cfg.to_dict()}
    write_json(run_dir / "config.json", record)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise RnnkitError(f"train.device: expected auto, cpu, cuda or cuda:N, "
                          f"got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RnnkitError(f"train.device={name}: CUDA is not available here; "
                          "use --train.device=cpu")
    return device
