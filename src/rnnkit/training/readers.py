"""Reading what a run directory holds, when it may be damaged: every failure is one line naming
the file (JSON that does not parse, a truncated or random safetensors file, a state.json or
tensors without the layout rnnkit wrote). Nothing is unpickled."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from rnnkit.errors import RnnkitError
from rnnkit.models.from_state import Weights, check_fits


def read_json(path: Path) -> dict:
    """A JSON object from `path`; a damaged file is one line naming it."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RnnkitError(f"{path}: missing; the run directory is incomplete") from None
    except IsADirectoryError:
        raise RnnkitError(f"{path} is a directory; expected a JSON file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = f" (line {err.lineno}: {err.msg})" if isinstance(err, json.JSONDecodeError) else ""
        raise RnnkitError(f"{path}: not valid JSON{where}; the file is damaged") from None
    if not isinstance(obj, dict):
        raise RnnkitError(f"{path}: expected a JSON object, got {type(obj).__name__}; the file "
                          "is damaged")
    return obj


def read_config(path: Path) -> dict:
    """A run's config.json: a JSON object naming its task."""
    config = read_json(path)
    if not isinstance(config.get("task_name"), str) or not isinstance(config.get("task"), dict):
        raise RnnkitError(f"{path}: damaged (no task_name or task section); restore it from "
                          "the run's command line, or start a new run")
    return config


def read_tensors(path: Path) -> Weights:
    """The tensors of a safetensors file (nothing unpickled); a damaged file is one line."""
    path = Path(path)
    try:
        return Weights(load_file(path), source=str(path))
    except FileNotFoundError:
        raise RnnkitError(f"{path}: missing; the checkpoint is incomplete") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise RnnkitError(f"{path}: not a readable safetensors file ({err}); the checkpoint is "
                          "damaged") from None


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """name -> shape of a safetensors file, from its header only (no tensor is read)."""
    try:
        with safe_open(path, framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except FileNotFoundError:
        raise RnnkitError(f"{path}: missing; the checkpoint is incomplete") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise RnnkitError(f"{path}: not a readable safetensors file ({err}); the checkpoint is "
                          "damaged") from None


def damaged(path: Path, err: BaseException) -> RnnkitError:
    """The one line for a file whose content does not have the layout rnnkit wrote."""
    return RnnkitError(f"{path}: damaged ({type(err).__name__}: {err}); restore it, or start "
                       "a new run")


def check_resumable(ckpt, module: torch.nn.Module) -> None:
    """Before a Trainer takes up checkpoint `ckpt` (rnnkit.training.checkpoint.Checkpoint):
    the weights' shapes fit `module`, the optimizer's tensors fit its parameters, and the
    counters of state.json are integers; else one line naming the file."""
    source = str(ckpt.path / "model.safetensors") if ckpt.path else "the checkpoint"
    check_fits(lambda: module, {k: tuple(v.shape) for k, v in ckpt.model.items()}, source)
    path = (ckpt.path or Path("checkpoint")) / "state.json"
    check_counters(ckpt.state, path)
    try:
        check_optimizer_state(ckpt.optimizer, list(module.parameters()))
    except (KeyError, TypeError, ValueError) as err:
        raise damaged(path, err) from None


def check_counters(state: dict, path: Path) -> None:
    """The counters of a checkpoint's state.json (at `path`) are integers >= 0."""
    try:
        for key in ("step", "epoch", "batch_index", "world_size", "evals_since_best"):
            if not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0:
                raise ValueError(f"{key} = {state[key]!r}, expected an integer >= 0")
    except (KeyError, ValueError) as err:
        raise damaged(path, err) from None


def check_optimizer_state(sd: dict | None, params: list[torch.Tensor]) -> None:
    """Every saved optimizer tensor of parameter i (momentum, moments) has the shape of
    parameter i (a scalar such as Adam's step aside)."""
    if sd is None:
        raise ValueError("no optimizer state in the checkpoint")
    for index, values in sd["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value) and value.ndim and (
                    index >= len(params) or value.shape != params[index].shape):
                want = list(params[index].shape) if index < len(params) else "no parameter"
                raise ValueError(f"optimizer state {index}.{key} has shape "
                                 f"{list(value.shape)}, the model gives {want}")
