"""Validation at the boundary: each message names the argument, the expected and received value."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import RnnkitError


class ShapeError(RnnkitError, ValueError):
    """An argument's shape, size or value does not fit the layer."""


def check_settings(
    mode: str, input_size, hidden_size, num_layers, dropout, proj_size, nonlinearity
) -> None:
    for name, value, low in (
        ("input_size", input_size, 1),
        ("hidden_size", hidden_size, 1),
        ("num_layers", num_layers, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ShapeError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ShapeError(
            f"dropout must be a number in [0, 1) (the probability of zeroing an element between "
            f"layers), got {dropout!r}"
        )
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
        raise ShapeError(f"proj_size must be an integer >= 0, got {proj_size!r}")
    if proj_size and mode != "LSTM":
        raise ShapeError(f"proj_size is only for LSTM, got proj_size={proj_size} for {mode}")
    if proj_size and proj_size >= hidden_size:
        raise ShapeError(
            f"proj_size must be smaller than hidden_size ({hidden_size}), got {proj_size}"
        )
    if nonlinearity not in ("tanh", "relu"):
        raise ShapeError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def check_input(x: Tensor, input_size: int, batch_first: bool) -> bool:
    """Checks a padded input; returns True when it is unbatched (rank 2)."""
    if not isinstance(x, Tensor):
        raise ShapeError(f"input must be a Tensor or PackedSequence, got {type(x).__name__}")
    if x.dim() not in (2, 3):
        layout = "(B, T, input_size)" if batch_first else "(T, B, input_size)"
        raise ShapeError(
            f"input must have 3 dimensions {layout} or 2 (T, input_size) for one unbatched "
            f"sequence; got {x.dim()} dimensions, shape {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise ShapeError(
            f"input.size(-1) must equal input_size={input_size}, got {x.shape[-1]} "
            f"(input shape {tuple(x.shape)})"
        )
    if x.dim() == 3 and 0 in x.shape[:2] or x.dim() == 2 and x.shape[0] == 0:
        raise ShapeError(
            f"input must have at least one time step and one sequence, got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ShapeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
    return x.dim() == 2


def check_state(name: str, t: Tensor, expected: tuple[int, ...]) -> None:
    if not isinstance(t, Tensor):
        raise ShapeError(f"{name} must be a Tensor, got {type(t).__name__}")
    if tuple(t.shape) != expected:
        raise ShapeError(
            f"{name} must have shape {expected} (num_directions * num_layers, batch, size), "
            f"got {tuple(t.shape)}"
        )


def check_lengths(lengths, batch: int, steps: int, enforce_sorted: bool) -> Tensor:
    """Returns lengths as an int64 CPU tensor after checking its shape, range and order."""
    if not isinstance(lengths, Tensor):
        lengths = torch.as_tensor(lengths)
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ShapeError(f"lengths must be integers, got dtype {lengths.dtype}")
    lengths = lengths.to("cpu", torch.int64)
    if lengths.shape != (batch,):
        raise ShapeError(
            f"lengths must be 1-D with one entry per sequence, shape ({batch},), "
            f"got shape {tuple(lengths.shape)}"
        )
    if batch and (lengths.min() < 1 or lengths.max() > steps):
        bad = lengths[(lengths < 1) | (lengths > steps)][0].item()
        raise ShapeError(
            f"lengths must lie in [1, {steps}] (the padded number of steps), got {bad}"
        )
    if enforce_sorted and batch > 1 and bool((lengths[1:] > lengths[:-1]).any()):
        raise ShapeError(
            "lengths must be sorted in decreasing order when enforce_sorted=True, got "
            f"{lengths.tolist()}; sort the batch or pass enforce_sorted=False"
        )
    return lengths
