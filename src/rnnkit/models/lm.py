"""A recurrent language model: Embedding -> RNN/LSTM/GRU stack -> Linear over the vocabulary.

    e_t      = E[x_t]                        E: (V, D)      embedding.weight
    h_t, s_t = RNN(dropout(e_t), s_{t-1})    num_layers layers of hidden size H, dropout between
    logits_t = W_out dropout(h_t) + b_out    W_out: (V, H)  decoder.weight, decoder.bias

With `tie_weights` the decoder reuses the embedding matrix (W_out is E), which needs H == D
(Press & Wolf 2017). Batches are batch-first: tokens (B, T) -> logits (B, T, V). The state is
whatever the recurrent layer uses: h (L, B, H) for RNN/GRU, (h, c) for LSTM; None starts at zero.
The recurrent layers are rnnkit's (`impl` picks their implementation: auto, reference, fused,
native); their parameter names and state_dicts are torch.nn's.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.functional import registry
from rnnkit.layers import Recurrent

IMPLS = ("auto", "reference", "fused", "native")


def _recurrent_layer(cell: str, input_size: int, hidden_size: int, num_layers: int,
                     dropout: float, impl: str):
    dropout = dropout if num_layers > 1 else 0.0  # torch warns about dropout with one layer
    return Recurrent(cell, input_size, hidden_size, num_layers=num_layers, batch_first=True,
                     dropout=dropout, impl=impl)


class LanguageModel(nn.Module):
    """Embedding -> recurrent stack -> Linear; `forward(tokens, state) -> (logits, state)`."""

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int = 128,
        hidden_size: int = 512,
        num_layers: int = 2,
        cell: str = "lstm",
        dropout: float = 0.0,
        tie_weights: bool = False,
        impl: str = "auto",
    ):
        super().__init__()
        for name, value in [("vocab_size", vocab_size), ("model.embedding_size", embedding_size),
                            ("model.hidden_size", hidden_size), ("model.num_layers", num_layers)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: expected an integer >= 1, got {value!r}")
        cell = registry.get(cell).name  # an unknown name: the error lists the known ones
        if not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout: expected a number in [0, 1), got {dropout!r}")
        if impl not in IMPLS:
            raise ConfigError(f"model.impl: expected one of {', '.join(IMPLS)}, got {impl!r}")
        if tie_weights and hidden_size != embedding_size:
            raise ConfigError(
                f"model.tie_weights needs model.hidden_size == model.embedding_size, got "
                f"hidden_size={hidden_size}, embedding_size={embedding_size}"
            )
        self.vocab_size, self.cell, self.tie_weights = vocab_size, cell, bool(tie_weights)
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.drop = nn.Dropout(dropout)
        self.rnn = _recurrent_layer(cell, embedding_size, hidden_size, num_layers, dropout, impl)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        if self.tie_weights:
            self.decoder.weight = self.embedding.weight

    def forward(self, tokens: torch.Tensor, state=None):
        if tokens.dim() != 2:
            raise ValueError(f"tokens: expected shape (B, T), got {tuple(tokens.shape)}")
        x = self.drop(self.embedding(tokens))  # (B, T, D)
        out, state = self.rnn(x, state)  # (B, T, H)
        return self.decoder(self.drop(out)), state  # (B, T, V)
