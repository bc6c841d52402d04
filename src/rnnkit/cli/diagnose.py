"""`rnnkit diagnose RUN_DIR`: gradient flow through time, gate saturation and a verdict."""

from __future__ import annotations

from pathlib import Path

from rnnkit.errors import ConfigError, RnnkitError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "diagnose",
        help="vanishing or exploding gradients? figures and a verdict for a trained run",
        description="Loads a run's checkpoint and one of its task's training batches, runs one "
        "forward and backward (rnnkit's BPTT records dL/dh_t on the way) and writes "
        "RUN_DIR/diagnosis.png (||dL/dh_t|| and ||dh_T/dh_t|| against distance T - t, log "
        "scale; gate saturation), diagnosis.txt and diagnosis.json, and prints the verdict "
        "(vanishing, exploding, healthy) with the numbers behind it. The model's RNN layers "
        "must be rnnkit layers; the batch must hold equal-length sequences.",
    )
    p.add_argument("run_dir", help="a run directory written by `rnnkit train`")
    p.add_argument("--data", default="train", choices=["train"],
                   help="where the batch comes from: the task's training batches (default)")
    p.add_argument("--batch", type=int, default=0, help="which batch of epoch 0 (default 0)")
    p.add_argument("--which", default="best", choices=["best", "last"], help="checkpoint")
    p.add_argument("--norm", default="fro", choices=["fro", "spectral"],
                   help="matrix norm of the Jacobians dh_T/dh_t (default Frobenius)")
    p.add_argument("--out", default=None, help="directory for the outputs (default RUN_DIR)")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        from rnnkit.training.loading import load_trained
    except ImportError:
        raise RnnkitError("rnnkit diagnose RUN_DIR needs the training engine (rnnkit.training), "
                          "which this installation lacks") from None
    from rnnkit.diagnostics.report import write_report

    if args.batch < 0:
        raise ConfigError(f"--batch must be >= 0, got {args.batch}")
    trained = load_trained(args.run_dir, args.which)
    model, task = trained.model, trained.task
    batch, i = None, -1
    for i, b in enumerate(task.train_batches(0)):
        if i == args.batch:
            batch = b
            break
    if batch is None:
        raise ConfigError(f"--batch: epoch 0 of {args.run_dir} has {i + 1} batches, "
                          f"asked for batch {args.batch}")
    model.eval()  # no dropout: the step-math traces replay the layers exactly
    try:
        diag, png, txt = write_report(model, lambda m: task.step(m, batch, None).loss,
                                      args.out or args.run_dir, Path(args.run_dir).name,
                                      args.norm)
    except ValueError as err:
        raise RnnkitError(f"diagnose {args.run_dir}: {err}") from None
    print(diag.text())
    print(f"figures: {png}; text: {txt}")
    return 0
