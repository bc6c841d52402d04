"""Batch-1 generation speed with onnxruntime alone vs rnnkit's own fast step.

    PYTHONPATH=src python benchmarks/onnx_generate.py [--hidden 512] [--layers 2] [--vocab 100]

Characters per second (one character = one token, sampling at temperature 1 included) for a
`LanguageModel` (char vocabulary, LSTM), all with the same weights:
  fast (rnnkit)     rnnkit.models.lm_fast.FastLMStepper under inference_mode
  fast, 1 slice     the same on one thread
  onnxruntime       the one-step model of rnnkit.export.lm_to_onnx (checked before the timing),
                    state carried between calls as numpy arrays; 1 thread, and ort's default
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch

from rnnkit.export import lm_to_onnx
from rnnkit.models.generate import Sampling, sample_token
from rnnkit.models.lm import LanguageModel
from rnnkit.models.lm_fast import FastLMStepper


def seconds(step, n_steps: int) -> float:
    sampling, gen = Sampling(temperature=1.0), torch.Generator().manual_seed(0)
    with torch.inference_mode():
        token, t0 = 0, time.perf_counter()
        for _ in range(n_steps):
            token = sample_token(step(token), sampling, gen)
        return time.perf_counter() - t0


def ort_step(path: str, threads: int):
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs() if i.name != "tokens"]
    state = {n: np.zeros([1 if d == "batch" else d for d in i.shape], np.float32)
             for n, i in zip(names, sess.get_inputs()[1:], strict=True)}
    token_in = np.zeros(1, np.int64)

    def step(token: int) -> torch.Tensor:
        token_in[0] = token
        logits, *new = sess.run(None, {"tokens": token_in} | state)
        state.update(zip(names, new, strict=True))
        return torch.from_numpy(logits[0])

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--vocab", type=int, default=100)
    p.add_argument("--embedding", type=int, default=512)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.manual_seed(0)
    model = LanguageModel(args.vocab, args.embedding, args.hidden, args.layers, cell="lstm").eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lm.step.onnx")
        report = lm_to_onnx(model, os.path.join(tmp, "lm.onnx"), path)[1]
        print(f"LSTM {args.layers}x{args.hidden}, embedding {args.embedding}, vocab {args.vocab}, "
              f"batch 1, float32, torch {torch.__version__} ({torch.get_num_threads()} threads), "
              f"onnxruntime {ort.__version__}; step model {report}")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs")
        paths = {"fast (rnnkit)": FastLMStepper(model).step,
                 "fast, 1 slice": FastLMStepper(model, slices=1).step,
                 "onnxruntime, 1 thread": ort_step(path, 1),
                 "onnxruntime, default": ort_step(path, 0)}
        for step in paths.values():
            seconds(step, max(10, args.steps // 10))  # warm up
        best = {name: float("inf") for name in paths}
        for _ in range(args.repeats):  # interleaved: a busy moment hits every path alike
            for name, step in paths.items():
                best[name] = min(best[name], seconds(step, args.steps) / args.steps)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    base = 1.0 / best["fast (rnnkit)"]
    print(f"{'path':<22} {'chars/s':>10} {'vs fast':>8}")
    for name, t in best.items():
        print(f"{name:<22} {1.0 / t:>10.0f} {1.0 / t / base:>7.2f}x")


if __name__ == "__main__":
    main()
