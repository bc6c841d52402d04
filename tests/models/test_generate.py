import pytest
import torch

from rnnkit.data.tokenizers import ByteTokenizer, CharTokenizer
from rnnkit.errors import ConfigError
from rnnkit.models.generate import Sampling, generate, sample_token
from rnnkit.models.lm import LanguageModel

TOK = CharTokenizer.build("abcdefgh \n")


def _model(cell="lstm", seed=0):
    torch.manual_seed(seed)
    return LanguageModel(TOK.vocab_size, 8, 16, 2, cell=cell)


def _greedy_by_hand(model, prime, length):
    # Re-runs the whole prefix every step: slow, obviously right.
    ids = TOK.encode(prime).tolist()
    out = []
    with torch.no_grad():
        for _ in range(length):
            logits, _ = model(torch.tensor([ids]))
            ids.append(int(logits[0, -1].argmax()))
            out.append(TOK.decode(ids[-1:]))
    return "".join(out)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_temperature_zero_is_argmax_and_deterministic(cell):
    model = _model(cell).eval()
    expected = _greedy_by_hand(model, "abc ", 30)
    for fast in (True, False):
        got = "".join(generate(model, TOK, "abc ", 30, Sampling(temperature=0), fast=fast))
        assert got == expected


@pytest.mark.parametrize("cell", ["lstm", "rnn_tanh"])
def test_fast_and_slow_paths_sample_the_same_text(cell):
    model = _model(cell, seed=3)
    sampling = Sampling(temperature=1.0, seed=7)
    fast = "".join(generate(model, TOK, "ab", 200, sampling, fast=True))
    slow = "".join(generate(model, TOK, "ab", 200, sampling, fast=False))
    assert fast == slow and len(fast) == 200
    other = "".join(generate(model, TOK, "ab", 200, Sampling(temperature=1.0, seed=8)))
    assert other != fast


def test_prime_runs_once_as_a_sequence_then_one_token_per_step(monkeypatch):
    model = _model()
    calls = []
    original = LanguageModel.forward

    def spy(self, tokens, state=None):
        calls.append(tuple(tokens.shape))
        return original(self, tokens, state)

    monkeypatch.setattr(LanguageModel, "forward", spy)
    list(generate(model, TOK, "abcdef", 5, Sampling(seed=0), fast=False))
    assert calls == [(1, 6)] + [(1, 1)] * 4  # never the prefix again; no step after the last
    calls.clear()
    list(generate(model, TOK, "abcdef", 5, Sampling(seed=0), fast=True))
    assert calls == [(1, 6)]


def test_top_k_and_top_p_restrict_the_choice():
    logits = torch.tensor([0.0, 3.0, 2.9, -1.0, 2.8])
    g = torch.Generator().manual_seed(0)
    top2 = {sample_token(logits, Sampling(top_k=2), g) for _ in range(300)}
    assert top2 == {1, 2}
    probs = torch.softmax(logits, 0)  # 1: .37, 2: .34, 4: .30, rest small
    assert probs[1] + probs[2] < 0.8 < probs[1] + probs[2] + probs[4]
    nucleus = {sample_token(logits, Sampling(top_p=0.8), g) for _ in range(300)}
    assert nucleus == {1, 2, 4}
    assert {sample_token(logits, Sampling(top_p=0.1), g) for _ in range(50)} == {1}
    both = {sample_token(logits, Sampling(top_k=3, top_p=0.5), g) for _ in range(300)}
    assert both == {1, 2}


def test_byte_model_streams_whole_characters():
    torch.manual_seed(0)
    tok = ByteTokenizer()
    model = LanguageModel(256, 8, 8, 1)
    pieces = list(generate(model, tok, "é", 50, Sampling(seed=1)))
    assert len(pieces) == 50
    assert all(isinstance(p, str) for p in pieces)


def test_empty_prime_and_argument_errors():
    model = _model()
    assert len(list(generate(model, TOK, "", 3, Sampling(seed=0)))) == 3
    no_newline = CharTokenizer.build("xy")
    small = LanguageModel(2, 4, 4, 1)
    assert len(list(generate(small, no_newline, "", 2, Sampling(seed=0)))) == 2
    with pytest.raises(ConfigError, match="--temperature"):
        Sampling(temperature=-1)
    with pytest.raises(ConfigError, match="--top-p"):
        Sampling(top_p=0)
    with pytest.raises(ConfigError, match="--top-k"):
        Sampling(top_k=-2)
    with pytest.raises(ConfigError, match="--length"):
        list(generate(model, TOK, "a", -1))
