"""`rnnkit train TASK`: train a task from rnnkit/tasks with the training engine."""

from __future__ import annotations

import argparse
import math

from rnnkit.errors import RnnkitError


def add_parser(sub) -> None:
    from rnnkit.training.registry import available_tasks

    tasks = ", ".join(available_tasks())
    p = sub.add_parser(
        "train", help="train a task (rnnkit train TASK --optim.lr=3e-4 ...)", allow_abbrev=False,
        add_help=False,
        description="Train TASK. Settings: --config FILE (TOML) and dotted overrides such as "
                    "--optim.lr=3e-4 --model.hidden_size=256 --train.clip_norm=0.5; "
                    "`rnnkit train TASK --help` lists every setting of TASK.",
        epilog=f"tasks: {tasks}")
    p.add_argument("-h", "--help", action="store_true",
                   help="show this help (with TASK: also every setting of TASK) and exit")
    p.add_argument("task", nargs="?", metavar="TASK", help=f"one of: {tasks}")
    p.add_argument("--data", metavar="PATH_OR_NAME",
                   help="the task's data by name or path, as `rnnkit evaluate --data` takes "
                        "it: sets the task's main data key (`rnnkit train TASK --help` says "
                        "which, e.g. data.corpus for lm)")
    p.add_argument("--config", metavar="FILE", help="TOML config file")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default runs/TASK-TIME)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--steps", type=int, metavar="N",
                       help="= --train.steps=N (0 = no step limit: only with --train.epochs or "
                            "--train.minutes)")
    limit.add_argument("--minutes", type=float, metavar="M",
                       help="= --train.minutes=M --train.steps=0")
    p.add_argument("--seed", type=int, metavar="S", help="= --train.seed=S")
    p.add_argument("--plain", action="store_true", help="plain progress lines, no progress bar")
    p.set_defaults(run=run, accepts_overrides=True, train_parser=p)


def run(args: argparse.Namespace) -> int:
    from rnnkit.training.run import train_task

    if args.help:
        print(args.train_parser.format_help())
        if args.task:
            from rnnkit.training.registry import load_task_module
            from rnnkit.training.settings import settings_help

            print(settings_help(load_task_module(args.task), args.task))
        return 0
    overrides = list(getattr(args, "overrides", []))
    other_limit = any(o.startswith(("--train.epochs", "--train.minutes")) for o in overrides)
    if args.steps is not None and (args.steps < 0 or args.steps == 0 and not other_limit):
        raise RnnkitError(f"--steps: expected a number of steps >= 1, got {args.steps} (0 = no "
                          "step limit, only with --train.epochs=N or --train.minutes=M on the "
                          "same command line; or use --minutes M)")
    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise RnnkitError(f"--minutes: expected a number of minutes > 0, got {args.minutes}")
    if args.steps is not None:
        overrides.append(f"--train.steps={args.steps}")
    if args.minutes is not None:
        overrides += [f"--train.minutes={args.minutes}", "--train.steps=0"]
    if args.seed is not None:
        overrides.append(f"--train.seed={args.seed}")
    result = train_task(args.task, config_file=args.config, out=args.out, resume=args.resume,
                        overrides=overrides, data=args.data, argv=getattr(args, "argv", None),
                        progress="plain" if args.plain else "auto")
    if result["rank"] != 0:
        return 0  # under torchrun, rank 0 reports
    if "members" in result:  # train.ensemble > 1
        shown = ", ".join(f"{which}: " + " ".join(f"{k} {v:.4f}" for k, v in m.items())
                          for which, m in result["valid"].items())
        print(f"done: {result['members']} members, ensemble validation {shown}; skipped "
              f"{result['skipped']}, restores {result['restores']}; run in {result['run_dir']}")
        return 0
    best = result["best_val"]
    best_text = f"{best:.4f}" if math.isfinite(best) else "n/a"
    print(f"done: {result['step']} steps ({result['stop']}), best val {result['best_metric']} "
          f"{best_text}, skipped {result['skipped']}, restores {result['restores']}; run in "
          f"{result['run_dir']}")
    return 0
