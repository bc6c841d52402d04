"""`rnnkit transcribe RUN_DIR FILE.wav|STROKES.json [--beam K] [--json]`: the text a trained
recognize run reads in each file (greedy decoding, or a prefix beam search of width K, fused
with a character language model given by --lm LM_RUN_DIR)."""

from __future__ import annotations

import json

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import require_task
from rnnkit.errors import RnnkitError


def add_parser(sub) -> None:
    p = sub.add_parser("transcribe", help="recognise speech or handwriting with a recognize run")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run of `rnnkit train recognize`")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="a .wav file (speech runs) or a .json of strokes (handwriting runs)")
    add_decode_arguments(p, default_beam=0)
    p.add_argument("--which", choices=("best", "last"), default="best",
                   help="checkpoint to use (default: best)")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.set_defaults(run=run)


def add_decode_arguments(p, default_beam: int) -> None:
    p.add_argument("--beam", type=int, default=default_beam, metavar="K",
                   help=f"prefix beam search width; 0 or 1 = greedy (default {default_beam})")
    p.add_argument("--lm", metavar="LM_RUN_DIR", default=None,
                   help="fuse a character language model (an `rnnkit train lm` run) into the "
                        "beam search")
    p.add_argument("--lm-weight", type=float, default=0.5, help="LM weight (default 0.5)")
    p.add_argument("--insertion-bonus", type=float, default=0.0,
                   help="score added per character with --lm (default 0)")


def decode_options(args) -> dict:
    """The decode keyword arguments of the recognize task's functions, checked."""
    if args.beam < 0:
        raise RnnkitError(f"--beam: expected an integer >= 0, got {args.beam}")
    options = {"beam": args.beam}
    if args.lm:
        if args.beam <= 1:
            raise RnnkitError("--lm: language-model fusion needs a beam search; add --beam 8")
        lm_config, metadata, state_dict = _load_run(args.lm, "best")
        require_task(lm_config, metadata, args.lm, "rnnkit transcribe --lm", "lm")
        options.update(lm_run=(metadata, state_dict), lm_weight=args.lm_weight,
                       insertion_bonus=args.insertion_bonus)
    return options


def run(args) -> int:
    from rnnkit.tasks.recognize.run import transcribe_loaded

    config, metadata, state_dict = _load_run(args.run_dir, args.which)
    require_task(config, metadata, args.run_dir, "rnnkit transcribe", "recognize")
    options = decode_options(args)
    results = [transcribe_loaded(config, metadata, state_dict, f, **options) for f in args.files]
    for r in results:  # all files read before anything is printed
        print(json.dumps(r) if args.json else (r["text"] if len(results) == 1 else
                                               f"{r['file']}\t{r['text']}"))
    return 0
