"""Decoding speed of a trained translate run: sentences per second, greedy and beam 5, batch 1
and 64, on the run's test split (with exact match, so a faster path cannot hide worse output).

    PYTHONPATH=src python benchmarks/translate_dates.py RUN_DIR [--sentences 256] [--repeats 3]
        [--threads 1]

Each setting decodes the same first N test sources with rnnkit.tasks.translate.Translator; the
rounds interleave the settings, so a busy moment on a shared machine hits all of them alike, and
the best round of each is printed. Record the machine's load beside the numbers.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from rnnkit import config as C
from rnnkit.tasks.translate import Config, Translator, model_from_run
from rnnkit.tasks.translate.task import load_split
from rnnkit.training.checkpoint import load_run

SETTINGS = [("greedy", 1, 1), ("greedy", 1, 64), ("beam5", 5, 1), ("beam5", 5, 64)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--sentences", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoint", default="best")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config, metadata, state_dict = load_run(args.run_dir, args.checkpoint)
    cfg = C.build(Config, config["task"])
    pairs = load_split(cfg, "test")[: args.sentences]
    model, src_v, tgt_v = model_from_run(metadata, state_dict)
    translator = Translator(model, src_v, tgt_v, cfg.decode.max_len_ratio,
                            cfg.decode.max_len_extra)
    sources, refs = [s for s, _ in pairs], [t for _, t in pairs]
    for _, beam, batch in SETTINGS:  # warm-up (the first call may build a compiled kernel)
        translator.translate(sources[:2], beam=beam, batch_size=batch)
    best: dict[tuple, float] = {}
    exact: dict[tuple, float] = {}
    for _ in range(args.repeats):
        for setting in SETTINGS:
            _, beam, batch = setting
            t0 = time.perf_counter()
            out = translator.translate(sources, beam=beam, alpha=cfg.decode.alpha,
                                       batch_size=batch)
            rate = len(sources) / (time.perf_counter() - t0)
            best[setting] = max(best.get(setting, 0.0), rate)
            exact[setting] = 100.0 * sum(o[0].text == r for o, r in zip(out, refs,
                                                                         strict=True)) / len(refs)
    print(f"run {args.run_dir} ({args.checkpoint}), {len(sources)} test sentences, "
          f"threads {args.threads}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'search':<8} {'batch':>5} {'sent/s':>8} {'exact %':>8}")
    for setting in SETTINGS:
        name, _, batch = setting
        print(f"{name:<8} {batch:>5} {best[setting]:8.1f} {exact[setting]:8.2f}")


if __name__ == "__main__":
    main()
