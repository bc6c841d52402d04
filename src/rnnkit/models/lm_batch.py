"""A batched step of a `LanguageModel` for sampling N texts at once: `rnnkit generate
--num-samples N`.

At batch 1 a step reads every weight once per token, so it is bound by memory bandwidth
(`rnnkit.models.lm_fast`). N samples stepped together read the weights once for N tokens: each
layer is one (N x in) @ (in x G) matrix product, which runs near the CPU's arithmetic peak, so
the characters per second grow with N until the products are compute-bound (BENCHMARKS.md,
"Generation"). The weights are arranged once, as in `FastLMStepper`:

    layer 0:   gates = P[x_t] + h_0 @ W_hh0^T          P = E @ W_ih0^T + b_ih0 (+ b_hh0): (V, G)
    layer k:   gates = [h_{k-1} | h_k] @ [W_ih; W_hh]^T + b_ih + b_hh        (one product)
    GRU:       gi = h_{k-1} @ W_ih^T + b_ih, gh = h_k @ W_hh^T + b_hh (kept apart: r scales gh_n)
    logits   = h_{L-1} @ W_out^T + b_out                                      (N, V)

with G = 4H (LSTM i,f,g,o), 3H (GRU r,z,n) or H (RNN), torch.nn's gate orders and equations.
All layers' states lie in one (N, L*H) buffer [h_0 | h_1 | ...], so layer k reads its input and
its own state as one (N, 2H) strided view and writes its new h in place. The columns are not
cut into per-thread slices (the batch-1 trick): at N > 1 the BLAS product parallelises itself.
`tests/models/test_lm_batch.py` checks each row equals the model's own forward.
"""

from __future__ import annotations

from functools import partial

import torch

from rnnkit.models.lm import LanguageModel
from rnnkit.models.lm_fast import can_use_fast_step


def _param(rnn, name: str, k: int, rows: int, like: torch.Tensor) -> torch.Tensor:
    p = getattr(rnn, f"{name}_l{k}", None)
    return p.detach() if p is not None else like.new_zeros(rows)  # bias=False -> zeros


