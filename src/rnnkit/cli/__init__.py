"""The `rnnkit` command line. One module per subcommand, each with `add_parser(sub)` and
`run(args) -> int`; this file only wires them together and turns user errors into one line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from rnnkit._version import __version__
from rnnkit.errors import RnnkitError

# Subcommand modules under rnnkit.cli, in the order `--help` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "train", "generate", "evaluate", "predict", "forecast", "translate", "caption", "transcribe",
    "plot", "experiment", "export", "inspect", "diagnose", "demo", "env",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit",
        description="Recurrent neural networks from their equations: train, generate, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"rnnkit.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_overrides", False):
        parser.error("unrecognized arguments: " + " ".join(extra))
    args.overrides = extra  # dotted config overrides (--optim.lr=3e-4) for commands that take them
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except RnnkitError as err:
        print(f"rnnkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """The reader of stdout went away (`rnnkit generate | head`): stop quietly, with the status
    a Unix tool killed by SIGPIPE has (128 + 13). Python's final flush of stdout would fail
    again and print a warning, so stdout is pointed at /dev/null first."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # stdout replaced or without a descriptor
        pass
    return 141
