"""Initialisations beyond torch.nn's defaults, applied to an existing layer."""

from __future__ import annotations

import torch

from rnnkit.layers.base import RecurrentBase


def lstm_forget_bias_(layer: RecurrentBase, value: float = 1.0) -> RecurrentBase:
    """Set the forget-gate bias of every LSTM layer and direction to `value` (bias_ih) and 0
    (bias_hh), so the gate starts at sigmoid(value).

    torch.nn draws every bias uniformly in +-1/sqrt(H), which leaves the forget gate near 0.5: the
    memory of a step then fades like 0.5^T and no gradient reaches far back, so on long-range
    tasks the LSTM sits on a plateau. Gers et al. (2000) and Jozefowicz et al. (2015) start it
    open; Keras does so by default (unit_forget_bias=True, value 1).
    """
    if getattr(layer, "mode", None) != "LSTM":
        raise ValueError(f"lstm_forget_bias_ needs an rnnkit.LSTM, got {type(layer).__name__}")
    if not layer.bias:
        raise ValueError("lstm_forget_bias_: the layer was built with bias=False")
    H = layer.hidden_size
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("bias_ih"):
                p[H:2 * H].fill_(value)
            elif name.startswith("bias_hh"):
                p[H:2 * H].zero_()
    return layer
