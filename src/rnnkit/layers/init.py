"""Initialisations beyond torch.nn's defaults, applied to an existing layer."""

from __future__ import annotations

import torch

from rnnkit.layers.base import RecurrentBase


def lstm_forget_bias_(layer: RecurrentBase, value: float = 1.0) -> RecurrentBase:
    """Set the forget-gate bias of every layer and direction of an LSTM-like layer (any cell
    family with a forget and an input gate: lstm, ln_lstm, peephole_lstm) to `value` (bias_ih)
    and 0 (bias_hh), so the gate starts at sigmoid(value).

    torch.nn draws every bias uniformly in +-1/sqrt(H), which leaves the forget gate near 0.5: the
    memory of a step then fades like 0.5^T and no gradient reaches far back, so on long-range
    tasks the LSTM sits on a plateau. Gers et al. (2000) and Jozefowicz et al. (2015) start it
    open; Keras does so by default (unit_forget_bias=True, value 1).
    """
    family = getattr(layer, "family", None)
    if family is None or not family.lstm_like:
        what = type(layer).__name__ + (f" (cell {family.name})" if family else "")
        raise ValueError(f"lstm_forget_bias_ needs an rnnkit.LSTM or another LSTM-like layer (a "
                         f"cell with a forget gate and an input gate), got {what}")
    if not layer.bias:
        raise ValueError("lstm_forget_bias_: the layer was built with bias=False")
    H, f = layer.hidden_size, family.forget_gate
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("bias_ih"):
                p[f * H:(f + 1) * H].fill_(value)
            elif name.startswith("bias_hh"):
                p[f * H:(f + 1) * H].zero_()
    return layer


def chrono_init_(layer: RecurrentBase, t_max: float,
                 generator: torch.Generator | None = None) -> RecurrentBase:
    """Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?")
    of every layer and direction of an rnnkit LSTM or GRU, in place.

    LSTM (gate order i, f, g, o):   c_t = f_t * c_{t-1} + i_t * g_t,  f_t = sigmoid(. + b_f)
        b_f = log(u),  u ~ U(1, t_max - 1) per unit,   b_i = -b_f
    GRU (gate order r, z, n):       h_t = (1 - z_t) * n_t + z_t * h_{t-1}
        b_z = log(u),  u ~ U(1, t_max - 1) per unit    (z keeps the memory: it is the forget gate)

    The values go into bias_ih; the same blocks of bias_hh are set to 0, so the sum the gate sees
    is the chrono value. Every other parameter is left as it is.

    Why: with inputs near 0 a gate f = sigmoid(b) keeps a memory for about 1 / (1 - f) steps, and
    sigmoid(log u) = u / (1 + u) gives 1 / (1 - f) = 1 + u: characteristic times spread between 2
    and t_max. With torch's init (b near 0) f is about 0.5 and a memory fades as 0.5^T; with the
    common forget bias 1, f = 0.73 and it still fades as 0.73^T (about 1e-55 after T = 400), so no
    gradient reaches the start of a long sequence and training sits on the mean-predictor
    plateau. b_i = -b_f makes the units that remember long also write rarely, so what they hold is
    not overwritten at every step. Pick t_max near the longest dependency (e.g. the sequence
    length).
    """
    family = getattr(layer, "family", None)
    if family is None or family.forget_gate is None:
        mode = getattr(layer, "mode", None)
        raise ValueError(f"chrono_init_: layer: expected an rnnkit.LSTM or rnnkit.GRU (or "
                         f"another cell with a forget gate), got {type(layer).__name__}"
                         + (f" (mode {mode})" if mode else ""))
    if not layer.bias:
        raise ValueError("chrono_init_: layer: expected a layer with bias=True, got bias=False")
    if isinstance(t_max, bool) or not isinstance(t_max, (int, float)) or not t_max > 2:
        raise ValueError(f"chrono_init_: t_max: expected a number > 2, got {t_max!r}")
    H, f, i = layer.hidden_size, family.forget_gate, family.input_gate
    with torch.no_grad():
        for name, p in layer.named_parameters():  # (4H,) LSTM, (3H,) GRU; every layer/direction
            if name.startswith("bias_ih"):
                u = torch.rand(H, generator=generator, dtype=torch.float64)
                b = torch.log(1 + u * (t_max - 2)).to(p.dtype)  # log U(1, t_max - 1)
                p[f * H:(f + 1) * H].copy_(b)  # LSTM f, GRU z
                if i is not None:
                    p[i * H:(i + 1) * H].copy_(-b)  # LSTM i
            elif name.startswith("bias_hh"):
                for gate in (f, i):
                    if gate is not None:
                        p[gate * H:(gate + 1) * H].zero_()
    return layer
