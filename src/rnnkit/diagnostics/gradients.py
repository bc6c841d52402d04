"""dL/dh_t for every step, layer and direction, from rnnkit's own BPTT.

The hand-written backward computes the total gradient reaching each hidden state h_t (from the
step's output and from step t+1) anyway; recording it costs no second backward pass:

    with record_state_grads(model) as rec:
        loss = loss_fn(model(x)); loss.backward()
    rec.norms()   # {"rnn": tensor (num_layers, directions, T)}: mean over the batch of ||dL/dh_t||

While recording, rnnkit layers run impl "fused" (the numbers are the same as any other impl's;
only the fused backward exposes them).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnkit.layers.base import RecurrentBase


@dataclass
class StateGradRecord:
    """layers: {module name: {(layer, direction): [one list of dL/dh_t (B, H) per forward]}}."""

    layers: dict[str, dict] = field(default_factory=dict)

    def grads(self, name: str, layer: int = 0, direction: int = 0, call: int = -1) -> Tensor:
        """dL/dh_t of one forward call as (T, B, H); time in forward order."""
        steps = self.layers[name][(layer, direction)][call]
        if not steps:
            raise RuntimeError("no gradients recorded: call loss.backward() inside the block")
        return torch.stack(steps)

    def norms(self, call: int = -1) -> dict[str, Tensor]:
        """{module name: (num_layers, directions, T)} of the batch-mean L2 norm of dL/dh_t."""
        result = {}
        for name, per in self.layers.items():
            L = 1 + max(k[0] for k in per)
            D = 1 + max(k[1] for k in per)
            result[name] = torch.stack([
                torch.stack([self.grads(name, l, d, call).norm(dim=-1).mean(dim=1)
                             for d in range(D)])
                for l in range(L)
            ])
        return result


@contextmanager
def record_state_grads(model: nn.Module):
    """Record dL/dh_t in every rnnkit layer inside `model` during the block's backward passes."""
    layers = {name or "": m for name, m in model.named_modules() if isinstance(m, RecurrentBase)}
    if not layers:
        raise ValueError("record_state_grads: the model has no rnnkit RNN/LSTM/GRU layer")
    record = StateGradRecord()
    try:
        for name, layer in layers.items():
            layer.dh_recorder = record.layers.setdefault(name, {})
        yield record
    finally:
        for layer in layers.values():
            layer.dh_recorder = None
