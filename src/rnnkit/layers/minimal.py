"""rnnkit.MinGRU and rnnkit.MinLSTM (Feng et al. 2024, "Were RNNs all we needed?"): stacks of
recurrent layers whose gates see only the input, so each layer is one GEMM over all steps and
a linear scan (rnnkit/functional/mingru.py, minlstm.py hold the equations).

They speak torch.nn where it has a meaning for them: input_size, hidden_size, num_layers, bias,
batch_first, dropout (between layers), bidirectional; h0 in, h_n out of shape
(D * num_layers, B, H); unbatched input, PackedSequence and `lengths=`. There is no weight_hh
(nothing multiplies h), no proj_size and no cell state (minLSTM's state is h alone).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnkit.cells.scan_function import scan_layer, traceable
from rnnkit.checks import (
    ShapeError,
    check_bool,
    check_dtype,
    check_input,
    check_lengths,
    check_settings,
    check_state,
)
from rnnkit.errors import ConfigError
from rnnkit.functional import scan_seq
from rnnkit.functional.mingru import MINGRU
from rnnkit.functional.minlstm import MINLSTM
from rnnkit.functional.scan import ScanFamily
from rnnkit.layers.base import RecurrentBase

IMPLS = ("auto", "reference", "fused")


def check_state_of(name: str, hx, shape: tuple[int, ...], unbatched: bool,
                   dtype: torch.dtype) -> Tensor | None:
    """hx as (D * num_layers, B, H), checked; unbatched: given as (D * num_layers, H)."""
    if hx is None:
        return None
    if isinstance(hx, (tuple, list)):
        raise ShapeError(f"{name}'s state is h alone (no cell state): pass hx as one tensor of "
                         f"shape {shape}, got a {type(hx).__name__} of {len(hx)}")
    expected = (shape[0], shape[2]) if unbatched else shape
    check_state("hidden", hx, expected, dtype)
    return hx.unsqueeze(1) if unbatched else hx


def reverse_within(x: Tensor, lengths: Tensor | None) -> Tensor:
    """x (T, B, F) with each row's first lengths[b] steps in reverse order (the rest as they
    are): the backward direction's input, and its output turned back (it is an involution)."""
    if lengths is None:
        return x.flip(0)
    T = x.shape[0]
    t = torch.arange(T)[:, None]
    index = torch.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, B)
    return x.gather(0, index.to(x.device)[:, :, None].expand_as(x))