class BatchLMStepper:
    """N rows stepped together: `prime(state)` sets the state of every row, `step(tokens)` feeds
    one token id per row (a (N,) int64 tensor) and returns the logits (N, V) of the next."""

    def __init__(self, model: LanguageModel, batch: int):
        ok, reason = can_use_fast_step(model)
        if not ok:
            raise ValueError(f"batched generation step: {reason}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batched generation step: batch must be an integer >= 1, "
                             f"got {batch!r}")
        rnn = model.rnn
        self.cell, self.num_layers, self.hidden = model.cell, rnn.num_layers, rnn.hidden_size
        self.batch = batch
        H, L, N = self.hidden, self.num_layers, batch
        with torch.inference_mode():
            w_ih0 = rnn.weight_ih_l0.detach()
            G = w_ih0.shape[0]
            b_ih0, b_hh0 = (_param(rnn, n, 0, G, w_ih0) for n in ("bias_ih", "bias_hh"))
            emb = model.embedding.weight.detach()
            # GRU adds b_hh inside r * (...) for the candidate gate, so it stays with W_hh.
            bias0 = b_ih0 if self.cell == "gru" else b_ih0 + b_hh0
            self.table = torch.addmm(bias0, emb, w_ih0.t())  # (V, G)
            self.w, self.b = [], []  # per layer: pre-transposed weights and (1, G) biases
            for k in range(L):
                w_ih = getattr(rnn, f"weight_ih_l{k}").detach()
                w_hh = getattr(rnn, f"weight_hh_l{k}").detach()
                b_ih, b_hh = (_param(rnn, n, k, G, w_ih) for n in ("bias_ih", "bias_hh"))
                if self.cell == "gru":
                    self.w.append((w_ih.t().contiguous(), w_hh.t().contiguous()))
                    self.b.append((b_ih[None], b_hh[None]))
                elif k == 0:
                    self.w.append(w_hh.t().contiguous())  # (H, G)
                    self.b.append(None)  # the table row holds the biases
                else:
                    self.w.append(torch.cat([w_ih, w_hh], dim=1).t().contiguous())  # (2H, G)
                    self.b.append((b_ih + b_hh)[None])
            self.w_out = model.decoder.weight.detach().t().contiguous()  # (H, V)
            self.b_out = model.decoder.bias.detach()
            zeros = w_ih0.new_zeros
            self.hbuf = zeros(N, L * H)  # [h_0 | h_1 | ... | h_{L-1}] per row
            self.h = [self.hbuf[:, k * H : (k + 1) * H] for k in range(L)]  # (N, H) views
            self.xh = [self.h[0]] + [self.hbuf[:, (k - 1) * H : (k + 1) * H] for k in range(1, L)]
            self.c = [zeros(N, H) for _ in range(L)]
            self.gates = [zeros(N, G) for _ in range(L)]
            self.gh = [zeros(N, G) for _ in range(L)]  # GRU: h @ W_hh^T + b_hh
            self.sig = [zeros(N, G) for _ in range(L)]
            self.tmp = [zeros(N, H) for _ in range(L)]
        self.act = torch.tanh if self.cell != "rnn_relu" else partial(torch.clamp, min=0.0)
        self._layer = {"lstm": self._lstm, "gru": self._gru}.get(self.cell, self._rnn)

    def prime(self, state) -> None:
        """Set every row's state: h (L, N or 1, H), or (h, c) for LSTM; a batch of 1 is copied
        to every row (one prime, N samples)."""
        h, c = state if self.cell == "lstm" else (state, None)
        with torch.inference_mode():
            for k in range(self.num_layers):
                self.h[k].copy_(h[k].expand(self.batch, self.hidden))
                if c is not None:
                    self.c[k].copy_(c[k].expand(self.batch, self.hidden))

    def state(self):
        """The current state in the model's format: h (L, N, H), or (h, c) for LSTM."""
        h = torch.stack([hk.clone() for hk in self.h])
        return (h, torch.stack([c.clone() for c in self.c])) if self.cell == "lstm" else h

    @torch.inference_mode()
    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed one token id per row, (N,) int64; the logits (N, V) (a new tensor each call)."""
        x0 = self.table.index_select(0, tokens)  # (N, G): layer 0's input part, biases included
        for k in range(self.num_layers):
            self._layer(k, x0 if k == 0 else self.b[k])
        return torch.addmm(self.b_out, self.h[-1], self.w_out)

    def _lstm(self, k: int, x_part: torch.Tensor) -> None:
        H, s = self.hidden, self.sig[k]
        gates = torch.addmm(x_part, self.xh[k], self.w[k], out=self.gates[k])  # (N, 4H)
        torch.sigmoid(gates, out=s)  # i, f, (g unused), o
        g = torch.tanh(gates[:, 2 * H : 3 * H])
        c = self.c[k].mul_(s[:, H : 2 * H]).addcmul_(s[:, :H], g)  # c = f * c + i * g
        torch.mul(s[:, 3 * H :], torch.tanh(c, out=self.tmp[k]), out=self.h[k])  # o * tanh(c)

    def _rnn(self, k: int, x_part: torch.Tensor) -> None:
        gates = torch.addmm(x_part, self.xh[k], self.w[k], out=self.gates[k])
        self.h[k].copy_(self.act(gates))

    def _gru(self, k: int, x_part) -> None:
        H = self.hidden
        (w_ih, w_hh), (b_ih, b_hh) = self.w[k], self.b[k]
        gi = x_part if k == 0 else torch.addmm(b_ih, self.h[k - 1], w_ih, out=self.gates[k])
        gh = torch.addmm(b_hh, self.h[k], w_hh, out=self.gh[k])
        rz = torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H])
        n = torch.tanh(torch.addcmul(gi[:, 2 * H :], rz[:, :H], gh[:, 2 * H :]))
        h = self.h[k]
        h.copy_(torch.addcmul(n, rz[:, H:], h - n))  # h' = n + z * (h - n)
