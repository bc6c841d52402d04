"""Task `tag`: one label per base of a DNA sequence (many-to-many, aligned).

Data: `coding-tags` (the Arabidopsis chloroplast genome, every base tagged non-coding, coding on
the + strand or coding on the - strand from its CDS annotation) or your own GenBank file
(`data.name=FILE.gb`), cut into blocks dealt to train / valid / test (rnnkit.data.tag_sets).
Training items are stretches of `data.chunk` bases; validation and test items are whole runs of
blocks, so segments are scored whole.

Model: DNA embedding (one-hot or k-mers, `dna.*`) -> bidirectional rnnkit layer -> a linear
head per base (rnnkit.models.tagger), on real steps only: padding never changes a tag.
Loss: cross-entropy per real base. Metrics (rnnkit.tasks.tag.metrics): per-base accuracy,
macro-F1, F1 per tag, coding F1, and the F1 of whole coding segments.

Files: task.py (config, data, model, loss, scores), metrics.py, plots.py (tags along the genome),
run.py (`rnnkit evaluate` with the k-mer window baseline and the figure, `rnnkit predict`).
"""

from rnnkit.tasks.tag.run import evaluate_loaded, format_report, predict_loaded
from rnnkit.tasks.tag.task import (
    DATA_KEY,
    TRAIN_DEFAULTS,
    Config,
    DataConfig,
    ModelConfig,
    TagTask,
    config_from_run,
    make_task,
    task_from_metadata,
)

__all__ = ["DATA_KEY", "TRAIN_DEFAULTS", "Config", "DataConfig", "ModelConfig", "TagTask",
           "config_from_run", "evaluate_loaded", "format_report", "make_task", "predict_loaded",
           "task_from_metadata"]
