"""Attention over encoder states, with source padding masked out.

For a decoder query q (B, Hq) and the encoder memory m_1..m_S (B, S, Hm):

    bahdanau (additive, Bahdanau et al. 2015):  score_s = v^T tanh(W_q q + W_m m_s + b)
    general  (Luong et al. 2015):               score_s = q^T W m_s       W: (Hq, Hm)
    dot      (Luong et al. 2015):               score_s = q^T m_s         needs Hq == Hm

    a = softmax(score) over the real source positions only,    context = sum_s a_s m_s

Padding positions get a score of -inf, so their weight is exactly 0 and the weights of each row
sum to 1 over its real positions: a sentence attends the same alone or batched with longer ones.
The parts of the score that depend only on the memory (W_m m_s + b for bahdanau) are computed
once per sentence by `keys(memory)`, not at every decoder step. For `general`, W is applied to
the query (q^T W), which costs Hq*Hm per step instead of S*Hq*Hm.

Parameter names: bahdanau `query.weight` (A, Hq), `memory.weight` (A, Hm), `memory.bias` (A,),
`v.weight` (1, A) with A = Hq; general `weight.weight` (Hm, Hq); dot has none.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError

KINDS = ("bahdanau", "general", "dot")


class Attention(nn.Module):
    """`forward(query, memory, keys, mask) -> (context (B, Hm), weights (B, S))`."""

    def __init__(self, kind: str, query_size: int, memory_size: int):
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"model.attention: expected one of {', '.join(KINDS)} or none, "
                              f"got {kind!r}")
        if kind == "dot" and query_size != memory_size:
            raise ConfigError(f"model.attention=dot needs the decoder size ({query_size}) equal "
                              f"to the encoder memory size ({memory_size}); use general")
        self.kind = kind
        if kind == "bahdanau":
            self.query = nn.Linear(query_size, query_size, bias=False)
            self.memory = nn.Linear(memory_size, query_size)
            self.v = nn.Linear(query_size, 1, bias=False)
        elif kind == "general":
            self.weight = nn.Linear(query_size, memory_size, bias=False)  # q -> q^T W

    def keys(self, memory: Tensor) -> Tensor:
        """What the scores need from the memory, computed once per sentence: (B, S, A or Hm)."""
        return self.memory(memory) if self.kind == "bahdanau" else memory

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        if self.kind == "bahdanau":
            # (B, 1, A) + (B, S, A) -> (B, S)
            return self.v(torch.tanh(self.query(query).unsqueeze(1) + keys)).squeeze(2)
        q = self.weight(query) if self.kind == "general" else query  # (B, Hm)
        return torch.bmm(keys, q.unsqueeze(2)).squeeze(2)  # (B, S)

    def forward(self, query: Tensor, memory: Tensor, keys: Tensor, mask: Tensor):
        """query (B, Hq); memory (B, S, Hm); keys from `keys(memory)`; mask (B, S) bool, True at
        real source positions (every row needs at least one)."""
        scores = self.scores(query, keys).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)  # exp(-inf) = 0: padding weighs exactly 0
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, Hm)
        return context, weights
