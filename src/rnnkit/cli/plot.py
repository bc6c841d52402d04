"""`rnnkit plot RUN_DIR`: draw a run's training and validation curves to a PNG."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="plot a run's training/validation curves to a PNG")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", metavar="FILE", help="PNG path (default RUN_DIR/curves.png)")
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnkit.training.plots import plot_run

    print(plot_run(args.run_dir, args.out))
    return 0
