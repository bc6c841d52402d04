"""Spatial soft-argmax keypoints: where things are in a picture, as numbers (Levine et al. 2016,
"End-to-end training of deep visuomotor policies"; Finn et al. 2016, "Deep spatial
autoencoders").

    SpatialKeypoints(in_channels, keypoints=K, hidden=16, temperature=3.0)
    forward(images (N, C, H, W)) -> (N, 4K)

A small full-resolution convolution ([Conv2d 3x3, BatchNorm2d, ReLU], Conv2d 3x3) gives K score
maps a_k (N, K, H, W). Each map, standardised over its own pixels and sharpened by a learnt
temperature t_k (started at `temperature`), is a softmax over its H*W pixels,
p_k = softmax(t_k (a_k - mean a_k) / std a_k), and says about its thing:

    x_k = sum_p p_k(p) x(p),   y_k = sum_p p_k(p) y(p)          where: the expected position
    s_k = sqrt(var_x + var_y + eps) under p_k                     how spread out: its size
    m_k = max_p a_k(p)                                            how strongly it is there

with x (left -1 .. right 1) and y (top -1 .. bottom 1) the pixel centres. Why standardised and
sharpened: the raw maps of a fresh network vary little over a picture, so their softmax is
nearly flat, every position is near the centre and hardly moves, and training did not sharpen
them (BENCHMARKS.md, Video tagging); standardised, the few pixels that stand out in a map (an
object against the dark background) carry its weight from the first step. The four come out as
(x_1..x_K, y_1..y_K, s_1..s_K, m_1..m_K). A max or a mean over a coarse feature grid keeps what
is in a picture but little of where (pixels move by less than one grid cell between frames); the
expected position moves with the object by fractions of a pixel, so a recurrent layer over the
frames reads left from right, up from down and grow from shrink out of how it changes.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnkit.errors import ConfigError

EPS = 1e-6  # in the spread's square root and under the std: finite at zero variance


class SpatialKeypoints(nn.Module):
    """Images (N, C, H, W) in [0, 1] -> (N, 4 * keypoints): positions, spreads, peaks."""

    def __init__(self, in_channels: int, keypoints: int = 16, hidden: int = 16,
                 temperature: float = 3.0):
        super().__init__()
        if in_channels < 1 or keypoints < 1 or hidden < 1:
            raise ConfigError(f"SpatialKeypoints: in_channels, keypoints and hidden must be "
                              f">= 1 (got {in_channels}, {keypoints}, {hidden})")
        if not temperature > 0:
            raise ConfigError(f"SpatialKeypoints: temperature must be > 0, got {temperature!r}")
        self.in_channels, self.keypoints = in_channels, keypoints
        self.score = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(), nn.Conv2d(hidden, keypoints, 3, padding=1))
        # (K,) log t_k: a temperature stays positive
        self.log_temperature = nn.Parameter(torch.full((keypoints,), math.log(temperature)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(f"SpatialKeypoints: expected images of shape (batch, "
                             f"{self.in_channels}, height, width), got {tuple(images.shape)}")
        n, _, h, w = images.shape
        scores = self.score((images - 0.5) / 0.25).flatten(2)  # (N, K, H*W)
        std, mean = torch.std_mean(scores, -1, keepdim=True)  # (N, K, 1) over the pixels
        sharp = (scores - mean) / (std + EPS) * self.log_temperature.exp().unsqueeze(-1)
        p = torch.softmax(sharp, -1)  # (N, K, H*W) one distribution over pixels per map
        ys = torch.linspace(-1.0, 1.0, h, dtype=p.dtype, device=p.device)
        xs = torch.linspace(-1.0, 1.0, w, dtype=p.dtype, device=p.device)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        pos = torch.stack([grid_x.flatten(), grid_y.flatten()], 1)  # (H*W, 2) row-major
        mean = p @ pos  # (N, K, 2) expected x, y
        second = p @ pos.square()  # (N, K, 2) expected x^2, y^2
        var = (second - mean.square()).clamp_min(0.0).sum(-1)  # (N, K) var_x + var_y
        spread = torch.sqrt(var + EPS)
        peak = scores.amax(-1)  # (N, K)
        return torch.cat([mean[..., 0], mean[..., 1], spread, peak], 1)  # (N, 4K)
