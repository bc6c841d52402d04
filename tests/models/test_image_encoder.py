"""The shared image encoder: grid shape and order, per-picture independence, bad shapes."""

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.image_encoder import ImageEncoder


def test_grid_shape_and_pooled_mean():
    enc = ImageEncoder(3, (8, 16, 16), feature_size=12).eval()
    grid, pooled = enc(torch.rand(2, 3, 64, 48))
    assert enc.grid_shape(64, 48) == (8, 6)
    assert grid.shape == (2, 48, 12) and pooled.shape == (2, 12)
    torch.testing.assert_close(pooled, grid.mean(1))


def test_positions_are_row_major():
    """A bright patch in the top-right corner moves the top-right grid cell most."""
    torch.manual_seed(0)
    enc = ImageEncoder(1, (4, 4), feature_size=4).eval()
    base = torch.zeros(1, 1, 16, 16)
    lit = base.clone()
    lit[..., 0:4, 12:16] = 1.0
    diff = (enc(lit)[0] - enc(base)[0]).abs().sum(-1)[0]  # (16,) over a 4 x 4 grid
    assert int(diff.argmax()) == 0 * 4 + 3


def test_each_picture_alone_equals_in_a_batch():
    torch.manual_seed(1)
    enc = ImageEncoder(3, (8, 8), feature_size=8).eval()
    x = torch.rand(3, 3, 32, 32, dtype=torch.float64)
    enc = enc.double()
    torch.testing.assert_close(enc(x)[0][1:2], enc(x[1:2])[0])


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 1, 32, 32), (1, 3, 4, 4)])
def test_bad_shapes_say_what_is_expected(shape):
    enc = ImageEncoder(3, (8, 8, 8), feature_size=8)
    with pytest.raises(ValueError, match="ImageEncoder"):
        enc(torch.rand(*shape))


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="feature_size"):
        ImageEncoder(3, (8,), feature_size=0)
