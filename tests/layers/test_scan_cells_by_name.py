"""minGRU and minLSTM by name: `Recurrent("mingru", ...)` is rnnkit.MinGRU (same weights, same
outputs and gradients), the names are in the registry, and what cannot run them refuses."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.functional import registry
from rnnkit.models.lm import LanguageModel
from rnnkit.models.lm_fast import can_use_fast_step

CLASSES = {"mingru": rnnkit.MinGRU, "minlstm": rnnkit.MinLSTM}


@pytest.mark.parametrize("cell", list(CLASSES))
def test_recurrent_by_name_equals_the_class_in_float64(cell):
    torch.manual_seed(0)
    by_name = rnnkit.Recurrent(cell, 3, 4, num_layers=2, batch_first=True, bidirectional=True,
                               dtype=torch.float64)
    direct = CLASSES[cell](3, 4, num_layers=2, batch_first=True, bidirectional=True,
                           dtype=torch.float64)
    direct.load_state_dict(by_name.state_dict())  # the same parameter names and shapes
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    h0 = torch.randn(4, 2, 4, dtype=torch.float64)
    lengths = torch.tensor([6, 3])
    outs, grads = [], []
    for layer in (by_name, direct):
        xi, hi = x.clone().requires_grad_(), h0.clone().requires_grad_()
        out, h_n = layer(xi, hi, lengths=lengths)
        (out.sin().sum() + h_n.cos().sum()).backward()
        outs.append((out, h_n))
        grads.append((xi.grad, hi.grad, *(p.grad for p in layer.parameters())))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=1e-12)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-12)
    assert by_name.last_impl == direct.last_impl != "reference"


@pytest.mark.parametrize("cell", list(CLASSES))
def test_the_layer_takes_the_paper_math(cell):
    """Recurrent(cell) runs the family's scan: equal to the paper's step equations."""
    layer = rnnkit.Recurrent(cell, 3, 4, dtype=torch.float64)
    x, h0 = torch.randn(5, 2, 3, dtype=torch.float64), torch.randn(1, 2, 4, dtype=torch.float64)
    out, _ = layer(x, h0)
    module = {"mingru": "rnnkit.functional.mingru", "minlstm": "rnnkit.functional.minlstm"}[cell]
    reference = __import__(module, fromlist=["reference"]).reference
    torch.testing.assert_close(out, reference(x, h0[0], layer.weight_ih_l0, layer.bias_ih_l0))


def test_the_names_are_registered_and_listed_in_the_unknown_cell_error():
    assert {"mingru", "minlstm"} <= set(registry.names())
    with pytest.raises(ValueError) as err:
        rnnkit.Recurrent("mingruu", 2, 3)
    assert "known cells: " in str(err.value) and "mingru, minlstm" in str(err.value)


@pytest.mark.parametrize("cell", list(CLASSES))
def test_what_cannot_run_a_scan_cell_refuses_in_one_line(cell):
    for kwargs, match in (({"zoneout": 0.1}, "zoneout=0.1: the .* cell has no"),
                          ({"recurrent_dropout": 0.2}, "recurrent_dropout=0.2"),
                          ({"proj_size": 2}, "proj_size=2: the .* cell has no projection"),
                          ({"impl": "native"}, "torch has no kernel")):
        with pytest.raises(ValueError, match=match) as err:
            rnnkit.Recurrent(cell, 2, 3, **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=f"the {cell} cell is a whole-sequence scan"):
        rnnkit.RecurrentCell(cell, 2, 3)
    ok, reason = can_use_fast_step(LanguageModel(10, 4, 4, 1, cell=cell))
    assert not ok and f"not {cell}" in reason


@pytest.mark.parametrize("cell", list(CLASSES))
def test_onnx_export_refuses_a_scan_cell(cell):
    from rnnkit.export.check import ExportError, check_cell

    with pytest.raises(ExportError, match=f"the {cell} cell has no ONNX operator"):
        check_cell(rnnkit.Recurrent(cell, 2, 3))


def test_copy_and_pickle_still_work_for_recurrent_by_name():
    import copy
    import io

    for cell in ("ln_lstm", "mingru"):
        layer = rnnkit.Recurrent(cell, 2, 3)
        x = torch.randn(4, 1, 2)
        for twin in (copy.deepcopy(layer), torch.load(_saved(layer, io), weights_only=False)):
            assert type(twin) is type(layer)
            torch.testing.assert_close(twin(x)[0], layer(x)[0])


def _saved(layer, io):
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    return buffer
