"""`rnnkit env`: what a bug report needs (versions, threads, devices)."""

from __future__ import annotations

import os
import platform
import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "env", help="print versions, threads and devices (for bug reports)",
        description="Print versions, threads and devices, and the implementations impl='auto' "
        "has measured on this machine (rnnkit.backends.autotune: each layer shape is timed once, "
        "torch's kernel against rnnkit's loop, and kept in a cache).")
    p.add_argument("--auto", action="store_true",
                   help="also list every measured choice (shape, ratio, which runs)")
    p.set_defaults(run=run)


def collect() -> dict[str, str]:
    import numpy
    import torch

    from rnnkit import __version__
    from rnnkit.backends import autotune
    from rnnkit.functional import compiled, matmul

    info = {
        "rnnkit": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cpu_count": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "mkldnn": str(torch.backends.mkldnn.is_available()),
        "cuda": str(torch.cuda.is_available()),
        "compiled_kernels": compiled.status(),
        "product_library": matmul.product_library(),
        "auto": _auto_summary(autotune),
    }
    if torch.cuda.is_available():
        info["cuda_version"] = str(torch.version.cuda)
        for i in range(torch.cuda.device_count()):
            info[f"cuda:{i}"] = torch.cuda.get_device_name(i)
    mps = getattr(torch.backends, "mps", None)
    info["mps"] = str(bool(mps and mps.is_available()))
    return info


def _auto_summary(autotune) -> str:
    if autotune.mode() == "rules":
        return f"fixed rules ({autotune.ENV_MODE}=rules)"
    return (f"measured per layer shape, {len(autotune.saved_choices())} saved in "
            f"{autotune.cache_path()}")


def auto_lines() -> list[str]:
    """One line per saved measurement: the probe, the ratio, and what auto runs there."""
    from rnnkit.backends import autotune

    lines = []
    for key, entry in sorted(autotune.saved_choices().items()):
        impl, ratio = autotune.pick(entry)
        lines.append(f"{key:<48}  rnnkit's loop {ratio:5.2f}x torch's kernel -> {impl}")
    return lines


def run(args) -> int:
    info = collect()
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    if getattr(args, "auto", False):
        print("\n".join(auto_lines()) or "no measured choices yet (they are made on first use)")
    return 0
