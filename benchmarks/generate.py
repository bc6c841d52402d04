"""Generation speed: rnnkit's fast batch-1 step vs calling torch.nn once per step, and the
batched sampler (`rnnkit generate --num-samples N`) against batch 1, in one process.

    PYTHONPATH=src python benchmarks/generate.py [--hidden 512] [--layers 2] [--vocab 100]
        [--num-samples 16]

Characters per second (one character = one token, sampling at temperature 1 included) for a
`LanguageModel` (char vocabulary, LSTM), all paths with the same weights, under inference_mode:
  fast        rnnkit.models.lm_fast.FastLMStepper (weights pre-arranged, one product per layer,
              cut into one column slice per thread; "1 slice": the same on one thread)
  nn.LSTM     torch.nn.LSTM called on one (1, 1, D) step at a time, state carried
  nn.LSTMCell one torch.nn.LSTMCell per layer, called per step
  batch N     rnnkit.models.lm_batch.BatchLMStepper: N samples per step, each row drawn with its
              own generator (as `generate --num-samples N`); characters/s counts all N
and the memory-streaming limit: bytes of weights the fast step reads / measured read bandwidth.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from rnnkit.models.generate import Sampling, sample_token, sample_tokens
from rnnkit.models.lm import LanguageModel
from rnnkit.models.lm_batch import BatchLMStepper
from rnnkit.models.lm_fast import FastLMStepper


class Batched:
    """`step` for `seconds`: N rows per step through BatchLMStepper, one generator per row."""

    def __init__(self, model: LanguageModel, n: int):
        self.stepper, self.n = BatchLMStepper(model, n), n
        self.gens = [torch.Generator().manual_seed(i) for i in range(n)]


def seconds(step, n_steps: int) -> float:
    """Time of n_steps sampled steps through `step(token) -> logits` (or a `Batched`)."""
    sampling, gen = Sampling(temperature=1.0), torch.Generator().manual_seed(0)
    with torch.inference_mode():
        token, t0 = 0, time.perf_counter()
        if isinstance(step, Batched):
            tokens = torch.zeros(step.n, dtype=torch.int64)
            for _ in range(n_steps):
                drawn = sample_tokens(step.stepper.step(tokens), sampling, step.gens)
                tokens = torch.tensor(drawn, dtype=torch.int64)
            return time.perf_counter() - t0
        for _ in range(n_steps):
            token = sample_token(step(token), sampling, gen)
        return time.perf_counter() - t0


def steps_per_second(paths: dict, repeats: int) -> dict[str, float]:
    """Best rate of each path over `repeats` rounds; rounds interleave the paths, so a busy
    moment on a shared machine hits all of them alike. paths: name -> (step, n_steps)."""
    for step, n in paths.values():
        seconds(step, max(10, n // 10))  # warm up
    best = {name: float("inf") for name in paths}
    for _ in range(repeats):
        for name, (step, n) in paths.items():
            best[name] = min(best[name], seconds(step, n) / n)
    return {name: 1.0 / t for name, t in best.items()}


def nn_lstm_step(model: LanguageModel):
    lstm = nn.LSTM(model.rnn.input_size, model.rnn.hidden_size, model.rnn.num_layers)
    lstm.load_state_dict(model.rnn.state_dict())
    state = None

    def step(token: int) -> torch.Tensor:
        nonlocal state
        out, state = lstm(model.embedding.weight[token].view(1, 1, -1), state)
        return model.decoder(out[0, 0])

    return step


def nn_lstmcell_step(model: LanguageModel):
    rnn, cells = model.rnn, []
    for k in range(rnn.num_layers):
        cell = nn.LSTMCell(rnn.input_size if k == 0 else rnn.hidden_size, rnn.hidden_size)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(rnn, f"{name}_l{k}"))
        cells.append(cell)
    state = [None] * len(cells)

    def step(token: int) -> torch.Tensor:
        x = model.embedding.weight[token].view(1, -1)
        for k, cell in enumerate(cells):
            state[k] = cell(x, state[k])
            x = state[k][0]
        return model.decoder(x[0])

    return step


def read_bandwidth(n_bytes: int = 512 * 2**20, repeats: int = 5) -> tuple[float, float]:
    """(read GB/s from summing a tensor of n_bytes, copy GB/s counting read + write), best of
    `repeats`. 512 MB measures main memory; a tensor as big as the weights, summed again and
    again, measures the cache they may sit in."""
    a, b = torch.ones(n_bytes // 4), torch.empty(n_bytes // 4)
    t_sum = t_copy = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a.sum()
        t_sum = min(t_sum, time.perf_counter() - t0)
        t0 = time.perf_counter()
        b.copy_(a)
        t_copy = min(t_copy, time.perf_counter() - t0)
    return n_bytes / t_sum / 1e9, 2 * n_bytes / t_copy / 1e9


def fast_step_bytes(stepper: FastLMStepper) -> int:
    """Bytes of weights one fast step reads: every matrix and bias, plus one row of the table."""
    tensors = [stepper.table[0], stepper.w_out, stepper.b_out]
    for w, b in zip(stepper.w, stepper.b, strict=True):
        tensors += list(w) if isinstance(w, tuple) else [w]
        tensors += list(b) if isinstance(b, tuple) else ([b] if b is not None else [])
    return sum(t.numel() * t.element_size() for t in tensors)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--vocab", type=int, default=100)
    p.add_argument("--embedding", type=int, default=512)
    p.add_argument("--steps", type=int, default=2000, help="steps per timing of the fast path")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument("--num-samples", type=int, default=16, help="N of the batched sampler")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = LanguageModel(args.vocab, args.embedding, args.hidden, args.layers, cell="lstm").eval()
    fast = FastLMStepper(model)
    print(f"LSTM {args.layers}x{args.hidden}, embedding {args.embedding}, vocab {args.vocab}, "
          f"batch 1, float32, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"fast path in {fast.slices} column slices")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")
    paths = {
        "fast (rnnkit)": (fast.step, args.steps),
        "fast, 1 slice": (FastLMStepper(model, slices=1).step, args.steps),
        "nn.LSTM per step": (nn_lstm_step(model), max(50, args.steps // 10)),
        "nn.LSTMCell": (nn_lstmcell_step(model), max(100, args.steps // 4)),
        f"batch {args.num_samples}": (Batched(model, args.num_samples),
                                      max(20, args.steps // args.num_samples)),
    }
    rates = steps_per_second(paths, args.repeats)
    rates[f"batch {args.num_samples}"] *= args.num_samples  # characters: N per step
    base, one = rates["nn.LSTM per step"], rates["fast (rnnkit)"]
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'path':<18} {'chars/s':>10} {'vs nn.LSTM':>11} {'vs batch 1':>11}")
    for name, rate in rates.items():
        print(f"{name:<18} {rate:>10.0f} {rate / base:>10.1f}x {rate / one:>10.2f}x")
    n_bytes = fast_step_bytes(fast)
    read_gbs, copy_gbs = read_bandwidth()
    cache_gbs, _ = read_bandwidth(n_bytes, repeats=50)
    print(f"weights read per fast step: {n_bytes / 1e6:.2f} MB")
    print(f"main memory (512 MB tensor): read {read_gbs:.1f} GB/s (sum), copy {copy_gbs:.1f} GB/s "
          f"(read+write)")
    working_set = f"{n_bytes / 1e6:.0f} MB working-set"
    for label, gbs in [("main-memory", read_gbs), (working_set, cache_gbs)]:
        limit = gbs * 1e9 / n_bytes
        print(f"{label} streaming limit: {gbs:.1f} GB/s / {n_bytes / 1e6:.2f} MB = {limit:.0f} "
              f"steps/s; fast path at {100 * rates['fast (rnnkit)'] / limit:.0f}% of it")


if __name__ == "__main__":
    main()
