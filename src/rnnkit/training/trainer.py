"""The training loop, to be read top to bottom: `Trainer.fit`.

Per step: learning rate from the schedule -> task.step (forward + loss, with the carried state
for truncated BPTT) -> backward -> global gradient norm (logged, before clipping) -> guards ->
clip -> optimizer step -> detach the carried state at the chunk boundary. Every `eval_every`
steps: evaluate, keep the best checkpoint (lowest validation loss, or the best value of
`train.best_metric` in the direction `train.best_mode`), plateau schedule, early stopping; every
`ckpt_every` steps the `last` checkpoint. The trainer knows nothing about the model or data.

Resume: a checkpoint holds the position in the data (epoch, batches consumed in it), the RNG
states at that point and at the start of the epoch, and the carried state; a resumed run
reopens the epoch under the epoch's RNG state, skips the consumed batches, then restores the
RNG state of the checkpoint, and so sees exactly the batches and random draws it would have.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as st_save

from rnnkit.errors import RnnkitError
from rnnkit.training import distributed as D
from rnnkit.training.checkpoint import (
    Checkpoint,
    bytes_to_tensors,
    checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
    tree_from_tensors,
    tree_to_tensors,
)
from rnnkit.training.guards import Guard, TrainingDiverged, Verdict
from rnnkit.training.metrics_log import MetricsLog
from rnnkit.training.optimizers import build_optimizer, set_lr
from rnnkit.training.progress import Progress
from rnnkit.training.readers import check_resumable, damaged
from rnnkit.training.rng import get_rng_state, set_rng_state
from rnnkit.training.schedules import Schedule
from rnnkit.training.settings import RunConfig
from rnnkit.training.task import Task, check_step_output
from rnnkit.training.tbptt import detach_state

_END = object()


class Trainer:
    clock = staticmethod(time.monotonic)  # seconds, for train.minutes; tests put a fake one here

    def __init__(self, task: Task, model: torch.nn.Module, cfg: RunConfig, run_dir: Path,
                 dist: D.DistInfo, device: torch.device, progress: str = "auto"):
        self.task, self.cfg, self.run_dir, self.dist, self.device = task, cfg, run_dir, dist, device
        self.module = model  # the bare model: checkpoints, evaluation
        self.model = model  # what step() runs: the DDP wrapper under torchrun
        if dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        self.optimizer = build_optimizer(model.parameters(), cfg.optim)
        self.schedule = Schedule(cfg.sched, cfg.optim.lr, cfg.train.steps, cfg.train.minutes)
        self.elapsed = 0.0  # seconds of this invocation, as rank 0's clock measured them
        self.guard = Guard(cfg.guard)
        self.step = 0  # training batches done (skipped ones included)
        self.epoch = 0
        self.batch_index = 0  # batches of this epoch consumed
        self.carry: Any = None  # truncated BPTT: state carried into the next chunk
        self.epoch_rng: dict | None = None  # RNG states when this epoch's batches were opened
        self.best_val = self._worst()  # of train.best_metric
        self.evals_since_best = 0
        self.last_eval: dict[str, float] = {}
        self.saved_step = self.evaluated_step = -1
        self._rng_after: dict | None = None  # RNG states of the checkpoint resumed from
        self.log = MetricsLog(run_dir, enabled=dist.is_main)
        self.progress_mode = progress  # auto (rich on a terminal), plain, rich, off
        self.unit = getattr(task, "item_unit", "items")

    # ------------------------------------------------------------ the loop

    def fit(self) -> dict:
        t = self.cfg.train
        if not (t.steps or t.minutes or t.epochs):
            raise RnnkitError("set a limit: --steps N, --minutes M or --train.epochs=E")
        progress = Progress(t.steps, self.step, self.unit, t.log_every,
                            enabled=self.dist.is_main and self.progress_mode != "off",
                            fancy={"plain": False, "rich": True}.get(self.progress_mode),
                            minutes=t.minutes)
        start, self.elapsed = self.clock(), 0.0
        batches = self._open_epoch(self.batch_index, rng_after=self._rng_after)
        stop = self._limit_reached()  # resumed at its end (an ensemble member): no step more
        try:
            while stop is None:
                batch = next(batches, _END)
                if batch is _END:  # end of the epoch: the streams start over with no state
                    self.epoch, self.batch_index, self.carry = self.epoch + 1, 0, None
                    if t.epochs and self.epoch >= t.epochs:
                        stop = "epochs"
                    else:
                        batches = self._open_epoch(0)
                    continue
                self.batch_index += 1
                verdict, record = self._train_step(batch)
                self.step += 1
                self.log.write("train", self.step, epoch=self.epoch, **record)
                if t.diag_every and self.step % t.diag_every == 0 and self.dist.is_main:
                    self._diagnose(batch)
                progress.update(self.step, record["loss"], record["grad_norm"], record["lr"],
                                record[f"{self.unit}_per_s"])
                if verdict is Verdict.STOP:
                    raise TrainingDiverged(self.guard.stop_message(record["lr"], t.clip_norm))
                if verdict is Verdict.RESTORE:
                    progress.message(self._restore())
                    batches = self._open_epoch(self.batch_index, rng_after=self._rng_after)
                    continue
                stop = self._after_step(start, good=verdict is Verdict.OK)
            self._finish(stop)
        finally:
            progress.close()
        return self.summary(stop)

    def _diagnose(self, batch: Any) -> None:
        """train.diag_every: gradient flow through time on this step's batch, as a "diag" record
        (rnnkit.diagnostics.training_figures; the step's gradients are left alone)."""
        from rnnkit.diagnostics import training_figures

        batch = to_device(batch, self.device)
        try:
            figures = training_figures(self.module,
                                       lambda m: self.task.step(m, batch, None).loss)
        except ValueError as err:  # no rnnkit layer, or sequences of unequal length
            raise RnnkitError(f"train.diag_every: {err}") from None
        self.log.write("diag", self.step, **figures)

    def _train_step(self, batch: Any) -> tuple[Verdict, dict]:
        t = self.cfg.train
        lr = self.schedule.lr(self.step, self.epoch, self.elapsed)
        set_lr(self.optimizer, lr)
        t0 = time.perf_counter()
        state_in = self.carry if t.carry_state else None
        batch = to_device(batch, self.device)
        out = check_step_output(self.task.step(self.model, batch, state_in), self.task.name)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        grads = [p.grad for p in self.module.parameters() if p.grad is not None]
        grad_norm = _global_norm(grads)  # before clipping; DDP has averaged the grads already
        n = float(out.n_items)
        loss_sum, n_sum = D.all_mean([out.loss.item() * n, n], self.dist, self.device)
        loss = loss_sum / n_sum if n_sum > 0 else math.nan  # mean over all ranks' items
        verdict = self.guard.check(loss, grad_norm)
        if verdict is Verdict.OK:
            _clip(grads, grad_norm, t.clip_norm, t.clip_value)
            self.optimizer.step()
            self.carry = detach_state(out.state)  # the chunk boundary: memory on, gradient off
        else:
            self.optimizer.zero_grad(set_to_none=True)
            self.carry = None  # a state from a bad step may hold NaN
        seconds = max(time.perf_counter() - t0, 1e-9)
        record = {"loss": loss, "grad_norm": grad_norm, "lr": lr,
                  f"{self.unit}_per_s": n_sum * self.dist.world_size / seconds}
        if verdict is not Verdict.OK:
            record.update(skipped=True, reason=self.guard.last_reason)
        record.update({k: float(v) for k, v in out.metrics.items()})
        return verdict, record

    def _after_step(self, start: float, good: bool) -> str | None:
        """Evaluation, checkpoints (never while steps are being skipped: `last` stays the last
        good state) and the stop conditions."""
        t = self.cfg.train
        stop = None
        if good and t.eval_every and self.step % t.eval_every == 0:
            metrics = self._evaluate()
            self.schedule.on_eval(metrics["loss"])
            if t.early_stop and self.evals_since_best >= t.early_stop:
                stop = "early stopping"
        if good and self.step % (t.ckpt_every or t.eval_every or t.steps or 1) == 0:
            self.save("last")
        if t.steps and self.step >= t.steps:
            stop = stop or "steps"
        if t.minutes:  # rank 0's clock for every rank: the same stop, the same learning rate
            self.elapsed = D.broadcast_json(self.clock() - start, self.dist, self.device)
            if self.elapsed >= 60 * t.minutes:
                stop = stop or "time"
        return stop

    def _limit_reached(self) -> str | None:
        t = self.cfg.train
        if t.steps and self.step >= t.steps:
            return "steps"
        if t.epochs and self.epoch >= t.epochs:
            return "epochs"
        if t.early_stop and self.evals_since_best >= t.early_stop:
            return "early stopping"
        return None

    def _finish(self, stop: str | None) -> None:
        if self.evaluated_step != self.step:
            self._evaluate()
        if self.saved_step != self.step:
            self.save("last")
        self.log.write("event", self.step, event="stop", reason=stop, skipped=self.guard.skipped,
                       restores=self.guard.restores)

    def summary(self, stop: str | None) -> dict:
        return {"run_dir": str(self.run_dir), "rank": self.dist.rank, "step": self.step,
                "epoch": self.epoch,
                "stop": stop, "best_metric": self.cfg.train.best_metric,
                "best_val": self.best_val, "last_eval": self.last_eval,
                "best_val_loss": self.best_val if self.cfg.train.best_metric == "loss" else
                self.last_eval.get("loss", math.nan),
                "skipped": self.guard.skipped, "restores": self.guard.restores}

    # ------------------------------------------------------------ data position

    def _open_epoch(self, skip: int, rng_after: dict | None = None):
        """This epoch's batches; with `skip` > 0 (resume, restore) replayed up to there."""
        if skip == 0:
            self.epoch_rng = get_rng_state()
            return iter(self.task.train_batches(self.epoch, self.dist.rank, self.dist.world_size))
        set_rng_state(self.epoch_rng)
        batches = iter(self.task.train_batches(self.epoch, self.dist.rank, self.dist.world_size))
        for i in range(skip):
            if next(batches, _END) is _END:
                raise RnnkitError(f"resume: epoch {self.epoch} has only {i} batches, the "
                                  f"checkpoint says {skip} were used; did the data change?")
        if rng_after is not None:
            set_rng_state(rng_after)
        return batches

    # ------------------------------------------------------------ evaluation

    def _evaluate(self) -> dict[str, float]:
        metrics = None
        if self.dist.is_main:
            self.module.eval()
            with torch.no_grad():
                metrics = {k: float(v) for k, v in self.task.evaluate(self.module).items()}
            self.module.train()
            if "loss" not in metrics:
                raise RnnkitError(f"task {self.task.name!r}: evaluate() must return a 'loss'")
        metrics = D.broadcast_json(metrics, self.dist, self.device)
        self.last_eval, self.evaluated_step = metrics, self.step
        self.log.write("eval", self.step, epoch=self.epoch, **metrics)
        value = self._best_value(metrics)
        if value < self.best_val if self.cfg.train.best_mode == "min" else value > self.best_val:
            self.best_val, self.evals_since_best = value, 0
            self.save("best")
        else:
            self.evals_since_best += 1
        return metrics

    def _worst(self) -> float:
        return math.inf if self.cfg.train.best_mode == "min" else -math.inf

    def _best_value(self, metrics: dict[str, float]) -> float:
        """The value of train.best_metric in this evaluation (NaN never counts as better)."""
        name = self.cfg.train.best_metric
        if name not in metrics:
            raise RnnkitError(f"train.best_metric: expected one of the metrics task "
                              f"{self.task.name!r} evaluates ({', '.join(sorted(metrics))}), "
                              f"got {name!r}")
        value = metrics[name]
        return value if math.isfinite(value) else self._worst()

    # ------------------------------------------------------------ checkpoints

    def save(self, name: str) -> None:
        """Write checkpoint `name` (rank 0 writes; every rank sends its RNG and carried state)."""
        tensors: dict[str, torch.Tensor] = {}
        layout = tree_to_tensors(self.carry, "carry", tensors)
        mine = json.dumps({"rng": get_rng_state(), "epoch_rng": self.epoch_rng, "carry": layout})
        texts = D.gather_bytes(mine.encode(), self.dist, self.device)
        blobs = D.gather_bytes(st_save({k: v.detach().cpu().contiguous()
                                        for k, v in tensors.items()}), self.dist, self.device)
        if self.dist.is_main:
            ranks = [json.loads(t) for t in texts]
            carry = [tree_from_tensors(r["carry"], bytes_to_tensors(b))
                     for r, b in zip(ranks, blobs, strict=True)]
            state = {
                "step": self.step, "epoch": self.epoch, "batch_index": self.batch_index,
                "world_size": self.dist.world_size,
                "rng": [r["rng"] for r in ranks], "epoch_rng": [r["epoch_rng"] for r in ranks],
                "schedule": self.schedule.state_dict(), "guard": self.guard.state_dict(),
                "best_val": self.best_val if math.isfinite(self.best_val) else None,
                "evals_since_best": self.evals_since_best,
                "metrics": {k: v if math.isfinite(v) else str(v)  # JSON has no NaN
                            for k, v in self.last_eval.items()},
                "metadata": self._metadata(),
            }
            save_checkpoint(self.run_dir, name, model=self.module.state_dict(),
                            optimizer=self.optimizer.state_dict(), state=state, carry=carry)
        D.barrier(self.dist)
        if name == "last":
            self.saved_step = self.step

    def _metadata(self) -> dict:
        metadata = self.task.metadata()
        try:
            json.dumps(metadata, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise RnnkitError(f"task {self.task.name!r}: metadata() must return plain JSON "
                              f"(dicts, lists, str, finite numbers): {err}") from None
        return metadata

    def load(self, ckpt: Checkpoint, *, keep_guard: bool = False) -> None:
        """Take up the run where checkpoint `ckpt` left it (call `fit` next); a checkpoint
        whose state.json or tensors do not have the layout rnnkit wrote is one line naming it."""
        check_resumable(ckpt, self.module)
        try:
            self._load(ckpt, keep_guard)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            if isinstance(err, RnnkitError):
                raise
            raise damaged((ckpt.path or Path("checkpoint")) / "state.json", err) from None

    def _load(self, ckpt: Checkpoint, keep_guard: bool) -> None:
        s = ckpt.state
        if s["world_size"] != self.dist.world_size:
            raise RnnkitError(f"resume: the checkpoint was written by {s['world_size']} "
                              f"process(es), this run has {self.dist.world_size}")
        self.module.load_state_dict(ckpt.model)
        self.optimizer.load_state_dict(ckpt.optimizer)
        self.schedule.load_state_dict(s["schedule"])
        if not keep_guard:
            self.guard.load_state_dict(s["guard"])
        self.step, self.epoch, self.batch_index = s["step"], s["epoch"], s["batch_index"]
        self.best_val = self._worst() if s["best_val"] is None else s["best_val"]
        self.evals_since_best = s["evals_since_best"]
        self.last_eval = {k: float(v) for k, v in s["metrics"].items()}
        self.saved_step = self.evaluated_step = self.step
        rank = self.dist.rank
        self.epoch_rng = s["epoch_rng"][rank]
        self._rng_after = s["rng"][rank]
        set_rng_state(self._rng_after)
        carry = ckpt.carry[rank] if ckpt.carry else None
        self.carry = to_device(carry, self.device)

    def resume_from(self, run_dir: Path) -> None:
        self.load(load_checkpoint(checkpoint_dir(run_dir, "last")))

    def _restore(self) -> str:
        """Guard: back to the last checkpoint with a lower learning rate."""
        D.barrier(self.dist)
        scale = self.schedule.guard_scale * self.cfg.guard.lr_factor
        bad_step = self.step
        self.load(load_checkpoint(checkpoint_dir(self.run_dir, "last")), keep_guard=True)
        self.schedule.guard_scale = scale
        lr = self.schedule.lr(self.step, self.epoch, self.elapsed)
        text = (f"guard: {self.cfg.guard.max_bad_in_row} bad steps in a row at step {bad_step} "
                f"({self.guard.last_reason}); restored step {self.step}, lr now {lr:.3g} "
                f"(restore {self.guard.restores}/{self.cfg.guard.max_restores})")
        self.log.write("event", self.step, event="restore", from_step=bad_step, lr=lr,
                       reason=self.guard.last_reason)
        return text

    def close(self) -> None:
        self.log.close()


def _global_norm(grads: list[torch.Tensor]) -> float:
    if not grads:
        return 0.0
    norms = torch.stack([torch.linalg.vector_norm(g.detach().float()) for g in grads])
    return torch.linalg.vector_norm(norms).item()


def _clip(grads: list[torch.Tensor], norm: float, max_norm: float, max_value: float) -> None:
    """Clip by global norm (scale all gradients together), then by value (each element)."""
    if max_norm > 0 and norm > max_norm:
        for g in grads:
            g.mul_(max_norm / (norm + 1e-6))
    if max_value > 0:
        for g in grads:
            g.clamp_(-max_value, max_value)


def to_device(tree: Any, device: torch.device) -> Any:
    """Tensors (and PackedSequences) in tuples, named tuples, lists and dicts, on `device`."""
    if torch.is_tensor(tree) or isinstance(tree, torch.nn.utils.rnn.PackedSequence):
        return tree.to(device)
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(to_device(v, device) for v in tree))
    if isinstance(tree, tuple | list):
        return type(tree)(to_device(v, device) for v in tree)
    if isinstance(tree, dict):
        return {k: to_device(v, device) for k, v in tree.items()}
    return tree
