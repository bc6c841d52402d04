"""A small convolutional image encoder of our own (no torchvision): pictures -> a grid of feature
vectors (what soft attention looks over) and one pooled vector (what a tagger or an initial state
takes).

    ImageEncoder(in_channels=3, channels=(32, 64, 128), feature_size=128)
    forward(images (B, C, H, W) float in [0, 1]) -> grid (B, h*w, F), pooled (B, F)

Each stage is [Conv2d 3x3 ('same'), BatchNorm2d, ReLU] x 2 then a 2x2 max-pool, so a 64 x 64
picture with 3 stages gives an 8 x 8 grid (64 positions, row-major: position p is row p // w,
column p % w, which is how attention maps are drawn back onto the picture). A final 1x1
convolution maps to feature_size. Pixels are centred (x - 0.5) / 0.25 inside, so callers give
plain [0, 1] values. `grid_shape(H, W)` says the (h, w) a picture size gives.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.errors import ConfigError


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.MaxPool2d(2))


class ImageEncoder(nn.Module):
    """Convolution stages -> (grid (B, h*w, F), pooled mean (B, F))."""

    def __init__(self, in_channels: int = 3, channels: tuple[int, ...] = (32, 64, 128),
                 feature_size: int = 128):
        super().__init__()
        if in_channels < 1 or feature_size < 1 or not channels or min(channels) < 1:
            raise ConfigError(
                f"ImageEncoder: in_channels, feature_size and every channel count must be >= 1 "
                f"(got in_channels={in_channels}, channels={tuple(channels)}, "
                f"feature_size={feature_size})")
        widths = (in_channels, *channels)
        self.in_channels = in_channels
        self.stages = nn.Sequential(*(_stage(widths[i], widths[i + 1])
                                      for i in range(len(channels))))
        self.project = nn.Conv2d(channels[-1], feature_size, 1)
        self.feature_size = feature_size
        self.downscale = 2 ** len(channels)

    def grid_shape(self, height: int, width: int) -> tuple[int, int]:
        """The (h, w) of the feature grid for an (height, width) picture."""
        return height // self.downscale, width // self.downscale

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"ImageEncoder: expected images of shape (batch, {self.in_channels}, height, "
                f"width), got {tuple(images.shape)}")
        h, w = self.grid_shape(images.shape[2], images.shape[3])
        if h < 1 or w < 1:
            raise ValueError(
                f"ImageEncoder: pictures must be at least {self.downscale} x {self.downscale} "
                f"pixels for {len(self.stages)} stages, got {images.shape[2]} x "
                f"{images.shape[3]}")
        feats = self.project(self.stages((images - 0.5) / 0.25))  # (B, F, h, w)
        grid = feats.flatten(2).transpose(1, 2)  # (B, h*w, F), row-major positions
        return grid, grid.mean(1)
