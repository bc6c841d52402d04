"""impl="auto" by measurement: on first use of a layer shape on a machine, time torch's kernel
against rnnkit's loop, keep the faster, and remember it (issue #20).

Fixed per-vendor thresholds went stale: on an AMD EPYC they kept torch's GRU at B = 32, H = 64
(1.05x torch.nn) where rnnkit's compiled loop measured 1.69x, because they dated from before the
compiled loops. A short measurement at the real shape cannot go stale that way.

- What is measured: one unidirectional layer of the call's cell family at its batch, input and
  hidden sizes (batch and input rounded up to a power of two, so a handful of probes cover a
  run), `STEPS` time steps, forward only or forward + backward as the call needs, with and
  without a length mask as the call has one; each implementation `REPEATS` times, interleaved
  after a warm-up, the fastest of each kept (wall clock: the layers use every thread torch has).
  About 0.05-0.5 s per probe, once per machine. The probe draws from its own generator: the
  caller's random stream is not touched.
- The choice: rnnkit's loop only where it is at least MARGIN (5%) faster than torch's kernel
  (torch's kernel is the one more users have run, so a tie goes to it).
- The cache: `RNNKIT_CACHE_DIR` (default ~/.cache/rnnkit, beside torch's own compiled-extension
  cache) holds one JSON file per machine, torch version and kernel build
  (`auto-<key>.json`), written whole and atomically by rnnkit.files. A directory that cannot be
  written keeps the choices for this process only, and the reason says so. The file holds only
  what this module wrote: delete it to measure again.
- `RNNKIT_AUTO=rules` turns measurement off: the fixed rules of rnnkit.backends.dispatch decide
  (the test suite runs that way, so its choices do not depend on the machine's load).

The measuring itself needs the layers (a level above this one), so rnnkit.layers registers it
here (`set_measurer`); until then, and while torch traces or compiles a graph, the rules decide.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from rnnkit.files import write_json

MARGIN = 1.05
STEPS = 24
REPEATS = 3
ENV_MODE = "RNNKIT_AUTO"
ENV_DIR = "RNNKIT_CACHE_DIR"
MODES = ("measure", "rules")


@dataclass(frozen=True)
class Probe:
    """What a measurement depends on (its key in the cache)."""

    mode: str
    reset_after: bool
    batch: int  # the call's batch, rounded up to a power of two
    input_size: int  # rounded up to a power of two
    hidden_size: int
    training: bool
    masked: bool
    dtype: str
    threads: int

    def key(self) -> str:
        return (
            f"{self.mode}/{'after' if self.reset_after else 'before'}/B{self.batch}/"
            f"I{self.input_size}/H{self.hidden_size}/{'train' if self.training else 'infer'}"
            f"/{'masked' if self.masked else 'full'}/{self.dtype}/t{self.threads}"
        )


Measurer = Callable[[Probe], tuple[float, float]]  # probe -> (native seconds, fused seconds)
_measurer: Measurer | None = None
_memory: dict[str, dict] = {}  # key -> entry, this process's choices (also those not saved)
_unsaved_reason: str = ""


def set_measurer(fn: Measurer | None) -> None:
    """rnnkit.layers gives the function that times both implementations of a probe."""
    global _measurer
    _measurer = fn


def mode() -> str:
    value = os.environ.get(ENV_MODE, "measure").strip().lower() or "measure"
    if value not in MODES:
        raise ValueError(f"{ENV_MODE}={value!r}: expected one of {', '.join(MODES)}")
    return value


def _pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def probe_for(spec, x: torch.Tensor, training: bool, masked: bool) -> Probe:
    """The probe of a layer call: spec a dispatch.LayerSpec, x the time-major input (T, B, I)."""
    return Probe(
        spec.mode,
        bool(spec.reset_after),
        _pow2(x.shape[1]),
        _pow2(x.shape[2]),
        int(spec.hidden_size),
        bool(training),
        bool(masked),
        str(x.dtype).removeprefix("torch."),
        torch.get_num_threads(),
    )


def machine() -> dict[str, str]:
    """What makes a measurement this machine's: the CPU, torch, and rnnkit's kernel build."""
    from rnnkit.functional import compiled

    flags = compiled._cpu_features()
    return {
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "cpu_flags": hashlib.blake2b(flags.encode(), digest_size=6).hexdigest(),
        "torch": torch.__version__,
        "kernels": compiled._name(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            line = next((ln for ln in f if ln.startswith("model name")), "")
    except OSError:
        return ""
    return line.split(":", 1)[1].strip() if ":" in line else ""


def cache_path() -> Path:
    root = os.environ.get(ENV_DIR) or Path.home() / ".cache" / "rnnkit"
    digest = hashlib.blake2b(json.dumps(machine(), sort_keys=True).encode(), digest_size=6)
    return Path(root) / f"auto-{digest.hexdigest()}.json"


def _read(path: Path) -> dict:
    """The saved choices, or {} when there are none or the file is not one of ours."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("machine") != machine():
        return {}
    choices = data.get("choices")
    return choices if isinstance(choices, dict) else {}


def _save(path: Path, key: str, entry: dict) -> None:
    global _unsaved_reason
    choices = _read(path)  # another process may have added some since
    choices[key] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, {"machine": machine(), "choices": choices})
        _unsaved_reason = ""
    except OSError as err:
        _unsaved_reason = f"not saved: {path.parent} cannot be written ({err.strerror or err})"


def entry_for(probe: Probe) -> dict | None:
    """The measured entry of a probe (from this process, the cache, or a new measurement), or
    None when measurement is off or impossible here."""
    if mode() == "rules" or _measurer is None or _tracing():
        return None
    key = probe.key()
    if key in _memory:
        return _memory[key]
    path = cache_path()
    entry = _read(path).get(key)
    if not _valid(entry):
        native_s, fused_s = _measurer(probe)
        entry = {
            "native_s": native_s,
            "fused_s": fused_s,
            "measured": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "probe": asdict(probe),
        }
        _save(path, key, entry)
    _memory[key] = entry
    return entry


def _valid(entry) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), (int, float)) and entry[k] > 0 for k in ("native_s", "fused_s")
    )


def _tracing() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def pick(entry: dict) -> tuple[str, float]:
    """(impl, ratio) of a measured entry; ratio > 1: rnnkit's loop was the faster."""
    ratio = entry["native_s"] / entry["fused_s"]
    return ("fused" if ratio >= MARGIN else "native"), ratio


def decide(entry: dict, probe: Probe) -> tuple[str, str]:
    """(impl, reason) from a measured entry."""
    impl, ratio = pick(entry)
    where = (
        f"measured on this machine at B<={probe.batch}, I<={probe.input_size}, "
        f"H={probe.hidden_size}, {'training' if probe.training else 'inference'}"
        f"{', masked' if probe.masked else ''}: rnnkit's loop {ratio:.2f}x torch's kernel"
    )
    saved = f"; {_unsaved_reason}" if _unsaved_reason else f" ({cache_path()})"
    if impl == "fused":
        return "fused", where + saved
    return "native", where + f" (rnnkit's loop is taken from {MARGIN:.2f}x on)" + saved


def saved_choices() -> dict[str, dict]:
    """Every valid measurement saved for this machine (what `rnnkit env --auto` lists)."""
    return {k: v for k, v in _read(cache_path()).items() if _valid(v)}


def forget_process_choices() -> None:
    """Drop this process's remembered choices (tests, or after changing RNNKIT_CACHE_DIR)."""
    _memory.clear()
