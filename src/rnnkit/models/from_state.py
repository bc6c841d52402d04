"""A model rebuilt for saved weights, checked against the weights' own shapes before anything
is allocated.

The settings that size a model (hidden_size, vocabulary, layers) come from a run's config.json
and state.json, the weights from model.safetensors; a damaged or crafted file can make the two
disagree (hidden_size = 10**7 would ask for petabytes). `check_fits` builds the model on the
meta device (shapes only, no memory), compares names and shapes with the weights, and raises
one line naming the weights' file; `build_checked` then builds it for real and loads them.

`Weights` is a state_dict that knows the file it was read from (its `source`), so the error can
name it wherever the model is rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from rnnkit.errors import DataError


class Weights(dict):
    """A state_dict read from a file: `Weights(tensors, source="RUN/best/model.safetensors")`."""

    def __init__(self, tensors: Mapping[str, torch.Tensor], source: str = ""):
        super().__init__(tensors)
        self.source = source


def source_of(weights: Mapping) -> str:
    return getattr(weights, "source", "") or "the weights"


def check_fits(build: Callable[[], nn.Module], shapes: Mapping[str, tuple[int, ...]],
               source: str) -> None:
    """Raise DataError unless `build()` makes a model whose state_dict has exactly the names and
    shapes of `shapes` (name -> shape of the saved tensor). Builds on the meta device only."""
    try:
        with torch.device("meta"):
            skeleton = build()
    except (TypeError, ValueError, RuntimeError) as err:  # settings no model can be built from
        raise DataError(f"{source}: the run's settings (config.json, state.json) do not build "
                        f"a model: {err}") from None
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    missing = sorted(expected.keys() - shapes.keys())
    unexpected = sorted(shapes.keys() - expected.keys())
    if missing or unexpected:
        raise DataError(f"{source}: the weights do not match the run's settings: missing "
                        f"{_few(missing)}, unexpected {_few(unexpected)}; the checkpoint is "
                        "damaged, or config.json / state.json were changed")
    for key, want in expected.items():
        got = tuple(shapes[key])
        if got != want:
            raise DataError(f"{source}: {key} has shape {list(got)}, the run's settings "
                            f"(config.json, state.json) give {list(want)}; the checkpoint is "
                            "damaged, or its settings were changed")


def build_checked(build: Callable[[], nn.Module], weights: Mapping[str, torch.Tensor]) -> nn.Module:
    """`build()` with `weights` loaded, after `check_fits` (see the module doc)."""
    check_fits(build, {k: tuple(v.shape) for k, v in weights.items()}, source_of(weights))
    model = build()
    model.load_state_dict(weights)
    return model


def _few(names: list[str]) -> str:
    if not names:
        return "none"
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
