"""rnnkit's layers (each impl) against torch.nn and a naive autograd loop, side by side in one
process. Prints, per point, torch.nn's time divided by each contender's time (higher is faster;
1.00 = as fast as torch.nn) for a training step (forward + backward) and for inference.

    python benchmarks/layers.py                  # the full grid, 1 thread, CPU time
    python benchmarks/layers.py --quick          # a few points
    python benchmarks/layers.py --threads 2 --clock wall --cells lstm --T 50 --B 16 --H 256
    python benchmarks/layers.py --contenders auto,fused,torch.nn-again   # + a control column
    python benchmarks/layers.py --variants --T 100 --B 16 --H 256   # the cell variants' section

Timings are interleaved (each repeat runs every contender once) and the fastest repeat counts.
--clock cpu (default) measures this process's CPU time, which other processes on a shared
machine barely disturb (wall time there varied 25x between identical runs); it suits 1 thread.
--clock wall is what a user waits for; use it on a quiet machine, with --threads 2 for both
cores. The training step backpropagates a fixed random upstream gradient (as a real loss does;
`.sum()` would hand every step the same broadcast ones).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import sys
import time

import torch
from torch import nn

import rnnkit

OURS = {"rnn": rnnkit.RNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}
TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
TORCH_CELL = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
CONTENDERS = ("torch.nn", "auto", "native", "fused", "reference", "naive")
# Not in the default set: a second torch.nn module with the same weights, timed like the others.
# Its ratio is torch.nn's kernel against itself, the spread of identical kernels on this machine
# (where auto runs torch's kernel, its ratio can only differ from 1 by that spread).
CONTROL = "torch.nn-again"


class NaiveLoop(nn.Module):
    """What a first attempt looks like: torch.nn cells stepped in Python, autograd backward."""

    def __init__(self, cell: str, input_size: int, hidden: int, layers: int):
        super().__init__()
        self.kind = cell
        self.cells = nn.ModuleList(
            TORCH_CELL[cell](input_size if k == 0 else hidden, hidden) for k in range(layers))

    def forward(self, x):
        for cell in self.cells:
            state, outs = None, []
            for x_t in x:
                state = cell(x_t, state)
                outs.append(state[0] if self.kind == "lstm" else state)
            x = torch.stack(outs)
        return x, None


def build(name: str, cell: str, I: int, H: int, layers: int, ref: nn.Module) -> nn.Module:
    if name == "torch.nn":
        return ref
    if name == "naive":
        return NaiveLoop(cell, I, H, layers)
    if name == CONTROL:
        return copy.deepcopy(ref)
    layer = OURS[cell](I, H, num_layers=layers, impl=name)
    layer.load_state_dict(ref.state_dict())
    return layer


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.process_time


def timed(fn) -> float:
    start = clock()
    fn()
    return clock() - start


def bench_point(cell, T, B, H, layers, I, repeats, names):
    torch.manual_seed(0)
    ref = TORCH[cell](I, H, num_layers=layers)
    models = {n: build(n, cell, I, H, layers, ref) for n in names}
    x = torch.randn(T, B, I)
    g = torch.randn(T, B, H)

    def train(m):
        xg = x.clone().requires_grad_()
        out, _ = m(xg)
        out.backward(g)

    def infer(m):
        with torch.inference_mode():
            m(x)

    times = {(n, mode): [] for n in names for mode in ("train", "infer")}
    calls = {}  # calls per measurement, so that each spans >= 20 ms (short calls are noisy)
    for rep in range(repeats + 1):  # the first round warms up and calibrates; not counted
        for n, m in models.items():
            for mode, fn in (("train", train), ("infer", infer)):
                k = calls.get((n, mode), 1)
                t = timed(lambda fn=fn, m=m, k=k: [fn(m) for _ in range(k)]) / k
                if rep:
                    times[(n, mode)].append(t)
                else:
                    calls[(n, mode)] = max(1, min(50, int(0.02 / max(t, 1e-6))))
    result = {k: min(v) for k, v in times.items()}
    if "auto" in models:  # which implementation auto picked, for training and for inference
        train(models["auto"])
        picked_train = models["auto"].last_impl
        infer(models["auto"])
        result["auto_ran"] = f"{picked_train[0]}/{models['auto'].last_impl[0]}"
    return result


# The variants section: each against torch.nn.LSTM of the same hidden size (training step).
VARIANTS = {
    "lstm fused": ("lstm", {"impl": "fused"}),
    "ln_lstm": ("ln_lstm", {}),
    "ln_gru": ("ln_gru", {}),
    "peephole_lstm": ("peephole_lstm", {}),
    "lstm rec.drop": ("lstm", {"recurrent_dropout": 0.25}),
    "lstm semeniuta": ("lstm", {"recurrent_dropout": 0.25, "recurrent_dropout_mode": "semeniuta"}),
    "lstm zoneout": ("lstm", {"zoneout": 0.1}),
}


def bench_variants(T, B, H, layers, I, repeats) -> dict[str, float]:
    """{name: training-step time} for torch.nn.LSTM and every variant, interleaved."""
    torch.manual_seed(0)
    models = {"torch.nn.LSTM": nn.LSTM(I, H, num_layers=layers)}
    for name, (cell, kw) in VARIANTS.items():
        models[name] = rnnkit.Recurrent(cell, I, H, num_layers=layers, **kw)
    x, g = torch.randn(T, B, I), torch.randn(T, B, H)

    def train(m):
        out, _ = m(x.clone().requires_grad_())
        out.backward(g)

    times = {n: [] for n in models}
    for rep in range(repeats + 1):  # the first round warms up; not counted
        for n, m in models.items():
            t = timed(lambda m=m: train(m))
            if rep:
                times[n].append(t)
    return {n: min(v) for n, v in times.items()}


def variants_main(args, ints) -> int:
    names = list(VARIANTS)
    print("# variants: torch.nn.LSTM training-step time / the variant's (higher = faster)")
    print(f"{'L':>2} {'T':>4} {'B':>3} {'H':>4} | {'LSTM ms':>8} | "
          + " | ".join(f"{n:>14}" for n in names))
    for layers, T, B, H in itertools.product(ints(args.layers), ints(args.T), ints(args.B),
                                             ints(args.H)):
        r = bench_variants(T, B, H, layers, args.input_size, repeats_for(T, B, H, layers))
        ref = r["torch.nn.LSTM"]
        print(f"{layers:>2} {T:>4} {B:>3} {H:>4} | {ref * 1e3:8.1f} | "
              + " | ".join(f"{ref / r[n]:14.2f}" for n in names), flush=True)
    print(f"# done, load average {os.getloadavg()[0]:.1f}")
    return 0


def repeats_for(T, B, H, layers) -> int:
    work = T * B * H * H * layers  # rough cost; fewer repeats for the big points
    return 5 if work < 2e9 else 3 if work < 2e10 else 2


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cells", default="rnn,lstm,gru")
    p.add_argument("--T", default="50,200")
    p.add_argument("--B", default="1,16,64")
    p.add_argument("--H", default="64,256,512")
    p.add_argument("--layers", default="1,2")
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument("--quick", action="store_true", help="T=50, B=16, H=64,256, 1 layer")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=sorted(CLOCK), default="cpu")
    p.add_argument("--variants", action="store_true",
                   help="the cell variants (ln_lstm, ..., recurrent dropout, zoneout) against "
                        "torch.nn.LSTM, training step")
    args = p.parse_args(argv)
    global clock
    clock = CLOCK[args.clock]
    torch.set_num_threads(args.threads)
    if args.quick:
        args.T, args.B, args.H, args.layers = "50", "16", "64,256", "1"
    ints = lambda s: [int(v) for v in s.split(",")]  # noqa: E731
    if args.variants:
        print(f"# rnnkit {rnnkit.__version__}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, {args.clock} clock, input_size "
              f"{args.input_size}, load average {os.getloadavg()[0]:.1f}")
        return variants_main(args, ints)
    names = args.contenders.split(",")
    if "torch.nn" not in names:
        names.insert(0, "torch.nn")
    others = [n for n in names if n != "torch.nn"]
    print(f"# rnnkit {rnnkit.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {args.clock} clock, input_size {args.input_size}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("# cells: torch.nn time / contender time (higher = faster; train = forward + backward)")
    print("# ran: the implementation auto picked for train / infer (n = native, f = fused)")
    print(f"# torch.nn ms: the absolute {args.clock} time of torch.nn, train / infer")
    head = f"{'cell':5} {'L':>2} {'T':>4} {'B':>3} {'H':>4} | {'ran':3} | {'torch.nn ms':>15} | "
    head += " | ".join(f"{n:>13}" for n in others)
    print(head)
    sub = " | ".join(f"{'train  infer':>13}" for _ in others)
    print(f"{'':27}| {'':3} | {'train / infer':>15} | {sub}")
    grid = itertools.product(args.cells.split(","), ints(args.layers), ints(args.T), ints(args.B),
                             ints(args.H))
    for cell, layers, T, B, H in grid:
        r = bench_point(cell, T, B, H, layers, args.input_size, repeats_for(T, B, H, layers),
                        names)
        ref_t, ref_i = r[("torch.nn", "train")], r[("torch.nn", "infer")]
        cols = [f"{ref_t / r[(n, 'train')]:6.2f} {ref_i / r[(n, 'infer')]:6.2f}" for n in others]
        print(f"{cell:5} {layers:>2} {T:>4} {B:>3} {H:>4} | {r.get('auto_ran', '-'):3} | "
              f"{ref_t * 1e3:7.1f} {ref_i * 1e3:7.1f} | " + " | ".join(cols), flush=True)
    print(f"# done, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
