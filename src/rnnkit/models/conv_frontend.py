"""Pieces for series classifiers that read long or few series: an exact masked time pooling and
the fully convolutional block of FCN / LSTM-FCN.

    downsample(x (B, T, C), lengths, s) -> (B, ceil(T/s), C), ceil(lengths/s)
        the mean of each window of s real steps (a last, partial window: the mean of its real
        steps only), so a series gives the same result alone or padded in a batch.

    FCNBlock: x (B, T, C) -> 3 x [Conv1d ('same' padding), BatchNorm1d, ReLU] -> (B, T, F)
        filters F, 2F, F and kernel sizes 8, 5, 3 (Wang, Yan & Oates 2017; the FCN branch of
        Karim et al. 2017, LSTM-FCN, whose paper uses F = 128). Steps past each length are set
        to zero after every block, so the next convolution sees the same zeros there as at the
        end of a series alone. Deliberate difference: in training mode BatchNorm's batch
        statistics include those zeroed padding steps (evaluation uses the running statistics
        and is exact).
"""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.data.batching import length_mask

KERNELS = (8, 5, 3)


def downsample(x: torch.Tensor, lengths: torch.Tensor, s: int):
    """(B, ceil(T/s), C) window means over real steps and the new lengths ceil(lengths/s)."""
    if s <= 1:
        return x, lengths
    b, t, c = x.shape
    mask = length_mask(lengths.to(x.device), t).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    pad = (-t) % s
    xm = nn.functional.pad(x * mask, (0, 0, 0, pad)).view(b, (t + pad) // s, s, c)
    counts = nn.functional.pad(mask, (0, 0, 0, pad)).view(b, (t + pad) // s, s, 1).sum(2)
    pooled = xm.sum(2) / counts.clamp(min=1.0)  # (B, T', C); windows past the length: 0
    return pooled, (lengths + s - 1) // s


class FCNBlock(nn.Module):
    """Three convolution blocks over time; `forward(x (B, T, C), lengths) -> (B, T, F)`."""

    def __init__(self, in_channels: int, filters: int):
        super().__init__()
        widths = (in_channels, filters, 2 * filters, filters)
        self.convs = nn.ModuleList(
            nn.Conv1d(widths[i], widths[i + 1], k) for i, k in enumerate(KERNELS))
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in widths[1:])
        self.out_channels = filters

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = length_mask(lengths.to(x.device), x.shape[1]).unsqueeze(1).to(x.dtype)  # (B,1,T)
        h = x.transpose(1, 2) * mask  # (B, C, T)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            k = conv.kernel_size[0]  # 'same' length: (k-1)//2 zeros before, k//2 after
            h = torch.relu(norm(conv(nn.functional.pad(h, ((k - 1) // 2, k // 2))))) * mask
        return h.transpose(1, 2)  # (B, T, F)
