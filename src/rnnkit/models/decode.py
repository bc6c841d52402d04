"""Greedy and beam-search decoding, written once for any decoder with a step function.

A decoder here is two things:
    state:  a dict of tensors, batch first (row i is sentence i), such as Seq2Seq.start returns;
    step(tokens (N,), state) -> (logits (N, V), new state, attention weights (N, S) or None).
Decoding repeats and reorders the rows of the state (`index_rows`), so a captioning model or any
other conditional generator can reuse it by providing the same two things.

Both searches decode every sentence of the batch as if it were alone: each has its own maximum
length (`max_lens`, e.g. a ratio of its source length), its own finished hypotheses and its own
stopping point, so the output never depends on the batch it is decoded in.

Beam search (as fairseq's): each step extends the K live hypotheses of a sentence by every token
and keeps the 2K best extensions by summed log-probability. An extension that ends with EOS and
ranks among the first K is finished, with the score

    score = sum of log p(y_t) / len^alpha        len counts the tokens and the EOS,

(alpha = 0 ranks by the plain sum, alpha = 1 by the mean; length normalisation); the first K
extensions that do not end with EOS live on. A hypothesis that reaches its sentence's maximum
length is finished without EOS. A sentence is done when it has K finished hypotheses (or has
reached its maximum length); its n best, by score, are returned. With K = 1 this is exactly
greedy decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnkit.errors import ConfigError

Step = Callable[[Tensor, dict], tuple[Tensor, dict, Tensor | None]]


@dataclass
class Hypothesis:
    tokens: list[int]  # without BOS and EOS
    log_prob: float  # sum of the log-probabilities of the tokens (and of EOS when it ended)
    score: float  # log_prob / len^alpha, what the beam ranks by
    attention: Tensor | None = None  # (steps, S) weights of each output step, when kept


def index_rows(state: dict[str, Tensor], index: Tensor,
               keep: Sequence[str] = ()) -> dict[str, Tensor]:
    """The state with its rows (dim 0) taken at `index` (to repeat or reorder hypotheses); the
    entries named in `keep` are left as they are."""
    return {k: v if k in keep else v.index_select(0, index) for k, v in state.items()}


def check_search(beam: int, n_best: int = 1, alpha: float = 0.0) -> None:
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise ConfigError(f"--beam: expected an integer >= 1 (1 = greedy), got {beam!r}")
    if isinstance(n_best, bool) or not isinstance(n_best, int) or not 1 <= n_best <= beam:
        raise ConfigError(f"--n-best: expected an integer from 1 to the beam size ({beam}), "
                          f"got {n_best!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha < 0:
        raise ConfigError(f"--alpha: expected a number >= 0 (length normalisation), "
                          f"got {alpha!r}")


def _max_lens(max_lens, batch: int) -> list[int]:
    lens = [int(n) for n in (max_lens.tolist() if torch.is_tensor(max_lens) else max_lens)]
    if len(lens) != batch or min(lens, default=1) < 1:
        raise ConfigError(f"max_lens: expected {batch} lengths >= 1, got {lens}")
    return lens


@torch.no_grad()
def greedy(step: Step, state: dict, bos: int, eos: int, max_lens,
           keep_attention: bool = False) -> list[Hypothesis]:
    """The most likely token at every step, for each row of `state`; stops at EOS or at the
    row's maximum length."""
    B = next(iter(state.values())).shape[0]
    lens = _max_lens(max_lens, B)
    device = next(iter(state.values())).device
    tokens = torch.full((B,), bos, dtype=torch.int64, device=device)
    out: list[list[int]] = [[] for _ in range(B)]
    log_prob = [0.0] * B
    attn: list[list[Tensor]] = [[] for _ in range(B)]
    done = [False] * B
    for _ in range(max(lens)):
        logits, state, weights = step(tokens, state)
        lp = torch.log_softmax(logits, dim=-1)
        best_lp, tokens = lp.max(dim=-1)
        for b, (tok, p) in enumerate(zip(tokens.tolist(), best_lp.tolist(), strict=True)):
            if done[b]:
                continue
            log_prob[b] += p
            if keep_attention and weights is not None:
                attn[b].append(weights[b])
            if tok == eos:
                done[b] = True
                continue
            out[b].append(tok)
            done[b] = len(out[b]) >= lens[b]
        if all(done):
            break
    return [Hypothesis(out[b], log_prob[b], log_prob[b],
                       torch.stack(attn[b]) if attn[b] else None) for b in range(B)]


