"""One training step (forward + backward of a random upstream gradient) of torch.nn and of
rnnkit's fused layer, alternated call by call in one process: CPU and wall time and the page
faults each call makes (fresh memory costs one per 4 KiB), and torch.nn's CPU time / rnnkit's.

    python benchmarks/train_step.py                          # GRU, 2 layers, T 200, B 64, H 512
    python benchmarks/train_step.py --cell lstm --calls 10

The layer benchmark (layers.py) keeps the fastest repeat of many points; this shows one point's
calls one by one, for effects that come and go between calls.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch

import rnnkit

CELLS = {"rnn": (torch.nn.RNN, rnnkit.RNN), "gru": (torch.nn.GRU, rnnkit.GRU),
         "lstm": (torch.nn.LSTM, rnnkit.LSTM)}


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cell", choices=sorted(CELLS), default="gru")
    p.add_argument("--T", type=int, default=200)
    p.add_argument("--B", type=int, default=64)
    p.add_argument("--H", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--calls", type=int, default=6)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    theirs_cls, ours_cls = CELLS[args.cell]
    theirs = theirs_cls(args.input_size, args.H, num_layers=args.layers)
    ours = ours_cls(args.input_size, args.H, num_layers=args.layers, impl="fused")
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(args.T, args.B, args.input_size, requires_grad=True)
    upstream = torch.randn(args.T, args.B, args.H)

    def step(layer) -> tuple[float, float, int]:
        f0, c0, w0 = faults(), time.process_time(), time.perf_counter()
        layer(x)[0].backward(upstream)
        return time.process_time() - c0, time.perf_counter() - w0, faults() - f0

    for layer in (theirs, ours):  # warm up: kernels built, buffers made
        step(layer)
    print(f"# {args.cell}, {args.layers} layers, T {args.T}, B {args.B}, H {args.H}, input "
          f"{args.input_size}, {args.threads} thread(s); seconds, minor page faults")
    for _ in range(args.calls):
        a, b = step(theirs), step(ours)
        print(f"torch.nn cpu {a[0]:.3f} wall {a[1]:.3f} faults {a[2]:7d} | rnnkit fused cpu "
              f"{b[0]:.3f} wall {b[1]:.3f} faults {b[2]:7d} | ratio {a[0] / b[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
