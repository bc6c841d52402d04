"""metrics.jsonl (one JSON object a line: every step, every evaluation, every guard event) and
TensorBoard event files when tensorboard is installed (it is not a dependency)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rnnkit.errors import RnnkitError
from rnnkit.files import open_append, refuse_link, write_text


class MetricsLog:
    def __init__(self, run_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.path = Path(run_dir) / "metrics.jsonl"
        self._file = None
        self._tb = None
        if not enabled:
            return
        self._file = open_append(self.path)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard not installed: metrics.jsonl only
            SummaryWriter = None
        if SummaryWriter is not None:
            self._tb = SummaryWriter(log_dir=str(refuse_link(Path(run_dir) / "tensorboard")))

    def write(self, kind: str, step: int, **values) -> None:
        if not self.enabled:
            return
        record = {"kind": kind, "step": step}
        record.update({k: _jsonable(v) for k, v in values.items()})
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def truncate_after(path: Path, step: int) -> None:
    """Drop records past `step` (written by a run that crashed after its last checkpoint), so a
    resumed run's metrics.jsonl reads as if it had never stopped."""
    path = Path(path)
    if not path.exists():
        return
    keep = [json.dumps(r) for r in read_metrics(path) if r.get("step", 0) <= step]
    write_text(path, "".join(line + "\n" for line in keep))


def read_metrics(path: Path) -> list[dict]:
    """The records of metrics.jsonl. A torn last line (a crash in the middle of a write) is
    skipped; a damaged line before it is an error naming the file and the line."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif number < len(lines):
            raise RnnkitError(f"{path}, line {number}: not a JSON record (the file is damaged); "
                              "delete the damaged lines, or start a new run")
    return records


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf": JSON has no literal for them
    return value
