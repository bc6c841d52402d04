"""Speech settings compared on held-out TRAINING voices, so that no validation or test voice
chooses them (BENCHMARKS.md "Recognition (CTC)", speech settings):

    PYTHONPATH=src python benchmarks/recognize_speech_settings.py NAME WARP FACTOR LR [STEPS]

The 3000 cached training utterances (seed 0) are split by their voice variant: the items of
f2, klatt2, Gene and m5 (fixed before any run) are an inner validation set (the first 400),
the others (11 variants) train. A fresh model (the task's defaults but `model.factor`) trains
STEPS steps (default 250) of AdamW at LR with `data.warp` = WARP, one thread, and prints the
inner-validation loss, CER, WER and sequence accuracy every 50 steps as JSON lines.
"""

from __future__ import annotations

import json
import sys
import time

import torch

from rnnkit.data.spoken_digits import _plan, split_voices, spoken_digit_items
from rnnkit.tasks.recognize import Config
from rnnkit.tasks.recognize.task import Alphabet, RecognizeTask, fit_scaler

HELD_OUT = {"f2", "klatt2", "Gene", "m5"}


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    name, warp, factor, lr = argv[0], float(argv[1]), int(argv[2]), float(argv[3])
    steps = int(argv[4]) if len(argv) > 4 else 250
    torch.manual_seed(0)
    torch.set_num_threads(1)
    voices = split_voices()["train"]
    plan = _plan(3000, 0, voices)  # each utterance's voice, as generated
    items = spoken_digit_items(3000, 0, voices)
    held = [p["voice"].split("+")[1] in HELD_OUT for p in plan]
    valid = [it for it, h in zip(items, held, strict=True) if h][:400]
    train = [it for it, h in zip(items, held, strict=True) if not h]
    print(json.dumps({"arm": name, "train": len(train), "valid": len(valid)}), flush=True)
    cfg = Config(data={"name": "spoken-digits", "warp": warp}, model={"factor": factor})
    task = RecognizeTask(cfg, Alphabet("0123456789"), "speech", *fit_scaler("speech", train),
                         train, valid)
    model = task.build_model()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    start, step, epoch = time.time(), 0, 0
    while step < steps:
        for batch in task.train_batches(epoch):
            out = task.step(model, batch)
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 50 == 0:
                scores = {k: round(v, 4) for k, v in task.evaluate(model).items()}
                print(json.dumps({"arm": name, "step": step,
                                  "seconds": round(time.time() - start), **scores}), flush=True)
            if step >= steps:
                break
        epoch += 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
