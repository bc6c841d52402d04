"""Checkpoints: tensors in safetensors, everything else in JSON; written atomically; loading
never unpickles.

A checkpoint is a directory (`RUN_DIR/last`, `RUN_DIR/best`):
  model.safetensors      the model's state_dict (unwrapped from DDP, on CPU)
  optimizer.safetensors  the optimizer's state tensors, keyed "state.<param index>.<name>"
  carry.safetensors      the carried truncated-BPTT state of every rank (if any)
  state.json             step, epoch, batch position, RNG states, schedule and guard state,
                         metrics, the task's metadata, the optimizer's param groups and the
                         layout of the carried state

Atomic write: everything goes into a fresh temporary directory, each file fsync'ed, then
  `last` -> `last.old` (rename), temporary -> `last` (rename), fsync the run directory,
  remove `last.old`.
A crash before the first rename leaves `last` untouched; between the two renames it leaves
`last.old` complete, which the loader (and the next save) takes. state.json is written last,
so a directory with state.json is complete.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save

from rnnkit.errors import RnnkitError
from rnnkit.files import fsync_dir, refuse_link, write_new
from rnnkit.models.from_state import Weights
from rnnkit.training.readers import damaged, read_config, read_json, read_tensors

FORMAT = "rnnkit-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    model: dict[str, torch.Tensor]
    optimizer: dict | None  # a torch optimizer state_dict, rebuilt
    state: dict  # state.json
    carry: list[Any] = field(default_factory=list)  # per rank
    path: Path | None = None  # the checkpoint directory it was read from


# ---------------------------------------------------------------- writing


def save_checkpoint(run_dir: Path, name: str, *, model: dict[str, torch.Tensor],
                    optimizer: dict | None, state: dict, carry: list[Any] | None = None) -> Path:
    """Write checkpoint `run_dir/name` atomically; returns its path."""
    run_dir = Path(run_dir)
    final, old = refuse_link(run_dir / name), refuse_link(run_dir / f"{name}.old")
    _recover(final, old)
    for stale in run_dir.glob(f".{name}.tmp-*"):  # of a save that was killed
        shutil.rmtree(refuse_link(stale))
    tmp = run_dir / f".{name}.tmp-{os.getpid()}"
    tmp.mkdir(parents=True)

    _write_bytes(tmp / "model.safetensors", save(_cpu_tensors(model)))
    state = dict(state, format=FORMAT, version=VERSION)
    if optimizer is not None:
        tensors, layout = optimizer_to_tensors(optimizer)
        _write_bytes(tmp / "optimizer.safetensors", save(tensors))
        state["optimizer"] = layout
    if carry is not None and any(c is not None for c in carry):
        tensors, layouts = {}, []
        for rank, tree in enumerate(carry):
            layouts.append(tree_to_tensors(tree, f"rank{rank}", tensors))
        _write_bytes(tmp / "carry.safetensors", save(_cpu_tensors(tensors)))
        state["carry"] = layouts
    _write_state_json(tmp / "state.json", state)
    fsync_dir(tmp)

    if final.exists():
        os.replace(final, old)
    _swap_in(tmp, final)
    fsync_dir(run_dir)
    if old.exists():
        shutil.rmtree(old)
    return final


def _write_state_json(path: Path, state: dict) -> None:
    _write_bytes(path, (json.dumps(state, indent=1, allow_nan=False) + "\n").encode())


def _swap_in(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def _write_bytes(path: Path, data: bytes) -> None:
    write_new(path, data)


def _fsync_dir(path: Path) -> None:
    fsync_dir(path)


def _recover(final: Path, old: Path) -> None:
    """Finish a save that crashed between its two renames."""
    if old.exists() and not final.exists():
        os.replace(old, final)
    elif old.exists():
        shutil.rmtree(old)


def _cpu_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # clone: safetensors refuses tensors sharing memory (tied weights) and non-contiguous ones
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}


# ---------------------------------------------------------------- reading


def checkpoint_dir(run_dir: Path, which: str = "last") -> Path:
    """The complete checkpoint `which` of a run (or its `.old` twin after a crash mid-save)."""
    run_dir = Path(run_dir)
    for candidate in (run_dir / which, run_dir / f"{which}.old"):
        if (candidate / "state.json").is_file():
            return candidate
    raise RnnkitError(f"no checkpoint {which!r} in {run_dir} "
                      f"(expected {run_dir / which}/state.json)")


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint directory: safetensors and JSON only, nothing is unpickled."""
    path = Path(path)
    state = read_state(path)
    model = read_tensors(path / "model.safetensors")
    try:
        optimizer = None
        if "optimizer" in state:
            optimizer = optimizer_from_tensors(read_tensors(path / "optimizer.safetensors"),
                                               state["optimizer"])
        carry = []
        if "carry" in state:
            tensors = read_tensors(path / "carry.safetensors")
            carry = [tree_from_tensors(layout, tensors) for layout in state["carry"]]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise damaged(path / "state.json", err) from None
    return Checkpoint(model=model, optimizer=optimizer, state=state, carry=carry, path=path)


