"""The measurement behind impl="auto" (rnnkit.backends.autotune says what is measured, when,
and where it is kept): one layer of the probe's cell family, torch's kernel against rnnkit's loop
on the same weights and inputs."""

from __future__ import annotations

import time

import torch

from rnnkit.backends import autotune
from rnnkit.backends.autotune import Probe
from rnnkit.layers.base import RecurrentBase


def measure(probe: Probe) -> tuple[float, float]:
    """(native seconds, fused seconds) of one call at the probe's shape: the fastest of
    autotune.REPEATS interleaved runs each, after a warm-up of both."""
    # The layer's own initialisation draws from torch's stream: fork it, so the caller's
    # random numbers are the same with or without a measurement.
    with torch.random.fork_rng(devices=[]):
        return _measure(probe)


def _measure(probe: Probe) -> tuple[float, float]:
    gen = torch.Generator().manual_seed(0)
    dtype = getattr(torch, probe.dtype)
    layer = RecurrentBase(
        probe.mode, probe.input_size, probe.hidden_size, reset_after=probe.reset_after, dtype=dtype
    )
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=dtype) * 0.2 - 0.1)
    if not probe.training:
        layer.requires_grad_(False)
    x = torch.randn(autotune.STEPS, probe.batch, probe.input_size, generator=gen, dtype=dtype)
    lengths = None
    if probe.masked:  # one row shorter: the loops then run with a mask, as the call does
        lengths = torch.full((probe.batch,), autotune.STEPS, dtype=torch.long)
        lengths[-1] = autotune.STEPS // 2
    best = {"native": float("inf"), "fused": float("inf")}
    for i in range(autotune.REPEATS + 1):
        for impl in best:
            layer.impl = impl
            seconds = _once(layer, x, lengths, probe.training)
            if i:  # the first round warms up both (and builds the compiled loops if needed)
                best[impl] = min(best[impl], seconds)
    return best["native"], best["fused"]


def _once(layer: RecurrentBase, x: torch.Tensor, lengths, training: bool) -> float:
    with torch.enable_grad() if training else torch.no_grad():
        start = time.perf_counter()
        out, _ = layer(x, lengths=lengths)
        if training:
            out.sum().backward()
        seconds = time.perf_counter() - start
    layer.zero_grad(set_to_none=True)
    return seconds


autotune.set_measurer(measure)
