import pytest
import torch

from rnnkit.data.tokenizers import ByteTokenizer, CharTokenizer
from rnnkit.errors import ConfigError
from rnnkit.models.generate import Sampling, generate, generate_samples, sample_seed
from rnnkit.models.lm import LanguageModel
from rnnkit.models.lm_batch import BatchLMStepper

TOK = CharTokenizer.build("abcdefgh \n")
CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


def _model(cell="lstm", seed=0, layers=2, dtype=torch.float64):
    torch.manual_seed(seed)
    return LanguageModel(TOK.vocab_size, 6, 12, layers, cell=cell).to(dtype).eval()


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("cell", CELLS)
def test_every_row_equals_the_models_forward(cell, layers):
    model = _model(cell, layers=layers)
    n = 5
    prime = torch.randint(0, TOK.vocab_size, (n, 4))
    with torch.no_grad():
        _, state = model(prime)
    stepper = BatchLMStepper(model, n)
    stepper.prime(state)
    for _ in range(6):
        tokens = torch.randint(0, TOK.vocab_size, (n,))
        with torch.no_grad():
            expected, state = model(tokens[:, None], state)
        got = stepper.step(tokens)
        torch.testing.assert_close(got, expected[:, 0], rtol=0, atol=1e-12)
    h_exp, h_got = (state, stepper.state()) if cell != "lstm" else (state[1], stepper.state()[1])
    torch.testing.assert_close(h_got, h_exp, rtol=0, atol=1e-12)


def test_a_batch_of_one_prime_fills_every_row():
    model = _model("lstm")
    with torch.no_grad():
        _, state = model(torch.as_tensor(TOK.encode("abc"))[None])
    stepper = BatchLMStepper(model, 3)
    stepper.prime(state)
    logits = stepper.step(torch.tensor([1, 1, 1]))
    assert torch.equal(logits[0], logits[1]) and torch.equal(logits[0], logits[2])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sample_i_is_the_same_whatever_n(cell):
    model = _model(cell, seed=2)
    sampling = Sampling(temperature=1.0, top_k=6, seed=11)

    def texts(n, fast=True):
        out = [""] * n
        for pieces in generate_samples(model, TOK, "ab", 60, sampling, n, fast=fast):
            out = [t + p for t, p in zip(out, pieces, strict=True)]
        return out

    seven = texts(7)
    assert len(set(seven)) == 7  # independent streams
    assert texts(3) == seven[:3]
    assert texts(1) == seven[:1]
    assert texts(4, fast=False) == seven[:4]
    # sample 0 is what plain generation makes with the same seed
    assert "".join(generate(model, TOK, "ab", 60, sampling)) == seven[0]


def test_seeds_of_the_samples():
    assert sample_seed(5, 0) == 5
    seeds = {sample_seed(s, i) for s in range(4) for i in range(1, 50)}
    assert len(seeds) == 4 * 49 and all(0 <= x < 2**63 for x in seeds)


def test_temperature_zero_gives_every_sample_the_greedy_text():
    model = _model("lstm", dtype=torch.float32)
    greedy = "".join(generate(model, TOK, "a", 20, Sampling(temperature=0)))
    steps = list(generate_samples(model, TOK, "a", 20, Sampling(temperature=0), 3))
    assert ["".join(p[i] for p in steps) for i in range(3)] == [greedy] * 3


def test_byte_samples_decode_each_on_its_own():
    torch.manual_seed(0)
    model = LanguageModel(256, 8, 8, 1).eval()
    steps = list(generate_samples(model, ByteTokenizer(), "é", 30, Sampling(seed=1), 4))
    assert len(steps) == 30 and all(len(p) == 4 for p in steps)


def test_bad_arguments():
    model = _model()
    with pytest.raises(ConfigError, match="--num-samples"):
        generate_samples(model, TOK, "a", 5, None, 0)
    with pytest.raises(ConfigError, match="--length"):
        generate_samples(model, TOK, "a", -1, None, 2)
    with pytest.raises(ValueError, match="batch"):
        BatchLMStepper(model, 0)
    assert list(generate_samples(model, TOK, "a", 0, None, 2)) == []
