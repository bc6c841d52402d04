"""The CTC recogniser: features -> (shorten) -> bidirectional rnnkit LSTM/GRU -> classes.

    x (B, T, F), lengths (B,)
      -> subsample "stack": k consecutive frames side by side, (B, ceil(T/k), k F)
         subsample "conv":  Conv1d(F, conv_channels, kernel 2k-1, stride k, pad k-1) + ReLU
         subsample "none":  as is
      -> rnnkit.LSTM/GRU (num_layers, bidirectional, lengths=...) -> (B, T', D H)
      -> dropout -> Linear -> log_softmax over C = alphabet + 1 classes (blank = 0)

Only real frames reach the recurrent layers' states (they take `lengths`), and the shortening
sees zeros past each length whether the row is alone or padded in a batch, so an item's outputs do
not depend on what it is batched with (tests/models/test_ctc_model.py: padding invariance).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import rnnkit
from rnnkit.functional import registry

SUBSAMPLE = ("none", "stack", "conv")


@dataclass
class CTCModelConfig:
    input_size: int  # features per frame
    n_classes: int  # alphabet + 1 (blank = class 0)
    cell: str = "lstm"  # a registered cell (rnnkit.functional.registry)
    hidden_size: int = 128
    num_layers: int = 2
    bidirectional: bool = True
    dropout: float = 0.1  # between recurrent layers and before the readout
    subsample: str = "none"  # "none" | "stack" | "conv"
    factor: int = 2  # frames per output frame when subsampling
    conv_channels: int = 128
    impl: str = "auto"  # rnnkit layer implementation

    def __post_init__(self):
        registry.get(self.cell)  # an unknown name: the error lists the known ones
        if self.subsample not in SUBSAMPLE:
            raise ValueError(f"model.subsample: expected one of {', '.join(SUBSAMPLE)}, got "
                             f"{self.subsample!r}")
        if self.factor < 1:
            raise ValueError(f"model.factor: expected an integer >= 1, got {self.factor}")
        if self.n_classes < 2:
            raise ValueError(f"n_classes: expected >= 2 (blank + a label), got {self.n_classes}")


def output_lengths(lengths: Tensor, subsample: str, factor: int) -> Tensor:
    """Frames out per item: ceil(T / k) for both stack and conv (pad k-1, kernel 2k-1)."""
    if subsample == "none" or factor == 1:
        return lengths
    return (lengths + factor - 1) // factor


class CTCRecognizer(nn.Module):
    def __init__(self, cfg: CTCModelConfig):
        super().__init__()
        self.cfg = cfg
        k, width = cfg.factor, cfg.input_size
        self.conv = None
        if cfg.subsample == "stack":
            width = cfg.input_size * k
        elif cfg.subsample == "conv":
            self.conv = nn.Conv1d(cfg.input_size, cfg.conv_channels, 2 * k - 1, stride=k,
                                  padding=k - 1)
            width = cfg.conv_channels
        self.rnn = rnnkit.Recurrent(cfg.cell, width, cfg.hidden_size, cfg.num_layers,
                                    batch_first=True, bidirectional=cfg.bidirectional,
                                    dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
                                    impl=cfg.impl)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size * (2 if cfg.bidirectional else 1), cfg.n_classes)

    def _shorten(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        cfg = self.cfg
        B, T, F_ = x.shape
        mask = torch.arange(T, device=x.device)[None, :] < lengths[:, None]
        x = x * mask[..., None]  # zeros past each length, whatever the padding held
        out_len = output_lengths(lengths, cfg.subsample, cfg.factor)
        if cfg.subsample == "stack" and cfg.factor > 1:
            k = cfg.factor
            T2 = -(-T // k)
            x = F.pad(x, (0, 0, 0, T2 * k - T)).reshape(B, T2, k * F_)  # (B, T/k, k F)
        elif self.conv is not None:
            x = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (B, ceil(T/k), C)
            x = x[:, : int(out_len.max())]
        return x, out_len

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """(log-probabilities (B, T', C), output lengths (B,)) for x (B, T, F)."""
        lengths = lengths.to(x.device)
        x, out_len = self._shorten(x, lengths)
        out, _ = self.rnn(x, lengths=out_len.cpu())  # (B, T', D H), zero past each length
        return self.head(self.drop(out)).log_softmax(-1), out_len
