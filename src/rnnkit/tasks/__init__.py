"""Tasks: one self-contained module per task (data, model factory, loss, metrics, defaults),
each exposing `Config`, `TRAIN_DEFAULTS` and `make_task(cfg)`; the contract they keep is
`rnnkit.tasks.StepOutput` / `rnnkit.tasks.Task` (trainer side: rnnkit.training.task)."""

from rnnkit.tasks._contract import StepOutput, Task

__all__ = ["StepOutput", "Task"]
