"""The training engine: an explicit loop (trainer.py) over the Task contract (task.py), with
checkpoints, guards, schedules, optimizers, progress, logs, plots and DistributedDataParallel.

Entry points: `rnnkit.training.run.train(...)` (library) and `rnnkit train` (command line).
"""
