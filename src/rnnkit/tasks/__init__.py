"""Tasks: one self-contained module per task (data, model factory, loss, metrics, defaults),
each exposing `Config`, `TRAIN_DEFAULTS` and `make_task(cfg)` (see rnnkit.training.task)."""