def read_state(path: Path) -> dict:
    """state.json of checkpoint directory `path`, checked to be one of rnnkit's."""
    state = read_json(Path(path) / "state.json")
    if state.get("format") != FORMAT:
        raise RnnkitError(f"{path}/state.json: not an rnnkit checkpoint (format "
                          f"{state.get('format')!r})")
    return state


def load_run(run_dir: str | Path,
             which: str = "best") -> tuple[dict, dict, dict[str, torch.Tensor]]:
    """(resolved config dict, task metadata dict, model state_dict) of a run's checkpoint.

    The config dict is config.json: {"task_name", "task": {...the task's Config...}, "train",
    "optim", "sched", "guard", "command_line", ...}; rebuild the task's config with
    `rnnkit.config.build(module.Config, cfg["task"])`. When the run has a calibration.json
    (rnnkit.training.calibration), its `which` entry is metadata["calibration"].
    """
    config, metadata, state_dict = _load_weights(run_dir, which)
    path = Path(run_dir) / "calibration.json"
    if path.is_file():
        fitted = read_json(path)
        if which in fitted:
            metadata = {**metadata, "calibration": fitted[which]}
    return config, metadata, state_dict


def _load_weights(run_dir: str | Path,
                  which: str) -> tuple[dict, dict, dict[str, torch.Tensor]]:
    """load_run without the calibration (the members of an ensemble: theirs is not used)."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise RnnkitError(f"{run_dir}: not a run directory (no config.json)")
    config = read_config(config_path)
    members = (config.get("train") or {}).get("ensemble", 1)
    if isinstance(members, int) and members > 1:
        return config, *_load_members(run_dir, which, members)
    directory = checkpoint_dir(run_dir, which)
    state = read_state(directory)
    metadata = state.get("metadata", {})
    if not isinstance(metadata, dict):
        raise RnnkitError(f"{directory}/state.json: damaged (metadata is not an object)")
    return config, metadata, read_tensors(directory / "model.safetensors")


def _load_members(run_dir: Path, which: str, n: int) -> tuple[dict, dict[str, torch.Tensor]]:
    """An ensemble run (train.ensemble = n): (metadata, members' `which` state_dicts merged as
    `members.<k>.<key>`); every member must hold the same metadata (data, vocabulary, ...)."""
    metadata, merged = None, {}
    for k in range(n):
        member = run_dir / "members" / str(k)
        if not (member / "config.json").is_file():
            raise RnnkitError(f"{run_dir}: an ensemble of {n} members, but member {k} is missing "
                              f"(no {member}/config.json); finish it with --resume {run_dir}")
        _, meta, state = _load_weights(member, which)
        if metadata is None:
            metadata = meta
        elif meta != metadata:
            raise RnnkitError(f"{member}: its metadata (data, vocabulary, classes) differs from "
                              "member 0's; the members do not form one ensemble")
        merged.update({f"members.{k}.{key}": v for key, v in state.items()})
    return metadata, Weights(merged, source=f"{run_dir}/members/*/{which}/model.safetensors")


def bytes_to_tensors(data: bytes) -> dict[str, torch.Tensor]:
    """safetensors bytes (e.g. gathered from another rank) to tensors; never unpickles."""
    return st_load(data)


# ---------------------------------------------------------------- optimizer and state trees


def optimizer_to_tensors(sd: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer state_dict into tensors and a JSON layout."""
    tensors, extra = {}, {}
    for index, values in sd["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{key}"] = value
            else:
                extra.setdefault(str(index), {})[key] = value
    return _cpu_tensors(tensors), {"param_groups": sd["param_groups"], "state_extra": extra}


def optimizer_from_tensors(tensors: dict[str, torch.Tensor], layout: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for index, values in layout.get("state_extra", {}).items():
        state.setdefault(int(index), {}).update(values)
    groups = []
    for group in layout["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    return {"state": state, "param_groups": groups}


def tree_to_tensors(tree: Any, prefix: str, out: dict[str, torch.Tensor]) -> Any:
    """A JSON layout of a state tree (tensors, tuples, lists, dicts, numbers, None); its
    tensors go into `out` under keys starting with `prefix`."""
    if tree is None or isinstance(tree, bool | int | float | str):
        return {"value": tree}
    if torch.is_tensor(tree):
        out[prefix] = tree
        return {"tensor": prefix}
    if isinstance(tree, tuple | list):
        kind = "tuple" if isinstance(tree, tuple) else "list"
        return {kind: [tree_to_tensors(v, f"{prefix}.{i}", out) for i, v in enumerate(tree)]}
    if isinstance(tree, dict):
        return {"dict": {str(k): tree_to_tensors(v, f"{prefix}.{k}", out) for k, v in tree.items()}}
    raise RnnkitError(f"cannot checkpoint a carried state of type {type(tree).__name__}; "
                      "use tensors, tuples, lists or dicts")


def tree_from_tensors(layout: dict, tensors: dict[str, torch.Tensor]) -> Any:
    if "value" in layout:
        return layout["value"]
    if "tensor" in layout:
        return tensors[layout["tensor"]]
    if "tuple" in layout:
        return tuple(tree_from_tensors(v, tensors) for v in layout["tuple"])
    if "list" in layout:
        return [tree_from_tensors(v, tensors) for v in layout["list"]]
    return {k: tree_from_tensors(v, tensors) for k, v in layout["dict"].items()}
