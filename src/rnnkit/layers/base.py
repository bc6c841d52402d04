"""Multi-layer, bidirectional recurrent layers that speak torch.nn: same arguments, parameter names,
state shapes and state_dicts as torch.nn.RNN/LSTM/GRU, plus `impl=` and `lengths=`."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.backends.dispatch import LayerSpec, check_impl, choose
from rnnkit.backends.native import native_stack
from rnnkit.cells.function import run_direction, transforms_active
from rnnkit.checks import (
    ShapeError,
    check_bool,
    check_dtype,
    check_input,
    check_lengths,
    check_settings,
    check_state,
)
from rnnkit.functional import LayerWeights, registry


class RecurrentBase(nn.Module):
    """Shared by RNN, LSTM, GRU and Recurrent (any registered cell family, `mode` its layer mode:
    functional/registry.py). State: h (D*num_layers, B, H_out) [and c (D*num_layers, B, H) for
    the families with a cell state] with D = 2 if bidirectional else 1 and H_out = proj_size or
    hidden_size. Parameters: torch.nn's, then the family's extras named `{name}_l{k}[_reverse]`."""

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
        bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
        bidirectional: bool = False, proj_size: int = 0, nonlinearity: str = "tanh",
        reset_after: bool = True, impl: str = "auto", device=None, dtype=None,
    ):
        super().__init__()
        registry.by_mode(mode)  # a known mode; `family` looks it up (a module keeps no lambdas)
        check_settings(mode, input_size, hidden_size, num_layers, dropout, proj_size, nonlinearity,
                       projection=registry.by_mode(mode).projection)
        for name, flag in (("bias", bias), ("batch_first", batch_first),
                           ("bidirectional", bidirectional), ("reset_after", reset_after)):
            check_bool(name, flag)
        self.impl = check_impl(impl)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size, self.reset_after = proj_size, reset_after
        self.last_impl: str | None = None  # which implementation ran the last forward
        # Set by rnnkit.diagnostics: {(layer, direction): [per-forward lists of dL/dh_t]}.
        self.dh_recorder: dict | None = None
        self._cell = registry.by_mode(mode).math(nonlinearity, reset_after)
        D, G, H = self.num_directions, self.family.gates, hidden_size
        H_out = proj_size or hidden_size
        factory = {"device": device, "dtype": dtype}
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:D]:
                shapes = {
                    "weight_ih": (G * H, input_size if layer == 0 else D * H_out),
                    "weight_hh": (G * H, H_out),
                }
                if bias:
                    shapes |= {"bias_ih": (G * H,), "bias_hh": (G * H,)}
                if proj_size:
                    shapes["weight_hr"] = (proj_size, H)
                shapes |= {spec.name: spec.shape(H) for spec in self.family.extra}
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, nn.Parameter(torch.empty(shape, **factory)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def nonlinearity(self) -> str:
        return self.family.nonlinearity

    @property
    def _flat_weights(self) -> list[Tensor]:
        params = self._parameters  # a dict lookup; getattr where a hook made it an attribute
        return [params.get(name) if name in params else getattr(self, name)
                for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        per = len(self._flat_weights_names) // (self.num_layers * self.num_directions)
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    @property
    def family(self):
        """The cell family (functional/family.py): states, gates, extra parameters, math."""
        return registry.by_mode(self.mode)

    def reset_parameters(self) -> None:
        """torch.nn's initialisation: every weight and bias uniform in +-1/sqrt(hidden_size); a
        family's extra parameter takes its own constant where it has one (a norm gain 1)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        with torch.no_grad():
            for spec in self.family.extra:
                if spec.init is not None:
                    for layer in range(self.num_layers):
                        for suffix in ("", "_reverse")[:self.num_directions]:
                            getattr(self, f"{spec.name}_l{layer}{suffix}").fill_(spec.init)

    def flatten_parameters(self) -> None:
        """Accepted for torch.nn compatibility; rnnkit keeps no flattened copy."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True),
                              ("batch_first", False), ("dropout", 0.0), ("bidirectional", False),
                              ("impl", "auto")):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)!r}"
        if self.family.nonlinearity != "tanh":
            s += f", nonlinearity={self.family.nonlinearity!r}"
        if not self.reset_after:
            s += ", reset_after=False"
        return s

    def _weights(self, layer: int, direction: int) -> LayerWeights:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda kind: getattr(self, kind + sfx, None)  # noqa: E731
        return LayerWeights(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                            get("weight_hr"), tuple(get(spec.name) for spec in self.family.extra))

    def _state_sizes(self) -> tuple[int, ...]:
        """Feature size of each state tensor: h has H_out, the others (the LSTM's c) H."""
        H_out = self.proj_size or self.hidden_size
        return tuple(H_out if k == 0 else self.hidden_size for k in range(len(self.family.states)))

    def _zero_state(self, batch: int, x: Tensor) -> tuple[Tensor, ...]:
        L = self.num_directions * self.num_layers
        return tuple(x.new_zeros(L, batch, size) for size in self._state_sizes())

    def _check_hx(self, hx, batch: int, unbatched: bool) -> tuple[Tensor, ...] | None:
        if hx is None:
            return None
        L = self.num_directions * self.num_layers
        batch_dims = () if unbatched else (batch,)
        dtype = self._flat_weights[0].dtype
        sizes = self._state_sizes()
        if len(sizes) > 1:
            names = ", ".join(f"{s}_0" for s in self.family.states)
            if not isinstance(hx, (tuple, list)) or len(hx) != len(sizes):
                raise ShapeError(f"hx for {type(self).__name__} must be a tuple ({names}), got "
                                 f"{type(hx).__name__}")
            for k, (s, size) in enumerate(zip(hx, sizes, strict=True)):
                check_state(f"hidden[{k}]", s, (L, *batch_dims, size), dtype)
            states = tuple(hx)
        else:
            check_state("hidden", hx, (L, *batch_dims, sizes[0]), dtype)
            states = (hx,)
        return tuple(s.unsqueeze(1) for s in states) if unbatched else states

    def forward(self, input, hx=None, lengths=None, enforce_sorted: bool = False):
        """input: (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence.
        lengths: one per batch row, for padded batches (outputs past a length are zero, final
        states come from each row's last real step); enforce_sorted=True requires decreasing."""
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ShapeError("lengths must be None when input is a PackedSequence")
            check_dtype("input", input.data, self._flat_weights[0].dtype)
            check_input(input.data.unsqueeze(0), self.input_size, False, type(self).__name__)
            T, B = len(input.batch_sizes), int(input.batch_sizes[0])
            # A (T, B, I) view of one row, for the checks and the choice below; the batch is
            # padded only if rnnkit's own loops run it (torch's kernel takes it packed).
            x = input.data[:1].unsqueeze(0).expand(T, B, -1)
            unbatched = False
        else:
            unbatched = check_input(input, self.input_size, self.batch_first, type(self).__name__,
                                    self._flat_weights[0].dtype)
            x = input.unsqueeze(1) if unbatched else (
                input.transpose(0, 1) if self.batch_first else input)
        T, B = x.shape[0], x.shape[1]
        state0 = self._check_hx(hx, B, unbatched)
        if lengths is not None:
            if unbatched:
                raise ShapeError("lengths is for batches; an unbatched input has one length")
            lengths = check_lengths(lengths, B, T, enforce_sorted)
            if B == 0:
                lengths = None  # an empty batch has nothing to mask (and torch cannot pack it)
        if state0 is None:
            state0 = self._zero_state(B, x)
        training = torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for p in self._flat_weights))
        impl = choose(self.impl, LayerSpec(self.mode, self.reset_after, self.hidden_size), x,
                      training, masked=packed or lengths is not None)
        if self.impl == "auto" and transforms_active():
            impl = "reference"  # torch.func / forward AD: the one path every transform traces
        if self.dh_recorder is not None:
            impl = "fused"  # the recorded gradients come from rnnkit's own BPTT
        # a plain attribute: skips Module.__setattr__ (BENCHMARKS.md, "Kernel design measurements")
        self.__dict__["last_impl"] = impl
        if packed and impl != "native":
            x, lengths = pad_packed_sequence(input)  # (T, B, I), original order
        if impl == "native":
            out, state = self._forward_native(x, state0, lengths, input if packed else None)
        else:
            out, state = self._forward_own(impl, x, state0, lengths)
        return self._finish(out, state, input if packed else None, lengths, unbatched)

    def _forward_own(self, impl: str, x: Tensor, state0: tuple, lengths: Tensor | None):
        T = x.shape[0]
        mask = None
        if lengths is not None and bool((lengths < T).any()):
            mask = (torch.arange(T)[:, None] < lengths[None, :]).unsqueeze(-1).to(x.device)
        D = self.num_directions
        finals = []  # per (layer, direction): the final state tuple
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                s0 = tuple(s[k] for s in state0)
                record = None
                if self.dh_recorder is not None:
                    record = []
                    self.dh_recorder.setdefault((layer, d), []).append(record)
                out, sT = run_direction(impl, self._cell, layer_input, s0, self._weights(layer, d),
                                        mask, bool(d), record)
                outs.append(out)
                finals.append(sT)
            layer_input = outs[0] if D == 1 else torch.cat(outs, dim=2)  # (T, B, D*H_out)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        state = tuple(torch.stack(parts) for parts in zip(*finals, strict=True))
        return layer_input, state

    def _forward_native(self, x: Tensor, state0: tuple, lengths, packed_input):
        kw = dict(bias=self.bias, num_layers=self.num_layers, dropout=self.dropout,
                  training=self.training, bidirectional=self.bidirectional)
        if lengths is None and packed_input is None:
            return native_stack(self.mode, x, state0, self._flat_weights, **kw)
        seq = packed_input if packed_input is not None else pack_padded_sequence(
            x, lengths, enforce_sorted=False)
        order = seq.sorted_indices
        hx = state0 if order is None else tuple(s.index_select(1, order) for s in state0)
        out, state = native_stack(self.mode, seq, hx, self._flat_weights, **kw)
        if seq.unsorted_indices is not None:
            state = tuple(s.index_select(1, seq.unsorted_indices) for s in state)
        if packed_input is not None:
            return out, state  # already a PackedSequence of the input's layout
        out, _ = pad_packed_sequence(out, total_length=x.shape[0])  # (T, B, .), original order
        return out, state

    def _finish(self, out, state: tuple, packed_input, lengths, unbatched: bool):
        if packed_input is not None:
            if not isinstance(out, PackedSequence):  # rnnkit's loops ran on the padded form
                out = self._repack(out, packed_input, lengths)
        elif unbatched:
            out, state = out.squeeze(1), tuple(s.squeeze(1) for s in state)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, (state if len(state) > 1 else state[0])

    @staticmethod
    def _repack(out: Tensor, packed_input: PackedSequence, lengths: Tensor) -> PackedSequence:
        """(T, B, .) in the batch's original order -> a PackedSequence laid out as the input."""
        idx = packed_input.sorted_indices
        out_sorted = out if idx is None else out.index_select(1, idx)
        lengths_sorted = lengths if idx is None else lengths[idx.cpu()]
        data = pack_padded_sequence(out_sorted, lengths_sorted, enforce_sorted=True).data
        return PackedSequence(data, packed_input.batch_sizes, idx, packed_input.unsorted_indices)
