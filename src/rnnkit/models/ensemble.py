"""A seed ensemble: N models of the same shape, each trained from its own seed, run as one.

    classes:     log p(y | x) = log( (1/N) sum_k softmax(f_k(x)) )          (B, K)
    regression:  y = (1/N) sum_k f_k(x)                                      (B,)

For classes the output is the log of the members' mean probabilities, computed stably as
logsumexp_k log_softmax(f_k) - log N. Used as logits it gives softmax = the mean probabilities
exactly (they already sum to 1) and cross-entropy = the ensemble's negative log-likelihood, so
code written for one classifier runs an ensemble unchanged. The state_dict keys are
`members.<k>.<member key>`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.from_state import build_checked


class Ensemble(nn.Module):
    def __init__(self, members: list[nn.Module], regression: bool = False):
        super().__init__()
        if len(members) < 1:
            raise ConfigError(f"ensemble: expected at least 1 member, got {len(members)}")
        self.members = nn.ModuleList(members)
        self.regression = bool(regression)

    def forward(self, *args, **kwargs) -> torch.Tensor:
        outs = torch.stack([m(*args, **kwargs) for m in self.members])  # (N, B, K) or (N, B)
        if self.regression:
            return outs.mean(0)
        return torch.logsumexp(torch.log_softmax(outs, -1), 0) - math.log(len(self.members))


def count_members(state_dict: dict) -> int:
    """How many members an ensemble's state_dict holds (0: not an ensemble's)."""
    inside = [key for key in state_dict if key.startswith("members.")]
    if not inside:
        return 0
    if len(inside) != len(state_dict):
        raise ConfigError("ensemble state_dict: expected only members.<k>.* keys, got others too")
    ks = {key.split(".", 2)[1] for key in inside}
    if ks != {str(k) for k in range(len(ks))}:
        raise ConfigError(f"ensemble state_dict: expected members 0..{len(ks) - 1}, got "
                          f"{sorted(ks)}")
    return len(ks)


def model_from_state(task, state_dict: dict) -> nn.Module:
    """`task.build_model()` with `state_dict` loaded, or, for an ensemble's state_dict
    (members.<k>.*), `task.ensemble` of count_members(state_dict) such models. `task` is any
    object with those two methods (a task of rnnkit.tasks)."""
    n = count_members(state_dict)
    if n:
        return build_checked(lambda: task.ensemble([task.build_model() for _ in range(n)]),
                             state_dict)
    return build_checked(task.build_model, state_dict)  # shapes checked before allocating
