"""A fast batch-1 step of a `LanguageModel` for generation: only the recurrent matmuls per step.

Generating one token at a time is bound by reading the weights from memory, plus a few µs of
dispatch per torch op. So the weights are arranged once, when the stepper is built:

- layer 0's input projection for every token is precomputed: P = E @ W_ih0^T + b_ih0 (+ b_hh0
  where the cell adds the biases), a (V, G) table (G = 4H for LSTM, 3H for GRU, H for RNN); a step
  reads one row of it instead of multiplying by W_ih0;
- layers k >= 1 keep one pre-transposed contiguous [W_ih; W_hh]^T of shape (H_in + H, G) and read
  their input and their own state from one (1, H_in + H) buffer, so a step is one addmm per layer
  (GRU keeps the two products apart: its candidate gate multiplies r into the h-part only);
- the decoder keeps W_out^T contiguous: logits = addmm(b_out, h, W_out^T).

Gate orders and equations are torch.nn's (LSTM i,f,g,o; GRU r,z,n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))). Everything runs under `torch.inference_mode`.
`tests/models/test_lm_fast.py` checks the logits equal the model's own forward.
"""

from __future__ import annotations

import torch

from rnnkit.models.lm import LanguageModel


def can_use_fast_step(model) -> tuple[bool, str]:
    """Whether `FastLMStepper` can run `model`; if not, why (a pure predicate)."""
    if not isinstance(model, LanguageModel):
        return False, f"expected a LanguageModel, got {type(model).__name__}"
    rnn = model.rnn
    if getattr(rnn, "bidirectional", False):
        return False, "a bidirectional recurrent layer cannot generate left to right"
    if getattr(rnn, "proj_size", 0):
        return False, "LSTM with proj_size is not supported by the fast step"
    if not hasattr(rnn, "weight_hh_l0"):
        return False, "the recurrent layer lacks torch.nn's parameter names (weight_hh_l0, ...)"
    return True, ""


def _param(rnn, name: str, k: int, rows: int, like: torch.Tensor) -> torch.Tensor:
    p = getattr(rnn, f"{name}_l{k}", None)
    return p.detach() if p is not None else like.new_zeros(rows)  # bias=False -> zeros


class FastLMStepper:
    """Batch-1 stepper: `prime(state)` sets the state, `step(token) -> logits (V,)` advances it."""

    def __init__(self, model: LanguageModel):
        ok, reason = can_use_fast_step(model)
        if not ok:
            raise ValueError(f"fast generation step: {reason}")
        rnn = model.rnn
        self.cell, self.num_layers, self.hidden = model.cell, rnn.num_layers, rnn.hidden_size
        H, L = self.hidden, self.num_layers
        with torch.inference_mode():
            w_ih0 = rnn.weight_ih_l0.detach()
            G = w_ih0.shape[0]
            b_ih0, b_hh0 = (_param(rnn, n, 0, G, w_ih0) for n in ("bias_ih", "bias_hh"))
            emb = model.embedding.weight.detach()
            # GRU adds b_hh inside r * (...) for the candidate gate, so it stays with W_hh.
            self.table = torch.addmm(b_ih0 if self.cell == "gru" else b_ih0 + b_hh0, emb, w_ih0.t())
            self.w, self.b = [], []  # per layer: weights (in, G) and bias (G,)
            for k in range(L):
                w_ih = getattr(rnn, f"weight_ih_l{k}").detach()
                w_hh = getattr(rnn, f"weight_hh_l{k}").detach()
                b_ih, b_hh = (_param(rnn, n, k, G, w_ih) for n in ("bias_ih", "bias_hh"))
                if self.cell == "gru":
                    self.w.append((w_ih.t().contiguous(), w_hh.t().contiguous()))
                    self.b.append((b_ih, b_hh))
                elif k == 0:
                    self.w.append(w_hh.t().contiguous())  # (H, G)
                    self.b.append(None)
                else:
                    self.w.append(torch.cat([w_ih, w_hh], dim=1).t().contiguous())  # (2H, G)
                    self.b.append(b_ih + b_hh)
            self.w_out = model.decoder.weight.detach().t().contiguous()  # (H, V)
            self.b_out = model.decoder.bias.detach()
        self.act = torch.relu if self.cell == "rnn_relu" else torch.tanh
        # buf[k] = [input from layer k-1 | own h] (1, 2H) for k >= 1, [h] (1, H) for layer 0.
        self.buf = [w_ih0.new_zeros(1, H if k == 0 else 2 * H) for k in range(L)]
        self.c = [w_ih0.new_zeros(1, H) for _ in range(L)] if self.cell == "lstm" else None

    def _h(self, k: int) -> torch.Tensor:
        return self.buf[k][:, -self.hidden :]

    def prime(self, state) -> None:
        """Take the model's state after a batch-1 forward: h (L, 1, H), or (h, c) for LSTM."""
        h, c = state if self.cell == "lstm" else (state, None)
        with torch.inference_mode():
            for k in range(self.num_layers):
                self._h(k).copy_(h[k])
                if k + 1 < self.num_layers:
                    self.buf[k + 1][:, : self.hidden].copy_(h[k])
                if c is not None:
                    self.c[k].copy_(c[k])

    def state(self):
        """The current state in the model's format: h (L, 1, H), or (h, c) for LSTM."""
        h = torch.stack([self._h(k).clone() for k in range(self.num_layers)])
        return (h, torch.stack([c.clone() for c in self.c])) if self.cell == "lstm" else h

    @torch.inference_mode()
    def step(self, token: int) -> torch.Tensor:
        """Feed one token id; the logits (V,) for the next token."""
        H, L = self.hidden, self.num_layers
        for k in range(L):
            x_part = self.table[token] if k == 0 else None
            if self.cell == "gru":
                h_new = self._gru(k, x_part)
            else:
                gates = torch.addmm(x_part if k == 0 else self.b[k], self.buf[k], self.w[k])
                h_new = self._lstm(k, gates) if self.cell == "lstm" else self.act(gates)
            self._h(k).copy_(h_new)
            if k + 1 < L:
                self.buf[k + 1][:, :H].copy_(h_new)
        return torch.addmm(self.b_out, self._h(L - 1), self.w_out)[0]

    def _lstm(self, k: int, gates: torch.Tensor) -> torch.Tensor:
        H = self.hidden
        s = torch.sigmoid(gates)  # (1, 4H): i, f, (unused), o
        g = torch.tanh(gates[:, 2 * H : 3 * H])
        c = self.c[k]
        c.mul_(s[:, H : 2 * H]).addcmul_(s[:, :H], g)  # c = f * c + i * g
        return s[:, 3 * H :] * torch.tanh(c)  # h = o * tanh(c)

    def _gru(self, k: int, x_part) -> torch.Tensor:
        H = self.hidden
        (w_ih, w_hh), (b_ih, b_hh) = self.w[k], self.b[k]
        h = self._h(k)
        gi = x_part[None] if k == 0 else torch.addmm(b_ih, self.buf[k][:, :H], w_ih)  # (1, 3H)
        gh = torch.addmm(b_hh, h, w_hh)  # (1, 3H)
        rz = torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H])
        n = torch.tanh(torch.addcmul(gi[:, 2 * H :], rz[:, :H], gh[:, 2 * H :]))
        return torch.addcmul(n, rz[:, H:], h - n)  # h' = n + z * (h - n)
