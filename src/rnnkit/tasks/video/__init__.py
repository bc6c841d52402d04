"""Task `video`: multi-label tagging of short clips (many-to-one over frames).

Data: `moving-shapes` (rnnkit.data.moving_shapes), generated from `data.seed`: clips of 12-20
frames in which 1 or 2 coloured shapes move left, right, up or down, grow, shrink or change
colour. Tags: the objects (colour-shape) and the motions.

Model (rnnkit.models.video_tagger): the shared ImageEncoder on every frame (with x, y coordinate
channels) -> its pooled vector per frame -> rnnkit layers of any registered cell -> one logit per
tag. `model.kind=frame_average` trains the baseline: the same encoder, the mean over frames, no
recurrence (it cannot tell a clip from the clip reversed, so not left from right).
Loss: binary cross-entropy per tag. Metrics (rnnkit.tasks.video.metrics): per-tag F1, mAP
(object and motion tags apart too), exact-set accuracy, motion-tag and object-tag accuracy.

Files: task.py (config, data, model, loss, scores), metrics.py, run.py (`rnnkit evaluate`,
`rnnkit predict` on a .npy clip or a directory of PNG frames).
"""

from rnnkit.tasks.video.run import evaluate_loaded, format_report, predict_loaded
from rnnkit.tasks.video.task import (
    DATA_KEY,
    TRAIN_DEFAULTS,
    Config,
    DataConfig,
    ModelConfig,
    VideoTask,
    config_from_run,
    make_task,
    task_from_metadata,
)

__all__ = ["DATA_KEY", "TRAIN_DEFAULTS", "Config", "DataConfig", "ModelConfig", "VideoTask",
           "config_from_run", "evaluate_loaded", "format_report", "make_task", "predict_loaded",
           "task_from_metadata"]
