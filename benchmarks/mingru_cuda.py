"""minGRU / minLSTM on a CUDA GPU: the parallel scan checked against the CPU's float64 result,
then timed against the sequential scan on the same GPU and against torch.nn.GRU (cuDNN).

    python benchmarks/mingru_cuda.py             # needs a CUDA device; exits 1 where a check fails

Checks (raise on failure): the layer on the GPU (parallel scan) equals the same layer in float64
on the CPU (outputs, h_n and every gradient, with a start state, lengths, two layers, both
directions), and the float32 GPU scan is within 1e-5 relative of float64 at T = 4096.
Times: the training step (forward + backward, a fixed random upstream gradient), B = 16,
H = I = 256, one layer, float32, the median of 10 after 3 warm-ups, in ms.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

import rnnkit
from rnnkit.cells.scan_function import scan_layer
from rnnkit.functional import scan_seq


def check_layers(dev: str) -> None:
    for cls in (rnnkit.MinGRU, rnnkit.MinLSTM):
        torch.manual_seed(0)
        cpu = cls(5, 6, num_layers=2, bidirectional=True, dtype=torch.float64)
        gpu = cls(5, 6, num_layers=2, bidirectional=True, device=dev)
        gpu.load_state_dict(cpu.state_dict())
        x, h0 = torch.randn(300, 3, 5, dtype=torch.float64), torch.randn(4, 3, 6,
                                                                         dtype=torch.float64)
        lengths = torch.tensor([300, 17, 120])
        d_out, d_h = torch.randn(300, 3, 12, dtype=torch.float64), torch.randn(4, 3, 6,
                                                                              dtype=torch.float64)
        results = []
        for layer, dtype, where in ((cpu, torch.float64, "cpu"), (gpu, torch.float32, dev)):
            xi, hi = (t.to(where, dtype).requires_grad_() for t in (x, h0))
            out, h_n = layer(xi, hi, lengths=lengths)
            grads = torch.autograd.grad((out, h_n), [xi, hi, *layer.parameters()],
                                        (d_out.to(where, dtype), d_h.to(where, dtype)))
            results.append([t.detach().double().cpu() for t in (out, h_n, *grads)])
        assert gpu.last_impl == "parallel", gpu.last_impl
        for got, want in zip(results[1], results[0], strict=True):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        print(f"{cls.__name__}: the GPU layer (parallel scan) equals float64 on the CPU")


def check_precision(dev: str, T: int = 4096) -> None:
    for fam in (rnnkit.MinGRU.family, rnnkit.MinLSTM.family):
        g = torch.Generator().manual_seed(2)
        proj = torch.randn(T, 16, fam.gates * 256, generator=g)
        proj[..., :256] += -9.0 if fam.name == "mingru" else 9.0  # a state kept ~10^4 steps
        h0, d = torch.randn(16, 256, generator=g), torch.randn(T, 16, 256, generator=g)
        want = scan_seq.forward(fam, proj.double(), h0.double(), None, "sequential")
        want_g = scan_seq.backward(fam, d.double(), proj.double(), want, h0.double(), None,
                                   "sequential")
        p, h, dd = proj.to(dev), h0.to(dev), d.to(dev)
        out = scan_seq.forward(fam, p, h, None, "parallel")
        got_g = scan_seq.backward(fam, dd, p, out, h, None, "parallel")
        err = max(((a.double().cpu() - b).abs().max() / b.abs().max()).item()
                  for a, b in zip((out, *got_g), (want, *want_g), strict=True))
        print(f"{fam.name}: float32 parallel scan on the GPU against float64, T={T}: {err:.1e}")
        assert err < 1e-5


def median_ms(fn, dev: str) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(10):
        torch.cuda.synchronize(dev)
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def time_point(T: int, dev: str, B: int = 16, H: int = 256) -> list[float]:
    torch.manual_seed(0)
    x = torch.randn(T, B, H, device=dev, requires_grad=True)
    d_out = torch.randn(T, B, H, device=dev)
    gru, mg, ml = (m.to(dev) for m in (nn.GRU(H, H), rnnkit.MinGRU(H, H), rnnkit.MinLSTM(H, H)))

    def step(layer):
        return lambda: layer(x)[0].backward(d_out)

    def sequential():  # the same minGRU layer with the sequential scan forced
        h0 = torch.zeros(B, H, device=dev)
        out, _ = scan_layer(mg.family, x, mg.weight_ih_l0, mg.bias_ih_l0, h0, None, "sequential")
        out.backward(d_out)

    return [median_ms(step(gru), dev), median_ms(step(mg), dev),
            median_ms(sequential, dev) if T <= 1024 else float("nan"), median_ms(step(ml), dev)]


def timing(dev: str) -> None:
    print(f"\n{'T':>6} {'GRU':>10} {'MinGRU par':>10} {'MinGRU seq':>10} {'MinLSTM par':>10}"
          f"  (ms; seq only to T = 1024)")
    for T in (256, 1024, 4096):
        print(f"{T:>6} " + " ".join(f"{v:>10.2f}" for v in time_point(T, dev)), flush=True)


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/mingru_cuda.py needs a CUDA device; none is visible")
    dev = "cuda"
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name(dev)}")
    check_layers(dev)
    check_precision(dev)
    timing(dev)


if __name__ == "__main__":
    main()
