"""Device names from settings and command-line flags, checked before anything is built.

`check_threads(n, key)` takes 0 (torch's default) to MAX_THREADS CPU threads.
`check_device(name, key)` accepts "auto" (CUDA when available, else the CPU), "cpu", "cuda",
"cuda:N" and "mps", and refuses anything else, a CUDA device on a machine without CUDA, a CUDA
index beyond the machine's devices and "mps" where Metal is missing: one line naming the setting.
"""

from __future__ import annotations

import torch

from rnnkit.errors import ConfigError

KINDS = ("cpu", "cuda", "mps")
MAX_THREADS = 1024  # more CPU threads than any machine rnnkit runs on; torch overflows at 2^31


def check_threads(n: int, key: str) -> int:
    """`n` CPU threads (0 = torch's default), or a ConfigError naming `key`."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_THREADS:
        raise ConfigError(f"{key}: expected an integer in [0, {MAX_THREADS}] (0 = torch's "
                          f"default), got {n!r}")
    return n


def check_device(name: str, key: str) -> torch.device:
    """The torch.device `name` stands for on this machine, or a ConfigError naming `key`."""
    if not isinstance(name, str):
        raise ConfigError(f"{key}: expected a device name such as cpu, got {name!r}")
    if name.strip() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name.strip())
    except (RuntimeError, TypeError, ValueError):
        device = None
    if device is None or device.type not in KINDS:
        raise ConfigError(f"{key}: expected auto, cpu, cuda, cuda:N or mps, got {name!r}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"{key}={name}: CUDA is not available here; use cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(f"{key}={name}: no such CUDA device (this machine has {count}: "
                              f"cuda:0 to cuda:{count - 1})")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{key}={name}: Apple's MPS is not available here; use cpu")
    return device
