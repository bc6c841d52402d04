"""`rnnkit env`: what a bug report needs (versions, threads, devices)."""

from __future__ import annotations

import os
import platform
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("env", help="print versions, threads and devices (for bug reports)")
    p.set_defaults(run=run)


def collect() -> dict[str, str]:
    import numpy
    import torch

    from rnnkit import __version__
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
    }
    if torch.cuda.is_available():
        info["cuda_version"] = str(torch.version.cuda)
        for i in range(torch.cuda.device_count()):
            info[f"cuda:{i}"] = torch.cuda.get_device_name(i)
    mps = getattr(torch.backends, "mps", None)
    info["mps"] = str(bool(mps and mps.is_available()))
    return info


def run(args) -> int:
    info = collect()
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    return 0
