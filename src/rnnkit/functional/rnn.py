"""Elman (simple) RNN: the step math and its hand-written backward.

    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   act = tanh or relu

Parameters as torch.nn.RNN: W_ih (H, I), W_hh (H, H), b_ih (H,), b_hh (H,).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.functional.activations import tanh
from rnnkit.functional.bptt import LayerWeights, default_recurrent_weight_grad


class ElmanCache(NamedTuple):
    h: Tensor  # (B, H) the new state, enough for both derivatives


class ElmanCell:
    """Step math of the Elman RNN; `nonlinearity` is "tanh" or "relu"."""

    gates = 1
    fold_bias_hh = True  # b_hh is added once, in the input projection
    same_dgx_dgh = True
    recurrent_weight_grad = staticmethod(default_recurrent_weight_grad)

    def __init__(self, nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.kernel = nonlinearity  # rnn_kernel.cpp's loops run both

    @staticmethod
    def state_sizes(w: LayerWeights) -> tuple[int, ...]:
        return (w.W_hh.shape[1],)

    def step_forward(self, gx_t: Tensor, state: tuple, w: LayerWeights, recurrent):
        (h_prev,) = state
        a = gx_t + recurrent(h_prev)  # (B, H) pre-activation; recurrent(h) = h W_hh^T
        h = tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)
        return (h,), h_prev, ElmanCache(h)

    def step_backward(self, dstate: tuple, cache: ElmanCache, w: LayerWeights, grads: dict,
                      through_w):
        (dh,) = dstate
        h = cache.h
        if self.nonlinearity == "tanh":
            da = dh * (1 - h * h)  # through tanh: 1 - tanh^2
        else:
            da = dh * (h > 0)  # through relu
        dh_prev = through_w(da)  # through the recurrent matmul: da W_hh
        return da, da, (dh_prev,)
