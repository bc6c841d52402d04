"""Many-to-one over frames, multi-label: a video tagger, and the frame-averaging baseline.

    frames (B, T, 3, S, S) in [0, 1], lengths (B,)   (every `frame_stride`-th frame kept)
      + two coordinate channels (x, y ramps in [-1, 1])           -> (B, T, 5, S, S)
      --ImageEncoder, real frames only, pooled vector per frame-->   (B, T, F)
      with `keypoints` K > 0: beside it SpatialKeypoints (B, T, 4K), both
      --BatchNorm1d, Linear-->                                        v (B, T, F)
    kind "rnn":           v (with `deltas`: [v_t, v_t - v_{t-1}]) --rnnkit layers (any
                          registered cell)--> outputs (B, T, H), their mean over the real
                          frames (or the last state) -> (B, H);
                          with `skip`, plus the baseline's term below
    kind "frame_average": mean of v over the real frames          -> (B, F), then Linear, ReLU
      dropout, Linear  -->  logits (B, K), one per tag (sigmoid + BCE: several tags per clip)

Why the coordinate channels (CoordConv, Liu et al. 2018): the encoder's pooled vector is the
mean over the feature grid, which keeps little of where an object is; with x and y as inputs a
convolution can put position into that mean, and the recurrent layer reads motion from how it
changes. `pool="max"` (the default) takes the max over the grid instead of the mean, so a small
object is not averaged away with the background. The baseline gets the same encoder and
channels; its mean over frames is the same for a clip and the clip reversed in time, so it
cannot tell left from right (or grow from shrink).
Why keypoints and deltas (BENCHMARKS.md, Video tagging): the max keeps what is in a frame and
little of where; the keypoints are where, as positions and sizes, and the changes between frames
make motion something the recurrent layer adds up. The baseline averages v alone (no deltas).
The rnn's outputs are averaged over time by default: every frame's encoder then gets a gradient
(reading the last state only, the encoder learnt from the last frames and more slowly).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnkit.backends.dispatch import IMPLS
from rnnkit.data.batching import length_mask
from rnnkit.errors import ConfigError
from rnnkit.functional import registry
from rnnkit.layers import Recurrent
from rnnkit.models.image_encoder import ImageEncoder
from rnnkit.models.spatial_keypoints import SpatialKeypoints

KINDS = ("rnn", "frame_average")
POOLS = ("max", "mean", "grid")
OVER_TIME = ("mean", "last")


@dataclass
class VideoTaggerConfig:
    n_tags: int
    kind: str = "rnn"  # "rnn" or "frame_average" (the baseline: no recurrent layer)
    channels: tuple[int, ...] = (16, 32, 32)  # ImageEncoder stages
    feature_size: int = 64  # the pooled vector per frame
    coords: bool = True  # add x, y coordinate channels to each frame
    pool: str = "max"  # a frame's vector: "max" or "mean" (the encoder's pooled) over the grid,
    # or "grid": the whole grid, flattened, through a Linear layer (where things are, kept)
    frame_size: int = 32  # pixels per side of the frames (the grid's size for pool="grid")
    over_time: str = "mean"  # rnn: the clip's vector, "mean" of the outputs or the "last" state
    frame_stride: int = 1  # read frames 0, s, 2s, ... of each clip (both kinds)
    keypoints: int = 0  # > 0: that many spatial soft-argmax keypoints (where) beside the pooled
    # vector (what), both through BatchNorm1d and a Linear layer to the frame's vector; 0: the
    # pooled vector only
    skip: bool = False  # rnn: add the baseline's term (frame average -> Linear, ReLU) to its own
    deltas: bool = False  # rnn: the recurrent layer reads [v_t, v_t - v_{t-1}]; the baseline
    # (like skip, rnn-only) still averages v_t alone
    cell: str = "lstm"
    hidden_size: int = 64  # recurrent units (baseline: width of its hidden layer)
    num_layers: int = 1
    dropout: float = 0.0  # on the frame vectors and before the head
    impl: str = "auto"

    def __post_init__(self):
        def need(ok: bool, key: str, expected: str) -> None:
            if not ok:
                raise ConfigError(f"model.{key}: expected {expected}, got {getattr(self, key)!r}")

        need(self.kind in KINDS, "kind", " or ".join(KINDS))
        need(self.pool in POOLS, "pool", " or ".join(POOLS))
        need(self.over_time in OVER_TIME, "over_time", " or ".join(OVER_TIME))
        registry.get(self.cell)  # an unknown name: the error lists the known ones
        need(self.impl in IMPLS, "impl", " or ".join(IMPLS))
        for key in ("n_tags", "feature_size", "hidden_size", "num_layers", "frame_stride",
                    "frame_size"):
            need(isinstance(getattr(self, key), int) and getattr(self, key) >= 1, key,
                 "a positive integer")
        need(isinstance(self.keypoints, int) and self.keypoints >= 0, "keypoints",
             "an integer >= 0")
        need(len(self.channels) >= 1 and all(isinstance(c, int) and c >= 1
                                             for c in self.channels),
             "channels", "a list of positive integers")
        need(0.0 <= self.dropout < 1.0, "dropout", "a number in [0, 1)")


def coordinate_channels(frames: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 5, H, W): x (left -1 .. right 1) and y (top -1 .. bottom 1) appended."""
    n, _, h, w = frames.shape
    ys = torch.linspace(-1.0, 1.0, h, dtype=frames.dtype, device=frames.device)
    xs = torch.linspace(-1.0, 1.0, w, dtype=frames.dtype, device=frames.device)
    # ImageEncoder centres its input as (x - 0.5) / 0.25, so give the ramps in [0, 1]
    grid_y, grid_x = torch.meshgrid(0.5 + ys / 4, 0.5 + xs / 4, indexing="ij")
    coords = torch.stack([grid_x, grid_y]).expand(n, 2, h, w)
    return torch.cat([frames, coords], 1)


