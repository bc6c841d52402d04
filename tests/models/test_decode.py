"""Greedy and beam search: beam 1 == greedy, batch independence, exactness, n-best, errors."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.decode import beam_search, check_search, greedy
from rnnkit.models.seq2seq import Seq2Seq

BOS, EOS = 1, 2


def _model(attention="general", vocab=9, seed=0, cell="lstm"):
    torch.manual_seed(seed)
    model = Seq2Seq(vocab, vocab, 6, 8, 2, cell=cell, attention=attention).double().eval()
    return model


def _timed(model, rows, stops):
    """(step, state): the model's step with EOS made likelier after `stops[i]` steps of row i (an
    untrained model rarely or always ends); the clock lives in the state, as any decoder's may."""
    def step(tokens, state):
        inner = {k: v for k, v in state.items() if k not in ("t", "stop")}
        logits, new, weights = model.step(tokens, inner)
        logits = logits.clone()
        logits[:, EOS] += 3.0 * (state["t"] - state["stop"])
        return logits, dict(new, t=state["t"] + 1, stop=state["stop"]), weights

    state = model.start(*_batch(rows))
    B = len(rows)
    state.update(t=torch.zeros(B, dtype=torch.float64),
                 stop=torch.tensor(stops, dtype=torch.float64))
    return step, state


def _batch(rows):
    S = max(map(len, rows))
    src = torch.zeros(len(rows), S, dtype=torch.int64)
    for i, r in enumerate(rows):
        src[i, :len(r)] = torch.tensor(r)
    return src, torch.tensor([len(r) for r in rows])


ROWS = [[3, 4, 5], [6, 7, 8, 3, 4, 5, 6, 7], [5], [8, 8, 3, 4], [4, 3, 6, 7, 5, 6]]
STOPS = [2, 12, 0, 3, 9]


@pytest.mark.parametrize("attention", ["general", "bahdanau", "none"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_beam_of_one_is_greedy(attention, cell):
    model = _model(attention, cell=cell)
    max_lens = torch.tensor([len(r) for r in ROWS]) + 1
    step, state = _timed(model, ROWS, STOPS)
    g = greedy(step, state, BOS, EOS, max_lens)
    b = beam_search(step, state, BOS, EOS, max_lens, beam=1)
    assert [h.tokens for h in g] == [hs[0].tokens for hs in b]
    assert any(len(h.tokens) < n for h, n in zip(g, max_lens.tolist(), strict=True))  # EOS seen
    assert any(len(h.tokens) == n for h, n in zip(g, max_lens.tolist(), strict=True))  # the cap
    for h, hs in zip(g, b, strict=True):
        assert h.log_prob == pytest.approx(hs[0].log_prob, abs=1e-9)


@pytest.mark.parametrize("attention", ["general", "dot", "none"])
def test_beam_output_does_not_depend_on_the_batch(attention):
    model = _model(attention, seed=2)
    max_lens = torch.tensor([len(r) for r in ROWS]) * 2 + 1
    together = beam_search(*_timed(model, ROWS, STOPS), BOS, EOS, max_lens, beam=4, n_best=4,
                           alpha=0.7)
    for i, row in enumerate(ROWS):
        alone = beam_search(*_timed(model, [row], STOPS[i:i + 1]), BOS, EOS, max_lens[i:i + 1],
                            beam=4, n_best=4, alpha=0.7)[0]
        assert [h.tokens for h in alone] == [h.tokens for h in together[i]]
        assert [h.score for h in alone] == pytest.approx([h.score for h in together[i]],
                                                         abs=1e-10)
    # in another order, with sentences repeated
    order = [3, 0, 0, 4, 1]
    shuffled = beam_search(*_timed(model, [ROWS[i] for i in order], [STOPS[i] for i in order]),
                           BOS, EOS, max_lens[order], beam=4, n_best=4, alpha=0.7)
    assert [[h.tokens for h in hs] for hs in shuffled] == \
        [[h.tokens for h in together[i]] for i in order]


def test_source_only_state_need_not_be_reordered():
    model = _model(seed=5)
    max_lens = torch.tensor([len(r) for r in ROWS]) * 2 + 1
    full = beam_search(*_timed(model, ROWS, STOPS), BOS, EOS, max_lens, beam=4, n_best=4)
    kept = beam_search(*_timed(model, ROWS, STOPS), BOS, EOS, max_lens, beam=4, n_best=4,
                       static=model.STATIC)
    assert [[(h.tokens, h.score) for h in hs] for hs in full] == \
        [[(h.tokens, h.score) for h in hs] for hs in kept]


def _exhaustive_best(model, row, max_len, alpha):
    """Every output of up to max_len tokens (ending in EOS, or cut at max_len), scored alone."""
    V = model.out.out_features
    best = None
    for n in range(max_len + 1):
        for body in itertools.product([v for v in range(V) if v != EOS], repeat=n):
            seq = list(body) + ([EOS] if n < max_len else [])
            state = model.start(*_batch([row]))
            tokens, lp = torch.tensor([BOS]), 0.0
            with torch.no_grad():
                for tok in seq:
                    logits, state, _ = model.step(tokens, state)
                    lp += torch.log_softmax(logits, -1)[0, tok].item()
                    tokens = torch.tensor([tok])
            score = lp / len(seq) ** alpha
            if best is None or score > best[0]:
                best = (score, list(body))
    return best


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_wide_beam_finds_the_exact_best_output(alpha):
    model = _model(vocab=4, seed=3)
    row, max_len = [3, 3, 1], 3
    score, tokens = _exhaustive_best(model, row, max_len, alpha)
    hyp = beam_search(model.step, model.start(*_batch([row])), BOS, EOS, [max_len], beam=40,
                      alpha=alpha)[0][0]
    assert hyp.tokens == tokens and hyp.score == pytest.approx(score, abs=1e-10)


def test_n_best_is_sorted_and_distinct_and_attention_is_kept():
    model = _model(seed=4)
    src, lengths = _batch(ROWS[:2])
    out = beam_search(model.step, model.start(src, lengths), BOS, EOS, [6, 6], beam=5, n_best=3,
                      keep_attention=True)
    for b, hyps in enumerate(out):
        assert len(hyps) == 3
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == 3
        for h in hyps:
            steps = len(h.tokens) + (len(h.tokens) < 6)  # + the EOS step
            assert h.attention.shape == (steps, int(lengths.max()))
            torch.testing.assert_close(h.attention.sum(1), torch.ones(steps, dtype=torch.float64))
            assert bool((h.attention[:, int(lengths[b]):] == 0).all())


@pytest.mark.parametrize("args, words", [
    ((0,), "--beam: expected an integer >= 1"),
    ((True,), "--beam"),
    ((2, 3), "--n-best: expected an integer from 1 to the beam size"),
    ((2, 1, -1.0), "--alpha"),
])
def test_bad_search_settings_are_one_clear_error(args, words):
    with pytest.raises(ConfigError, match=words):
        check_search(*args)


def test_bad_max_lengths_are_refused():
    model = _model()
    with pytest.raises(ConfigError, match="max_lens"):
        greedy(model.step, model.start(*_batch([[3]])), BOS, EOS, [0])
