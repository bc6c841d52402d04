"""`train.threads=auto`: the CPU thread count chosen by measuring the run's own training steps.

Whether a second thread helps depends on the machine and on what else runs on it: on an idle
2-core machine two threads train an LSTM language model faster, on one whose cores are busy
with other work each product waits for the slower thread and two ran several times slower
(BENCHMARKS.md, "Language modelling"). So nothing is assumed: the first steps of the run
alternate between the candidate counts (1, 2 and torch's default, at most 3 of them) in rounds,
the first round warming up each (its step times are not used), and after `ROUNDS` timed rounds
the count with the lowest median step time is kept for the rest of the run; a count with more
threads must beat the best with fewer by `MARGIN`, so a tie keeps the cores free for others.
The probe costs no extra steps (the probing steps train as usual), only the difference in speed
over its few steps. The choice and the step times it rests on go to the run log
(`metrics.jsonl`, an event "threads") and to the progress output.

On a CUDA device or under torchrun (several processes share the cores) `auto` keeps torch's
default: there the CPU thread count is not what the probe could judge by itself.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

ROUNDS = 2  # timed rounds after the warm-up round
MARGIN = 0.05  # more threads must be at least 5% faster


def candidates(default: int) -> list[int]:
    """1, 2 and torch's default count (as many as it would use), without repeats."""
    return sorted({1, min(2, max(1, default)), max(1, default)})


class ThreadProbe:
    """Alternates `set_threads(n)` over `counts` for (1 + ROUNDS) rounds of steps, then keeps
    the fastest. Call `before_step()` before each training step and `after_step(seconds)` after
    it; `after_step` returns the log line once the choice is made (else None)."""

    def __init__(self, counts: list[int], set_threads: Callable[[int], None], reason: str = ""):
        self.counts, self.set_threads = list(counts), set_threads
        self.order = [n for _ in range(1 + ROUNDS) for n in self.counts]
        self.times: dict[int, list[float]] = {n: [] for n in self.counts}
        self.position = 0
        self.chosen: int | None = None if len(self.counts) > 1 else self.counts[0]
        self.reason = ""
        if self.chosen is not None:  # nothing to measure
            set_threads(self.chosen)
            self.reason = f"{self.chosen} ({reason or 'the only candidate'})"

    @property
    def probing(self) -> bool:
        return self.chosen is None

    def before_step(self) -> None:
        if self.probing:
            self.set_threads(self.order[self.position])

    def after_step(self, seconds: float) -> str | None:
        if not self.probing:
            return None
        if self.position >= len(self.counts):  # the first round only warms up
            self.times[self.order[self.position]].append(seconds)
        self.position += 1
        if self.position < len(self.order):
            return None
        return self.finish()

    def finish(self) -> str:
        """Choose from the step times measured so far (all of them, or fewer when the run
        ended first); the log line."""
        if self.chosen is not None:
            return self.message()
        timed = {n: statistics.median(t) for n, t in self.times.items() if t}
        if not timed:  # the run ended within the warm-up round: keep the fewest threads
            self.chosen = self.counts[0]
            self.reason = f"{self.chosen} (the run ended before the probe timed a step)"
        else:
            best = min(timed)  # the fewest threads timed
            for n in sorted(timed):
                if timed[n] < timed[best] * (1 - MARGIN):
                    best = n
            self.chosen = best
            shown = ", ".join(f"{n} thread{'s' * (n > 1)} {1000 * t:.0f} ms"
                              for n, t in sorted(timed.items()))
            self.reason = (f"{best} (median step time over the first steps: {shown}; more "
                           f"threads must be {100 * MARGIN:.0f}% faster)")
        self.set_threads(self.chosen)
        return self.message()

    def message(self) -> str:
        return f"train.threads=auto: {self.reason}"

    def record(self) -> dict:
        """The event written to metrics.jsonl."""
        return {"event": "threads", "chosen": self.chosen,
                "median_step_s": {str(n): statistics.median(t)
                                  for n, t in self.times.items() if t}}


def auto_threads(device_type: str, distributed: bool) -> ThreadProbe:
    """The probe for train.threads=auto on this run: one that measures, or (CUDA, torchrun)
    one that has chosen torch's default already."""
    import torch

    default = torch.get_num_threads()
    if device_type != "cpu":
        return ThreadProbe([default], lambda n: None,
                           f"torch's default: the model runs on {device_type}")
    if distributed:
        return ThreadProbe([default], lambda n: None,
                           "torch's default: under torchrun the processes share the cores")
    return ThreadProbe(candidates(default), torch.set_num_threads,
                       "torch's default is 1 thread here")
