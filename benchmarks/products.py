"""The whole-sequence matrix products of rnnkit's fused training path, through MKL (torch.mm /
addmm) and through oneDNN's linear, side by side in one process: which library
`rnnkit.functional.matmul.product_library` should pick on this CPU.

    python benchmarks/products.py                        # the layer benchmark's shapes
    python benchmarks/products.py --rows 12800 --gates 1536 --inputs 512

Per shape (M = steps x batch rows, G = gate width, K = input width), CPU time of one thread,
fastest of several runs, in ms: the input projection x W^T + b (M, K) x (K, G); dx = dA W
(M, G) x (G, K); and the weight gradient dA^T x, by MKL as dA^T @ x and as (x^T @ dA)^T, and by
oneDNN as rnnkit passes it (x^T contiguous, dA^T as the weight). ratio = oneDNN / best MKL
(above 1: MKL is faster).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import torch

from rnnkit.functional.matmul import can_prepack, onednn_linear


def best_ms(fn) -> float:
    fn()
    best, spent, n = float("inf"), 0.0, 0
    while n < 3 or (spent < 0.3 and n < 50):
        start = time.process_time()
        fn()
        took = time.process_time() - start
        best, spent, n = min(best, took), spent + took, n + 1
    return best * 1e3


def row(M: int, G: int, K: int) -> str:
    x, W, d, b = torch.randn(M, K), torch.randn(G, K), torch.randn(M, G), torch.randn(G)
    proj = best_ms(lambda: torch.addmm(b, x, W.t())), best_ms(lambda: onednn_linear(x, W, b))
    dx = best_ms(lambda: d @ W), best_ms(lambda: onednn_linear(d, W.t(), None))
    dw_mkl = min(best_ms(lambda: d.t() @ x), best_ms(lambda: (x.t() @ d).t().contiguous()))
    dw_dnn = best_ms(lambda: onednn_linear(x.t().contiguous(), d.t(), None).t().contiguous())
    cells = [f"{a:8.2f} {o:8.2f} {o / a:5.2f}" for a, o in (proj, dx, (dw_mkl, dw_dnn))]
    return f"{M:6d} {G:5d} {K:4d} | " + " | ".join(cells)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", default="50,800,3200,12800", help="M = T x B")
    p.add_argument("--gates", default="256,768,1024,1536,2048", help="G = 1, 3 or 4 x H")
    p.add_argument("--inputs", default="64,256,512", help="K = input_size or H")
    args = p.parse_args(argv)
    if not can_prepack(torch.zeros(1))[0]:
        print(f"oneDNN cannot run here: {can_prepack(torch.zeros(1))[1]}", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    ints = lambda s: [int(v) for v in s.split(",")]  # noqa: E731
    print(f"# torch {torch.__version__}, 1 thread, CPU time, ms; ratio = oneDNN / MKL")
    print(f"{'M':>6} {'G':>5} {'K':>4} | {'projection: mkl onednn ratio':>24} | "
          f"{'dx: mkl onednn ratio':>24} | {'weight grad: mkl onednn ratio':>24}")
    for M, G, K in itertools.product(ints(args.rows), ints(args.gates), ints(args.inputs)):
        print(row(M, G, K), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
