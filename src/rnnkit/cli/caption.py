"""`rnnkit caption RUN_DIR PICTURE... [--beam K] [--json]`: describe pictures with a trained
caption run.

One line per picture: `PICTURE<TAB>CAPTION` (the caption alone for a single picture), or one
JSON object per picture with --json. A picture of another size is resized to the run's, a grey,
palette or transparent one converted to RGB (a note on stderr says so); a file that is not a
picture is one error line."""

from __future__ import annotations

import json
import sys

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import require_task
from rnnkit.devices import check_device, check_threads
from rnnkit.errors import RnnkitError


def add_parser(sub) -> None:
    p = sub.add_parser("caption", help="describe pictures with a trained caption run")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `rnnkit train caption`")
    p.add_argument("pictures", nargs="+", metavar="PICTURE", help="PNG or JPEG files")
    p.add_argument("--beam", type=int, default=None,
                   help="beam size; 1 = greedy (default: the run's decode.beam)")
    p.add_argument("--json", action="store_true", help="one JSON object per picture")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (0 = torch's default); 1 is faster on a busy machine")
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np
    import torch

    from rnnkit.data.shapes import load_picture, to_tensor
    from rnnkit.models.decode import check_search
    from rnnkit.tasks.caption import describe, model_from_run

    if check_threads(args.threads, "--threads"):
        torch.set_num_threads(args.threads)
    if args.beam is not None:
        check_search(args.beam)
    device = check_device(args.device, "--device")
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    require_task(config, metadata, args.run_dir, "rnnkit caption", "caption")
    model, vocab = model_from_run(metadata, state_dict, device)
    decode = metadata.get("decode", {})
    beam = args.beam if args.beam is not None else int(decode.get("beam", 1))
    alpha, max_len = float(decode.get("alpha", 1.0)), int(decode.get("max_len", 24))
    size = metadata.get("image_size")
    if not isinstance(size, int) or size < 1:
        raise RnnkitError(f"{args.run_dir}: its state.json has no picture size; train it again "
                          "with `rnnkit train caption`")
    pictures = []
    for path in args.pictures:
        array, notes = load_picture(path, size)
        for note in notes:
            print(f"rnnkit: note: {path}: {note}", file=sys.stderr)
        pictures.append(array)
    found, hyps = describe(model, vocab, to_tensor(np.stack(pictures)), max_len, beam, alpha)
    for path, text, hyp in zip(args.pictures, found, hyps, strict=True):
        if args.json:
            print(json.dumps({"picture": path, "caption": text, "score": hyp.score,
                              "log_prob": hyp.log_prob}))
        elif len(args.pictures) == 1:
            print(text)
        else:
            print(f"{path}\t{text}")
    return 0
