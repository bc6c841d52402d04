"""A fast batch-1 step of a `LanguageModel` for generation: only the recurrent matmuls per step.

Generating one token at a time is bound by reading the weights from memory, plus a few µs of
dispatch per torch op. So the weights are arranged once, when the stepper is built:

- layer 0's input projection for every token is precomputed: P = E @ W_ih0^T + b_ih0 (+ b_hh0
  where the cell adds the biases), a (V, G) table (G = 4H for LSTM, 3H for GRU, H for RNN); a step
  reads one row of it instead of multiplying by W_ih0;
- layers k >= 1 keep one pre-transposed contiguous [W_ih; W_hh]^T of shape (H_in + H, G) and read
  their input and their own state from one (1, H_in + H) row, so a step is one product per layer
  (GRU keeps the two products apart: its candidate gate multiplies r into the h-part only);
- the decoder keeps W_out^T contiguous: logits = addmm(b_out, h, W_out^T);
- every recurrent weight is also cut by columns into S slices stored as one (S, in, G/S) tensor,
  S = the number of torch threads on CPU (the most <= that dividing G; 1 on a GPU): one `baddbmm`
  then runs the S products in parallel, one per thread. A single (1 x in) @ (in x G) product runs
  on one thread here, which reads the weights at about half the speed two threads reach. The
  (S, 1, G/S) result is the (1, G) row in order, so no copy puts it back together;
- all layers' states live in one row [h_0 | h_1 | ...]: the new h of layer k-1 lies next to the old
  h of layer k, which is just the [x; h] that layer k multiplies; each layer writes in place.

Gate orders and equations are torch.nn's (LSTM i,f,g,o; GRU r,z,n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))): the stepper knows those four cells (STEPS, by the
layer's mode) and refuses any other family rather than run another cell's math. Everything runs
under `torch.inference_mode`.
`tests/models/test_lm_fast.py` checks the logits equal the model's own forward.
"""

from __future__ import annotations

from functools import partial

import torch

from rnnkit.models.lm import LanguageModel

# The layer modes this stepper has written out (torch.nn's cells), and its step for each.
STEPS = {"LSTM": "_lstm", "GRU": "_gru", "RNN_TANH": "_rnn", "RNN_RELU": "_rnn"}


def can_use_fast_step(model) -> tuple[bool, str]:
    """Whether `FastLMStepper` can run `model`; if not, why (a pure predicate)."""
    if not isinstance(model, LanguageModel):
        return False, f"expected a LanguageModel, got {type(model).__name__}"
    rnn = model.rnn
    if getattr(rnn, "mode", None) not in STEPS:
        family = getattr(rnn, "family", None)
        name = family.name if family is not None else type(rnn).__name__
        return False, (f"the fast step knows the lstm, gru, rnn_tanh and rnn_relu cells, not "
                       f"{name}")
    if getattr(rnn, "bidirectional", False):
        return False, "a bidirectional recurrent layer cannot generate left to right"
    if getattr(rnn, "proj_size", 0):
        return False, "LSTM with proj_size is not supported by the fast step"
    if not getattr(rnn, "reset_after", True):
        return False, "GRU with reset_after=False is not supported by the fast step"
    if not hasattr(rnn, "weight_hh_l0"):
        return False, "the recurrent layer lacks torch.nn's parameter names (weight_hh_l0, ...)"
    return True, ""


def _param(rnn, name: str, k: int, rows: int, like: torch.Tensor) -> torch.Tensor:
    p = getattr(rnn, f"{name}_l{k}", None)
    return p.detach() if p is not None else like.new_zeros(rows)  # bias=False -> zeros


