"""The compiled time loops (lstm_kernel.cpp, rnn_kernel.cpp): built on first use, then loaded
from a cache.

The fused LSTM's per-step work is one matrix product and one pass over the step's elements; in
Python that pass is ~16 torch ops, each a dispatch and a trip through memory, which is where the
fused path lost to torch's oneDNN LSTM kernel (BENCHMARKS.md, "Layers"). lstm_kernel.cpp does the
pass in C++ and calls the product from there, registered as the torch ops
`torch.ops.rnnkit.lstm_forward_loop` / `lstm_backward_loop`. rnn_kernel.cpp does the same for the
Elman RNN and the GRU (`rnnkit::rnn_forward_loop` / `rnn_backward_loop`), where the Python
loop's per-step dispatch made inference at batch 1 slower than torch's kernels.
scan_kernel.cpp (`rnnkit::scan_forward_loop` / `scan_backward_loop`) is the gate math and linear
scan of minGRU and minLSTM (scan_seq.py). lstm_infer_kernel.cpp (`rnnkit::lstm_infer_loop`) is
the LSTM's forward without grad in one pass per step: input projection, recurrent product and
gates over register tiles, where a BLAS product per step plus a pass over the gates stayed
behind torch's oneDNN LSTM (BENCHMARKS.md, "Kernel design measurements").
lstm_variant_kernel.cpp (`rnnkit::lstmv_forward_loop` / `lstmv_backward_loop`) is the LSTM loop
with peepholes, layer norms, recurrent dropout masks and zoneout masks as optional inputs
(lstm_variant_seq.py), where the general Python loop of bptt.py paid ~240 torch ops a step;
gru_variant_kernel.cpp (`rnnkit::lngru_forward_loop` / `lngru_backward_loop`) is ln_gru's
(gru_variant_seq.py).

It is compiled once per machine and torch version with torch.utils.cpp_extension (a C++17
compiler and ninja; ~25 s) into `$TORCH_EXTENSIONS_DIR` (default ~/.cache/torch_extensions).
Where that cannot happen (no compiler, RNNKIT_COMPILE=0, a read-only cache), `available` says
why, a warning says it once, and the fused LSTM runs the same math as a Python loop
(lstm_seq.py), which is slower but equal to float rounding (tests/functional/test_compiled.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
import warnings
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

SOURCES = tuple(Path(__file__).with_name(n)
                for n in ("lstm_kernel.cpp", "rnn_kernel.cpp", "lstm_infer_kernel.cpp",
                          "scan_kernel.cpp", "lstm_variant_kernel.cpp",
                          "gru_variant_kernel.cpp"))
HEADERS = (Path(__file__).with_name("kernel_common.h"),)
# -fopenmp: at::parallel_for (lstm_infer_kernel.cpp) is inline code over `#pragma omp parallel`,
# serial without it; the library then takes torch's own libgomp (already loaded, same soname),
# so torch.set_num_threads governs it.
FLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-fopenmp")
LDFLAGS = ("-fopenmp",)
_STALE_LOCK_S = 600  # a build lock older than this was left by a killed build


def _name() -> str:
    """rnnkit_lstm_<vector capability>_<hash of source, flags, torch and the CPU's features>:
    -march=native makes the binary for this CPU, so a cache shared with another machine must
    not hand it these instructions, and two rnnkit versions (or flag sets) on one machine each
    keep their own build instead of rebuilding over each other."""
    capability = torch.backends.cpu.get_cpu_capability().lower()
    key = hashlib.blake2b(digest_size=4)
    files = [f.read_bytes() for f in (*SOURCES, *HEADERS)]
    for part in (*files, " ".join(FLAGS + LDFLAGS).encode(), torch.__version__.encode(),
                 _cpu_features().encode()):
        key.update(part + b"\0")
    return f"rnnkit_lstm_{capability}_{key.hexdigest()}"


def _missing() -> Path | None:
    return next((f for f in (*SOURCES, *HEADERS) if not f.exists()), None)


def _cpu_features() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return ""


def _build_dir() -> Path:
    root = os.environ.get("TORCH_EXTENSIONS_DIR") or Path.home() / ".cache" / "torch_extensions"
    tag = f"torch{torch.__version__.split('+')[0]}".replace(".", "_")
    return Path(root) / tag / _name()


def _ensure_ninja() -> None:
    """torch's builder runs `ninja` from PATH; the `ninja` wheel puts it beside the interpreter."""
    if shutil.which("ninja") is None:
        bin_dir = Path(sys.executable).parent
        if (bin_dir / "ninja").exists():
            os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def _clear_stale_lock(build_dir: Path) -> None:
    lock = build_dir / "lock"
    if lock.exists() and time.time() - lock.stat().st_mtime > _STALE_LOCK_S:
        lock.unlink(missing_ok=True)


