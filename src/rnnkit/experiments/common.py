"""What the classic experiments share: the model, its initialisation, the training loop.

Each experiment (adding, copy, blocks) is a `Problem`: a seeded batch generator, the loss and the
error it reports, and its memoryless baseline. `train_problem` runs a plain Adam loop for a fixed
number of steps (so results do not depend on the machine's speed), evaluates on fresh sequences
every `eval_every` steps, and records the gradient flow at the start and at the end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

import rnnkit
from rnnkit.functional import registry
from rnnkit.layers.init import chrono_init_, lstm_forget_bias_

INITS = ("default", "chrono")


def gated(cell: str) -> bool:
    """Whether chrono initialises this cell: it has a forget gate (the Elman RNN has none)."""
    return registry.get(cell, key="--cells").forget_gate is not None


class SequenceModel(nn.Module):
    """One recurrent layer and a linear head: on the last step (`many_to_one`) or on every step.

    init "default": torch's init, and the LSTM's forget-gate bias at `forget_bias`. init "chrono":
    chrono_init_ with `chrono_tmax` on an LSTM or GRU (`generator` draws its biases); an Elman
    RNN keeps the default.
    """

    def __init__(self, cell: str, inputs: int, hidden: int, outputs: int, many_to_one: bool,
                 forget_bias: float = 1.0, init: str = "default", chrono_tmax: float | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.rnn = rnnkit.Recurrent(cell, inputs, hidden)
        if init == "chrono" and gated(cell):
            if chrono_tmax is None:
                raise ValueError("SequenceModel: chrono_tmax: expected a number > 2, got None")
            chrono_init_(self.rnn, chrono_tmax, generator)
        elif self.rnn.family.lstm_like:  # start the forget gate open (see lstm_forget_bias_)
            lstm_forget_bias_(self.rnn, forget_bias)
        self.head = nn.Linear(hidden, outputs)
        self.many_to_one = many_to_one

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)  # (T, B, H)
        return self.head(out[-1] if self.many_to_one else out)


@dataclass
class Problem:
    """A generated task: batches, loss, the error reported and the baseline to beat."""

    name: str
    inputs: int
    outputs: int
    many_to_one: bool
    batch: Callable[[int, int, torch.Generator], tuple[Tensor, Tensor]]  # (B, T, gen) -> (x, y)
    loss: Callable[[Tensor, Tensor], Tensor]  # (model output, target) -> scalar
    baseline: Callable[[int], float]  # T -> the memoryless error
    error_name: str
    error: Callable[[Tensor, Tensor], float] | None = None  # defaults to the loss


@dataclass
class RunSettings:
    steps: int = 2000
    hidden: int = 128
    batch: int = 50
    lr: float = 1e-3
    clip: float | None = 1.0  # max gradient norm, None for no clipping
    eval_every: int = 100
    eval_size: int = 1000
    seed: int = 0
    stop_below: float | None = None  # stop once the evaluation error is below this
    init_scale: float | None = None  # rescale W_hh to this spectral radius (exploding demo)
    forget_bias: float = 1.0  # the LSTM's initial forget-gate bias (init "default")
    init: str = "default"  # or "chrono": chrono_init_ on LSTM and GRU (see SequenceModel)
    chrono_tmax: int | None = None  # chrono's t_max; None: the run's length T
    optimizer: str = "adam"  # or "sgd": plain steps, where an exploding gradient shows in full


@dataclass
class RunResult:
    problem: str
    cell: str  # the label: cell name, then " chrono" when chrono-initialised
    length: int
    baseline: float
    error: float  # on fresh sequences after training
    steps: int
    seconds: float
    curve: list[tuple[int, float, float]] = field(default_factory=list)  # step, train, eval
    grad_norms: list[float] = field(default_factory=list)  # total gradient norm per step
    flow_start: dict | None = None  # dL/dh_t norms against distance before training
    flow_end: dict | None = None  # ... and after
    diverged_at: int | None = None  # the step whose loss was not finite (the run stops there)
    init: str = "default"  # what the recurrent layer started from: "default" or "chrono"
    chrono_tmax: int | None = None  # t_max when init is "chrono"


def scale_recurrent(rnn: nn.Module, radius: float) -> None:
    """Rescale every W_hh gate block to spectral radius `radius` (a large one explodes)."""
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            H = p.shape[1]
            with torch.no_grad():
                for k in range(p.shape[0] // H):
                    block = p[k * H:(k + 1) * H]
                    rho = torch.linalg.eigvals(block).abs().max().item()
                    block.mul_(radius / max(rho, 1e-12))


def evaluate(model: nn.Module, problem: Problem, length: int, size: int, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    with torch.no_grad():
        x, y = problem.batch(size, length, gen)
        out = model(x)
        err = (problem.error or problem.loss)(out, y)
    model.train()
    return float(err)


def gradient_flow(model: nn.Module, problem: Problem, length: int, seed: int) -> dict:
    """dL/dh_t norms (batch mean of the L2 norm) by distance from the last step, one batch."""
    from rnnkit.diagnostics import record_state_grads

    x, y = problem.batch(64, length, torch.Generator().manual_seed(seed))
    model.zero_grad()
    with record_state_grads(model) as rec:
        problem.loss(model(x), y).backward()
    model.zero_grad()
    norms = rec.norms()["rnn"][0, 0]  # (steps,) in time order; copy has T + 20 steps
    return {"distance": list(range(len(norms))), "norm": norms.flip(0).tolist()}


def check_init(s: RunSettings) -> None:
    if s.init not in INITS:
        raise ValueError(f"--init: expected one of {', '.join(INITS)}, got {s.init!r}")
    if s.chrono_tmax is not None and not s.chrono_tmax > 2:
        raise ValueError(f"--chrono-tmax: expected an integer > 2, got {s.chrono_tmax}")


def train_problem(problem: Problem, cell: str, length: int, s: RunSettings,
                  on_eval: Callable[[int, float, float], None] | None = None) -> RunResult:
    """Adam on fresh batches for `s.steps` steps; see the module docstring."""
    check_init(s)
    torch.manual_seed(s.seed)
    gen = torch.Generator().manual_seed(s.seed)
    chrono = s.init == "chrono" and gated(cell)
    tmax = (s.chrono_tmax or length) if chrono else None
    model = SequenceModel(cell, problem.inputs, s.hidden, problem.outputs, problem.many_to_one,
                          s.forget_bias, "chrono" if chrono else "default", tmax,
                          torch.Generator().manual_seed(s.seed + 3))
    if s.init_scale is not None:
        scale_recurrent(model.rnn, s.init_scale)
    result = RunResult(problem.name, cell + (" chrono" if chrono else ""), length,
                       problem.baseline(length), math.nan, 0, 0.0,
                       init="chrono" if chrono else "default", chrono_tmax=tmax)
    result.flow_start = gradient_flow(model, problem, length, s.seed + 2)
    if s.optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {s.optimizer!r}")
    opt = (torch.optim.Adam if s.optimizer == "adam" else torch.optim.SGD)(
        model.parameters(), lr=s.lr)
    start, running = time.perf_counter(), None
    for step in range(1, s.steps + 1):
        x, y = problem.batch(s.batch, length, gen)
        loss = problem.loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        max_norm = s.clip if s.clip is not None else math.inf
        total = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        result.grad_norms.append(float(total))
        opt.step()
        value = loss.item()
        if not math.isfinite(value):
            result.diverged_at = step
            result.curve.append((step, value, math.nan))
            break
        running = value if running is None or not math.isfinite(running) else (
            0.9 * running + 0.1 * value)
        result.steps = step
        if step % s.eval_every == 0 or step == s.steps:
            err = evaluate(model, problem, length, s.eval_size, s.seed + 1)
            result.curve.append((step, running, err))
            if on_eval:
                on_eval(step, running, err)
            if s.stop_below is not None and err < s.stop_below:
                break
    result.seconds = time.perf_counter() - start
    result.error = result.curve[-1][2] if result.curve else math.nan
    result.flow_end = gradient_flow(model, problem, length, s.seed + 2)
    return result
