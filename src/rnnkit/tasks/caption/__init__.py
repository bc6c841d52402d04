"""Task `caption`: describe a picture in words (Show, Attend and Tell): a small CNN's feature
grid, an rnnkit LSTM decoder with soft attention over it (rnnkit.models.captioner), decoded
greedily or with the shared beam search.

Data: `shapes` (generated with Pillow, rnnkit.data.shapes): 1-3 coloured shapes per picture,
one caption each from a small grammar (rnnkit.data.caption_grammar); the colour-shape pairs in
data.held_out never occur in training and make the `test-comp` split.
Loss: cross-entropy of the next word, nats per word. Validation: loss, and the greedy captions'
BLEU-4, attribute F1 and exact match; the best checkpoint has the highest validation exact match.
`rnnkit caption RUN_DIR PICTURE...` describes pictures; `rnnkit evaluate RUN_DIR --data test`
(or test-comp, valid) scores.
Files: config.py (settings), task.py (the Task), metrics.py (BLEU-4, attributes, exact),
evaluate.py (`rnnkit evaluate`, attention maps).
"""

from rnnkit.tasks.caption.config import (
    Config,
    DataConfig,
    DecodeConfig,
    ModelConfig,
    ObjectiveConfig,
)
from rnnkit.tasks.caption.evaluate import evaluate_loaded, format_report
from rnnkit.tasks.caption.task import NAME, CaptionTask, describe, make_task, model_from_run

# What `rnnkit train caption --data X` sets (shapes is the one built-in set).
DATA_KEY = "data.name"

# One thread, AdamW 3e-3 on a cosine over the 20 minutes the target allows, the best checkpoint
# by validation exact match; chosen on validation data only (BENCHMARKS.md "Captioning").
TRAIN_DEFAULTS: dict = {
    "train.steps": 0,
    "train.minutes": 20.0,
    "train.threads": 1,
    "train.eval_every": 250,
    "train.clip_norm": 5.0,
    "train.best_metric": "exact",
    "train.best_mode": "max",
    "optim.lr": 3e-3,
    "sched.name": "cosine",
    "sched.warmup_steps": 100,
    "sched.total_steps": 0,  # the cosine spans train.minutes
    "sched.min_lr": 1e-4,
}

__all__ = ["DATA_KEY", "NAME", "TRAIN_DEFAULTS", "CaptionTask", "Config", "DataConfig",
           "DecodeConfig", "ModelConfig", "ObjectiveConfig", "describe", "evaluate_loaded",
           "format_report", "make_task", "model_from_run"]