@cache
def _load() -> tuple[bool, str]:
    if os.environ.get("RNNKIT_COMPILE", "1") == "0":
        return False, "RNNKIT_COMPILE=0 turns the compiled loops off"
    if _missing():
        return False, f"the kernel source {_missing()} is missing from this installation"
    from torch.utils import cpp_extension

    _ensure_ninja()
    if shutil.which("ninja") is None:
        return False, "ninja is not on PATH (pip install ninja)"
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        return False, "no C++ compiler (c++ or $CXX) on PATH"
    build_dir = _build_dir()
    try:
        build_dir.mkdir(parents=True, exist_ok=True)
        _clear_stale_lock(build_dir)
        fresh = not any(build_dir.glob("*.so"))
        if fresh:
            print(f"rnnkit: compiling the recurrent kernels once into {build_dir} (about 25 s)",
                  file=sys.stderr, flush=True)
        # copies of the flags: load() extends the lists it is given
        cpp_extension.load(name=_name(), sources=[str(f) for f in SOURCES],
                           extra_cflags=list(FLAGS), extra_ldflags=list(LDFLAGS),
                           build_directory=str(build_dir), is_python_module=False)
        _self_test()
    except (OSError, RuntimeError, ImportError) as err:  # compiler, loader or self-test failures
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return False, f"building or loading the compiled kernels failed: {first}"
    return True, f"compiled kernel loaded from {build_dir}"


def _self_test() -> None:
    """One tiny step through each product the kernel can take (oneDNN packed, BLAS, torch.mm),
    checked against torch: a torch whose operator signatures differ from the ones compiled
    against fails here, at load, instead of inside a user's forward."""
    from rnnkit.functional.matmul import loop_weight

    g = torch.Generator().manual_seed(0)
    for B in (1, 2):
        W = torch.randn(8, 2, generator=g)  # W_hh of H = 2
        A, h0, c0 = (torch.randn(*s, generator=g) for s in ((1, B, 8), (B, 2), (B, 2)))
        i, f, g_, o = (A[0] + h0 @ W.t()).split(2, dim=1)  # gate order i, f, g, o
        c = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g_)
        expected = torch.sigmoid(o) * torch.tanh(c)
        C, TC, out = torch.empty(1, B, 2), torch.empty(1, B, 2), torch.empty(1, B, 2)
        weight, packed = loop_weight(W, B)
        forward_loop(A.clone(), weight, packed, h0, c0, False, C, TC, out)
        if not torch.allclose(out[0], expected, atol=1e-5):
            raise RuntimeError(f"the kernel's self-test disagrees with torch at batch {B}")
        x, W3 = torch.randn(1, B, 6, generator=g), torch.randn(6, 2, generator=g)  # H = 2
        r, z, _ = (x[0] + h0 @ W3.t()).split(2, dim=1)  # GRU without b_hh: gates r, z, n
        n = torch.tanh(x[0, :, 4:] + torch.sigmoid(r) * (h0 @ W3[4:].t()))
        expected = n + torch.sigmoid(z) * (h0 - n)
        weight, packed = loop_weight(W3, B)
        rnn_forward_loop(x, weight, packed, None, h0, False, RNN_KINDS["gru"], out)
        if not torch.allclose(out[0], expected, atol=1e-5):
            raise RuntimeError(f"the GRU kernel's self-test disagrees with torch at batch {B}")
        x, W_ih, bias = (torch.randn(*s, generator=g) for s in ((1, B, 3), (8, 3), (8,)))
        i, f, g_, o = (x[0] @ W_ih.t() + bias + h0 @ W.t()).split(2, dim=1)
        c = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g_)
        c_n = torch.empty(B, 2)
        infer_loop(x, W_ih, W, bias, h0, c0, False, torch.empty(infer_workspace(B, 3, 2)), out,
                   c_n)
        if not torch.allclose(c_n, c, atol=1e-5):
            raise RuntimeError(f"the one-pass LSTM's self-test disagrees with torch at batch {B}")
        k, cand = torch.randn(2, 1, B, 2, generator=g)  # minGRU: gate and candidate, H = 2
        expected = h0 + torch.sigmoid(k[0]) * (cand[0] - h0)
        torch.ops.rnnkit.scan_forward_loop(torch.cat([k, cand], 2), h0, None, 0, out)
        if not torch.allclose(out[0], expected, atol=1e-5):
            raise RuntimeError(f"the minGRU scan's self-test disagrees with torch at batch {B}")
        _self_test_variants(g, B)


