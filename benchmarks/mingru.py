"""rnnkit.MinGRU / rnnkit.MinLSTM against torch.nn.GRU: the training step (forward + backward)
side by side in one process, and the float32 scan against float64.

    python benchmarks/mingru.py                              # T 256, 1024, 4096; B 16, H 256
    python benchmarks/mingru.py --threads 2 --clock wall     # both cores, wall time
    python benchmarks/mingru.py --T 256 --repeats 2          # a quick look

Prints per T each contender's time and torch.nn.GRU's time divided by it (higher is faster).
Timings are interleaved (each repeat runs every contender once) and the fastest repeat counts;
--clock cpu (default) is this process's CPU time, which other processes on a shared machine
barely disturb (it suits 1 thread). The step backpropagates a fixed random upstream gradient.
input_size = hidden_size, one layer, float32.

Then the precision at the longest T: the same layer and data in float32 and float64, the
largest difference of the output and of every gradient over the largest float64 value
("layer": everything, the GEMMs included), and the scan alone on the same projections
("scan", for each scan method that runs here).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from torch import nn

import rnnkit
from rnnkit.functional import compiled, scan_seq


def clock(kind: str) -> float:
    return time.process_time() if kind == "cpu" else time.perf_counter()


def train_step(layer: nn.Module, x: torch.Tensor, d_out: torch.Tensor) -> None:
    layer.zero_grad(set_to_none=True)
    out, _ = layer(x)
    out.backward(d_out)


def timing(T: int, args) -> dict[str, float]:
    torch.manual_seed(0)
    H, B = args.H, args.B
    layers = {"torch.nn.GRU": nn.GRU(H, H), "MinGRU": rnnkit.MinGRU(H, H),
              "MinLSTM": rnnkit.MinLSTM(H, H)}
    x = torch.randn(T, B, H, requires_grad=True)
    d_out = torch.randn(T, B, H)
    best = dict.fromkeys(layers, float("inf"))
    for layer in layers.values():  # warm up: kernels built, buffers allocated
        train_step(layer, x, d_out)
    for _ in range(args.repeats):
        for name, layer in layers.items():
            start = clock(args.clock)
            train_step(layer, x, d_out)
            best[name] = min(best[name], clock(args.clock) - start)
    assert layers["MinGRU"].last_impl == "compiled" or not compiled.available(x)[0]
    return best


def relative(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.double() - want).abs().max() / want.abs().max()).item()


def precision(T: int, args) -> list[tuple[str, str, float]]:
    rows = []
    torch.manual_seed(1)
    x = torch.randn(T, args.B, args.H, dtype=torch.float64)
    d_out = torch.randn(T, args.B, args.H, dtype=torch.float64)
    for cls in (rnnkit.MinGRU, rnnkit.MinLSTM):
        grads = []
        layer64 = cls(args.H, args.H, dtype=torch.float64)
        for layer, dtype in ((layer64, torch.float64), (cls(args.H, args.H), torch.float32)):
            layer.load_state_dict(layer64.state_dict())
            xi = x.to(dtype).detach().requires_grad_()
            out, _ = layer(xi)
            out.backward(d_out.to(dtype))
            grads.append([out.detach(), xi.grad, *(p.grad for p in layer.parameters())])
        pairs = zip(grads[1], grads[0], strict=True)
        rows.append((cls.__name__, "layer", max(relative(g32, g64) for g32, g64 in pairs)))
        family = cls.family
        proj = torch.randn(T, args.B, family.gates * args.H)
        h0, d = torch.zeros(args.B, args.H), d_out.float()
        want = scan_seq.forward(family, proj.double(), h0.double(), None, "sequential")
        want_g = scan_seq.backward(family, d_out, proj.double(), want, h0.double(), None,
                                   "sequential")[:2]
        methods = ["sequential", "parallel"] + (["compiled"] if compiled.available(proj)[0]
                                                else [])
        for method in methods:
            out = scan_seq.forward(family, proj, h0, None, method)
            got_g = scan_seq.backward(family, d, proj, out, h0, None, method)[:2]
            err = max(relative(a, b) for a, b in zip((out, *got_g), (want, *want_g), strict=True))
            rows.append((cls.__name__, f"scan ({method})", err))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", default="256,1024,4096", help="sequence lengths, comma-separated")
    p.add_argument("--B", type=int, default=16)
    p.add_argument("--H", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--precision-only", action="store_true", help="skip the timings")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    Ts = [int(t) for t in args.T.split(",")]
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.threads} thread(s), {args.clock} time, "
          f"B={args.B}, H=I={args.H}, float32; load {os.getloadavg()[0]:.1f}")
    print(f"{'T':>6} {'GRU ms':>9} {'MinGRU ms':>10} {'x GRU':>7} {'MinLSTM ms':>11} {'x GRU':>7}")
    for T in [] if args.precision_only else Ts:
        t = timing(T, args)
        gru = t["torch.nn.GRU"]
        print(f"{T:>6} {gru * 1e3:>9.1f} {t['MinGRU'] * 1e3:>10.1f} {gru / t['MinGRU']:>7.2f} "
              f"{t['MinLSTM'] * 1e3:>11.1f} {gru / t['MinLSTM']:>7.2f}", flush=True)
    print(f"\n# float32 against float64 at T={max(Ts)}: max |diff| / max |float64| over the "
          f"output and every gradient")
    for name, what, err in precision(max(Ts), args):
        print(f"{name:>8} {what:<20} {err:.1e}")


if __name__ == "__main__":
    main()
