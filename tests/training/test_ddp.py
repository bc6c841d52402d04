"""DistributedDataParallel with 2 gloo processes on CPU (torchrun on 127.0.0.1) equals one
process with the same global batch, to 1e-5; only rank 0 writes."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file
from toyrun import records, run_toy

import rnnkit

ARGS = ["--train.steps=12", "--train.eval_every=6", "--data.batch_size=8",
        "--data.chunks_per_epoch=5", "--model.hidden_size=16", "--train.clip_norm=0.5",
        "--optim.name=adamw", "--optim.lr=0.01"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(rnnkit.__file__).parents[1]),
               OMP_NUM_THREADS="1", CI="true")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "rnnkit", "train",
           *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_two_gloo_processes_match_one(tmp_path):
    """2 processes, stopped at step 7 (mid-epoch, carried state on each rank) and resumed to
    step 12, against one process going straight to step 12."""
    ddp_dir, single_dir = tmp_path / "ddp", tmp_path / "single"
    first = _torchrun("toy", "--out", str(ddp_dir), "--train.device=cpu", *ARGS, "--steps=7")
    assert first.stdout.count("done: 7 steps") == 1  # rank 0 reports
    assert sorted(load_file(ddp_dir / "last" / "carry.safetensors")) == [
        "rank0.0", "rank0.1", "rank1.0", "rank1.1"]  # each rank's (h, c)
    _torchrun("--resume", str(ddp_dir), "--steps=12")

    run_toy(single_dir, *ARGS)
    a = load_file(ddp_dir / "last" / "model.safetensors")
    b = load_file(single_dir / "last" / "model.safetensors")
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-5
    # one writer: each step logged once, with the loss averaged over both ranks
    la, lb = records(ddp_dir, "train"), records(single_dir, "train")
    assert [r["step"] for r in la] == list(range(1, 13))
    assert max(abs(x["loss"] - y["loss"]) for x, y in zip(la, lb, strict=True)) < 1e-5
    ea, eb = records(ddp_dir, "eval")[-1], records(single_dir, "eval")[-1]
    assert abs(ea["loss"] - eb["loss"]) < 1e-5


def test_toy_shards_are_the_global_batch_split():
    import torch

    from rnnkit.tasks import toy

    task = toy.make_task(toy.Config())
    whole = [x for x, _ in task.train_batches(0)]
    halves = [[x for x, _ in task.train_batches(0, rank, 2)] for rank in (0, 1)]
    for w, h0, h1 in zip(whole, *halves, strict=True):
        assert torch.equal(torch.cat([h0, h1]), w)


def test_a_time_limited_cosine_run_stops_every_rank_together(tmp_path):
    """--minutes with a cosine over the time: rank 0's clock decides the stop and the learning
    rate for both ranks (a disagreement would hang one rank at the next collective)."""
    run = tmp_path / "ddp_time"
    done = _torchrun("toy", "--out", str(run), "--train.device=cpu", "--data.batch_size=8",
                     "--data.chunks_per_epoch=5", "--model.hidden_size=16", "--train.steps=0",
                     "--train.minutes=0.05", "--sched.name=cosine", "--sched.min_lr=0",
                     "--train.eval_every=0", "--train.threads=auto")
    assert done.stdout.count("(time)") == 1 and "under torchrun" in done.stdout
    lrs = [r["lr"] for r in records(run, "train")]
    assert len(lrs) > 1 and all(a >= b for a, b in zip(lrs[:-1], lrs[1:], strict=True))
    assert lrs[-1] < lrs[0]  # on its way down the cosine, by rank 0's clock
