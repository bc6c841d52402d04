"""Progress: a rich progress bar on a terminal; plain periodic lines when stdout is not a TTY
or the environment says CI=true (logs stay readable)."""

from __future__ import annotations

import os
import sys
import time


def use_rich(stream=None) -> bool:
    stream = stream or sys.stdout
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    return stream.isatty() and not ci


class Progress:
    """Reports training steps. `total` is the step budget (0 = unknown), `minutes` the time
    budget of this invocation (0 = none); the ETA is the sooner of the two limits."""

    def __init__(self, total: int, start_step: int, unit: str, every: int, enabled: bool = True,
                 fancy: bool | None = None, minutes: float = 0.0):
        self.total, self.unit, self.every, self.enabled = total, unit, max(1, every), enabled
        self.start_step, self.minutes = start_step, minutes
        self.t0 = time.perf_counter()
        self.fancy = use_rich() if fancy is None else fancy
        self._bar = None
        if self.enabled and self.fancy:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
            from rich.progress import Progress as RichProgress
            self._bar = RichProgress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"),
                                     TextColumn("eta {task.fields[eta]}"))
            self._bar.start()
            self._task = self._bar.add_task("train", total=total or None, completed=start_step,
                                            info="", eta=self._eta(start_step))

    def update(self, step: int, loss: float, grad_norm: float, lr: float, rate: float) -> None:
        if not self.enabled:
            return
        info = f"loss {loss:.4f} | gnorm {grad_norm:.3g} | lr {lr:.2e} | {rate:,.0f} {self.unit}/s"
        if self._bar is not None:
            self._bar.update(self._task, completed=step, info=info, eta=self._eta(step))
        elif step % self.every == 0 or step == self.total:
            total = f"/{self.total}" if self.total else ""
            print(f"step {step}{total} | {info} | eta {self._eta(step)}", flush=True)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _eta(self, step: int) -> str:
        done, elapsed = step - self.start_step, time.perf_counter() - self.t0
        left = []
        if self.total and done > 0:
            left.append(elapsed / done * max(0, self.total - step))
        if self.minutes:
            left.append(max(0.0, 60 * self.minutes - elapsed))
        if not left:
            return "?"
        seconds = min(left)
        minutes, secs = divmod(int(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
