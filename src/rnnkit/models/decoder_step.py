"""The attentional decoder step shared by the encoder-decoder models (Seq2Seq for translation,
Captioner for pictures), written once.

A model that uses it has these members (Seq2Seq's names, so its checkpoints keep their keys):
    tgt_embed (V, E); decoder: ModuleList of rnnkit cells; states: ("h",) or ("h", "c");
    num_layers; input_feed: bool; attention: Attention or None; combine: Linear(Hm + H, H) or
    None; drop: Dropout; out: Linear(H, V).
and its decoding state is a dict of batch-first tensors: one (N, L, H) per name in `states`,
`feed` (N, H) with input feeding, and `memory` (N, S, Hm), `keys`, `mask` (N, S) with attention.

    x_t = [E[y_{t-1}] ; h~_{t-1}]                input feeding: the previous attentional vector
    h_t^k, s_t^k = cell_k(x_t^k, s_{t-1}^k)       k = 1..num_layers, dropout between layers
    c_t, a_t = attention(h_t^top, memory)
    h~_t = tanh(W_c [c_t ; h_t^top])
    logits_t = W_out dropout(h~_t) + b_out
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import ConfigError
from rnnkit.functional import registry
from rnnkit.models.attention import KINDS


def check_int(name: str, value, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name}: expected an integer >= {low}, got {value!r}")


def check_decoder(sizes: list[tuple[str, object]], cell: str, attention: str, dropout):
    """The settings every model on this step takes, checked before anything is built (one
    ConfigError naming the setting): `sizes` (name, value) integers >= 1, a cell with a step
    cell, an attention kind or none, dropout in [0, 1). Returns the cell's registry family."""
    for name, value in sizes:
        check_int(name, value)
    family = registry.get(cell)
    if family.scan is not None:
        stepped = ", ".join(n for n in registry.names() if registry.get(n).scan is None)
        raise ConfigError(f"model.cell: the {cell} cell has no step cell for the decoder (a "
                          f"whole-sequence scan); pick one of {stepped}")
    if attention not in (*KINDS, "none"):
        raise ConfigError(f"model.attention: expected one of {', '.join(KINDS)} or none, "
                          f"got {attention!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not (
            0 <= dropout < 1):
        raise ConfigError(f"model.dropout: expected a number in [0, 1), got {dropout!r}")
    return family


def attention_step(model, tokens: Tensor, state: dict[str, Tensor]):
    """One decoder step for the previous tokens (N,): (logits (N, V), new state, attention
    weights (N, S) or None)."""
    x = model.drop(model.tgt_embed(tokens))  # (N, E)
    if model.input_feed:
        x = torch.cat([x, state["feed"]], dim=1)
    layers = []  # per layer: its new state tuple
    for k, cell in enumerate(model.decoder):
        out, s = cell.step(x, tuple(state[name][:, k] for name in model.states))
        layers.append(s)
        x = model.drop(out) if k < model.num_layers - 1 else out
    new = dict(state)
    for name, parts in zip(model.states, zip(*layers, strict=True), strict=True):
        new[name] = torch.stack(parts, 1)
    weights = None
    if model.attention is not None:
        context, weights = model.attention(out, state["memory"], state["keys"], state["mask"])
        out = torch.tanh(model.combine(torch.cat([context, out], dim=1)))  # h~_t
        if model.input_feed:
            new["feed"] = out
    return model.out(model.drop(out)), new, weights


def teacher_forced(step, state: dict[str, Tensor], tgt_in: Tensor, sample_prob: float = 0.0,
                   generator: torch.Generator | None = None) -> Tensor:
    """Logits (B, T, V) for the target inputs `tgt_in` (B, T) (BOS, y_1..) from `state`. With
    `sample_prob` > 0 (scheduled sampling, Bengio et al. 2015) each row's input at each step
    after the first is, with that probability, the model's own previous argmax."""
    logits = []
    tokens = tgt_in[:, 0]
    for t in range(tgt_in.shape[1]):
        if t > 0:
            tokens = tgt_in[:, t]
            if sample_prob > 0:
                own = logits[-1].argmax(1)
                coin = torch.rand(tokens.shape, generator=generator,
                                  device=tokens.device) < sample_prob
                tokens = torch.where(coin, own, tokens)
        step_logits, state, _ = step(tokens, state)
        logits.append(step_logits)
    return torch.stack(logits, 1)
