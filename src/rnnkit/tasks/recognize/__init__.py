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
from dataclasses import dataclass, field, fields

from rnnkit.errors import ConfigError
from rnnkit.tasks.recognize.sources import load_source
from rnnkit.tasks.recognize.task import Alphabet, RecognizeTask, fit_scaler


@dataclass
class DataConfig:
    name: str = "handwriting"  # "handwriting" | "spoken-digits" | "ctc-toy"
    path: str = ""  # your own data: a directory of WAVs + transcript.txt, or a .jsonl of strokes
    n_train: int = 4000  # generated data: training items
    n_valid: int = 200  # generated data: validation items
    n_test: int = 400  # generated data: test items
    seed: int = 0  # seed of the generated items and of the own-data split
    batch_size: int = 32  # items per training batch
    # handwriting: training fonts, and the unseen fonts of the validation and test items
    fonts: str = "cursive,scripts,futural,futuram,rowmans,rowmand,timesr,timesi,timesib"
    valid_font: str = "timesrb"  # handwriting: the validation font (never trained on)
    test_font: str = "scriptc"  # handwriting: the test font (never trained on)
    cache_dir: str = ""  # spoken-digits: where the WAVs are kept ("" = ~/.cache/rnnkit)
    warp: float = 0.0  # speech training items: mel axis stretched by U(1 - w, 1 + w); 0 = off
    wobble: float = 0.0  # handwriting training items: per-letter and elastic distortion; 0 = off
    fresh: bool = False  # handwriting: a new set of training items every epoch after the first
    valid_fraction: float = 0.1  # own data: share held out for validation (and as much for test)

    def __post_init__(self):
        for key in ("n_train", "n_valid", "n_test", "batch_size"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                raise ConfigError(f"data.{key}: expected a positive integer, got "
                                  f"{getattr(self, key)!r}")
        if not 0.0 <= self.wobble <= 2.0:
            raise ConfigError(f"data.wobble: expected a number in [0, 2], got {self.wobble!r}")
        if not 0.0 <= self.warp < 0.5:
            raise ConfigError(f"data.warp: expected a number in [0, 0.5), got {self.warp!r}")
        if not 0.0 < self.valid_fraction < 0.5:
            raise ConfigError(f"data.valid_fraction: expected a number in (0, 0.5), got "
                              f"{self.valid_fraction!r}")


@dataclass
class ModelConfig:
    cell: str = "lstm"  # "lstm" | "gru"
    hidden_size: int = 128  # units per direction of each recurrent layer
    num_layers: int = 2  # stacked recurrent layers
    bidirectional: bool = True  # read the input both ways
    dropout: float = 0.1  # dropout between the recurrent layers
    subsample: str = "stack"  # "none" | "stack" (frame stacking) | "conv" (strided Conv1d)
    factor: int = 2  # frames merged into one by the subsampling (stride of the conv)
    conv_channels: int = 128  # subsample=conv: output channels of the strided Conv1d
    impl: str = "auto"  # the recurrent layers' impl (auto, reference, fused, native)


@dataclass
class LossConfig:
    impl: str = "torch"  # "torch" (torch's kernel) | "reference" (rnnkit.functional.ctc)
    infeasible: str = "skip"  # text longer than the frames allow: "skip" | "zero" | "error"

    def __post_init__(self):
        if self.impl not in ("torch", "reference"):
            raise ConfigError(f"loss.impl: expected 'torch' or 'reference', got {self.impl!r}")
        if self.infeasible not in ("skip", "zero", "error"):
            raise ConfigError(f"loss.infeasible: expected 'skip', 'zero' or 'error', got "
                              f"{self.infeasible!r}")


def _section(cls, value, where: str):
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return cls(**value)


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self):  # Config(**json_dict) rebuilds the nested sections
        self.data = _section(DataConfig, self.data, "task.data")
        self.model = _section(ModelConfig, self.model, "task.model")
        self.loss = _section(LossConfig, self.loss, "task.loss")


TRAIN_DEFAULTS: dict = {"train.steps": 3000, "train.eval_every": 250, "optim.lr": 2e-3,
                        "train.best_metric": "cer", "train.log_every": 50}


def make_task(cfg: Config) -> RecognizeTask:
    """Load (or generate) the items, fit the feature scaler on the training items."""
    if not isinstance(cfg, Config):
        cfg = Config(**cfg)
    src = load_source(cfg.data)
    mean, scale = fit_scaler(src.kind, src.train)
    task = RecognizeTask(cfg, Alphabet(src.alphabet), src.kind, mean, scale, src.train,
                         src.valid)
    task.source_info = src.info
    _report_short_items(task)
    return task


def _report_short_items(task: RecognizeTask) -> None:
    """One line on stderr when training items are too short for their text (CTC: no path)."""
    m = task.cfg.model
    k = 1 if m.subsample == "none" else m.factor
    short = [t for x, t, labels in task.train
             if -(-len(x) // k) < len(labels) + sum(a == b for a, b in zip(labels, labels[1:],
                                                                           strict=False))]
    if short:
        print(f"recognize: {len(short)} training item(s) have fewer frames than their text "
              f"needs after subsampling by {m.factor} (e.g. {short[0]!r}); loss.infeasible="
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
