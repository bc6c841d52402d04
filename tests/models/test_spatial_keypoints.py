"""Spatial soft-argmax keypoints: the expected position follows a thing across the picture, the
spread grows with its size, and bad input is one clear error."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.spatial_keypoints import SpatialKeypoints


def _bare(k: int = 1) -> SpatialKeypoints:
    """Keypoints whose score maps are the (centred) input channels themselves (default
    temperature: the standardised map times 3)."""
    kp = SpatialKeypoints(k, keypoints=k)
    kp.score = nn.Identity()
    return kp


def _square(row: int, col: int, half: int, size: int = 16) -> torch.Tensor:
    img = torch.full((1, 1, size, size), 0.5, dtype=torch.float64)  # centred: score 0
    img[..., row - half:row + half + 1, col - half:col + half + 1] = 0.5 + 10.0  # score 40
    return img


def test_position_is_the_expected_pixel_centre():
    size = 16
    out = _bare()(_square(3, 12, 0, size))  # (1, 4): x, y, spread, peak
    px = torch.linspace(-1.0, 1.0, size, dtype=torch.float64)
    torch.testing.assert_close(out[0, 0], px[12], atol=1e-6, rtol=0)  # x from the column
    torch.testing.assert_close(out[0, 1], px[3], atol=1e-6, rtol=0)  # y from the row
    assert out[0, 2] < 1e-2  # one pixel: no spread
    torch.testing.assert_close(out[0, 3], torch.tensor(40.0, dtype=torch.float64))  # raw peak


def test_standardised_maps_do_not_care_about_the_scale_of_the_scores():
    kp = _bare()
    img = _square(6, 6, 2)
    torch.testing.assert_close(kp(img)[:, :3], kp(0.5 + (img - 0.5) * 0.01)[:, :3])


def test_moving_right_and_down_moves_x_and_y_and_growing_grows_the_spread():
    kp = _bare()
    a, right, down = kp(_square(6, 6, 1)), kp(_square(6, 9, 1)), kp(_square(9, 6, 1))
    assert right[0, 0] > a[0, 0] + 0.3 and torch.isclose(right[0, 1], a[0, 1])
    assert down[0, 1] > a[0, 1] + 0.3 and torch.isclose(down[0, 0], a[0, 0])
    assert kp(_square(6, 6, 3))[0, 2] > a[0, 2] + 0.1


def test_outputs_are_grouped_by_kind_and_gradients_are_finite():
    torch.manual_seed(0)
    kp = SpatialKeypoints(5, keypoints=3, hidden=4).double()
    x = torch.rand(2, 5, 8, 8, dtype=torch.float64, requires_grad=True)
    out = kp(x)
    assert out.shape == (2, 12)
    assert (out[:, :6].abs() <= 1.0).all()  # positions inside [-1, 1]
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in kp.parameters())


def test_bad_sizes_and_inputs_are_one_clear_error():
    with pytest.raises(ConfigError, match="keypoints"):
        SpatialKeypoints(3, keypoints=0)
    with pytest.raises(ConfigError, match="temperature"):
        SpatialKeypoints(3, keypoints=2, temperature=0.0)
    with pytest.raises(ValueError, match="expected images of shape"):
        SpatialKeypoints(3, keypoints=2)(torch.rand(1, 4, 8, 8))
