"""Which units of a trained language model track simple properties of its text?

    PYTHONPATH=src python benchmarks/inspect_probe.py RUN_DIR [--chars 20000] [--kinds all]
        [--html PAGE]

Runs the run's model (`rnnkit train lm`, default corpus stdlib) over the first --chars
characters of its *validation* text (the held-out last part of the corpus, from the first line
start), records every unit's h, c and gates (rnnkit.viewer.record), and prints, per property
(rnnkit.viewer.properties), the unit with the largest |Pearson r| in each kind, then the best
over all and whether it reaches |r| >= 0.8 (issue 23's bar). --html also writes the page.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from rnnkit.data.corpora import load_corpus, split_text
from rnnkit.tasks.lm import model_from_run
from rnnkit.training.checkpoint import load_run
from rnnkit.viewer.build import parse_kinds, pieces_of
from rnnkit.viewer.properties import NAMES, correlations, text_properties, token_properties
from rnnkit.viewer.record import record

BAR = 0.8


def held_out_text(config: dict, chars: int) -> str:
    data = config["task"]["data"]
    text = load_corpus(data["corpus"]).text
    text = text[:data["max_chars"]] if data.get("max_chars") else text
    valid = split_text(text, data["valid_fraction"])[1]
    start = valid.find("\n") + 1  # from a line start
    return valid[start:start + chars]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("--chars", type=int, default=20000)
    p.add_argument("--kinds", default="all")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))
    p.add_argument("--html", default=None, help="also write the page here")
    args = p.parse_args()
    torch.set_num_threads(1)
    config, metadata, state_dict = load_run(args.run_dir, args.checkpoint)
    model, tok = model_from_run(metadata, state_dict)
    text = held_out_text(config, args.chars)
    kinds = parse_kinds(args.kinds, model.rnn.mode)
    ids = tok.encode(text)
    t0 = time.perf_counter()
    rec = record(model, ids, kinds)
    seconds = time.perf_counter() - t0
    pieces = pieces_of(tok, ids)
    props = token_properties(text_properties("".join(pieces)),
                             np.cumsum([len(x) for x in pieces]))
    m = config["task"]["model"]
    print(f"run {args.run_dir} ({args.checkpoint}): {m['cell']} {m['num_layers']} x "
          f"{m['hidden_size']}, corpus {config['task']['data']['corpus']}; {len(ids)} tokens "
          f"of validation text, recorded in {seconds:.1f} s; load "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    H = rec.hidden_size
    best = (0.0, "", 0, "")
    print(f"{'property':<14} " + " ".join(f"{k:>16}" for k in kinds))
    corr = {k: correlations(rec.acts[k], props) for k in kinds}
    for j, name in enumerate(NAMES):
        cells = []
        for kind in kinds:
            u = int(np.argmax(np.abs(corr[kind][:, j])))
            r = float(corr[kind][u, j])
            cells.append(f"L{u // H + 1}#{u % H}:{r:+.3f}")
            if abs(r) > abs(best[0]):
                best = (r, kind, u, name)
        print(f"{name:<14} " + " ".join(f"{c:>16}" for c in cells))
    memory = max(((float(corr[k][u, j]), k, u, NAMES[j]) for k in kinds
                  for j in range(len(NAMES)) if NAMES[j] != "in_word"
                  for u in [int(np.argmax(np.abs(corr[k][:, j])))]), key=lambda b: abs(b[0]))
    print(f"best on a property that needs memory (all but in_word, which the current "
          f"character decides): unit {memory[2]} (layer {memory[2] // H + 1} "
          f"#{memory[2] % H}) {memory[1]}: r = {memory[0]:+.3f} with {memory[3]}")
    r, kind, u, name = best
    verdict = "reaches" if abs(r) >= BAR else "does NOT reach"
    print(f"best: unit {u} (layer {u // H + 1} #{u % H}) {kind}: r = {r:+.3f} with {name}; "
          f"{verdict} |r| >= {BAR}")
    if args.html:
        from rnnkit.viewer.build import inspect_data
        from rnnkit.viewer.page import render, write_page

        data = inspect_data(model, tok, text, ("h", kind) if kind != "h" else ("h",),
                            title=f"{os.path.basename(args.run_dir)}, validation text")
        print(f"page: {write_page(args.html, render(data))}")


if __name__ == "__main__":
    main()
