"""`rnnkit demo`: an Elman RNN and an LSTM learn to remember the first of T steps."""

from __future__ import annotations

import sys

from rnnkit.errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="a one-minute demonstration: Elman RNN against LSTM on a long-range recall task",
        description="Trains an Elman RNN and an LSTM (rnnkit's hand-written BPTT) on the same "
        "generated task: see one of 8 symbols at step 0, then blanks; name the symbol at step T. "
        "Prints each one's accuracy against chance (12.5%%).",
    )
    p.add_argument("--length", type=int, default=60, help="steps to remember across (default 60)")
    p.add_argument("--seconds", type=float, default=30.0,
                   help="training time per model in seconds (default 30)")
    p.add_argument("--cells", default="rnn,lstm", help="comma-separated: rnn, lstm, gru")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnkit.experiments.recall import CELLS, recall_chance, train_recall

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = [c for c in cells if c not in CELLS]
    if unknown or not cells:
        raise ConfigError(f"--cells: expected names from {', '.join(CELLS)}, got {args.cells!r}")
    if args.length < 1 or args.seconds <= 0:
        raise ConfigError(f"--length must be >= 1 and --seconds > 0, got {args.length}, "
                          f"{args.seconds}")
    chance_acc, chance_loss = recall_chance()
    print(f"Task: remember the first of {args.length} steps (8 symbols; chance accuracy "
          f"{chance_acc:.1%}, loss {chance_loss:.3f} nats). {args.seconds:g} s per model.")
    results = []
    for cell in cells:
        def progress(step, loss, elapsed, cell=cell):
            if sys.stdout.isatty():
                print(f"\r  {cell:5} step {step:5d}  loss {loss:.3f}  {elapsed:5.1f}s",
                      end="", flush=True)

        r = train_recall(cell, args.length, args.seconds, seed=args.seed, on_step=progress)
        if sys.stdout.isatty():
            print("\r" + " " * 60 + "\r", end="")
        verdict = "remembers" if r.accuracy > 0.9 else (
            "forgets (near chance)" if r.accuracy < 2 * chance_acc else "partly remembers")
        print(f"  {cell:5} {r.steps:5d} steps in {r.seconds:4.1f}s: accuracy {r.accuracy:6.1%}, "
              f"loss {r.loss:.3f}  -> {verdict}")
        results.append(r)
    return 0
