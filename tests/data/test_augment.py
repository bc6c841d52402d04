import numpy as np
import torch

from rnnkit.data.augment import augment_series


def test_augmentation_keeps_shape_and_zero_padding_and_changes_real_steps():
    lengths = torch.tensor([8, 5, 2])
    x = (torch.arange(8).view(1, 8, 1) < lengths.view(3, 1, 1)).float().expand(3, 8, 2)
    out = augment_series(x, lengths, np.random.default_rng(0), jitter=0.1, scaling=0.2)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert (out[1, 5:] == 0).all() and (out[2, 2:] == 0).all()
    assert not torch.equal(out[0, :5], x[0, :5])
    again = augment_series(x, lengths, np.random.default_rng(0), jitter=0.1, scaling=0.2)
    assert torch.equal(out, again)  # the generator decides: same on resume / every rank
    assert augment_series(x, lengths, np.random.default_rng(0)) is x  # both off