def with_deltas(v: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, F) -> (B, T, 2F): each frame's vector and its change from the frame before (0 at
    the first frame, and past each length)."""
    prev = torch.cat([v[:, :1], v[:, :-1]], 1)  # (B, T, F) v_{t-1}, v_0 at t = 0
    real = length_mask(lengths, v.shape[1]).unsqueeze(-1).to(v.dtype)  # (B, T, 1)
    return torch.cat([v, (v - prev) * real], -1)


class VideoTagger(nn.Module):
    """`forward(frames (B, T, 3, S, S), lengths (B,))` -> logits (B, K)."""

    def __init__(self, cfg: VideoTaggerConfig):
        super().__init__()
        self.cfg = cfg
        in_channels = 5 if cfg.coords else 3
        self.encoder = ImageEncoder(in_channels, tuple(cfg.channels), cfg.feature_size)
        if cfg.keypoints:
            self.where = SpatialKeypoints(in_channels, cfg.keypoints, hidden=cfg.channels[0])
            n = cfg.feature_size + 4 * cfg.keypoints
            # each feature standardised first: positions move by hundredths while a map's peak
            # varies by units, and unscaled the recurrent layer did not learn motion from them
            self.merge = nn.Sequential(nn.BatchNorm1d(n), nn.Linear(n, cfg.feature_size))
        if cfg.pool == "grid":
            h, w = self.encoder.grid_shape(cfg.frame_size, cfg.frame_size)
            if h < 1:
                raise ConfigError(f"model.pool=grid: frames of {cfg.frame_size} pixels are too "
                                  f"small for {len(cfg.channels)} stages")
            self.flat = nn.Linear(h * w * cfg.feature_size, cfg.feature_size)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.kind == "rnn":
            rnn_in = cfg.feature_size * (2 if cfg.deltas else 1)
            self.rnn = Recurrent(cfg.cell, rnn_in, cfg.hidden_size,
                                 num_layers=cfg.num_layers, batch_first=True, impl=cfg.impl,
                                 dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        if cfg.kind == "frame_average" or cfg.skip:
            self.mix = nn.Sequential(nn.Linear(cfg.feature_size, cfg.hidden_size), nn.ReLU())
        self.head = nn.Linear(cfg.hidden_size, cfg.n_tags)

    def frame_vectors(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, F) pooled encoder vectors of the real frames; zeros past each length."""
        mask = length_mask(lengths, frames.shape[1])  # (B, T)
        real = frames[mask]  # (N real frames, 3, S, S): padding never reaches the encoder
        if self.cfg.coords:
            real = coordinate_channels(real)
        grid, pooled = self.encoder(real)  # (N, h*w, F), (N, F)
        if self.cfg.pool == "max":
            pooled = grid.amax(1)
        elif self.cfg.pool == "grid":
            pooled = self.flat(grid.flatten(1))  # (N, h*w*F) -> (N, F)
        if self.cfg.keypoints:  # what (pooled) and where (keypoints) -> one vector
            pooled = self.merge(torch.cat([pooled, self.where(real)], 1))  # (N, F + 4K) -> (N, F)
        out = pooled.new_zeros(*mask.shape, pooled.shape[-1])
        out[mask] = pooled
        return out

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ConfigError(f"frames: expected (batch, time, 3, height, width), got "
                              f"{tuple(frames.shape)}")
        if lengths.dim() != 1 or lengths.shape[0] != frames.shape[0] or \
                int(lengths.min()) < 1 or int(lengths.max()) > frames.shape[1]:
            raise ConfigError(f"lengths: expected ({frames.shape[0]},) values in "
                              f"[1, {frames.shape[1]}], got {lengths.tolist()}")
        if self.cfg.frame_stride > 1:  # padding is at the end: frames 0, s, ... < length
            s = self.cfg.frame_stride
            frames, lengths = frames[:, ::s], torch.div(lengths + s - 1, s, rounding_mode="floor")
        v = self.drop(self.frame_vectors(frames, lengths))  # (B, T, F)
        steps = lengths.unsqueeze(1).to(v.dtype)
        if self.cfg.kind == "frame_average":
            z = self.mix(v.sum(1) / steps)  # (B, F) mean over real frames; padding is zero
        else:
            x = with_deltas(v, lengths) if self.cfg.deltas else v  # (B, T, F or 2F)
            out, state = self.rnn(x, lengths=lengths)  # out (B, T, H), zero past each length
            if self.cfg.over_time == "mean":
                z = out.sum(1) / steps
            else:
                h_n = state[0] if isinstance(state, tuple) else state  # LSTM: (h_n, c_n)
                z = h_n[-1]  # (B, H): the last layer at each clip's last real frame
            if self.cfg.skip:  # the baseline plus what the order of the frames adds
                z = z + self.mix(v.sum(1) / steps)
        return self.head(self.drop(z))
