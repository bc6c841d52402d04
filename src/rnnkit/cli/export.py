"""`rnnkit export RUN_DIR --onnx model.onnx`: a trained language model as ONNX files, each checked
in onnxruntime against PyTorch before it is written (rnnkit.export)."""

from __future__ import annotations

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import require_task
from rnnkit.errors import RnnkitError


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a language model to ONNX, checked in onnxruntime")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `rnnkit train lm`")
    p.add_argument("--onnx", required=True, metavar="PATH",
                   help="the whole-sequence model: tokens (B, T) + state -> logits + state")
    p.add_argument("--step", metavar="PATH", default=None,
                   help="also a one-step model for streaming generation: tokens (B,) + state "
                        "-> logits (B, V) + state")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest max-abs difference from PyTorch accepted (default 1e-4)")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnkit.export import lm_to_onnx
    from rnnkit.tasks.lm import model_from_run

    if not args.tolerance > 0:
        raise RnnkitError(f"--tolerance: expected a number > 0, got {args.tolerance}")
    if args.step is not None and args.step == args.onnx:
        raise RnnkitError(f"--step and --onnx are both {args.onnx}: give two different paths")
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    require_task(config, metadata, args.run_dir, "rnnkit export", "lm")
    model, tokenizer = model_from_run(metadata, state_dict, "cpu")
    for report in lm_to_onnx(model, args.onnx, args.step, tokenizer.to_dict(), args.tolerance):
        print(report)
    return 0
