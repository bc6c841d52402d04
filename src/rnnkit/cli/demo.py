"""`rnnkit demo`: an Elman RNN and an LSTM learn to remember the first of T steps."""

from __future__ import annotations

import sys

from rnnkit.errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="a one-minute demonstration: Elman RNN against LSTM on a long-range recall task",
        description="Trains an Elman RNN and an LSTM (rnnkit's hand-written BPTT) on the same "
        "generated task: one of 8 symbols at step 0, then random distractors, then a query at "
        "step T; name the first symbol. Chance is 12.5%%. The LSTM starts with its forget gate "
        "open (bias 3). Small models run on 1 CPU thread (faster than 2 for them).",
    )
    p.add_argument("--length", type=int, default=100, help="steps to remember across (100)")
    p.add_argument("--steps", type=int, default=4000, help="Adam steps per model (4000)")
    p.add_argument("--cells", default="rnn,lstm",
                   help="comma-separated cell names: rnn, lstm, gru, ... (rnn = rnn_tanh)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from rnnkit.experiments.recall import recall_chance, train_recall
    from rnnkit.functional import registry

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    if not cells:
        raise ConfigError(f"--cells: expected names from {', '.join(registry.names())}, got "
                          f"{args.cells!r}")
    for c in cells:
        registry.get(c, key="--cells")  # an unknown name: the error lists the known ones
    if args.length < 2 or args.steps < 1:
        raise ConfigError(f"--length must be >= 2 and --steps >= 1, got {args.length}, "
                          f"{args.steps}")
    torch.set_num_threads(1)
    chance_acc, chance_loss = recall_chance()
    print(f"Task: name the symbol seen {args.length} steps ago, through distractors "
          f"(chance: accuracy {chance_acc:.1%}, loss {chance_loss:.3f} nats). "
          f"{args.steps} steps each.")
    tty = sys.stdout.isatty()
    for cell in cells:
        def progress(step, loss, elapsed, cell=cell):
            if tty and (step % 50 == 0 or step == args.steps):
                print(f"\r  {cell:5} step {step:5d}/{args.steps}  loss {loss:.3f}  "
                      f"{elapsed:5.1f}s", end="", flush=True)

        r = train_recall(cell, args.length, args.steps, seed=args.seed, on_step=progress)
        if tty:
            print("\r" + " " * 70 + "\r", end="")
        verdict = "remembers" if r.accuracy > 0.9 else (
            "forgets: at chance" if r.accuracy < 2 * chance_acc else "partly remembers")
        print(f"  {cell:5} accuracy {r.accuracy:6.1%}  loss {r.loss:.3f}  "
              f"({r.steps} steps, {r.seconds:.1f}s)  -> {verdict}")
    return 0
