"""Task `recognize`: sequence recognition with CTC (speech, online handwriting, your own data).

    rnnkit train recognize --data.name=spoken-digits|handwriting|ctc-toy [...]
    rnnkit train recognize --data.path=DIR_OF_WAVS|STROKES.jsonl
    rnnkit evaluate RUN_DIR --data test --json      (CER, WER, sequence accuracy; greedy, beam)
    rnnkit transcribe RUN_DIR FILE.wav|STROKES.json [--beam K] [--json]

Model: rnnkit.models.ctc (features -> shorten -> bidirectional LSTM/GRU -> alphabet + blank);
loss: rnnkit.functional.ctc (`loss.impl`: torch's kernel, or the reference it is tested equal
to); decoding: rnnkit.models.ctc_decode. The validation and test items come from fonts/voices the
training items never use. docs/recognize.md has the details and the measured results.
"""

from __future__ import annotations

import sys

from rnnkit.tasks.recognize.config import Config, DataConfig, LossConfig, ModelConfig
from rnnkit.tasks.recognize.sources import load_source
from rnnkit.tasks.recognize.task import Alphabet, RecognizeTask, fit_scaler

__all__ = ["DATA_KEY", "TRAIN_DEFAULTS", "Config", "DataConfig", "LossConfig", "ModelConfig",
           "evaluate_loaded", "format_report", "make_task"]

# What `rnnkit train recognize --data X` sets: handwriting, spoken-digits or ctc-toy (your own
# files go in --data.path).
DATA_KEY = "data.name"

# optim.lr 3e-3 with model.factor by kind (speech 3): at equal steps on held-out training voices
# it beat lr 2e-3 with factor 2 by far (BENCHMARKS.md "Recognition (CTC)", speech settings).
TRAIN_DEFAULTS: dict = {"train.steps": 3000, "train.eval_every": 250, "optim.lr": 3e-3,
                        "train.best_metric": "cer", "train.log_every": 50}


def make_task(cfg: Config) -> RecognizeTask:
    """Load (or generate) the items, fit the feature scaler on the training items."""
    if not isinstance(cfg, Config):
        cfg = Config(**cfg)
    src = load_source(cfg.data)
    mean, scale = fit_scaler(src.kind, src.train, cfg.data.pen_norm)
    task = RecognizeTask(cfg, Alphabet(src.alphabet), src.kind, mean, scale, src.train,
                         src.valid)
    task.source_info = src.info
    _report_short_items(task)
    return task


def _report_short_items(task: RecognizeTask) -> None:
    """One line on stderr when training items are too short for their text (CTC: no path)."""
    m = task.cfg.model
    k = 1 if m.subsample == "none" else task.factor
    short = [t for x, t, labels in task.train
             if -(-len(x) // k) < len(labels) + sum(a == b for a, b in zip(labels, labels[1:],
                                                                           strict=False))]
    if short:
        print(f"recognize: {len(short)} training item(s) have fewer frames than their text "
              f"needs after subsampling by {k} (e.g. {short[0]!r}); loss.infeasible="
              f"{task.cfg.loss.infeasible}", file=sys.stderr)


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data=None,
                    batch_size: int = 0, device: str = "cpu", run_dir=None, beam: int = 8,
                    lm_run=None, lm_weight: float = 0.5, insertion_bonus: float = 0.0) -> dict:
    """`rnnkit evaluate` for recognize runs: CER, WER, sequence accuracy with greedy and beam
    decoding (optionally fused with a char LM run: (metadata, state_dict)) on the run's test
    items (or a labelled path), and RUN_DIR/alignment.png."""
    from rnnkit.tasks.recognize.run import evaluate_loaded as run

    return run(config, metadata, state_dict, data, batch_size, device, run_dir, beam=beam,
               lm_run=lm_run, lm_weight=lm_weight, insertion_bonus=insertion_bonus)


def format_report(report: dict) -> str:
    from rnnkit.tasks.recognize.run import format_report as run

    return run(report)
