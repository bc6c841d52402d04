import math

import pytest
import torch

from rnnkit.data.synthetic import recall_batch, recall_chance, recall_inputs


def test_recall_batch_layout_and_seed():
    x, y = recall_batch(16, 10, 8, torch.Generator().manual_seed(3))
    x2, y2 = recall_batch(16, 10, 8, torch.Generator().manual_seed(3))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (10, 16, recall_inputs(8)) == (10, 16, 17)
    assert torch.equal(x[0, :, :8].argmax(1), y)  # the symbol at step 0
    assert (x[1:-1, :, 8:16].sum(-1) == 1).all()  # one distractor per middle step
    assert (x[-1, :, -1] == 1).all() and (x.sum(-1) == 1).all()  # query last; one-hot


def test_recall_chance():
    assert recall_chance(8) == (0.125, math.log(8))


def test_recall_rejects_impossible_settings():
    with pytest.raises(ValueError, match="length >= 2"):
        recall_batch(2, 1)
