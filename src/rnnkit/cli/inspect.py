"""`rnnkit inspect RUN_DIR --text FILE [--html PAGE]`: a language model run over a text, written
as one self-contained HTML page that colours the text by a unit's activation (rnnkit.viewer)."""

from __future__ import annotations

from pathlib import Path

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import require_task
from rnnkit.errors import RnnkitError
from rnnkit.layers import RecurrentBase

PAGE_NAME = "inspect.html"  # in RUN_DIR, where --html is not given


def add_parser(sub) -> None:
    p = sub.add_parser(
        "inspect", help="a language model's units over a text, as one HTML page",
        description="Runs a language model (a run of `rnnkit train lm`) over the text of FILE "
        "and writes one self-contained HTML page (no network; data embedded): the text coloured "
        "by a chosen unit's activation, the unit's trace under each line, units ranked by how "
        "well they track properties of the text (in a string, in brackets, indentation, "
        "column, ...), the model's next-token predictions on hover.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `rnnkit train lm`")
    p.add_argument("--text", required=True, metavar="FILE", help="a UTF-8 text file")
    p.add_argument("--html", metavar="PAGE", default=None,
                   help=f"where to write the page (default RUN_DIR/{PAGE_NAME}); a file there "
                        "is replaced only if rnnkit inspect wrote it")
    p.add_argument("--max-chars", type=int, default=20000,
                   help="read the first N characters of FILE (default 20000; 0 = all)")
    p.add_argument("--kinds", default=None,
                   help="what the page can show, comma-separated: h, c and the gates (LSTM i, "
                        "f, g, o; GRU r, z, n) or 'all' (default h); each adds ~4 MB at 20000 "
                        "tokens x 512 units")
    p.add_argument("--levels", type=int, default=16,
                   help="quantisation levels per unit, 2-256 (default 16)")
    p.add_argument("--top-k", type=int, default=5, help="predictions shown on hover (default 5)")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnkit.tasks.lm import model_from_run
    from rnnkit.viewer.build import best_units, inspect_data, parse_kinds
    from rnnkit.viewer.page import render, write_page

    if args.max_chars < 0:
        raise RnnkitError(f"--max-chars: expected 0 (all) or more, got {args.max_chars}")
    if not 1 <= args.top_k <= 50:
        raise RnnkitError(f"--top-k: expected 1 to 50, got {args.top_k}")
    text = _read_text(args.text, args.max_chars)
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    require_task(config, metadata, args.run_dir, "rnnkit inspect", "lm")
    model, tokenizer = model_from_run(metadata, state_dict, "cpu")
    if not isinstance(model.rnn, RecurrentBase):  # minGRU / minLSTM: a scan, no traced steps
        raise RnnkitError(f"rnnkit inspect traces the step cells, not the {model.cell} cell (a "
                          f"whole-sequence scan); inspect a run trained with another model.cell")
    kinds = parse_kinds(args.kinds, model.rnn.mode)
    title = f"{Path(args.run_dir).name} over {Path(args.text).name}"
    data = inspect_data(model, tokenizer, text, kinds, args.levels, args.top_k, title)
    html = render(data)
    path = write_page(args.html or Path(args.run_dir) / PAGE_NAME, html)
    print(f"{path}: {len(data['pieces'])} tokens x {data['layers'] * data['hidden']} units "
          f"({', '.join(kinds)}), {len(html.encode()) / 1e6:.1f} MB")
    for kind, u, prop, r in best_units(data, 3):
        print(f"  unit {u} (layer {u // data['hidden'] + 1} #{u % data['hidden']}) {kind}: "
              f"r = {r:+.3f} with {prop}")
    return 0


def _read_text(path: str, max_chars: int) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(max_chars) if max_chars else f.read()
    except FileNotFoundError:
        raise RnnkitError(f"--text: {path} does not exist") from None
    except IsADirectoryError:
        raise RnnkitError(f"--text: {path} is a directory; give one text file") from None
    except UnicodeDecodeError as err:
        raise RnnkitError(f"--text: {path} is not UTF-8 text ({err.reason} at byte "
                          f"{err.start})") from None
    return text
