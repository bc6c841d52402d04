"""Shared by the translate tests: a reverse-the-word parallel corpus, written as a TSV."""

from __future__ import annotations

import random


def reverse_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        word = "".join(rng.choice("abcdef") for _ in range(rng.randint(1, 5)))
        out.append((word, word[::-1]))
    return out


def write_tsv(path, pairs):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path


# `rnnkit train translate` settings of the tiny run (reversing 2,000 words, 300 steps)
TINY = ["--data.tokenizer=char", "--model.embedding_size=16", "--model.hidden_size=32",
        "--data.batch_size=32", "--train.eval_every=100", "--optim.lr=1e-2",
        "--sched.total_steps=300", "--sched.warmup_steps=0", "--steps", "300", "--plain"]


def train_reverse_run(base):
    """(run_dir, data_dir) of the tiny run, trained under `base` (a directory)."""
    from rnnkit.cli import main

    data = base / "data"
    data.mkdir()
    write_tsv(data / "train.tsv", reverse_pairs(2000, 0))
    write_tsv(data / "valid.tsv", reverse_pairs(100, 1))
    write_tsv(data / "test.tsv", reverse_pairs(100, 2))
    run_dir = base / "run"
    args = ["train", "translate", f"--data.train_path={data / 'train.tsv'}",
            f"--data.valid_path={data / 'valid.tsv'}", f"--data.test_path={data / 'test.tsv'}",
            "--data.name=files", "--out", str(run_dir), *TINY]
    assert main(args) == 0
    return run_dir, data
