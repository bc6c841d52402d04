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


def test_per_series_normalisation_keeps_the_scale_as_a_channel():
    import pytest

    from rnnkit.data.scaling import per_series, scale_spread
    from rnnkit.errors import DataError

    x = np.stack([np.arange(6.0), 100.0 * np.arange(6.0)], axis=1)  # (6, 2)
    out = per_series(x)
    assert out.shape == (6, 4)
    np.testing.assert_allclose(out[:, 0], out[:, 1])  # same shape, different scale
    np.testing.assert_allclose(out[:, 3] - out[:, 2], 2.0)  # log10(100)
    np.testing.assert_allclose(out[:, :2].mean(0), 0, atol=1e-12)
    with pytest.raises(DataError, match="infinite"):
        per_series(np.array([[1.0], [np.inf]]))
    assert scale_spread([np.ones((3, 1)) * k * np.arange(3)[:, None] for k in (1, 1, 1)]) == 1
