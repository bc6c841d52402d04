"""Sampling text from a `LanguageModel`, one token at a time, streamed.

The prime (the text to continue) goes through the model once, as one sequence; after that the
state is carried one step at a time and the prefix is never run again. Each step samples from

    p(x) ∝ exp(logits(x) / temperature)     temperature 0 = argmax (deterministic)

restricted to the `top_k` most likely tokens (0 = all) and then to the smallest set whose
probability reaches `top_p` (1.0 = all). `seed` makes the draws reproducible.
By default the steps run on `FastLMStepper` (weights pre-arranged, one addmm per layer);
`fast=False` calls the model's own forward on each (1, 1) token instead.

`generate_samples` makes N independent samples of the same prime in one batch
(`BatchLMStepper`: one (N x in) matrix product per layer and step). Sample i draws from its own
generator, seeded with `sample_seed(seed, i)` (sample 0 with `seed` itself, so it is the text
`generate` makes with that seed), and the rows never mix: sample i is the same text whatever N,
up to floating-point rounding (a batched product may round differently from a batch-1 one,
which can move a draw that falls within ~1e-7 of a boundary between two tokens; in float64 the
texts are equal).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rnnkit.errors import ConfigError, DataError
from rnnkit.models.lm_batch import BatchLMStepper
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
    return sample_tokens(logits[None], sampling, [generator])[0]


def sample_tokens(logits: torch.Tensor, sampling: Sampling,
                  generators: list[torch.Generator]) -> list[int]:
    """One token id per row of `logits` (N, V) under `sampling`, row i drawn with generators[i]
    (so a row's draw depends on its own generator only, never on the other rows)."""
    if sampling.temperature == 0:
        return torch.argmax(logits, dim=-1).tolist()
    # Shifted so the largest is 0 before dividing: a tiny temperature sends the others to -inf
    # (probability 0), never inf - inf = nan; and at least float32's smallest normal number, as
    # a smaller one rounds to 0 in float32 (0 / 0 = nan) and samples the same anyway.
    logits = logits.float()
    tiny = torch.finfo(torch.float32).tiny
    logits = (logits - logits.max(dim=-1, keepdim=True).values) / max(sampling.temperature, tiny)
    ids = None
    if 0 < sampling.top_k < logits.shape[-1]:
        logits, ids = torch.topk(logits, sampling.top_k, dim=-1)  # sorted, most likely first
    probs = torch.softmax(logits, dim=-1)
    if sampling.top_p < 1.0:
        if ids is None:
            probs, ids = torch.sort(probs, dim=-1, descending=True)
        # Keep a token while the probability before it is below top_p (so at least one).
        before = torch.cumsum(probs, dim=-1) - probs
        probs = probs.masked_fill(before >= sampling.top_p, 0.0)
    choices = [int(torch.multinomial(row, 1, generator=g)) for row, g in zip(probs, generators,
                                                                            strict=True)]
    if ids is None:
        return choices
    return [int(row[c]) for row, c in zip(ids, choices, strict=True)]


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
    fast: bool = True,
) -> Iterator[str]:
    """An iterator over the text of `length` sampled tokens continuing `prime` (the prime itself
    is not repeated). Arguments and the prime are checked here, before the first token."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ConfigError(f"--length: expected an integer >= 0, got {length!r}")
    sampling = sampling or Sampling()
    _check_fast(model, fast)
    start = _start_ids(tokenizer, prime)  # DataError now for characters the vocabulary lacks
    return _stream(model, tokenizer.stream_decoder(), start, length, sampling, fast)


def _check_fast(model, fast: bool) -> None:
    if fast:
        ok, reason = can_use_fast_step(model)
        if not ok:
            raise ConfigError(f"fast generation is not possible: {reason}; pass fast=False")


def sample_seed(seed: int, i: int) -> int:
    """The seed of sample i's generator: `seed` for sample 0, else the first 63 bits of
    blake2b("rnnkit sample {seed} {i}") (distinct streams for every (seed, i))."""
    if i == 0:
        return seed
    digest = hashlib.blake2b(f"rnnkit sample {seed} {i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _generator(device: torch.device, seed: int | None) -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def _stream(model, decode, start: list[int], length: int, sampling: Sampling, fast: bool):
    model.eval()
    device = next(model.parameters()).device
    generator = _generator(device, sampling.seed)
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


def generate_samples(
    model,
    tokenizer,
    prime: str = "",
    length: int = 500,
    sampling: Sampling | None = None,
    num_samples: int = 1,
    fast: bool = True,
) -> Iterator[list[str]]:
    """An iterator over the steps of `num_samples` samples continuing `prime`, made together in
    one batch: each item holds the next piece of text of every sample (a list of N strings).
    Sample i draws from a generator seeded with `sample_seed(sampling.seed, i)` (see the module
    docstring). Arguments and the prime are checked here, before the first token."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ConfigError(f"--length: expected an integer >= 0, got {length!r}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ConfigError(f"--num-samples: expected an integer >= 1, got {num_samples!r}")
    sampling = sampling or Sampling()
    _check_fast(model, fast)
    start = _start_ids(tokenizer, prime)
    decoders = [tokenizer.stream_decoder() for _ in range(num_samples)]
    return _stream_batch(model, decoders, start, length, sampling, fast)


def _stream_batch(model, decoders: list, start: list[int], length: int, sampling: Sampling,
                  fast: bool):
    model.eval()
    device = next(model.parameters()).device
    n = len(decoders)
    seeds = [None if sampling.seed is None else sample_seed(sampling.seed, i) for i in range(n)]
    generators = [_generator(device, seed) for seed in seeds]
    with torch.inference_mode():
        logits, state = model(torch.tensor([start], dtype=torch.int64, device=device))
        logits = logits[0, -1:].expand(n, -1)  # the prime once; every sample starts from it
        stepper = BatchLMStepper(model, n) if fast else None
        if stepper is not None:
            stepper.prime(state)
        else:  # the prime's state, one row per sample: (L, 1, H) -> (L, N, H)
            state = tuple(s.expand(-1, n, -1).contiguous() for s in state) \
                if isinstance(state, tuple) else state.expand(-1, n, -1).contiguous()
        for i in range(length):
            tokens = sample_tokens(logits, sampling, generators)
            yield [decode(t) for decode, t in zip(decoders, tokens, strict=True)]
            if i + 1 == length:
                break
            tokens = torch.tensor(tokens, dtype=torch.int64, device=device)
            if stepper is not None:
                logits = stepper.step(tokens)
            else:
                out, state = model(tokens[:, None], state)
                logits = out[:, -1]