class MinimalRecurrent(nn.Module):
    """Shared by MinGRU and MinLSTM. Parameters per layer k (and `_reverse`):
    weight_ih_l{k} (G*H, I or D*H) and bias_ih_l{k} (G*H,), G blocks in the family's order."""

    family: ScanFamily

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, impl: str = "auto", device=None, dtype=None,
                 proj_size=None):
        super().__init__()
        name = type(self).__name__
        if proj_size is not None:
            raise ShapeError(f"{name} has no proj_size (got {proj_size!r}): its state is its "
                             f"output; put an nn.Linear on the output instead")
        check_settings("GRU", input_size, hidden_size, num_layers, dropout, 0, "tanh")
        for flag, value in (("bias", bias), ("batch_first", batch_first),
                            ("bidirectional", bidirectional)):
            check_bool(flag, value)
        if impl == "native":
            raise ValueError(f"impl='native': torch has no kernel for {name}; pass impl='fused' "
                             f"(rnnkit's scan and hand-written backward) or impl='auto'")
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {', '.join(map(repr, IMPLS))}; got {impl!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.impl = bidirectional, impl
        self.last_impl: str | None = None  # "reference" or the scan method of the last forward
        G, D = self.family.gates, self.num_directions
        factory = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:D]:
                in_size = input_size if layer == 0 else D * hidden_size
                setattr(self, f"weight_ih_l{layer}{suffix}",
                        nn.Parameter(torch.empty(G * hidden_size, in_size, **factory)))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}",
                            nn.Parameter(torch.empty(G * hidden_size, **factory)))
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """torch.nn's RNN initialisation: everything uniform in +-1/sqrt(hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False), ("impl", "auto")):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)!r}"
        return s

    def _weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor | None]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        return getattr(self, "weight_ih" + sfx), getattr(self, "bias_ih" + sfx, None)

    @property
    def mode(self) -> str:
        """The registry's layer mode ("MINGRU", "MINLSTM"), as RecurrentBase.mode."""
        return self.family.name.upper()

    def init_state(self, batch: int) -> Tensor:
        """Zeros (D * num_layers, batch, hidden_size) of the weights' dtype and device."""
        w = self.weight_ih_l0
        return w.new_zeros(self.num_directions * self.num_layers, batch, self.hidden_size)

    def forward(self, input, hx: Tensor | None = None, lengths=None,
                enforce_sorted: bool = False):
        """input: (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence.
        lengths: one per row of a padded batch (outputs past a length are zero, h_n comes from
        each row's last real step). Returns (output (T, B, D*H), h_n (D*num_layers, B, H))."""
        name, dtype = type(self).__name__, self.weight_ih_l0.dtype
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ShapeError("lengths must be None when input is a PackedSequence")
            x, lengths = pad_packed_sequence(input)  # (T, B, I), the batch's original order
            check_input(x, self.input_size, False, name, dtype)
            unbatched = False
        else:
            unbatched = check_input(input, self.input_size, self.batch_first, name, dtype)
            x = input.unsqueeze(1) if unbatched else (
                input.transpose(0, 1) if self.batch_first else input)
        T, B = x.shape[0], x.shape[1]
        if lengths is not None:
            if unbatched:
                raise ShapeError("lengths is for batches; an unbatched input has one length")
            lengths = check_lengths(lengths, B, T, enforce_sorted and not packed)
            if B == 0 or bool((lengths == T).all()):
                lengths = None  # nothing to hold or mask
        h0 = check_state_of(name, hx, (self.num_directions * self.num_layers, B,
                                       self.hidden_size), unbatched, dtype)
        if h0 is None:
            h0 = self.init_state(B).to(x.device)
        method = "reference" if self.impl == "reference" else scan_seq.scan_method(x)[0]
        self.__dict__["last_impl"] = method  # a plain attribute: no Module.__setattr__
        out, h_n = self._stack(x, h0, lengths, method)
        if packed:
            return RecurrentBase._repack(out, input, lengths if lengths is not None else
                                         torch.full((B,), T, dtype=torch.int64)), h_n
        if unbatched:
            return out.squeeze(1), h_n.squeeze(1)
        return (out.transpose(0, 1) if self.batch_first else out), h_n

    def _stack(self, x: Tensor, h0: Tensor, lengths: Tensor | None, method: str):
        mask = scan_seq.length_mask(lengths, x.shape[0], x.device)
        finals, layer_input = [], x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                seq = reverse_within(layer_input, lengths) if d else layer_input
                W, b = self._weights(layer, d)
                if method == "reference":
                    out, h_n = traceable(self.family, seq, W, b, h0[k], lengths)
                else:
                    out, h_n = scan_layer(self.family, seq, W, b, h0[k], lengths, method)
                finals.append(h_n)  # out held past each length: each row's final state
                if mask is not None:
                    out = out * mask
                outs.append(reverse_within(out, lengths) if d else out)
            layer_input = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, torch.stack(finals)

    def step(self, x_t: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One step of every layer, for generation: x_t (B, I), h (num_layers, B, H) or None
        -> (out_t (B, H), h_t (num_layers, B, H)). Equal to forward() step by step."""
        name = type(self).__name__
        if self.bidirectional:
            raise ShapeError(f"a bidirectional {name} cannot run step by step (its backward "
                             f"direction needs the whole sequence); use forward()")
        if not isinstance(x_t, Tensor) or x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            got = tuple(x_t.shape) if isinstance(x_t, Tensor) else type(x_t).__name__
            raise ShapeError(f"{name}.step takes x_t of shape (batch, {self.input_size}), "
                             f"got {got}")
        check_dtype("input", x_t, self.weight_ih_l0.dtype)
        shape = (self.num_layers, x_t.shape[0], self.hidden_size)
        h = check_state_of(name, h, shape, False, self.weight_ih_l0.dtype)
        h = self.init_state(x_t.shape[0]).to(x_t.device) if h is None else h
        states, inp = [], x_t
        for layer in range(self.num_layers):
            inp = self.family.step(inp, h[layer], *self._weights(layer, 0))
            states.append(inp)
        return inp, torch.stack(states)


class MinGRU(MinimalRecurrent):
    """minGRU stack: z = sigmoid(x W_z^T + b_z), c = x W_c^T + b_c,
    h_t = (1 - z) * h_{t-1} + z * c. weight_ih_l{k} (2H, I) rows [W_z; W_c]."""

    family = MINGRU


class MinLSTM(MinimalRecurrent):
    """minLSTM stack: f, i = sigmoid(x W_{f,i}^T + b_{f,i}), c = x W_c^T + b_c,
    h_t = f / (f + i) * h_{t-1} + i / (f + i) * c. weight_ih_l{k} (3H, I) rows [W_f; W_i; W_c].
    Its state is h alone (no cell state, no output gate)."""

    family = MINLSTM


SCAN_LAYERS = {"mingru": MinGRU, "minlstm": MinLSTM}


def scan_layer_for(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                   bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                   bidirectional: bool = False, proj_size: int = 0, reset_after: bool = True,
                   impl: str = "auto", device=None, dtype=None, *,
                   recurrent_dropout: float = 0.0, zoneout: float = 0.0,
                   recurrent_dropout_mode: str = "variational") -> MinimalRecurrent:
    """The layer rnnkit.Recurrent(cell, ...) builds for a scan-trained cell, with Recurrent's
    arguments: reset_after and recurrent_dropout_mode have no meaning for it; proj_size,
    recurrent_dropout and zoneout are refused (one line each)."""
    cls = SCAN_LAYERS[cell]
    # ConfigError: a ValueError, and one line (not a traceback) where a task's setting led here
    for name, value in (("recurrent_dropout", recurrent_dropout), ("zoneout", zoneout)):
        if value:
            raise ConfigError(f"{name}={value!r}: the {cell} cell has no recurrent product or "
                              f"step to regularise; set it to 0 (use dropout between layers)")
    if proj_size:
        raise ConfigError(f"proj_size={proj_size!r}: the {cell} cell has no projection; leave "
                          f"it at 0 and put an nn.Linear on the output instead")
    if impl == "native":
        raise ConfigError(f"impl='native': torch has no kernel for the {cell} cell; use "
                          f"impl='fused' (rnnkit's scan and hand-written backward) or 'auto'")
    return cls(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
               impl=impl, device=device, dtype=dtype)