def _survivors(cands: list[tuple[float, int, int]], K: int, eos: int, at_limit: bool):
    """One sentence's step: walk its candidates (score, row, token), best first; an EOS among the
    first K finishes its hypothesis, the first K others live on (or finish, when `at_limit`).
    Returns (finished as (row, extra tokens, score), live candidates)."""
    ended, live, kept = [], [], 0
    for rank, (s, row, tok) in enumerate(cands):
        if s == float("-inf") or kept == K:
            break
        if tok == eos:
            if rank < K:
                ended.append((row, [], s))
            continue
        kept += 1
        if at_limit:  # the maximum length: finished without EOS
            ended.append((row, [tok], s))
        else:
            live.append((s, row, tok))
    return ended, live


@torch.no_grad()
def beam_search(step: Step, state: dict, bos: int, eos: int, max_lens, beam: int = 5,
                n_best: int = 1, alpha: float = 1.0, keep_attention: bool = False,
                static: Sequence[str] = ()) -> list[list[Hypothesis]]:
    """The `n_best` hypotheses of each row of `state`, best first (see the module docstring).

    `static`: state entries that depend only on the source (Seq2Seq.STATIC: the encoder memory).
    Hypotheses are only ever reordered within their own sentence, whose K rows of such an entry
    are equal, so they are repeated once and then never copied again."""
    check_search(beam, n_best, alpha)
    B = next(iter(state.values())).shape[0]
    lens = _max_lens(max_lens, B)
    device = next(iter(state.values())).device
    K = beam
    state = index_rows(state, torch.arange(B, device=device).repeat_interleave(K))  # (B*K, ...)
    scores = torch.full((B, K), float("-inf"), dtype=torch.float64, device=device)
    scores[:, 0] = 0.0  # one live hypothesis per sentence at the start
    tokens = torch.full((B * K,), bos, dtype=torch.int64, device=device)
    history: list[list[int]] = [[] for _ in range(B * K)]
    attn: list[list[Tensor]] = [[] for _ in range(B * K)]
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B

    def finish(row: int, extra: list[int], lp: float, weights) -> Hypothesis:
        steps = len(history[row]) + 1
        a = attn[row] + ([weights[row]] if weights is not None and keep_attention else [])
        return Hypothesis(history[row] + extra, lp, lp / steps ** alpha,
                          torch.stack(a) if a else None)

    for t in range(max(lens)):
        logits, state, weights = step(tokens, state)
        lp = torch.log_softmax(logits.to(torch.float64), dim=-1)  # (B*K, V)
        V = lp.shape[1]
        cand = (scores.view(-1, 1) + lp).view(B, K * V)
        top, idx = cand.topk(min(2 * K, K * V), dim=1)  # (B, 2K), best first
        top_l, idx_l = top.tolist(), idx.tolist()
        rows = list(range(B * K))  # next step's rows (dead rows keep their place)
        new_tokens = [eos] * (B * K)
        new_scores = [float("-inf")] * (B * K)  # a list: per-item tensor writes cost ~10 us each
        for b in range(B):
            if done[b]:
                continue
            cands = [(s, b * K + i // V, i % V) for s, i in zip(top_l[b], idx_l[b], strict=True)]
            ended, live = _survivors(cands, K, eos, t + 1 >= lens[b])
            finished[b] += [finish(row, extra, s, weights) for row, extra, s in ended]
            for k, (s, row, tok) in enumerate(live):
                rows[b * K + k], new_tokens[b * K + k], new_scores[b * K + k] = row, tok, s
            done[b] = len(finished[b]) >= K or t + 1 >= lens[b]
        if all(done):
            break
        index = torch.tensor(rows, device=device)
        state = index_rows(state, index, keep=static)
        history = [history[r] + [new_tokens[k]] for k, r in enumerate(rows)]
        if keep_attention and weights is not None:
            attn = [attn[r] + [weights[r]] for r in rows]
        scores = torch.tensor(new_scores, dtype=torch.float64, device=device).view(B, K)
        tokens = torch.tensor(new_tokens, device=device)
    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]
