"""A cell family as one object: what the layers, dispatch, diagnostics, initialisation and models
ask of a cell, so that none of them compares a cell's name as a string.

A family says
- its name in the registry (`lstm`) and its layer mode (`LSTM`: torch's name where torch has a
  kernel for it, so `layer.mode` keeps torch's meaning);
- its state tensors by name (`("h", "c")`; `h` first: it is the output) and its gate blocks in
  the row order of W_ih / W_hh (`"ifgo"`); each gate block is hidden_size rows;
- its parameters beyond torch.nn's five (`extra`: norm gains, peephole weights), each with its
  shape and its initial value;
- its step math (`make_math(nonlinearity, reset_after)` -> an object with step_forward /
  step_backward as bptt.py describes), and, for a cell whose training form is a whole-sequence
  scan rather than a step loop, that form (`sequence`: (forward, backward) with the signatures of
  bptt.sequence_forward / sequence_backward); the compiled loops it can take are the step math's
  `kernel` attribute (lstm_seq.py, rnn_seq.py);
- whether torch has a kernel for it (`native`), and whether `impl="auto"` always takes that
  kernel, being as fast as rnnkit's loops or faster (`auto_native`); whether it takes an output
  projection (`projection`), which cache fields are gates for the saturation statistics
  (`gate_stats`: name and whether a sigmoid, else a tanh), and which blocks hold the forget
  gate and the input gate for the forget-gate bias and chrono initialisation (`forget_gate`,
  `input_gate`).
- for a cell that is a whole layer of its own rather than a step math (minGRU, minLSTM: no
  W_hh, trained as one scan, rnnkit.MinGRU / MinLSTM), that layer's `scan` family (scan.py);
  rnnkit.Recurrent builds that layer for it, and its `make_math` refuses (there is no step form
  for the torch.nn-style layers and cells).

The registry of names is registry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ParamSpec:
    """A parameter beyond torch.nn's: `name` without the layer suffix (`ln_ih_weight`, stored as
    `ln_ih_weight_l0` in a layer), its shape from the hidden size, and its initial value (a
    constant, e.g. 1 for a norm gain; None: torch's uniform +-1/sqrt(H) like the weights)."""

    name: str
    shape: Callable[[int], tuple[int, ...]]
    init: float | None = None


@dataclass(frozen=True)
class CellFamily:
    name: str
    mode: str
    make_math: Callable[..., object]
    states: tuple[str, ...] = ("h",)
    blocks: str = "h"
    gate_stats: tuple[tuple[str, bool], ...] = ()
    extra: tuple[ParamSpec, ...] = ()
    nonlinearity: str = "tanh"  # the Elman RNN's activation (torch.nn.RNN's `nonlinearity`)
    native: bool = False
    auto_native: bool = False
    projection: bool = False
    forget_gate: int | None = None
    input_gate: int | None = None
    sequence: tuple[Callable, Callable] | None = None
    scan: object | None = None  # a ScanFamily (scan.py): the cell is its own layer
    summary: str = ""

    @property
    def gates(self) -> int:
        """Gate blocks of hidden_size rows in W_ih and W_hh."""
        return len(self.blocks)

    @property
    def lstm_like(self) -> bool:
        """A cell with a forget and an input gate (forget-gate bias; chrono sets b_i = -b_f)."""
        return self.forget_gate is not None and self.input_gate is not None

    def math(self, nonlinearity: str = "tanh", reset_after: bool = True):
        """The step math of one layer; `nonlinearity` and `reset_after` for the families that
        have them (the Elman RNN, the GRU), ignored by the others. A family with a
        whole-sequence training form hands it on as the math's `sequence`, which
        cells.function.sequence_path prefers to the step loop."""
        math = self.make_math(nonlinearity=nonlinearity, reset_after=reset_after)
        if self.sequence is not None:
            math.sequence = self.sequence
        return math