def _self_test_variants(g: torch.Generator, B: int) -> None:
    """One step of the variant loops (lstm_variant_kernel.cpp, gru_variant_kernel.cpp) against
    torch: the LSTM with peepholes, and ln_gru."""
    from rnnkit.functional.matmul import loop_weight

    W, A = torch.randn(8, 2, generator=g), torch.randn(1, B, 8, generator=g)  # H = 2
    h0, c0, peep = (torch.randn(*s, generator=g) for s in ((B, 2), (B, 2), (3, 2)))
    i, f, g_, o = (A[0] + h0 @ W.t()).split(2, dim=1)
    i, f = torch.sigmoid(i + peep[0] * c0), torch.sigmoid(f + peep[1] * c0)
    c = f * c0 + i * torch.tanh(g_)
    expected = torch.sigmoid(o + peep[2] * c) * torch.tanh(c)
    C, TC, out = torch.empty(1, B, 2), torch.empty(1, B, 2), torch.empty(1, B, 2)
    torch.ops.rnnkit.lstmv_forward_loop(A.clone(), *loop_weight(W, B), h0, c0, False, None, None,
                                        None, None, peep, None, None, C, TC, out, C, None, None,
                                        None)
    if not torch.allclose(out[0], expected, atol=1e-5):
        raise RuntimeError(f"the LSTM variant loop's self-test disagrees with torch at batch {B}")
    W3, A3, gain = torch.randn(6, 2, generator=g), torch.randn(1, B, 6, generator=g), torch.ones(6)
    a_h = torch.nn.functional.layer_norm(h0 @ W3.t(), (6,), eps=1e-5)
    r, z = torch.sigmoid(A3[0, :, :4] + a_h[:, :4]).split(2, dim=1)
    n = torch.tanh(A3[0, :, 4:] + r * a_h[:, 4:])
    expected = n + z * (h0 - n)
    torch.ops.rnnkit.lngru_forward_loop(A3, *loop_weight(W3, B), h0, False, None, None, None,
                                        gain, None, out, torch.empty(1, B, 8),
                                        torch.empty(1, B, 6), torch.empty(1, B))
    if not torch.allclose(out[0], expected, atol=1e-5):
        raise RuntimeError(f"the ln_gru loop's self-test disagrees with torch at batch {B}")


def status() -> str:
    """Where the kernel stands, without building it (for `rnnkit env`)."""
    if os.environ.get("RNNKIT_COMPILE", "1") == "0":
        return "off (RNNKIT_COMPILE=0)"
    if _load.cache_info().currsize:
        return _load()[1]
    if _missing():
        return f"unavailable: the kernel source {_missing()} is missing from this installation"
    built = any(_build_dir().glob("*.so"))
    return f"built in {_build_dir()}" if built else "not built yet (compiles on first fused LSTM)"


def available(x: Tensor, warn: bool = True) -> tuple[bool, str]:
    """Whether the compiled loops run for a sequence like x: CPU, float32 or float64, built.
    warn: say once why not (off for `auto`, which then simply takes torch's kernel)."""
    if x.device.type != "cpu":
        return False, f"the compiled loops are for the CPU, the input is on {x.device.type}"
    if x.dtype not in (torch.float32, torch.float64):
        return False, f"the compiled loops take float32 or float64, got {x.dtype}"
    ok, reason = _load()
    if not ok and warn:
        _warn_once(reason)
    return ok, reason


@cache
def _warn_once(reason: str) -> None:
    warnings.warn(f"rnnkit: the fused layers run their Python loops: {reason}", stacklevel=3)


# Thin wrappers, one per kernel op; the arguments and their shapes are documented above each
# op's C++ function (lstm_kernel.cpp, rnn_kernel.cpp, lstm_infer_kernel.cpp).

def forward_loop(gates, weight, packed, h0, c0, reverse, cell, tanh_cell, out) -> None:
    torch.ops.rnnkit.lstm_forward_loop(gates, weight, packed, h0, c0, reverse, cell, tanh_cell,
                                       out)


def infer_loop(x, W_ih, W_hh, bias, h0, c0, reverse, work, out, c_n) -> None:
    torch.ops.rnnkit.lstm_infer_loop(x, W_ih, W_hh, bias, h0, c0, reverse, work, out, c_n)


def infer_workspace(B: int, I: int, H: int) -> int:
    """Floats of workspace infer_loop needs for this batch, input and hidden size."""
    return torch.ops.rnnkit.lstm_infer_workspace(B, I, H)


@cache
def infer_lanes() -> int:
    """Batch elements per vector in infer_loop (16 with AVX-512, else 8)."""
    return torch.ops.rnnkit.lstm_infer_lanes()


RNN_KINDS = {"tanh": 0, "relu": 1, "gru": 2}  # rnn_kernel.cpp's `kind`


def transpose_into(src: Tensor, out: Tensor) -> None:
    """out (K, N) <- src (N, K)^T, both contiguous, by blocks (kernel_common.h)."""
    torch.ops.rnnkit.transpose_into(src, out)


def rnn_forward_loop(proj, weight, packed, b_hh, h0, reverse, kind: int, out, gates=None) -> None:
    torch.ops.rnnkit.rnn_forward_loop(proj, weight, packed, b_hh, h0, reverse, kind, out, gates)


def rnn_backward_loop(d_out, dh_final, out, h0, gates, weight, packed, reverse, kind: int, dgx,
                      dgh, dh_seen):
    return torch.ops.rnnkit.rnn_backward_loop(d_out, dh_final, out, h0, gates, weight, packed,
                                              reverse, kind, dgx, dgh, dh_seen)


def backward_loop(d_out, dh_final, dc_final, gates, cell, tanh_cell, c0, weight, packed, reverse,
                  d_gates, dh_seen):
    return torch.ops.rnnkit.lstm_backward_loop(d_out, dh_final, dc_final, gates, cell, tanh_cell,
                                               c0, weight, packed, reverse, d_gates, dh_seen)
