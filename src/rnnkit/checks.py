"""Validation at the boundary: each message names the argument, the expected and received value.

The error types are torch.nn's: a flag or size of the wrong type is a TypeError, a value out of
range a ValueError, and a shape that does not fit is a ShapeError, which is both a ValueError and a
RuntimeError (torch raises RuntimeError there), so `except RuntimeError` code written for torch.nn
keeps working. Wording follows torch's, with the received value and what to do added.
"""

from __future__ import annotations

import numbers
import warnings

import torch
from torch import Tensor

from rnnkit.errors import RnnkitError


class ShapeError(RnnkitError, ValueError, RuntimeError):
    """An argument's shape, size, dtype or value does not fit the layer."""


class ArgumentTypeError(RnnkitError, TypeError):
    """An argument has the wrong type: a flag that is not a bool, a size that is not an int."""


def check_bool(name: str, value) -> bool:
    """torch.nn refuses non-bool flags (`batch_first="False"` would otherwise mean True)."""
    if not isinstance(value, bool):
        raise ArgumentTypeError(
            f"{name} should be of type bool, got: {type(value).__name__} ({value!r}); "
            f"pass True or False"
        )
    return value


def check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(
            f"{name} should be of type int, got: {type(value).__name__} ({value!r})"
        )
    if value < low:
        what = "greater than zero" if low == 1 else f"at least {low}"
        raise ShapeError(f"{name} must be {what}, got {value}")
    return value


def check_nonlinearity(nonlinearity) -> None:
    if nonlinearity not in ("tanh", "relu"):
        raise ShapeError(f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")


def check_settings(
    mode: str, input_size, hidden_size, num_layers, dropout, proj_size, nonlinearity, *,
    min_size: int = 1, projection: bool = False,
) -> None:
    """The layer's numeric settings (min_size 0 for cells, whose sizes torch lets be 0);
    projection: whether the cell family takes proj_size."""
    check_int("input_size", input_size, min_size)
    check_int("hidden_size", hidden_size, min_size)
    check_int("num_layers", num_layers, 1)
    if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real)
            or not 0 <= dropout <= 1):
        raise ShapeError(
            f"dropout should be a number in range [0, 1] representing the probability of an "
            f"element being zeroed (between layers), got {dropout!r}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
            f"expects num_layers greater than 1, but got dropout={dropout} and num_layers=1",
            stacklevel=4,
        )
    check_int("proj_size", proj_size, 0)
    if proj_size and not projection:
        raise ShapeError(f"proj_size argument is only supported for LSTM, not RNN or GRU (this "
                         f"layer's cell: {mode}); remove it")
    if proj_size and proj_size >= hidden_size:
        raise ShapeError(
            f"proj_size has to be smaller than hidden_size ({hidden_size}), got {proj_size}"
        )
    check_nonlinearity(nonlinearity)


def check_dtype(what: str, t: Tensor, weight_dtype: torch.dtype | None) -> None:
    """torch.nn's check (skipped under autocast, as torch skips it), before any matmul fails."""
    if weight_dtype is None or t.dtype == weight_dtype or torch._C._is_any_autocast_enabled():
        return
    raise ShapeError(
        f"RNN {what} dtype ({t.dtype}) does not match weight dtype ({weight_dtype}). Convert "
        f"{what}: {what}.to({weight_dtype}), or convert model: model.to({t.dtype})"
    )


def check_input(x: Tensor, input_size: int, batch_first: bool, name: str = "RNN",
                weight_dtype: torch.dtype | None = None) -> bool:
    """Checks a padded input; returns True when it is unbatched (rank 2). A batch of 0 sequences
    is accepted (torch returns empty outputs); a sequence of 0 steps is not (nor by torch)."""
    if not isinstance(x, Tensor):
        raise ShapeError(f"input must be a Tensor or PackedSequence, got {type(x).__name__}")
    check_dtype("input", x, weight_dtype)
    if x.dim() not in (2, 3):
        layout = "(B, T, input_size)" if batch_first else "(T, B, input_size)"
        raise ShapeError(
            f"{name}: Expected input to be 2D or 3D, got {x.dim()}D tensor instead: 3D is "
            f"{layout}, 2D (T, input_size) one unbatched sequence; got shape {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise ShapeError(
            f"input.size(-1) must be equal to input_size. Expected {input_size}, got "
            f"{x.shape[-1]} (input shape {tuple(x.shape)})"
        )
    if not x.is_floating_point():
        raise ShapeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
    steps = x.shape[1 if batch_first and x.dim() == 3 else 0]
    if steps == 0:
        raise ShapeError(
            f"Expected sequence length to be larger than 0 in RNN, got input shape "
            f"{tuple(x.shape)}"
        )
    return x.dim() == 2


def check_state(name: str, t: Tensor, expected: tuple[int, ...],
                weight_dtype: torch.dtype | None = None) -> None:
    """name is torch's: "hidden" (RNN, GRU), "hidden[0]" / "hidden[1]" (LSTM's h_0 / c_0)."""
    if not isinstance(t, Tensor):
        raise ShapeError(f"{name} must be a Tensor, got {type(t).__name__}")
    if t.dim() != len(expected):
        kind = "batched 3-D" if len(expected) == 3 else "unbatched 2-D"
        raise ShapeError(
            f"For {kind} input, {name} should also be {len(expected)}-D but got {t.dim()}-D "
            f"tensor (expected shape {expected})"
        )
    if tuple(t.shape) != expected:
        raise ShapeError(
            f"Expected {name} size {expected}, got {list(t.shape)} "
            f"(num_directions * num_layers, batch, size)"
        )
    check_dtype(name, t, weight_dtype)


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
