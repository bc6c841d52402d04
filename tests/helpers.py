"""Shared test helpers: build an rnnkit layer beside its torch.nn twin and compare everything."""

from __future__ import annotations

import numpy as np
import torch

import rnnkit

PAIRS = {
    "rnn_tanh": (rnnkit.RNN, torch.nn.RNN, {}),
    "rnn_relu": (rnnkit.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnnkit.LSTM, torch.nn.LSTM, {}),
    "lstm_proj": (rnnkit.LSTM, torch.nn.LSTM, {"proj_size": 3}),
    "gru": (rnnkit.GRU, torch.nn.GRU, {}),
}


def as_tuple(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def twin_layers(kind: str, impl: str, input_size=4, hidden_size=5, dtype=torch.float32, **kw):
    """An rnnkit layer and a torch.nn layer with the same weights."""
    ours_cls, theirs_cls, extra = PAIRS[kind]
    ours = ours_cls(input_size, hidden_size, impl=impl, dtype=dtype, **extra, **kw)
    theirs = theirs_cls(input_size, hidden_size, dtype=dtype, **extra, **kw)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def random_upstream(out, state, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g_out = torch.randn(out.shape, generator=gen, dtype=out.dtype)
    g_state = tuple(torch.randn(s.shape, generator=gen, dtype=s.dtype) for s in state)
    return g_out, g_state


def weighted_loss(out, state, g_out, g_state):
    """A scalar whose gradient w.r.t. out and each state is the given random upstream gradient."""
    return (out * g_out).sum() + sum((s * g).sum() for s, g in zip(state, g_state, strict=True))


def max_diff(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------- forecasting

# a tiny forecast run on sine_csv: `rnnkit train forecast --data.name=CSV *TINY`
TINY = ["--data.time_column=step", "--data.season=8", "--data.lookback=16", "--data.horizon=8",
        "--data.baselines=naive,seasonal_naive", "--model.hidden_size=8", "--train.threads=1",
        "--train.eval_every=10", "--steps", "20", "--plain"]


def sine_csv(path, n=120, season=8, seed=0, replace_from=None):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 10 + 0.02 * t + 2 * np.sin(2 * np.pi * t / season) + 0.05 * rng.normal(size=n)
    if replace_from is not None:
        y[replace_from:] = 999.0
    path.write_text("step,y\n" + "\n".join(f"{i},{v:.5f}" for i, v in enumerate(y)) + "\n")
    return path


def write_ts(path, lengths, seed):
    """A two-class .ts file (up / down levels with noise), one case per length; its path."""
    rng = np.random.default_rng(seed)
    lines = ["@problemName toy", "@univariate true", "@classLabel true up down", "@data"]
    for i, n in enumerate(lengths):
        level = 1.5 if i % 2 else -1.5
        x = level + 0.3 * rng.normal(size=n)
        lines.append(",".join(f"{v:.4f}" for v in x) + (":up" if level > 0 else ":down"))
    path.write_text("\n".join(lines) + "\n")
    return str(path)
