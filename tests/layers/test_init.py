"""chrono_init_: LSTM forget/input and GRU update-gate biases (Tallec & Ollivier 2018)."""

import math

import pytest
import torch

import rnnkit
from rnnkit.layers import chrono_init_


def _params(layer):
    return {name: p.detach().clone() for name, p in layer.named_parameters()}


@pytest.mark.parametrize("t_max", [3, 50, 400])
def test_lstm_chrono_every_layer_and_direction(t_max):
    H = 16
    lstm = rnnkit.LSTM(3, H, num_layers=2, bidirectional=True)
    before = _params(lstm)
    assert chrono_init_(lstm, t_max) is lstm
    after = _params(lstm)
    biases_ih = [n for n in after if n.startswith("bias_ih")]
    assert len(biases_ih) == 4  # 2 layers x 2 directions
    for name, p in after.items():
        if name.startswith("bias_ih"):
            b_i, b_f = p[:H], p[H:2 * H]
            assert torch.all(b_f >= 0) and torch.all(b_f <= math.log(t_max - 1) + 1e-6)
            assert torch.equal(b_i, -b_f)
            assert b_f.std() > 0  # drawn per unit, not one value
            assert torch.equal(p[2 * H:], before[name][2 * H:])  # g and o untouched
        elif name.startswith("bias_hh"):
            assert torch.all(p[:2 * H] == 0)
            assert torch.equal(p[2 * H:], before[name][2 * H:])
        else:  # weights untouched
            assert torch.equal(p, before[name])


def test_lstm_chrono_forget_gate_spans_the_characteristic_times():
    H, t_max = 2000, 100
    lstm = chrono_init_(rnnkit.LSTM(2, H), t_max, torch.Generator().manual_seed(0))
    f = torch.sigmoid(lstm.bias_ih_l0[H:2 * H] + lstm.bias_hh_l0[H:2 * H]).detach()
    times = 1 / (1 - f)  # = 1 + u, u ~ U(1, t_max - 1): between 2 and t_max, mean t_max / 2 + 1
    assert times.min() >= 2 - 1e-4 and times.max() <= t_max + 1e-3
    assert times.mean().item() == pytest.approx(t_max / 2 + 1, rel=0.05)


def test_gru_chrono_sets_the_update_gate_only():
    H, t_max = 8, 60
    gru = rnnkit.GRU(3, H, num_layers=2)
    before = _params(gru)
    chrono_init_(gru, t_max)
    for name, p in _params(gru).items():
        if name.startswith("bias_ih"):
            b_z = p[H:2 * H]
            assert torch.all(b_z >= 0) and torch.all(b_z <= math.log(t_max - 1) + 1e-6)
            assert b_z.std() > 0
            assert torch.equal(p[:H], before[name][:H])  # r untouched
            assert torch.equal(p[2 * H:], before[name][2 * H:])  # n untouched
        elif name.startswith("bias_hh"):
            assert torch.all(p[H:2 * H] == 0)
            assert torch.equal(p[:H], before[name][:H])
            assert torch.equal(p[2 * H:], before[name][2 * H:])
        else:
            assert torch.equal(p, before[name])


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU])
def test_chrono_is_reproducible_with_a_seeded_generator(cls):
    a = chrono_init_(cls(2, 6), 30, torch.Generator().manual_seed(7))
    b = chrono_init_(cls(2, 6), 30, torch.Generator().manual_seed(7))
    c = chrono_init_(cls(2, 6), 30, torch.Generator().manual_seed(8))
    assert torch.equal(a.bias_ih_l0[6:12], b.bias_ih_l0[6:12])
    assert not torch.equal(a.bias_ih_l0[6:12], c.bias_ih_l0[6:12])


CHRONO_LAYERS = "an rnnkit.LSTM or rnnkit.GRU (or another cell with a forget gate)"


@pytest.mark.parametrize("layer, t_max, message", [
    (rnnkit.RNN(2, 3), 10, f"layer: expected {CHRONO_LAYERS}, got RNN"),
    (torch.nn.Linear(2, 3), 10, f"layer: expected {CHRONO_LAYERS}, got Linear"),
    (rnnkit.LSTM(2, 3, bias=False), 10, "expected a layer with bias=True, got bias=False"),
    (rnnkit.GRU(2, 3), 2, "t_max: expected a number > 2, got 2"),
    (rnnkit.LSTM(2, 3), -5.0, "t_max: expected a number > 2, got -5.0"),
    (rnnkit.LSTM(2, 3), "100", "t_max: expected a number > 2, got '100'"),
])
def test_chrono_errors_name_argument_expected_and_received(layer, t_max, message):
    with pytest.raises(ValueError, match="chrono_init_: ") as err:
        chrono_init_(layer, t_max)
    assert message in str(err.value)
