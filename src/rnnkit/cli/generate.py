"""`rnnkit generate RUN_DIR`: sample text from a trained language model, streamed to stdout."""

from __future__ import annotations

import sys

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import require_task
from rnnkit.devices import check_device, check_threads


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="sample text from a trained language model (task lm)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `rnnkit train lm`")
    p.add_argument("--prime", default="", help="text to continue (default: start of a line)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="sampling temperature; 0 = always the most likely token (default 1.0)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k most likely (0 = off)")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="sample among the most likely tokens holding probability p (1.0 = off)")
    p.add_argument("--seed", type=int, default=None, help="random seed, for reproducible samples")
    p.add_argument("--num-samples", type=int, default=1,
                   help="N samples made together in one batch, printed one after another; "
                        "sample i is the same whatever N (default 1: streamed)")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps (default cpu)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (0 = torch's default); 1 is faster on a busy machine")
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from rnnkit.models.generate import Sampling, generate, generate_samples
    from rnnkit.tasks.lm import model_from_run

    sampling = Sampling(args.temperature, args.top_k, args.top_p, args.seed)
    device = check_device(args.device, "--device")
    if check_threads(args.threads, "--threads"):
        torch.set_num_threads(args.threads)  # this process only: the CLI owns it
    config, metadata, state_dict = _load_run(args.run_dir, args.checkpoint)
    require_task(config, metadata, args.run_dir, "rnnkit generate", "lm")
    model, tokenizer = model_from_run(metadata, state_dict, device)
    if args.num_samples != 1:
        return _print_samples(generate_samples(model, tokenizer, args.prime, args.length,
                                               sampling, args.num_samples),
                              args.prime, args.num_samples)
    pieces = generate(model, tokenizer, args.prime, args.length, sampling)  # checks the prime
    out = sys.stdout
    out.write(args.prime)
    for piece in pieces:
        out.write(piece)
        out.flush()
    out.write("\n")
    return 0


def _print_samples(steps, prime: str, n: int) -> int:
    """Each sample after a header line `--- sample i ---` (i from 0), once all are made."""
    texts: list[list[str]] = [[] for _ in range(n)]
    for pieces in steps:
        for text, piece in zip(texts, pieces, strict=True):
            text.append(piece)
    out = sys.stdout
    for i, text in enumerate(texts):
        out.write(f"--- sample {i} ---\n{prime}{''.join(text)}\n")
    return 0
