"""Sampling text from a `LanguageModel`, one token at a time, streamed.

The prime (the text to continue) goes through the model once, as one sequence; after that the
state is carried one step at a time and the prefix is never run again. Each step samples from

    p(x) ∝ exp(logits(x) / temperature)     temperature 0 = argmax (deterministic)

restricted to the `top_k` most likely tokens (0 = all) and then to the smallest set whose
probability reaches `top_p` (1.0 = all). `seed` makes the draws reproducible.
By default the steps run on `FastLMStepper` (weights pre-arranged, one addmm per layer) where it
can run the model (`can_use_fast_step`: torch.nn's four cells), else on the model's own forward
on each (1, 1) token; `fast=True` demands the stepper (an error says why it cannot run),
`fast=False` always takes the model's forward.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rnnkit.errors import ConfigError, DataError
from rnnkit.models.lm_fast import FastLMStepper, can_use_fast_step


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self):
        t, k, p = self.temperature, self.top_k, self.top_p
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t < math.inf:
            raise ConfigError(f"--temperature: expected a finite number >= 0 (0 = always the "
                              f"most likely token), got {t!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ConfigError(f"--top-k: expected an integer >= 0 (0 = off), got {k!r}")
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise ConfigError(f"--top-p: expected a number in (0, 1], got {p!r}")
        s = self.seed
        if s is not None and (isinstance(s, bool) or not isinstance(s, int)
                              or not 0 <= s <= 2**63 - 1):
            raise ConfigError(f"--seed: expected an integer in [0, 2^63 - 1], got {self.seed!r}")


def sample_token(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> int:
    """One token id drawn from `logits` (V,) under `sampling`."""
    if sampling.temperature == 0:
        return int(torch.argmax(logits))
    # Shifted so the largest is 0 before dividing: a tiny temperature sends the others to -inf
    # (probability 0), never inf - inf = nan; and at least float32's smallest normal number, as
    # a smaller one rounds to 0 in float32 (0 / 0 = nan) and samples the same anyway.
    logits = logits.float()
    tiny = torch.finfo(torch.float32).tiny
    logits = (logits - logits.max()) / max(sampling.temperature, tiny)
    ids = None
    if 0 < sampling.top_k < logits.numel():
        logits, ids = torch.topk(logits, sampling.top_k)  # sorted, most likely first
    probs = torch.softmax(logits, dim=-1)
    if sampling.top_p < 1.0:
        if ids is None:
            probs, ids = torch.sort(probs, descending=True)
        # Keep a token while the probability before it is below top_p (so at least one).
        before = torch.cumsum(probs, dim=-1) - probs
        probs = probs.masked_fill(before >= sampling.top_p, 0.0)
    choice = int(torch.multinomial(probs, 1, generator=generator))
    return int(ids[choice]) if ids is not None else choice


def _start_ids(tokenizer, prime: str) -> list[int]:
    if prime:
        return tokenizer.encode(prime).tolist()
    # No prime: start as after a line break when the vocabulary has one, else from id 0.
    try:
        ids = tokenizer.encode("\n").tolist()
    except DataError:  # the char vocabulary has no "\n"
        ids = []
    return ids or [0]


def generate(
    model,
    tokenizer,
    prime: str = "",
    length: int = 500,
    sampling: Sampling | None = None,
    fast: bool | None = None,
) -> Iterator[str]:
    """An iterator over the text of `length` sampled tokens continuing `prime` (the prime itself
    is not repeated). Arguments and the prime are checked here, before the first token."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ConfigError(f"--length: expected an integer >= 0, got {length!r}")
    sampling = sampling or Sampling()
    if fast is not False:
        ok, reason = can_use_fast_step(model)
        if fast and not ok:
            raise ConfigError(f"fast generation is not possible: {reason}; pass fast=False")
        fast = ok
    start = _start_ids(tokenizer, prime)  # DataError now for characters the vocabulary lacks
    return _stream(model, tokenizer.stream_decoder(), start, length, sampling, fast)


def _stream(model, decode, start: list[int], length: int, sampling: Sampling, fast: bool):
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    if sampling.seed is None:
        generator.seed()
    else:
        generator.manual_seed(sampling.seed)
    with torch.inference_mode():
        logits, state = model(torch.tensor([start], dtype=torch.int64, device=device))
        logits = logits[0, -1]  # the whole prime at once: (1, T, V) -> the last step's logits
        stepper = FastLMStepper(model) if fast else None
        if stepper is not None:
            stepper.prime(state)
        for i in range(length):
            token = sample_token(logits, sampling, generator)
            yield decode(token)
            if i + 1 == length:
                break
            if stepper is not None:
                logits = stepper.step(token)
            else:
                out, state = model(torch.tensor([[token]], device=device), state)
                logits = out[0, -1]