class FastLMStepper:
    """Batch-1 stepper: `prime(state)` sets the state, `step(token) -> logits (V,)` advances it."""

    def __init__(self, model: LanguageModel, slices: int | None = None):
        ok, reason = can_use_fast_step(model)
        if not ok:
            raise ValueError(f"fast generation step: {reason}")
        rnn = model.rnn
        self.mode, self.num_layers, self.hidden = rnn.mode, rnn.num_layers, rnn.hidden_size
        self.has_c = len(rnn.family.states) == 2  # the LSTM's (h, c)
        gru = self.mode == "GRU"  # its candidate gate keeps b_hn inside r * (...)
        H, L = self.hidden, self.num_layers
        with torch.inference_mode():
            w_ih0 = rnn.weight_ih_l0.detach()
            G = w_ih0.shape[0]
            if slices is None:  # one slice per CPU thread; a GPU parallelises a product itself
                slices = torch.get_num_threads() if w_ih0.device.type == "cpu" else 1
            S = _slices(G, slices)
            self.slices, split = S, partial(_split_columns, S=S)
            b_ih0, b_hh0 = (_param(rnn, n, 0, G, w_ih0) for n in ("bias_ih", "bias_hh"))
            emb = model.embedding.weight.detach()
            # GRU adds b_hh inside r * (...) for the candidate gate, so it stays with W_hh.
            table = torch.addmm(b_ih0 if gru else b_ih0 + b_hh0, emb, w_ih0.t())
            self.table = table.view(-1, S, 1, G // S)  # (V, S, 1, G/S): row v = P[v] in slices
            self.w, self.b = [], []  # per layer: weights (S, in, G/S) and bias (S, 1, G/S)
            for k in range(L):
                w_ih = getattr(rnn, f"weight_ih_l{k}").detach()
                w_hh = getattr(rnn, f"weight_hh_l{k}").detach()
                b_ih, b_hh = (_param(rnn, n, k, G, w_ih) for n in ("bias_ih", "bias_hh"))
                if gru:
                    self.w.append((split(w_ih.t()), split(w_hh.t())))
                    self.b.append((split(b_ih[None]), split(b_hh[None])))
                elif k == 0:
                    self.w.append(split(w_hh.t()))  # (S, H, G/S)
                    self.b.append(None)  # the table row holds the biases
                else:
                    self.w.append(split(torch.cat([w_ih, w_hh], dim=1).t()))  # (S, 2H, G/S)
                    self.b.append(split((b_ih + b_hh)[None]))
            self.w_out = model.decoder.weight.detach().t().contiguous()  # (H, V)
            self.b_out = model.decoder.bias.detach()
        self.act = partial(torch.clamp, min=0.0) if rnn.nonlinearity == "relu" else torch.tanh
        self._layer = getattr(self, STEPS[self.mode])
        self._buffers(w_ih0.new_zeros, H, L, G)

    def _buffers(self, zeros, H: int, L: int, G: int) -> None:
        S = self.slices
        # All layers' h in one row [h_0 | h_1 | ... | h_{L-1}] (1, L*H): layer k >= 1 reads
        # [h_{k-1} | h_k] as one contiguous (1, 2H) view, the new h of the layer below next to its
        # own old h, and writes its new h in place. No copies between layers.
        self.hbuf = zeros(1, L * H)
        self.h = [self.hbuf[:, k * H : (k + 1) * H] for k in range(L)]
        xh = [self.h[0]] + [self.hbuf[:, (k - 1) * H : (k + 1) * H] for k in range(1, L)]
        self.xh = [x.expand(S, 1, x.shape[1]) for x in xh]  # the same row for every slice
        self.hx = [h.expand(S, 1, H) for h in self.h]  # GRU: h_k alone
        self.c = [zeros(1, H) for _ in range(L)]
        self.gates = [zeros(S, 1, G // S) for _ in range(L)]  # pre-activations, (1, G) in order
        self.gh = [zeros(S, 1, G // S) for _ in range(L)]  # GRU: W_hh h + b_hh
        self.sig = [zeros(1, G) for _ in range(L)]
        self.tmp = [zeros(1, H) for _ in range(L)]
        self.tmp2 = [zeros(1, H) for _ in range(L)]

    def prime(self, state) -> None:
        """Take the model's state after a batch-1 forward: h (L, 1, H), or (h, c) for LSTM."""
        h, c = state if self.has_c else (state, None)
        with torch.inference_mode():
            for k in range(self.num_layers):
                self.h[k].copy_(h[k])
                if c is not None:
                    self.c[k].copy_(c[k])

    def state(self):
        """The current state in the model's format: h (L, 1, H), or (h, c) for LSTM."""
        h = torch.stack([hk.clone() for hk in self.h])
        return (h, torch.stack([c.clone() for c in self.c])) if self.has_c else h

    @torch.inference_mode()
    def step(self, token: int) -> torch.Tensor:
        """Feed one token id; the logits (V,) for the next token (a new tensor each call)."""
        x0 = self.table[token]  # (S, 1, G/S): layer 0's input projection, biases included
        for k in range(self.num_layers):
            self._layer(k, x0 if k == 0 else self.b[k])
        return torch.addmm(self.b_out, self.h[-1], self.w_out)[0]

    def _lstm(self, k: int, x_part: torch.Tensor) -> None:
        H, s = self.hidden, self.sig[k]
        gates = torch.baddbmm(x_part, self.xh[k], self.w[k], out=self.gates[k]).view(1, 4 * H)
        torch.sigmoid(gates, out=s)  # i, f, (g unused), o
        g = torch.tanh(gates[:, 2 * H : 3 * H], out=self.tmp[k])
        c = self.c[k].mul_(s[:, H : 2 * H]).addcmul_(s[:, :H], g)  # c = f * c + i * g
        torch.mul(s[:, 3 * H :], torch.tanh(c, out=self.tmp2[k]), out=self.h[k])  # o * tanh(c)

    def _rnn(self, k: int, x_part: torch.Tensor) -> None:
        gates = torch.baddbmm(x_part, self.xh[k], self.w[k], out=self.gates[k])
        self.act(gates.view(1, self.hidden), out=self.h[k])

    def _gru(self, k: int, x_part) -> None:
        H = self.hidden
        (w_ih, w_hh), (b_ih, b_hh) = self.w[k], self.b[k]
        gi = x_part if k == 0 else torch.baddbmm(b_ih, self.hx[k - 1], w_ih, out=self.gates[k])
        gi, gh = gi.view(1, 3 * H), torch.baddbmm(b_hh, self.hx[k], w_hh, out=self.gh[k])
        gh = gh.view(1, 3 * H)
        rz = torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H])
        n = torch.tanh(torch.addcmul(gi[:, 2 * H :], rz[:, :H], gh[:, 2 * H :]))
        h = self.h[k]
        torch.addcmul(n, rz[:, H:], h - n, out=h)  # h' = n + z * (h - n)


def _slices(G: int, threads: int) -> int:
    """The most column slices <= threads that divide G evenly (1 = a plain matmul)."""
    return next(s for s in range(max(1, min(threads, G)), 0, -1) if G % s == 0)


def _split_columns(w: torch.Tensor, S: int) -> torch.Tensor:
    """(in, G) -> (S, in, G/S) contiguous: slice j holds columns j*G/S .. (j+1)*G/S - 1."""
    n_in, G = w.shape
    return w.reshape(n_in, S, G // S).permute(1, 0, 2).contiguous()
