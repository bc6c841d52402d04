"""The CTC recogniser: shapes, output lengths, and padding invariance (float64)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.models.ctc import CTCModelConfig, CTCRecognizer, output_lengths


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("subsample", ["none", "stack", "conv"])
def test_an_item_gives_the_same_outputs_alone_and_padded_in_a_batch(cell, subsample):
    torch.manual_seed(0)
    cfg = CTCModelConfig(input_size=3, n_classes=5, cell=cell, hidden_size=6, num_layers=2,
                         subsample=subsample, factor=3, conv_channels=4, dropout=0.0)
    model = CTCRecognizer(cfg).double().eval()
    lengths = torch.tensor([11, 4, 7])
    x = torch.randn(3, 11, 3, dtype=torch.float64)
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = 1e3  # garbage past the length must not matter
    out, out_len = model(x, lengths)
    assert out_len.tolist() == output_lengths(lengths, subsample, 3).tolist()
    assert out.shape[:2] == (3, int(out_len.max()))
    for b, n in enumerate(lengths.tolist()):
        alone, alone_len = model(x[b : b + 1, :n], lengths[b : b + 1])
        m = int(alone_len[0])
        assert m == int(out_len[b])
        torch.testing.assert_close(out[b, :m], alone[0, :m])
    torch.testing.assert_close(out.exp().sum(-1)[0], torch.ones(out.shape[1], dtype=torch.float64))


def test_output_lengths_are_ceil_of_length_over_factor():
    lengths = torch.tensor([1, 2, 3, 4, 7])
    assert output_lengths(lengths, "conv", 2).tolist() == [1, 1, 2, 2, 4]
    assert output_lengths(lengths, "none", 2).tolist() == lengths.tolist()


@pytest.mark.parametrize("field, value, message", [
    ("cell", "transformer", "model.cell: unknown cell .*known cells: lstm, gru"),
    ("subsample", "pool", "model.subsample"),
    ("factor", 0, "model.factor"),
])
def test_bad_settings_are_one_clear_error(field, value, message):
    with pytest.raises(ValueError, match=message):
        CTCModelConfig(input_size=3, n_classes=4, **{field: value})
