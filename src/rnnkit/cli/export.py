"""`rnnkit export RUN_DIR --onnx model.onnx`: a trained language model, classifier, forecaster,
recognizer or translation model (with --step) as ONNX, each file checked in onnxruntime against
PyTorch before it is written (rnnkit.export)."""

from __future__ import annotations

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import run_task
from rnnkit.errors import RnnkitError

TASKS = ("lm", "classify", "forecast", "recognize", "translate")
STEP_TASKS = ("lm", "translate")  # the tasks with a --step model


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a language model, classifier, forecaster, "
                       "recognizer or translation model to ONNX, checked in onnxruntime")
    p.add_argument("run_dir", metavar="RUN_DIR",
                   help="run directory of `rnnkit train lm`, `classify`, `forecast`, "
                        "`recognize` or `translate`")
    p.add_argument("--onnx", required=True, metavar="PATH",
                   help="lm: tokens (B, T) + state -> logits + state; classify: x + lengths "
                        "-> logits; forecast: window -> parameters; recognize: frames + "
                        "lengths -> log-probabilities + output lengths; translate: the "
                        "encoder, source ids + lengths -> decoding state")
    p.add_argument("--step", metavar="PATH", default=None,
                   help="lm: also a one-step model for streaming generation, tokens (B,) + "
                        "state -> logits (B, V) + state; translate (needed): the decoder step, "
                        "previous tokens + state -> log-probabilities + state + attention")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest max-abs difference from PyTorch accepted (default 1e-4)")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnkit.export import classifier_to_onnx, forecaster_to_onnx, lm_to_onnx

    if not args.tolerance > 0:
        raise RnnkitError(f"--tolerance: expected a number > 0, got {args.tolerance}")
    if args.step is not None and args.step == args.onnx:
        raise RnnkitError(f"--step and --onnx are both {args.onnx}: give two different paths")
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    task = run_task(config, metadata)
    if task not in TASKS:
        raise RnnkitError(f"{args.run_dir} is a {task} run; `rnnkit export` takes "
                          f"{', '.join(TASKS)} runs")
    if args.step is not None and task not in STEP_TASKS:
        raise RnnkitError(f"--step is for language models and translation models; a {task} "
                          "run has no step model: leave --step out")
    if args.step is None and task == "translate":
        raise RnnkitError("a translate run exports two files: the encoder to --onnx and the "
                          "decoder step to --step PATH; add --step")
    if task == "lm":
        from rnnkit.tasks.lm import model_from_run

        model, tokenizer = model_from_run(metadata, state_dict, "cpu")
        reports = lm_to_onnx(model, args.onnx, args.step, tokenizer.to_dict(), args.tolerance)
    elif task == "classify":
        from rnnkit.tasks.classify.run import rebuild

        if metadata.get("kind") == "dna":
            raise RnnkitError(f"{args.run_dir} classifies DNA; DNA classifiers (base ids -> "
                              "one-hot or k-mer vectors) have no ONNX export yet")
        _, model = rebuild(config, metadata, state_dict)
        reports = [classifier_to_onnx(model, args.onnx, metadata, args.tolerance)]
    elif task == "translate":
        from rnnkit.export import translate_to_onnx
        from rnnkit.tasks.translate import model_from_run

        model, _, _ = model_from_run(metadata, state_dict, "cpu")
        reports = translate_to_onnx(model, args.onnx, args.step, metadata, args.tolerance)
    elif task == "recognize":
        from rnnkit.export import recognizer_to_onnx
        from rnnkit.tasks.recognize.run import rebuild as rebuild_recognizer

        _, model = rebuild_recognizer(config, metadata, state_dict)
        reports = [recognizer_to_onnx(model, args.onnx, metadata, args.tolerance)]
    else:
        from rnnkit.tasks.forecast.run import rebuild as rebuild_forecaster

        _, model = rebuild_forecaster(config, metadata, state_dict)
        reports = [forecaster_to_onnx(model, args.onnx, metadata, args.tolerance)]
    for report in reports:
        print(report)
    return 0
