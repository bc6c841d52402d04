"""An encoder-decoder (sequence to sequence) model with attention, for translation.

Encoder: source embedding -> an rnnkit RNN/LSTM/GRU stack, bidirectional by default, run on each
row's real steps only (`lengths=`). Each direction has hidden_size / D units (D = 2 if
bidirectional), so the memory m_s (the top layer's outputs, directions concatenated) and the
final state of every layer (directions concatenated) have hidden_size units, which is the
decoder's size: the encoder's final state of layer k starts decoder layer k (no bridge).

Decoder: rnnkit cells stepped one token at a time (Luong et al. 2015, "global attention" with
input feeding):

    x_t = [E_tgt[y_{t-1}] ; h~_{t-1}]          input feeding: the previous attentional vector
    h_t^k, s_t^k = cell_k(x_t^k, s_{t-1}^k)     k = 1..num_layers, dropout between layers
    c_t, a_t = attention(h_t^top, m)            rnnkit.models.attention (padding masked)
    h~_t = tanh(W_c [c_t ; h_t^top])            combine.weight (H, 2H)
    logits_t = W_out dropout(h~_t) + b_out      out.weight (V_tgt, H)

Bahdanau's additive score is used in this same arrangement (as OpenNMT-py does), not with his
original decoder that attends before its step. `attention="none"` is the Sutskever et al. 2014
baseline: the decoder sees the source only through the encoder's final state (no context, no
input feeding, h~_t = h_t^top), so the gain of attention can be measured.

The decoding state is a dict of batch-first tensors (`h`, `c`, `feed`, `memory`, `keys`, `mask`),
so rnnkit.models.decode can reorder or repeat it for any decoder that has a `step` function.
Token ids: 0 = padding, and the caller says which ids are BOS and EOS.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells import RecurrentCell
from rnnkit.errors import ConfigError
from rnnkit.layers import Recurrent
from rnnkit.models.attention import Attention
from rnnkit.models.decoder_step import attention_step, check_decoder, teacher_forced

IMPLS = ("auto", "reference", "fused", "native")


def _layer(cell: str, size: int, hidden: int, layers: int, bidirectional: bool, dropout: float,
           impl: str, **regularisation):
    return Recurrent(cell, size, hidden, num_layers=layers, batch_first=True,
                     bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0,
                     impl=impl, **regularisation)


class Seq2Seq(nn.Module):
    """`forward(src, src_lengths, tgt_in) -> logits (B, T, V_tgt)` (teacher forcing);
    `start(src, src_lengths) -> state` and `step(tokens, state) -> (logits, state, weights)`
    for decoding."""

    STATIC = ("memory", "keys", "mask")  # decoding-state entries that depend on the source only

    def __init__(self, src_vocab: int, tgt_vocab: int, embedding_size: int = 64,
                 hidden_size: int = 128, num_layers: int = 1, cell: str = "lstm",
                 bidirectional: bool = True, dropout: float = 0.0, attention: str = "general",
                 input_feed: bool = True, share_embeddings: bool = False, impl: str = "auto",
                 recurrent_dropout: float = 0.0, zoneout: float = 0.0,
                 recurrent_dropout_mode: str = "variational"):
        super().__init__()
        family = check_decoder([("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab),
                                ("model.embedding_size", embedding_size),
                                ("model.hidden_size", hidden_size),
                                ("model.num_layers", num_layers)], cell, attention, dropout)
        self.states = family.states  # ("h",) or ("h", "c"): decoding-state keys
        if impl not in IMPLS:
            raise ConfigError(f"model.impl: expected one of {', '.join(IMPLS)}, got {impl!r}")
        D = 2 if bidirectional else 1
        if hidden_size % D:
            raise ConfigError(f"model.hidden_size: a bidirectional encoder splits it over two "
                              f"directions, so it must be even, got {hidden_size}")
        if share_embeddings and src_vocab != tgt_vocab:
            raise ConfigError(f"model.share_embeddings needs one vocabulary for source and "
                              f"target, got sizes {src_vocab} and {tgt_vocab}")
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.num_directions, self.attention_kind = D, attention
        self.input_feed = bool(input_feed) and attention != "none"
        self.src_embed = nn.Embedding(src_vocab, embedding_size, padding_idx=0)
        self.tgt_embed = self.src_embed if share_embeddings else nn.Embedding(
            tgt_vocab, embedding_size, padding_idx=0)
        # recurrent dropout and zoneout act in the encoder; the decoder's cells step one token
        # at a time and have no sequence to hold a mask for
        self.encoder = _layer(cell, embedding_size, hidden_size // D, num_layers, bidirectional,
                              dropout, impl, recurrent_dropout=recurrent_dropout, zoneout=zoneout,
                              recurrent_dropout_mode=recurrent_dropout_mode)
        first = embedding_size + (hidden_size if self.input_feed else 0)
        self.decoder = nn.ModuleList(
            RecurrentCell(cell, first if k == 0 else hidden_size, hidden_size)
            for k in range(num_layers))
        self.attention = None if attention == "none" else Attention(attention, hidden_size,
                                                                    hidden_size)
        self.combine = None if attention == "none" else nn.Linear(2 * hidden_size, hidden_size,
                                                                 bias=False)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, tgt_vocab)

    # ------------------------------------------------------------ encoder

    def start(self, src: Tensor, src_lengths: Tensor) -> dict[str, Tensor]:
        """The decoding state after reading `src` (B, S) with `src_lengths` (B,) >= 1."""
        B = src.shape[0]
        lengths = src_lengths.to("cpu", torch.int64)
        memory, final = self.encoder(self.drop(self.src_embed(src)), lengths=lengths)  # (B, S, H)
        finals = final if isinstance(final, tuple) else (final,)
        L, D = self.num_layers, self.num_directions
        # (L*D, B, H/D) -> (B, L, H): each layer's directions side by side
        states = [s.view(L, D, B, -1).permute(2, 0, 1, 3).reshape(B, L, -1) for s in finals]
        state = dict(zip(self.states, states, strict=True))  # "h" [and "c"]: (B, L, H)
        if self.input_feed:
            state["feed"] = memory.new_zeros(B, self.hidden_size)
        if self.attention is not None:
            S = memory.shape[1]
            state["memory"] = memory
            state["keys"] = self.attention.keys(memory)
            state["mask"] = torch.arange(S, device=src.device)[None, :] < src_lengths[:, None]
        return state

    # ------------------------------------------------------------ decoder

    def step(self, tokens: Tensor, state: dict[str, Tensor]):
        """One decoder step for the previous tokens (N,): (logits (N, V), new state, attention
        weights (N, S) or None). The step is rnnkit.models.decoder_step's, shared with the
        captioner."""
        return attention_step(self, tokens, state)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor,
                sample_prob: float = 0.0, generator: torch.Generator | None = None) -> Tensor:
        """Teacher forcing: logits (B, T, V) for the target inputs `tgt_in` (B, T) (BOS, y_1..).
        With `sample_prob` > 0 (scheduled sampling, Bengio et al. 2015) each row's input at each
        step after the first is, with that probability, the model's own previous argmax."""
        return teacher_forced(self.step, self.start(src, src_lengths), tgt_in, sample_prob,
                              generator)


def smoothed_loss(logits: Tensor, targets: Tensor, smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy over the non-padding targets (id 0 is padding), with label smoothing
    spreading `smoothing` of the target mass uniformly over the vocabulary."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=0, label_smoothing=smoothing)
