"""An image captioner (Show, Attend and Tell; Xu et al. 2015): a small CNN gives a grid of feature
vectors, and an rnnkit LSTM decoder with soft attention over the grid says what it sees, word by
word.

    a_1..a_S, a_mean = ImageEncoder(picture)        grid (B, S, F), S = h*w row-major; pooled (B, F)
    h_0, c_0 = tanh(W_init a_mean + b_init)           init_state.weight (n_states*L*H, F)
    then per word, the decoder step of the translation model (rnnkit.models.decoder_step):
    x_t = [E[y_{t-1}] ; h~_{t-1}];  h_t = LSTM(x_t, h_{t-1});  c_t, alpha_t = attention(h_t, a)
    h~_t = tanh(W_c [c_t ; h_t]);  logits_t = W_out h~_t + b_out

Differences from the paper, on purpose: the context enters through the attentional vector h~ fed
back at the next step (Luong's input feeding, as the translation decoder does) rather than straight
into the LSTM gates at the same step; there is no gating scalar beta and no doubly stochastic
attention penalty. `attention="none"` gives the Show and Tell baseline (the picture only through
h_0, c_0). `read_words=False` feeds the decoder no words at all (their embedding is replaced by
zeros): its only input is the fed-back attentional vector, so each word comes from what it sees
rather than from what usually follows the previous word.

Decoding uses the one shared greedy / beam search (rnnkit.models.decode). `decode_ids` wraps the
step so that at the last allowed step only the end token can be chosen: every caption ends with
EOS within `max_len` steps (at most max_len - 1 words).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.cells import RecurrentCell
from rnnkit.errors import ConfigError
from rnnkit.models.attention import Attention
from rnnkit.models.decode import beam_search, check_search, greedy
from rnnkit.models.decoder_step import attention_step, check_decoder, check_int, teacher_forced
from rnnkit.models.image_encoder import ImageEncoder


class Captioner(nn.Module):
    """`forward(images, tgt_in) -> logits (B, T, V)` (teacher forcing); `start(images) -> state`
    and `step(tokens, state) -> (logits, state, weights)` for decoding."""

    STATIC = ("memory", "keys", "mask")  # decoding-state entries that depend on the picture only

    def __init__(self, vocab_size: int, channels: tuple[int, ...] = (16, 32, 64),
                 feature_size: int = 64, embedding_size: int = 32, hidden_size: int = 128,
                 num_layers: int = 1, cell: str = "lstm", attention: str = "bahdanau",
                 input_feed: bool = True, dropout: float = 0.0, in_channels: int = 3,
                 read_words: bool = True):
        super().__init__()
        family = check_decoder([("vocab_size", vocab_size), ("model.feature_size", feature_size),
                                ("model.embedding_size", embedding_size),
                                ("model.hidden_size", hidden_size),
                                ("model.num_layers", num_layers)], cell, attention, dropout)
        if not read_words and (attention == "none" or not input_feed):
            raise ConfigError("model.read_words=false needs attention and model.input_feed=true: "
                              "the fed-back attentional vector is then the decoder's only input")
        self.states = family.states  # ("h",) or ("h", "c"): decoding-state keys
        self.read_words = bool(read_words)
        self.num_layers, self.hidden_size = num_layers, hidden_size
        self.input_feed = bool(input_feed) and attention != "none"
        self.encoder = ImageEncoder(in_channels, tuple(channels), feature_size)
        self.init_state = nn.Linear(feature_size, len(self.states) * num_layers * hidden_size)
        self.tgt_embed = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
        first = embedding_size + (hidden_size if self.input_feed else 0)
        self.decoder = nn.ModuleList(
            RecurrentCell(cell, first if k == 0 else hidden_size, hidden_size)
            for k in range(num_layers))
        self.attention = None if attention == "none" else Attention(attention, hidden_size,
                                                                    feature_size)
        self.combine = None if attention == "none" else nn.Linear(
            feature_size + hidden_size, hidden_size, bias=False)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)

    def start(self, images: Tensor) -> dict[str, Tensor]:
        """The decoding state for pictures (B, C, H, W) in [0, 1]."""
        grid, pooled = self.encoder(images)  # (B, S, F), (B, F)
        B, S = grid.shape[:2]
        init = torch.tanh(self.init_state(pooled)).view(B, len(self.states), self.num_layers, -1)
        state = {name: init[:, i].contiguous() for i, name in enumerate(self.states)}
        if self.input_feed:
            state["feed"] = grid.new_zeros(B, self.hidden_size)
        if self.attention is not None:
            state["memory"] = grid
            state["keys"] = self.attention.keys(grid)
            state["mask"] = torch.ones(B, S, dtype=torch.bool, device=grid.device)
        return state

    def step(self, tokens: Tensor, state: dict[str, Tensor]):
        """One decoder step: (logits (N, V), new state, attention weights (N, S) or None)."""
        if not self.read_words:  # the padding id embeds as zeros: only h~_{t-1} comes in
            tokens = torch.zeros_like(tokens)
        return attention_step(self, tokens, state)

    def forward(self, images: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher forcing: logits (B, T, V) for the caption inputs `tgt_in` (B, T) (BOS, y_1..)."""
        return teacher_forced(self.step, self.start(images), tgt_in)


def ending_step(step, eos: int, max_len: int):
    """`step` with a step counter in the state ("steps", (N,)): at step number max_len only the
    end token keeps a finite score, so no caption runs past max_len steps without ending."""

    def wrapped(tokens: Tensor, state: dict[str, Tensor]):
        steps = state["steps"]
        logits, new, weights = step(tokens, {k: v for k, v in state.items() if k != "steps"})
        last = (steps + 1 >= max_len).unsqueeze(1)  # (N, 1)
        others = torch.arange(logits.shape[1], device=logits.device) != eos  # (V,)
        logits = logits.masked_fill(last & others, float("-inf"))
        new["steps"] = steps + 1
        return logits, new, weights

    return wrapped


@torch.no_grad()
def decode_ids(model: Captioner, images: Tensor, bos: int, eos: int, max_len: int,
               beam: int = 1, alpha: float = 1.0, keep_attention: bool = False):
    """The best Hypothesis (rnnkit.models.decode) for each picture; greedy when beam == 1."""
    check_search(beam, 1, alpha)
    check_int("decode.max_len", max_len)
    state = model.start(images)
    state["steps"] = torch.zeros(images.shape[0], dtype=torch.int64, device=images.device)
    step = ending_step(model.step, eos, max_len)
    lens = [max_len] * images.shape[0]
    if beam == 1:
        return greedy(step, state, bos, eos, lens, keep_attention)
    found = beam_search(step, state, bos, eos, lens, beam, 1, alpha, keep_attention,
                        static=model.STATIC)
    return [f[0] for f in found]
