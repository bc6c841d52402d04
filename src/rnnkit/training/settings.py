"""The engine's typed config sections and the run config that composes them with a task's.

Dotted keys address one namespace: the engine's sections (`train`, `optim`, `sched`, `guard`)
and the fields of the task's Config (`model`, `data`, ...), e.g. `--optim.lr=3e-4`,
`--model.hidden_size=256`. Priority, lowest first: dataclass defaults, the task's
TRAIN_DEFAULTS, the TOML file, the command-line overrides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from rnnkit import config as C
from rnnkit.errors import ConfigError
from rnnkit.training.ranges import validate


@dataclass
class TrainConfig:
    steps: int = 1000  # training batches (a skipped batch counts); 0 = no limit
    minutes: float = 0.0  # wall-clock budget of this invocation; 0 = none
    epochs: int = 0  # 0 = no limit
    seed: int = 0  # seeds python, numpy and torch (and the task's data order)
    clip_norm: float = 1.0  # clip the global gradient norm to this; 0 = off
    clip_value: float = 0.0  # clip every gradient element to [-v, v]; 0 = off
    eval_every: int = 200  # steps between evaluations (and best/last checkpoints)
    ckpt_every: int = 0  # steps between `last` checkpoints; 0 = at every evaluation
    log_every: int = 50  # steps between plain progress lines (no TTY or CI)
    diag_every: int = 0  # steps between gradient-flow figures in metrics.jsonl ("diag"); 0 = off
    early_stop: int = 0  # stop after this many evaluations without improvement; 0 = off
    best_metric: str = "loss"  # validation metric that picks the `best` checkpoint (macro_f1, ...)
    best_mode: Literal["min", "max"] = "min"  # lower or higher best_metric is better
    ensemble: int = 1  # members (seeds seed..seed+N-1), averaged; 0 = auto (the task's choice)
    carry_state: bool = True  # truncated BPTT: carry the state across chunks
    device: str = "auto"  # "auto" (cuda if available), "cpu", "cuda", "cuda:1", ...
    threads: int | Literal["auto"] = 0  # torch CPU threads; 0 = torch's default; auto = measured


@dataclass
class OptimConfig:
    name: Literal["adamw", "sgd", "rmsprop"] = "adamw"  # the optimizer
    lr: float = 1e-3  # learning rate (the peak, with a schedule)
    weight_decay: float = 0.0  # adamw: decoupled; sgd, rmsprop: L2 added to the gradient
    betas: tuple[float, ...] = (0.9, 0.999)  # adamw
    eps: float = 1e-8  # adamw, rmsprop
    momentum: float = 0.9  # sgd, rmsprop
    nesterov: bool = False  # sgd
    alpha: float = 0.99  # rmsprop smoothing


@dataclass
class SchedConfig:
    # the learning-rate schedule after the warm-up
    name: Literal["constant", "step", "exponential", "cosine", "plateau"] = "constant"
    warmup_steps: int = 0  # linear warm-up from 0, before any schedule
    gamma: float = 0.5  # step/exponential: factor per decay; plateau: factor per reduction
    start_epoch: int = 1  # step/exponential: first epoch (0-based) with decayed lr
    every_epochs: int = 1  # step: epochs between decays
    total_steps: int = 0  # cosine: a fixed length in steps; 0 = to the end of the run
    min_lr: float = 0.0  # cosine floor; plateau floor
    patience: int = 2  # plateau: evaluations without improvement before a reduction


@dataclass
class GuardConfig:
    enabled: bool = True  # skip non-finite and exploding steps, restore, stop with advice
    max_bad_in_row: int = 5  # skipped steps in a row before restoring the last checkpoint
    max_restores: int = 3  # restores (each with lr x lr_factor) before stopping
    lr_factor: float = 0.5  # the learning rate is multiplied by this at each restore
    explode_factor: float = 10.0  # a loss above this x the reference loss is "exploding"
    ref_steps: int = 5  # the reference loss is the mean of the first good steps' losses


ENGINE_SECTIONS: dict[str, type] = {
    "train": TrainConfig, "optim": OptimConfig, "sched": SchedConfig, "guard": GuardConfig,
}


@dataclass
class RunConfig:
    task_name: str
    task: Any  # the task module's Config instance
    train: TrainConfig = field(default_factory=TrainConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    sched: SchedConfig = field(default_factory=SchedConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"task_name": self.task_name, "task": C.to_dict(self.task)}
        out.update({name: C.to_dict(getattr(self, name)) for name in ENGINE_SECTIONS})
        return out


def resolve(module: ModuleType, task_name: str, *, file_data: dict | None = None,
            file_name: str = "", overrides: list[str] = (), base: dict | None = None) -> RunConfig:
    """The run config of `task_name`: defaults, TRAIN_DEFAULTS (or `base`, a saved config.json
    when resuming), then the TOML file's tables, then dotted command-line overrides."""
    task_cls = module.Config
    clash = set(C.field_types(task_cls)) & set(ENGINE_SECTIONS)
    if clash:
        raise ConfigError(f"task {task_name!r}: Config field(s) {sorted(clash)} clash with the "
                          "engine's sections")
    tree: dict[str, Any] = {"task": C.to_dict(task_cls())}
    tree.update({n: C.to_dict(cls()) for n, cls in ENGINE_SECTIONS.items()})
    if base is not None:
        tree = {"task": base["task"], **{n: base[n] for n in ENGINE_SECTIONS}}
    else:
        for dotted, value in getattr(module, "TRAIN_DEFAULTS", {}).items():
            tree = _apply(tree, task_cls, dotted, value, f"{module.__name__}.TRAIN_DEFAULTS")
    for dotted, value in _flatten(file_data or {}):
        if dotted == "task":  # a config file may say which task it is for
            if value != task_name:
                raise ConfigError(f"{file_name}: task = {value!r}, but TASK is {task_name!r}")
            continue
        tree = _apply(tree, task_cls, dotted, value, file_name)
    for dotted, raw, arg in C.split_overrides(list(overrides)):
        tp = _lookup(task_cls, dotted, arg)
        tree = _apply(tree, task_cls, dotted, C.parse_text(tp, raw, dotted, arg), arg)
    return validate(_build(tree, task_cls, task_name))


