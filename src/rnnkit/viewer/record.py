"""Run a language model over a text and keep, per token, what the viewer shows: every unit's
state (h, and c for an LSTM) and gate activations, and the model's top predictions of the next
token.

The model runs its own forward (any implementation) on chunks of the text, carrying the state
between chunks; each chunk of each recurrent layer is replayed with the pure step math
(`rnnkit.diagnostics.trace`), which is what exposes c and the gates. The replay's final state is
checked against the model's own: a recording that does not describe the model is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnkit.diagnostics.trace import capture_inputs, rnn_layers, trace_layer
from rnnkit.errors import RnnkitError
from rnnkit.functional import registry


def kinds_of(mode: str) -> tuple[str, ...]:
    """The quantities a layer of cell family `mode` can show: its state, then its gates (as the
    cell registry names them)."""
    family = registry.by_mode(mode)
    return family.states + tuple(g for g, _ in family.gate_stats if g not in family.states)


def is_sigmoid(mode: str, kind: str) -> bool:
    """Whether `kind` of a `mode` layer lies in [0, 1] (a sigmoid gate)."""
    return any(g == kind and sig for g, sig in registry.by_mode(mode).gate_stats)


@dataclass
class Recording:
    """acts[kind]: (T, U) float32 over the U = layers x H units, layer by layer (unit u is
    layer u // H, index u % H); top_ids / top_probs: (T, k) the k most likely next tokens after
    each token and their probabilities; next_prob: (T,) the probability given to the token that
    follows (NaN after the last)."""

    mode: str
    num_layers: int
    hidden_size: int
    acts: dict[str, np.ndarray]
    top_ids: np.ndarray
    top_probs: np.ndarray
    next_prob: np.ndarray


def _the_layer(model):
    layers = rnn_layers(model)
    if len(layers) != 1:
        raise RnnkitError(f"rnnkit inspect reads a model with one recurrent stack, found "
                          f"{len(layers)} ({', '.join(layers)})")
    layer = next(iter(layers.values()))
    if layer.num_directions != 1 or layer.proj_size:
        raise RnnkitError("rnnkit inspect reads a one-direction stack without projection (a "
                          "language model's)")
    return layer


@torch.no_grad()
def record(model, ids: np.ndarray, kinds: tuple[str, ...], top_k: int = 5,
           chunk: int = 1000) -> Recording:
    """Run `model` (tokens (B, T) -> (logits, state), as rnnkit.models.lm.LanguageModel) over the
    token ids and record `kinds` (names from kinds_of) of every unit of its recurrent stack."""
    layer = _the_layer(model)
    allowed = kinds_of(layer.mode)
    for kind in kinds:
        if kind not in allowed:
            raise RnnkitError(f"--kinds: a {layer.mode} layer shows {', '.join(allowed)}; got "
                              f"{kind!r}")
    model = model.eval()
    dtype = next(model.parameters()).dtype
    tokens = torch.as_tensor(np.asarray(ids), dtype=torch.long)[None]  # (1, T)
    T, L, H = tokens.shape[1], layer.num_layers, layer.hidden_size
    acts = {kind: np.zeros((T, L * H), np.float32) for kind in kinds}
    k = min(top_k, int(model.decoder.out_features) if hasattr(model, "decoder") else top_k)
    top_ids, top_probs = np.zeros((T, k), np.int64), np.zeros((T, k), np.float32)
    probs_next = np.full(T, np.nan, np.float32)
    state = None
    for start in range(0, T, chunk):
        piece = tokens[:, start:start + chunk]
        with capture_inputs(model) as calls:
            logits, new_state = model(piece, state)
        traces = trace_layer(layer, next(iter(calls.values())))
        _check_final(traces, new_state, L, dtype)
        for kind in kinds:
            acts[kind][start:start + piece.shape[1]] = _collect(traces, kind, L, layer.mode)
        probs = torch.softmax(logits[0].float(), dim=-1)  # (t, V)
        p, i = probs.topk(k, dim=-1)
        top_ids[start:start + piece.shape[1]], top_probs[start:start + piece.shape[1]] = i, p
        follow = tokens[0, start + 1:start + 1 + piece.shape[1]]  # the next token of each
        probs_next[start:start + len(follow)] = probs[torch.arange(len(follow)), follow]
        state = new_state
    return Recording(layer.mode, L, H, acts, top_ids, top_probs, probs_next)


def _collect(traces, kind: str, L: int, mode: str) -> np.ndarray:
    """(t, L*H) of one kind over a chunk: from the state tuples (h[, c]) or the step caches."""
    names, columns = registry.by_mode(mode).states, []
    for index in range(L):
        tr = traces[(index, 0)]
        if kind in names:
            values = [s[names.index(kind)] for s in tr.states]
        else:
            values = [getattr(c, kind) for c in tr.caches]
        columns.append(torch.stack(values)[:, 0].float().numpy())  # (t, H), batch row 0
    return np.concatenate(columns, axis=1)


def _check_final(traces, state, L: int, dtype) -> None:
    """The replay's final h of every layer equals the model's own (a replay of another model,
    or of another input, would not)."""
    h = state[0] if isinstance(state, tuple) else state  # (L, 1, H)
    replay = torch.stack([traces[(index, 0)].states[-1][0] for index in range(L)])
    tol = 1e-3 if dtype == torch.float32 else 1e-9  # float32 over up to `chunk` steps
    diff = float((replay - h).abs().max())
    if not diff <= tol:
        raise RnnkitError(f"rnnkit inspect: the step-by-step replay differs from the model's "
                          f"forward by {diff:.3g} (tolerance {tol:g}); this is a bug in rnnkit")
