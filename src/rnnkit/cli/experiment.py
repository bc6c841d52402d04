"""`rnnkit experiment NAME`: the classic long-range experiments, Elman RNN against LSTM and GRU."""

from __future__ import annotations

from rnnkit.errors import ConfigError


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag}: expected comma-separated integers, got {text!r}") from None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "experiment",
        help="classic vanishing/exploding-gradient experiments: adding, copy, blocks, exploding",
        description="Trains each cell at each length on a generated task (plain Adam loop, fresh "
        "batches every step), prints the final error against the memoryless baseline and writes "
        "learning curves and ||dL/dh_t||-against-distance plots. adding: sum of two marked values "
        "(MSE; predicting the mean gives 1/6 = 0.167). copy: recall 10 symbols after T blanks "
        "(nats/step; baseline 10 ln 8 / (T + 20)). blocks: next colour of a repeating pattern "
        "(nats/block; baseline ln 4). exploding: adding with W_hh rescaled to spectral radius "
        "--init-scale (default 3), trained with plain SGD, clipping off, then on. --init default: "
        "torch's init, with the LSTM's forget-gate bias at --forget-bias (1: the gate starts at "
        "0.73, so a memory fades as 0.73^T). --init chrono (Tallec & Ollivier 2018): LSTM forget "
        "bias (GRU update-gate bias) log U(1, --chrono-tmax - 1) per unit, LSTM input bias its "
        "negative, so memories last up to --chrono-tmax steps (default: each run's T); the RNN "
        "keeps its default and the table labels chrono runs 'lstm chrono'. Runs on 1 CPU thread "
        "(torch.set_num_threads(1)): on models this small, more threads were measured much slower.",
    )
    p.add_argument("name", help="adding, copy, blocks or exploding")
    p.add_argument("--cells", default="rnn,lstm,gru",
                   help="comma-separated cell names: rnn, lstm, gru, ... (rnn = rnn_tanh)")
    p.add_argument("--lengths", default="50,100,200,400",
                   help="comma-separated sequence lengths T (default 50,100,200,400)")
    p.add_argument("--steps", type=int, default=2000, help="Adam steps per run (default 2000)")
    p.add_argument("--out", default=None, help="directory for results.json and the PNGs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", type=int, default=128, help="hidden units (default 128)")
    p.add_argument("--batch", type=int, default=50, help="batch size (default 50)")
    p.add_argument("--optimizer", default=None, choices=["adam", "sgd"],
                   help="default adam; sgd for exploding (Adam divides out the gradient's size)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--clip", type=float, default=1.0,
                   help="max gradient norm; 0 turns clipping off (default 1)")
    p.add_argument("--eval-every", type=int, default=100, help="steps between evaluations")
    p.add_argument("--eval-size", type=int, default=1000, help="fresh sequences per evaluation")
    p.add_argument("--stop-below", type=float, default=None,
                   help="stop a run once its evaluation error is below this")
    p.add_argument("--forget-bias", type=float, default=1.0,
                   help="the LSTM's initial forget-gate bias with --init default (default 1: the "
                   "gate starts at 0.73)")
    p.add_argument("--init", default="default", choices=["default", "chrono"],
                   help="default: torch's init (+ --forget-bias); chrono: chrono init of LSTM/GRU "
                   "gate biases (Tallec & Ollivier 2018)")
    p.add_argument("--chrono-tmax", type=int, default=None,
                   help="chrono's longest characteristic time, > 2 (default: each run's length T)")
    p.add_argument("--init-scale", type=float, default=None,
                   help="rescale W_hh gate blocks to this spectral radius (exploding: default 3)")
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from rnnkit.experiments.common import RunSettings
    from rnnkit.experiments.run import PROBLEMS, check_names, run_experiment, table

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    lengths = _ints(args.lengths, "--lengths")
    try:
        check_names(args.name, cells, lengths, args.init)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    for flag, value in (("--steps", args.steps), ("--hidden", args.hidden),
                        ("--batch", args.batch), ("--eval-every", args.eval_every),
                        ("--eval-size", args.eval_size)):
        if value < 1:
            raise ConfigError(f"{flag} must be >= 1, got {value}")
    if args.lr <= 0 or args.clip < 0:
        raise ConfigError(f"--lr must be > 0 and --clip >= 0, got {args.lr}, {args.clip}")
    if args.chrono_tmax is not None and args.chrono_tmax <= 2:
        raise ConfigError(f"--chrono-tmax: expected an integer > 2, got {args.chrono_tmax}")
    if args.chrono_tmax is not None and args.init != "chrono":
        raise ConfigError(f"--chrono-tmax: expected together with --init chrono, got --init "
                          f"{args.init}")
    settings = RunSettings(steps=args.steps, hidden=args.hidden, batch=args.batch, lr=args.lr,
                           clip=args.clip or None, eval_every=args.eval_every,
                           eval_size=args.eval_size, seed=args.seed, stop_below=args.stop_below,
                           init_scale=args.init_scale, forget_bias=args.forget_bias,
                           init=args.init, chrono_tmax=args.chrono_tmax,
                           optimizer=args.optimizer or (
                               "sgd" if args.name == "exploding" else "adam"))
    torch.set_num_threads(1)  # small models: one thread is fastest (and fair on a shared machine)
    results = run_experiment(args.name, cells, lengths, settings, args.out,
                             log=lambda line: print(line, flush=True))
    problem = PROBLEMS["adding" if args.name == "exploding" else args.name]
    print(table(results, problem.error_name))
    if args.out:
        print(f"results.json and figures in {args.out}")
    return 0
