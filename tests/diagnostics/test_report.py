"""write_report on a model built in Python, and the figures a trainer logs."""

import math

import torch
from torch import nn

import rnnkit
from rnnkit.diagnostics import training_figures
from rnnkit.diagnostics.report import write_report


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = rnnkit.LSTM(3, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.encoder(x)[0])


def test_write_report_png_text_json(tmp_path):
    torch.manual_seed(0)
    model = Tagger()
    x, y = torch.randn(4, 12, 3), torch.randint(2, (4, 12))
    loss_of = lambda m: nn.functional.cross_entropy(m(x).reshape(-1, 2), y.reshape(-1))  # noqa
    diag, png, txt = write_report(model, loss_of, tmp_path / "out", "tagger")
    assert 0 < png.stat().st_size < 200_000
    text = txt.read_text()
    assert text.startswith(f"loss {diag.loss:.4g}; verdict: {diag.verdict}")
    assert "encoder.l0:" in text and "encoder.l1:" in text and "spectral radius" in text
    assert (tmp_path / "out" / "diagnosis.json").is_file()
    assert [d.label for d in diag.layers] == ["encoder.l0", "encoder.l1"]
    assert len(diag.layers[0].grad_norms) == 12 and len(diag.layers[0].jacobian) == 11


def test_training_figures_are_flat_finite_floats():
    torch.manual_seed(0)
    model = Tagger()
    x = torch.randn(2, 5, 3)
    figures = training_figures(model, lambda m: m(x).pow(2).mean())
    assert figures["diag/encoder.l1.vanishing"] in (0.0, 1.0)
    assert all(isinstance(v, float) and math.isfinite(v) for v in figures.values())
    assert model.encoder.last_impl == "fused"  # recording ran rnnkit's own BPTT
