"""Using a trained recognize run: transcribe a file, evaluate on the test items or a labelled path.

The CLI reads the run with the engine's load_run and hands (config, metadata, state_dict) here;
the model, alphabet and feature scaler come back from them alone. An optional language model
(a `rnnkit train lm` run, read the same way) is fused into the beam search (decode settings:
`lm_weight`, `insertion_bonus`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rnnkit.data.audio import wav_features
from rnnkit.data.recognition_files import read_strokes_json
from rnnkit.errors import DataError
from rnnkit.models.from_state import build_checked
from rnnkit.tasks.recognize.config import Config
from rnnkit.tasks.recognize.fusion import CharLM
from rnnkit.tasks.recognize.plots import plot_alignment
from rnnkit.tasks.recognize.task import Alphabet, RecognizeTask


def config_from_run(config: dict) -> Config:
    section = config.get("task") if isinstance(config.get("task"), dict) else config
    return Config(**{k: v for k, v in section.items() if k in ("data", "model", "loss")})


def rebuild(config: dict, metadata: dict, state_dict: dict, device: str = "cpu"):
    """(task without data, model in eval mode on `device`)."""
    if metadata.get("task") != "recognize":
        raise DataError(f"expected a recognize run, got task {metadata.get('task')!r}")
    cfg = config_from_run(config)
    if metadata.get("factor"):  # the factor the run used (model.factor=0: chosen by kind)
        cfg.model.factor = int(metadata["factor"])
    # the normalisation the run was trained with; runs from before data.pen_norm had none
    task = RecognizeTask(cfg, Alphabet(metadata["alphabet"]),
                         metadata["kind"], np.array(metadata["mean"]), np.array(metadata["scale"]),
                         pen_norm=metadata.get("pen_norm", "none"))
    model = build_checked(task.build_model, state_dict)  # shapes checked before allocating
    return task, model.to(device).eval()


def input_features(kind: str, path) -> np.ndarray:
    """The features of one input file, as the run's kind of data needs."""
    path = Path(path)
    suffix = path.suffix.lower()
    if kind == "speech":
        if suffix != ".wav":
            raise DataError(f"{path}: this run recognises speech; expected a .wav file")
        return wav_features(path)
    if kind == "strokes":
        if suffix not in (".json", ".jsonl"):
            raise DataError(f"{path}: this run recognises pen strokes; expected a .json file")
        return read_strokes_json(path)
    if suffix != ".npy":
        raise DataError(f"{path}: this run reads feature frames; expected a .npy file (T, F)")
    return np.load(path, allow_pickle=False)


def decode_args(beam: int, lm=None, lm_weight: float = 0.5, insertion_bonus: float = 0.0):
    args = {"beam": beam}
    if lm is not None:
        args.update(lm=lm, lm_weight=lm_weight, insertion_bonus=insertion_bonus)
    return args


def transcribe_loaded(config, metadata, state_dict, path, beam: int = 0, lm_run=None,
                      lm_weight: float = 0.5, insertion_bonus: float = 0.0) -> dict:
    """{'file', 'text', 'frames'} of one input file; lm_run: (metadata, state_dict) of an lm run."""
    task, model = rebuild(config, metadata, state_dict)
    x = input_features(task.kind, path)
    item = task.encode_item(x, "", str(path))
    lm = CharLM(*lm_run, task.alphabet.chars) if lm_run else None
    hyps, _ = task.transcribe(model, [item], **decode_args(beam, lm, lm_weight, insertion_bonus))
    return {"file": str(path), "text": hyps[0], "frames": int(len(x))}


def _test_items(task: RecognizeTask, data):
    from rnnkit.tasks.recognize.own_data import load_items
    from rnnkit.tasks.recognize.sources import load_source

    if data in (None, "", "test"):
        src = load_source(task.cfg.data, parts=("test",))
        source = f"{task.cfg.data.path or task.cfg.data.name} test"
        return source, [task.encode_item(x, t, f"test item {i}") for i, (x, t) in
                        enumerate(src.test)]
    kind, items = load_items(data)
    if kind != task.kind:
        raise DataError(f"--data {data}: holds {kind} data, but this run recognises {task.kind}")
    return str(data), [task.encode_item(x, t, f"{data} item {i}") for i, (x, t) in
                       enumerate(items)]


def evaluate_loaded(config, metadata, state_dict, data=None, batch_size: int = 0,
                    device: str = "cpu", run_dir=None, beam: int = 8, lm_run=None,
                    lm_weight: float = 0.5, insertion_bonus: float = 0.0) -> dict:
    """CER, WER, sequence accuracy with greedy decoding and with a prefix beam search (width
    `beam`; fused with lm_run's language model when given); RUN_DIR/alignment.png."""
    task, model = rebuild(config, metadata, state_dict, device)
    if batch_size:
        task.cfg.data.batch_size = batch_size
    source, items = _test_items(task, data)
    report = {"data": source, "n_items": len(items), **task.score(model, items)}
    if beam > 1:
        lm = CharLM(*lm_run, task.alphabet.chars) if lm_run else None
        scored = task.score(model, items, **decode_args(beam, lm, lm_weight, insertion_bonus))
        report.update({f"beam_{k}": v for k, v in scored.items() if k != "loss"})
        report["beam"] = beam
        if lm is not None:
            report.update(lm_weight=lm_weight, insertion_bonus=insertion_bonus)
    if run_dir is not None:
        x, text, _ = items[0]
        with torch.no_grad():
            log_probs, _ = model(torch.from_numpy(x)[None].to(device),
                                 torch.tensor([len(x)]))
        path = Path(run_dir) / "alignment.png"
        report["plot"] = str(plot_alignment(x, log_probs[0].cpu().numpy(),
                                            task.alphabet.chars, text, path))
    return report


def format_report(report: dict) -> str:
    lines = [f"data       {report['data']} ({report['n_items']} items)"]
    for key in ("loss", "cer", "wer", "seq_acc"):
        lines.append(f"{key:<10} {report[key]:.4f}" + (
            f"   beam {report['beam']}: {report['beam_' + key]:.4f}" if "beam" in report and
            key != "loss" else ""))
    if "lm_weight" in report:
        lines.append(f"lm fusion  weight {report['lm_weight']}, insertion bonus "
                     f"{report['insertion_bonus']}")
    if "plot" in report:
        lines.append(f"plot: {report['plot']}")
    return "\n".join(lines)
