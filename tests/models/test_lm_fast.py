import pytest
import torch
from torch import nn

from rnnkit.models.lm import LanguageModel
from rnnkit.models.lm_fast import FastLMStepper, _slices, can_use_fast_step


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("slices", [1, 4])
def test_fast_step_equals_the_model(cell, num_layers, slices):
    torch.manual_seed(1)
    model = LanguageModel(17, embedding_size=12, hidden_size=20, num_layers=num_layers, cell=cell)
    model.eval()
    tokens = torch.randint(0, 17, (1, 25))
    expected, expected_state = model(tokens)
    stepper = FastLMStepper(model, slices=slices)
    assert stepper.slices == slices  # 4 divides G = 20, 60 and 80
    got = torch.stack([stepper.step(int(t)) for t in tokens[0]])
    torch.testing.assert_close(got, expected[0], rtol=1e-5, atol=1e-5)
    state = stepper.state()
    for a, b in zip(state if cell == "lstm" else [state], expected_state if cell == "lstm"
                    else [expected_state], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fast_step_continues_from_a_primed_state(cell):
    torch.manual_seed(2)
    model = LanguageModel(9, 8, 8, 2, cell=cell, tie_weights=True).eval()
    tokens = torch.randint(0, 9, (1, 12))
    expected, _ = model(tokens)
    _, state = model(tokens[:, :7])  # the prime, as one sequence
    stepper = FastLMStepper(model)
    stepper.prime(state)
    got = torch.stack([stepper.step(int(t)) for t in tokens[0, 7:]])
    torch.testing.assert_close(got, expected[0, 7:], rtol=1e-5, atol=1e-5)


def test_not_eligible_says_why():
    model = LanguageModel(5, 4, 4)
    model.rnn = nn.LSTM(4, 4, batch_first=True, bidirectional=True)
    ok, reason = can_use_fast_step(model)
    assert not ok and "bidirectional" in reason
    with pytest.raises(ValueError, match="bidirectional"):
        FastLMStepper(model)
    assert can_use_fast_step(nn.Linear(2, 2))[0] is False


def test_slices_divide_the_gate_width():
    assert _slices(2048, 2) == 2
    assert _slices(60, 8) == 6  # 8 and 7 do not divide 60
    assert _slices(7, 4) == 1
    assert _slices(16, 0) == 1
