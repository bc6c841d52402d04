"""Task `recognize` on the synthetic toy: learnt to 0 errors; the loss settings; bad labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.errors import DataError
from rnnkit.tasks.recognize import Config, make_task
from rnnkit.tasks.recognize.task import Alphabet

TOY = ["--data.name=ctc-toy", "--data.n_train=800", "--data.n_valid=100", "--data.n_test=50",
       "--data.batch_size=16", "--model.hidden_size=24", "--model.num_layers=1",
       "--model.subsample=none", "--model.dropout=0", "--train.threads=1", "--optim.lr=0.01"]


def test_the_toy_is_learnt_to_zero_errors(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["train", "recognize", *TOY, "--train.eval_every=150", "--steps", "150",
                 "--out", str(run_dir), "--plain"]) == 0
    evals = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in line]
    assert evals[-1]["cer"] == 0.0 and evals[-1]["seq_acc"] == 1.0


def toy_task(**loss):
    cfg = Config(data={"name": "ctc-toy", "n_train": 40, "n_valid": 8, "n_test": 8,
                       "batch_size": 8},
                 model={"hidden_size": 8, "num_layers": 1, "subsample": "stack", "factor": 4},
                 loss=loss)
    return make_task(cfg)


def test_reference_and_torch_losses_are_equal_on_a_batch():
    torch.manual_seed(0)
    task = toy_task(impl="reference")
    model = task.build_model().eval()  # no dropout: the same forward twice
    batch = next(task.train_batches(0))
    ref = task.step(model, batch, None).loss
    task.cfg.loss.impl = "torch"
    torch.testing.assert_close(task.step(model, batch, None).loss, ref)


def test_items_too_short_for_their_text_are_counted_skipped_or_an_error(capsys):
    task = toy_task(infeasible="skip")  # 4 frames per output frame: long texts do not fit
    assert "training item(s) have fewer frames than their text needs" in capsys.readouterr().err
    model = task.build_model()
    batches = list(task.train_batches(0))
    counts = [task.step(model, b, None).metrics["infeasible"] for b in batches]
    assert sum(counts) > 0
    for b in batches:
        assert torch.isfinite(task.step(model, b, None).loss)
    task.cfg.loss.infeasible = "error"
    bad = next(b for b, n in zip(batches, counts, strict=True) if n)
    with pytest.raises(DataError, match="too short for their text"):
        task.step(model, bad, None)


def test_a_label_outside_the_alphabet_is_one_clear_error():
    with pytest.raises(DataError, match=r"character\(s\) 'z' of 'abz' are not in the alphabet"):
        Alphabet("abc").encode("abz", "item 3")
    task = toy_task()
    with pytest.raises(DataError, match="item 7"):
        task.encode_item(np.zeros((4, 5), np.float32), "az", "item 7")
