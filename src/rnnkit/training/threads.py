"""`train.threads=auto`: the CPU thread count chosen by measuring the run's own training steps.

Whether a second thread helps depends on the machine and on what else runs on it: on an idle
2-core machine two threads train an LSTM language model faster, on one whose cores are busy with
other work each product waits for the slower thread and two ran several times slower
(BENCHMARKS.md, "Language modelling"). So nothing is assumed. First a product test (`screen`:
one 64x512 @ 512x2048 product, ~1 ms, 5 times under each count, interleaved) leaves out the
candidate counts (1, 2 and torch's default, at most 3) over DROP x slower than the best: on a
busy machine one training step with two threads took 28 s against 1.4 s with one, which the
product test costs ~0.1 s to see. Then the run's first step warms up (untimed, with the fewest
threads), and the next steps try the counts left in rounds, one step each; after each round a
count whose median step time is over DROP x the best's is dropped (so a count that is much
slower costs one step), and after `ROUNDS` rounds, or when one count is left, the count with the
lowest median is kept for the rest of the run. A count with more threads must beat the best with
fewer by `MARGIN`, so a tie keeps the cores free for others. The probing steps train as usual;
the probe costs only the slower counts' extra time. The choice and the step times it rests on go
to the run log (`metrics.jsonl`, an event "threads") and to the progress output.

On a CUDA device or under torchrun (several processes share the cores) `auto` keeps torch's
default: there the CPU thread count is not what the probe could judge by itself.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

ROUNDS = 2  # timed rounds at most
MARGIN = 0.05  # more threads must be at least 5% faster
DROP = 1.5  # after a round, a count slower than this x the best is not tried again


def candidates(default: int) -> list[int]:
    """1, 2 and torch's default count (as many as it would use), without repeats."""
    return sorted({1, min(2, max(1, default)), max(1, default)})


class ThreadProbe:
    """Sets the thread count of each probing step (`set_threads(n)`), then keeps the fastest.
    Call `before_step()` before each training step and `after_step(seconds)` after it;
    `after_step` returns the log line once the choice is made (else None)."""

    def __init__(self, counts: list[int], set_threads: Callable[[int], None], reason: str = ""):
        self.counts, self.set_threads = list(counts), set_threads
        self.times: dict[int, list[float]] = {n: [] for n in self.counts}
        self.warming = True  # the run's first step: allocation, kernel set-up; not timed
        self.rounds = 0
        self.alive = list(self.counts)  # the counts still in the running
        self.queue = list(self.counts)  # the counts this round has still to time
        self.chosen: int | None = None if len(self.counts) > 1 else self.counts[0]
        self.product_s: dict[int, float] = {}  # `screen`'s product times, where it ran
        self.reason = ""
        if self.chosen is not None:  # nothing to measure
            set_threads(self.chosen)
            self.reason = f"{self.chosen} ({reason or 'the only candidate'})"

    @property
    def probing(self) -> bool:
        return self.chosen is None

    def before_step(self) -> None:
        if self.probing:
            self.set_threads(self.counts[0] if self.warming else self.queue[0])

    def after_step(self, seconds: float) -> str | None:
        if not self.probing:
            return None
        if self.warming:
            self.warming = False
            return None
        self.times[self.queue.pop(0)].append(seconds)
        if self.queue:
            return None
        self.rounds += 1  # a round is done: drop the counts far behind the best
        medians = {n: statistics.median(self.times[n]) for n in self.alive}
        best = min(medians.values())
        self.alive = [n for n in self.alive if medians[n] <= DROP * best]
        if self.rounds >= ROUNDS or len(self.alive) == 1:
            return self.finish()
        self.queue = list(self.alive)
        return None

    def finish(self) -> str:
        """Choose from the step times measured so far (all of them, or fewer when the run
        ended first); the log line."""
        if self.chosen is not None:
            return self.message()
        measured = {n: statistics.median(t) for n, t in self.times.items() if t}
        timed = {n: t for n, t in measured.items() if n in self.alive}
        if not timed:  # the run ended before the first timed step: keep the fewest threads
            self.chosen = self.counts[0]
            self.reason = f"{self.chosen} (the run ended before the probe timed a step)"
        else:
            best = min(timed)  # the fewest threads timed
            for n in sorted(timed):
                if timed[n] < timed[best] * (1 - MARGIN):
                    best = n
            self.chosen = best
            shown = ", ".join(f"{n} thread{'s' * (n > 1)} {1000 * t:.0f} ms"
                              for n, t in sorted(measured.items()))
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
                                  for n, t in self.times.items() if t},
                "median_product_s": {str(n): t for n, t in self.product_s.items()}}


def screen(counts: list[int], set_threads: Callable[[int], None],
           rounds: int = 5) -> dict[int, float]:
    """Median seconds of one (64 x 512) @ (512 x 2048) float32 product (about 1 ms on one idle
    core) under each count, in interleaved rounds after a warm-up: a cheap first look, so that a
    count that is far behind (on a busy machine, a product that waits for a descheduled thread)
    never costs a whole training step."""
    import torch

    a, b = torch.randn(64, 512), torch.randn(512, 2048)
    times: dict[int, list[float]] = {n: [] for n in counts}
    for r in range(rounds + 1):
        for n in counts:
            set_threads(n)
            t0 = time.perf_counter()
            torch.mm(a, b)
            if r:  # round 0 warms up
                times[n].append(time.perf_counter() - t0)
    return {n: statistics.median(t) for n, t in times.items()}


def auto_threads(device_type: str, distributed: bool) -> ThreadProbe:
    """The probe for train.threads=auto on this run: one that measures, or (CUDA, torchrun)
    one that has chosen torch's default already. The counts a product test puts over DROP x
    the best are left out before any training step tries them."""
    import torch

    default = torch.get_num_threads()
    if device_type != "cpu":
        return ThreadProbe([default], lambda n: None,
                           f"torch's default: the model runs on {device_type}")
    if distributed:
        return ThreadProbe([default], lambda n: None,
                           "torch's default: under torchrun the processes share the cores")
    counts = candidates(default)
    if len(counts) == 1:
        return ThreadProbe(counts, torch.set_num_threads, "torch's default is 1 thread here")
    product = screen(counts, torch.set_num_threads)
    best = min(product.values())
    kept = [n for n in counts if product[n] <= DROP * best]
    shown = ", ".join(f"{n} thread{'s' * (n > 1)} {1e3 * t:.2f} ms" for n, t in product.items())
    probe = ThreadProbe(kept, torch.set_num_threads,
                        f"a 64x512 @ 512x2048 product took {shown}: the others are over "
                        f"{DROP}x slower than the best")
    probe.product_s = product
    return probe
