import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.lm import LanguageModel


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_shapes_and_state_carry(cell):
    torch.manual_seed(0)
    model = LanguageModel(11, embedding_size=6, hidden_size=8, num_layers=2, cell=cell).eval()
    tokens = torch.randint(0, 11, (3, 10))
    logits, state = model(tokens)
    assert logits.shape == (3, 10, 11)
    # Two chunks with the state carried equal one pass over the whole sequence.
    first, mid = model(tokens[:, :4])
    second, _ = model(tokens[:, 4:], mid)
    torch.testing.assert_close(torch.cat([first, second], dim=1), logits)


def test_tied_weights_share_the_embedding():
    model = LanguageModel(13, embedding_size=8, hidden_size=8, tie_weights=True)
    assert model.decoder.weight is model.embedding.weight
    n_untied = sum(p.numel() for p in LanguageModel(13, 8, 8).parameters())
    assert sum(p.numel() for p in model.parameters()) == n_untied - 13 * 8


def test_tied_weights_need_equal_sizes():
    with pytest.raises(ConfigError, match="hidden_size == model.embedding_size.*16.*8"):
        LanguageModel(13, embedding_size=8, hidden_size=16, tie_weights=True)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="model.cell"):
        LanguageModel(5, cell="transformer")
    with pytest.raises(ConfigError, match="model.hidden_size"):
        LanguageModel(5, hidden_size=0)
    with pytest.raises(ConfigError, match="model.dropout"):
        LanguageModel(5, dropout=1.5)