def _lookup(task_cls: type, dotted: str, source: str) -> Any:
    """The type at `dotted` in the one namespace of engine sections and task fields."""
    fields = [(n, cls) for n, cls in ENGINE_SECTIONS.items()]
    fields += list(C.field_types(task_cls).items())
    namespace = dataclasses.make_dataclass("RunNamespace", fields)
    return C.lookup_type(namespace, dotted, source)


def _apply(tree: dict, task_cls: type, dotted: str, value: Any, source: str) -> dict:
    tp = _lookup(task_cls, dotted, source)
    C.check(tp, value, dotted, source)  # fail here, naming the key and where it came from
    path = dotted if dotted.split(".", 1)[0] in ENGINE_SECTIONS else "task." + dotted
    return C._deep_merge(tree, C.nest(path, value))


def _build(tree: dict, task_cls: type, task_name: str) -> RunConfig:
    task = C.build(task_cls, tree["task"], source="the resolved config")
    sections = {n: C.build(cls, tree[n], source="the resolved config", prefix=n + ".")
                for n, cls in ENGINE_SECTIONS.items()}
    return RunConfig(task_name=task_name, task=task, **sections)


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((prefix + key, value))
    return out


def load_file(path: str | Path) -> dict:
    return C.load_toml(path)


def settings_help(module: ModuleType, task_name: str) -> str:
    """Every setting of `task_name`, one line each: dotted key, type, default (the task's
    TRAIN_DEFAULTS applied) and meaning, generated from the typed configs."""
    cfg = resolve(module, task_name)
    docs = C.describe(module.Config, values=cfg.task)
    for name, cls in ENGINE_SECTIONS.items():
        docs += C.describe(cls, f"{name}.", getattr(cfg, name))
    shown = [(d.key, d.type, _shown(d.default), d.meaning) for d in docs]
    width = [max(len(row[k]) for row in shown) for k in range(3)]
    lines = [f"settings of task {task_name} (--KEY=VALUE, or KEY = VALUE under [SECTION] in a "
             "--config TOML file):"]
    if getattr(module, "DATA_KEY", None):
        lines[0] += f"\n  (--data X is --{module.DATA_KEY}=X)"
    lines += [f"  {key:<{width[0]}}  {tp:<{width[1]}}  {default:<{width[2]}}  {meaning}".rstrip()
              for key, tp, default, meaning in shown]
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value) if value == "" or " " in value else value
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)
