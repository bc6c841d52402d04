"""`rnnkit translate RUN_DIR "text" ...` or `--input FILE`: translate with a trained translate run.

One line in, one line out, streamed (stdin with `--input -` line by line; a file in batches).
An empty line gives an empty line. `--json` prints one object per input line; `--n-best N`
prints N lines `RANK<TAB>SCORE<TAB>TEXT` per input line (or N translations in the JSON).
Pieces the source vocabulary lacks are read as <unk>, with a note on stderr naming them."""

from __future__ import annotations

import json
import sys
from itertools import islice

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import require_task
from rnnkit.devices import check_device, check_threads
from rnnkit.errors import RnnkitError


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help="translate text with a trained translate run")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `rnnkit train translate`")
    p.add_argument("text", nargs="*", help="sentences to translate (or use --input)")
    p.add_argument("--input", metavar="FILE", help="translate each line of FILE (- = stdin)")
    p.add_argument("--beam", type=int, default=None,
                   help="beam size; 1 = greedy (default: the run's decode.beam)")
    p.add_argument("--n-best", type=int, default=1, help="translations per line (<= beam)")
    p.add_argument("--alpha", type=float, default=None,
                   help="length normalisation, score = log p / length^alpha (default: the run's)")
    p.add_argument("--json", action="store_true", help="one JSON object per input line")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--batch-size", type=int, default=64, help="sentences decoded together")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (0 = torch's default); 1 is faster on a busy machine")
    p.set_defaults(run=run)


def _chunks(args):
    """Lists of input lines: the TEXT arguments, a file in batches, or stdin line by line."""
    if args.text and args.input:
        raise RnnkitError("give sentences or --input FILE, not both")
    if args.text:
        yield list(args.text)
        return
    if not args.input:
        raise RnnkitError("nothing to translate: give sentences, or --input FILE (- = stdin)")
    if args.input == "-":
        for line in sys.stdin:
            yield [line.rstrip("\n").removesuffix("\r")]
        return
    try:
        handle = open(args.input, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise RnnkitError(f"--input: cannot read {args.input} ({err.strerror})") from None
    with handle:
        try:
            while chunk := list(islice(handle, args.batch_size)):
                yield [line.rstrip("\n").removesuffix("\r") for line in chunk]
        except UnicodeDecodeError:
            raise RnnkitError(f"--input: {args.input} is not UTF-8 text") from None


def run(args) -> int:
    import torch

    from rnnkit.models.decode import check_search
    from rnnkit.tasks.translate import Translator, model_from_run

    if args.batch_size < 1:
        raise RnnkitError(f"--batch-size: expected an integer >= 1, got {args.batch_size}")
    if check_threads(args.threads, "--threads"):
        torch.set_num_threads(args.threads)
    if args.beam is not None:
        check_search(args.beam, args.n_best, 0.0 if args.alpha is None else args.alpha)
    device = check_device(args.device, "--device")
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    require_task(config, metadata, args.run_dir, "rnnkit translate", "translate")
    model, src_v, tgt_v = model_from_run(metadata, state_dict, device)
    decode = metadata.get("decode", {})
    beam = args.beam if args.beam is not None else int(decode.get("beam", 1))
    alpha = args.alpha if args.alpha is not None else float(decode.get("alpha", 1.0))
    check_search(beam, args.n_best, alpha)
    translator = Translator(model, src_v, tgt_v, float(decode.get("max_len_ratio", 2.0)),
                            int(decode.get("max_len_extra", 10)))
    out, number = sys.stdout, 0
    for lines in _chunks(args):
        results = translator.translate(lines, beam, args.n_best, alpha, args.batch_size)
        for line, found in zip(lines, results, strict=True):
            number += 1
            unknown = translator.unknown(line)
            if unknown:
                shown = ", ".join(repr(p) for p in unknown[:10])
                print(f"rnnkit: note: line {number}: {shown} not in the source vocabulary, "
                      "read as <unk>", file=sys.stderr)
            out.write(_format(line, found[: args.n_best], unknown, args) + "\n")
        out.flush()
    return 0


def _format(line: str, found, unknown: list[str], args) -> str:
    if args.json:
        return json.dumps({"source": line, "unknown": unknown, "translations": [
            {"text": t.text, "score": t.score, "log_prob": t.log_prob} for t in found]},
            ensure_ascii=False)
    if args.n_best == 1:
        return found[0].text
    return "\n".join(f"{rank}\t{t.score:.4f}\t{t.text}" for rank, t in enumerate(found, 1))
