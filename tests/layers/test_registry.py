"""The registry of cell names and what the rest asks of a family: layers, cells, dispatch,
initialisation, diagnostics, the fast generation step and the models all go through it."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.backends import auto_choice
from rnnkit.backends.dispatch import LayerSpec
from rnnkit.diagnostics.stats import gate_saturation, spectral_radii
from rnnkit.diagnostics.trace import LayerCall, trace_layer
from rnnkit.functional import registry
from rnnkit.layers import chrono_init_, lstm_forget_bias_
from rnnkit.models.classifier import ClassifierConfig
from rnnkit.models.ctc import CTCModelConfig
from rnnkit.models.forecaster import ForecasterConfig
from rnnkit.models.lm import LanguageModel
from rnnkit.models.lm_fast import FastLMStepper, can_use_fast_step
from rnnkit.models.seq2seq import Seq2Seq

VARIANTS = ("ln_lstm", "ln_gru", "peephole_lstm")


def test_names_and_the_rnn_alias():
    assert registry.names()[:4] == ("lstm", "gru", "rnn_tanh", "rnn_relu")
    assert set(VARIANTS) <= set(registry.names())
    assert registry.get("rnn") is registry.get("rnn_tanh")
    assert rnnkit.Recurrent("rnn", 2, 3).mode == "RNN_TANH"


BUILDERS = {
    "lm": lambda cell: LanguageModel(10, 4, 4, 1, cell=cell),
    "classify": lambda cell: ClassifierConfig(vocab_size=5, cell=cell),
    "forecast": lambda cell: ForecasterConfig(cell=cell),
    "translate": lambda cell: Seq2Seq(5, 5, 4, 4, cell=cell),
    "recognize": lambda cell: CTCModelConfig(input_size=3, n_classes=4, cell=cell),
    "layer": lambda cell: rnnkit.Recurrent(cell, 2, 3),
    "cell": lambda cell: rnnkit.RecurrentCell(cell, 2, 3),
}


@pytest.mark.parametrize("where", list(BUILDERS))
def test_an_unknown_name_is_one_error_listing_the_known_ones(where):
    with pytest.raises(ValueError) as err:
        BUILDERS[where]("lstmm")
    text = str(err.value)
    assert "unknown cell 'lstmm'; known cells: " + ", ".join(registry.names()) in text
    assert "\n" not in text


@pytest.mark.parametrize("cell", registry.names())
def test_every_model_builds_every_cell(cell):
    scan = registry.get(cell).scan is not None  # minGRU, minLSTM: no step cell
    for where, build in BUILDERS.items():
        if scan and where in ("translate", "cell"):
            with pytest.raises(ValueError, match=f"the {cell} cell .*whole-sequence scan"):
                build(cell)
        elif where in ("lm", "translate", "layer", "cell"):
            build(cell)


def test_the_torch_cells_by_name_equal_the_drop_in_classes():
    torch.manual_seed(0)
    x = torch.randn(5, 2, 3)
    for name, cls in (("lstm", rnnkit.LSTM), ("gru", rnnkit.GRU), ("rnn_tanh", rnnkit.RNN)):
        mine, theirs = rnnkit.Recurrent(name, 3, 4, num_layers=2), cls(3, 4, num_layers=2)
        theirs.load_state_dict(mine.state_dict())
        assert mine.state_dict().keys() == theirs.state_dict().keys()
        torch.testing.assert_close(mine(x)[0], theirs(x)[0])


@pytest.mark.parametrize("cell", VARIANTS)
def test_a_variant_layer_with_its_extra_parameters(cell):
    family = registry.get(cell)
    layer = rnnkit.Recurrent(cell, 3, 4, num_layers=2, bidirectional=True)
    names = dict(layer.named_parameters())
    for spec in family.extra:
        assert f"{spec.name}_l1_reverse" in names
        if spec.init is not None:
            assert bool((names[f"{spec.name}_l0"] == spec.init).all())
    x = torch.randn(6, 2, 3)
    out, state = layer(x, lengths=torch.tensor([6, 3]))
    assert out.shape == (6, 2, 8) and layer.last_impl == "fused"  # torch has no kernel
    ok, reason = auto_choice(LayerSpec(family.mode), x, True)
    assert ok == "fused" and f"no kernel for the {cell} cell" in reason
    with pytest.raises(ValueError, match="pass impl='fused' or impl='reference'"):
        rnnkit.Recurrent(cell, 3, 4, impl="native")(x)
    states = state if isinstance(state, tuple) else (state,)
    assert len(states) == len(family.states)


@pytest.mark.parametrize("cell", VARIANTS)
def test_a_cell_steps_as_its_layer_runs(cell):
    torch.manual_seed(0)
    layer = rnnkit.Recurrent(cell, 3, 4).double()
    step = rnnkit.RecurrentCell(cell, 3, 4).double()
    step.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    out, _ = layer(x)
    state = step.init_state(2)
    for t in range(5):
        h, state = step.step(x[t], state)
        torch.testing.assert_close(h, out[t])


def test_forget_bias_and_chrono_for_every_lstm_like_cell():
    for cell in ("lstm", "ln_lstm", "peephole_lstm"):
        layer = lstm_forget_bias_(rnnkit.Recurrent(cell, 2, 3), 2.0)
        assert bool((layer.bias_ih_l0[3:6] == 2.0).all())
        assert bool((layer.bias_hh_l0[3:6] == 0).all())
        chrono_init_(layer, 50, torch.Generator().manual_seed(0))
        torch.testing.assert_close(layer.bias_ih_l0[:3], -layer.bias_ih_l0[3:6])
    chrono_init_(rnnkit.Recurrent("ln_gru", 2, 3), 50)
    with pytest.raises(ValueError, match=r"forget gate and an input gate.*\(cell ln_gru\)"):
        lstm_forget_bias_(rnnkit.Recurrent("ln_gru", 2, 3))


@pytest.mark.parametrize("cell", ["ln_lstm", "peephole_lstm", "ln_gru"])
def test_diagnostics_ask_the_family_for_its_gates(cell):
    layer = rnnkit.Recurrent(cell, 2, 3)
    traces = trace_layer(layer, LayerCall(torch.randn(6, 2, 2), None))
    stats = gate_saturation(layer, traces[(0, 0)])
    assert list(stats) == [name for name, _ in registry.get(cell).gate_stats]
    assert list(spectral_radii(layer, 0, 0)) == list(registry.get(cell).blocks)


def test_the_fast_generation_step_refuses_a_cell_it_does_not_know():
    model = LanguageModel(10, 4, 4, 1, cell="ln_lstm")
    ok, reason = can_use_fast_step(model)
    assert not ok and "not ln_lstm" in reason
    with pytest.raises(ValueError, match="fast generation step: .*not ln_lstm"):
        FastLMStepper(model)
    assert not can_use_fast_step(LanguageModel(10, 4, 4, 1, zoneout=0.1))[0]
    assert can_use_fast_step(LanguageModel(10, 4, 4, 1, cell="rnn_relu"))[0]


def test_a_whole_sequence_training_form_takes_the_place_of_the_step_loop():
    """Room for a scan-trained cell (minGRU-like): the family's `sequence` pair is what the
    fused path runs."""
    from rnnkit.cells.function import sequence_path
    from rnnkit.functional import LayerWeights
    from rnnkit.functional.family import CellFamily
    from rnnkit.functional.gru import GRUCellMath

    def forward(*args):
        raise NotImplementedError

    def backward(*args):
        raise NotImplementedError

    family = CellFamily("scan", "SCAN", lambda **_: GRUCellMath(), blocks="rzn",
                        sequence=(forward, backward))
    w = LayerWeights(torch.zeros(6, 2), torch.zeros(6, 2), None, None)
    assert sequence_path(family.math(), None, w, torch.zeros(3, 1, 2)) == (forward, backward)
    plain = registry.get("gru").math()
    assert sequence_path(plain, None, w, torch.zeros(3, 1, 2))[0] is not forward


def test_onnx_export_refuses_a_cell_without_an_operator():
    from rnnkit.export.check import ExportError, check_cell

    check_cell(rnnkit.Recurrent("gru", 2, 3))
    with pytest.raises(ExportError, match="the ln_lstm cell has no ONNX operator"):
        check_cell(rnnkit.Recurrent("ln_lstm", 2, 3))
