"""Task `classify`: sequence classification (many-to-one), or regression with @targetLabel data.

Data: a named dataset (rnnkit.data.datasets: UCR/UEA series, `tweets`, `digits`) or your own
files (`data.train_path`, optional `data.test_path`: `.ts` series or a CSV of texts). A validation
share (`data.valid_fraction`, stratified, seeded) is cut from the training split; `evaluate()`
reports on it, and the test split is left for `rnnkit evaluate` (0 evaluates on the test split).
Fitted on the training part only: the per-channel scaler (series), the vocabulary (text), the
target scaler (regression). They go into `metadata()` with the classes and the split indices.

Loss: cross-entropy (optionally class-weighted against imbalance); regression: MSE on the
standardised target. Metrics: loss, accuracy, macro_f1 (regression: rmse, mae in target units).

Files: task.py (config, data, model, loss, metrics), prep.py (the scaler or vocabulary fitted on
the training part), run.py (a trained run: `rnnkit evaluate` and `rnnkit predict`).
"""

from rnnkit.tasks.classify.run import evaluate_loaded, format_report, predict_loaded
from rnnkit.tasks.classify.task import (
    DATA_KEY,
    TRAIN_DEFAULTS,
    ClassifyTask,
    Config,
    DataConfig,
    ModelConfig,
    config_from_run,
    drop_tokens,
    make_task,
    task_from_metadata,
)

__all__ = ["DATA_KEY", "TRAIN_DEFAULTS", "ClassifyTask", "Config", "DataConfig", "ModelConfig",
           "config_from_run", "drop_tokens", "evaluate_loaded", "format_report", "make_task",
           "predict_loaded", "task_from_metadata"]
