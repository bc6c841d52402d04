"""The cell contract and the torch.nn-compatible cells.

A cell is an nn.Module with
    init_state(batch, device=None, dtype=None) -> state     a tuple of tensors, zeros
    step(x (B, I), state) -> (out (B, H_out), state)        one time step; state[0] is out
and, for torch.nn compatibility, forward(input, hx=None) with torch.nn's RNNCell/LSTMCell/GRUCell
meaning. rnnkit.layers.Recurrent runs any object that keeps this contract over a sequence.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.backends.dispatch import LayerSpec, check_impl, choose
from rnnkit.backends.native import native_cell
from rnnkit.cells.function import run_direction, transforms_active
from rnnkit.checks import ShapeError, check_bool, check_dtype, check_settings
from rnnkit.functional import LayerWeights, registry


class RNNCellBase(nn.Module):
    """Parameters weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H,) as torch.nn,
    then the cell family's extras (functional/family.py) under their own names."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", reset_after: bool = True, impl: str = "auto",
                 device=None, dtype=None):
        super().__init__()
        registry.by_mode(mode)  # a known mode; `family` looks it up (a module keeps no lambdas)
        check_settings(mode, input_size, hidden_size, 1, 0.0, 0, nonlinearity, min_size=0)
        check_bool("bias", bias)
        check_bool("reset_after", reset_after)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.bias = bias
        self.reset_after, self.impl = reset_after, check_impl(impl)
        self.last_impl: str | None = None
        self._cell = registry.by_mode(mode).math(nonlinearity, reset_after)
        G, factory = self.family.gates, {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * hidden_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(G * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        for spec in self.family.extra:
            setattr(self, spec.name, nn.Parameter(torch.empty(spec.shape(hidden_size), **factory)))
        self.reset_parameters()

    @property
    def family(self):
        """The cell family (functional/family.py): states, gates, extra parameters, math."""
        return registry.by_mode(self.mode)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size else 0.0  # as torch
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        with torch.no_grad():
            for spec in self.family.extra:
                if spec.init is not None:
                    getattr(self, spec.name).fill_(spec.init)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.family.nonlinearity != "tanh":
            s += f", nonlinearity={self.family.nonlinearity!r}"
        return s

    def init_state(self, batch: int, device=None, dtype=None) -> tuple[Tensor, ...]:
        like = self.weight_ih
        h = torch.zeros(batch, self.hidden_size, device=device or like.device,
                        dtype=dtype or like.dtype)
        return (h,) + tuple(torch.zeros_like(h) for _ in self.family.states[1:])

    def step(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        impl = choose(self.impl, LayerSpec(self.mode, self.reset_after))  # one step: native
        if self.impl == "auto" and transforms_active():
            impl = "reference"  # torch.func / forward AD: torch's cell kernels cannot vmap
        self.last_impl = impl
        w = LayerWeights(self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, None,
                         tuple(getattr(self, spec.name) for spec in self.family.extra))
        if impl == "native":
            new = native_cell(self.mode, x, state, *w[:4])
        else:
            _, new = run_direction(impl, self._cell, x.unsqueeze(0), state, w, None, False)
        return new[0], new

    def forward(self, input: Tensor, hx=None):
        """torch.nn's cell call; the errors are torch's, in type and wording."""
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.dim() not in (1, 2):
            got = f"{input.dim()}D" if isinstance(input, Tensor) else type(input).__name__
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {got} instead")
        check_dtype("input", input, self.weight_ih.dtype)
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                             f"{self.input_size}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            state = self.init_state(x.shape[0], x.device, x.dtype)
        else:
            state = self._check_hx(hx, x, input.dim(), name)
        _, new = self.step(x, state)
        new = tuple(s.squeeze(0) for s in new) if unbatched else new
        return new if len(new) > 1 else new[0]

    def _check_hx(self, hx, x: Tensor, input_dim: int, name: str) -> tuple[Tensor, ...]:
        """The state as a batched tuple, after torch's checks of its rank, size and batch."""
        n_state = len(self.family.states)
        if n_state > 1:
            if not isinstance(hx, (tuple, list)) or len(hx) != n_state:
                raise ShapeError(f"{name}: hx must be a tuple ({', '.join(self.family.states)}), "
                                 f"got {type(hx).__name__}")
            state, labels = tuple(hx), tuple(f"hx[{k}]" for k in range(n_state))
        else:
            state, labels = (hx,), ("hidden",)
        out = []
        for k, (label, s) in enumerate(zip(labels, state, strict=True)):
            if not isinstance(s, Tensor) or s.dim() not in (1, 2):
                got = f"{s.dim()}D" if isinstance(s, Tensor) else type(s).__name__
                raise ShapeError(f"{name}: Expected {label} to be 1D or 2D, got {got} instead")
            if s.dim() != input_dim:  # torch pairs a 1-D state with a 1-D input only
                kind = "unbatched 1-D" if input_dim == 1 else "batched 2-D"
                raise ShapeError(f"{name}: for {kind} input, {label} should also be "
                                 f"{input_dim}-D, got {s.dim()}-D (shape {tuple(s.shape)})")
            check_dtype(label, s, self.weight_ih.dtype)
            s = s.unsqueeze(0) if s.dim() == 1 else s
            if s.shape[1] != self.hidden_size:
                raise ShapeError(f"hidden{k} has inconsistent hidden_size: got {s.shape[1]}, "
                                 f"expected {self.hidden_size}")
            if s.shape[0] != x.shape[0]:
                raise ShapeError(f"Input batch size {x.shape[0]} doesn't match hidden{k} batch "
                                 f"size {s.shape[0]}")
            out.append(s)
        return tuple(out)


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu (torch.nn.RNNCell)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", impl: str = "auto", device=None, dtype=None):
        super().__init__("RNN_RELU" if nonlinearity == "relu" else "RNN_TANH", input_size,
                         hidden_size, bias, nonlinearity, impl=impl, device=device, dtype=dtype)


class LSTMCell(RNNCellBase):
    """One LSTM step, gate order i, f, g, o; forward(input, (h, c)) -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, impl: str = "auto",
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, impl=impl, device=device,
                         dtype=dtype)


class GRUCell(RNNCellBase):
    """One GRU step, gate order r, z, n; reset_after=False is the Cho et al. 2014 form."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 reset_after: bool = True, impl: str = "auto", device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, reset_after=reset_after, impl=impl,
                         device=device, dtype=dtype)


class RecurrentCell(RNNCellBase):
    """One step of the cell family registered as `cell` (rnnkit.functional.registry; `rnn` =
    `rnn_tanh`); RecurrentCell("lstm", ...) is rnnkit.LSTMCell(...) in all but its class name."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, bias: bool = True,
                 reset_after: bool = True, impl: str = "auto", device=None, dtype=None):
        family = registry.get(cell, key="cell")
        super().__init__(family.mode, input_size, hidden_size, bias, family.nonlinearity,
                         reset_after=reset_after, impl=impl, device=device, dtype=dtype)
        self.cell = family.name
