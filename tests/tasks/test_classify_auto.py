"""Settings the classify task chooses from the training split, and series augmentation."""

from dataclasses import asdict

import numpy as np
import torch

from rnnkit.tasks.classify import Config, make_task
from rnnkit.tasks.classify.auto import FILTERS, MAX_STEPS


def write_ts(path, lengths, seed):
    rng = np.random.default_rng(seed)
    lines = ["@problemName toy", "@univariate true", "@classLabel true up down", "@data"]
    for i, n in enumerate(lengths):
        level = 1.5 if i % 2 else -1.5
        x = level + 0.3 * rng.normal(size=n)
        lines.append(",".join(f"{v:.4f}" for v in x) + (":up" if level > 0 else ":down"))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def series_task(tmp_path, train_len, test_len, **data):
    cfg = Config(data={"train_path": write_ts(tmp_path / "tr.ts", [train_len] * 20, 0),
                       "test_path": write_ts(tmp_path / "te.ts", [test_len] * 10, 1),
                       "batch_size": 8, **data}, model={"hidden_size": 4, "embed_dim": 4})
    return make_task(cfg)


def test_auto_settings_come_from_the_training_split_and_are_saved(tmp_path):
    task = series_task(tmp_path, 2 * MAX_STEPS + 1, 10 * MAX_STEPS)  # long test series
    saved = asdict(task.cfg)
    assert saved["model"]["downsample"] == 3  # ceil(513 / 256): training lengths only
    assert saved["model"]["conv_filters"] == FILTERS
    assert saved["data"]["jitter"] >= 0 and saved["data"]["scaling"] >= 0
    again = make_task(Config(**saved))  # a saved config rebuilds the same model
    assert asdict(again.cfg) == saved
    assert task.build_model().fcn is not None


def test_explicit_settings_are_kept(tmp_path):
    cfg = Config(data={"train_path": write_ts(tmp_path / "tr.ts", [30] * 20, 0),
                       "jitter": 0.0, "scaling": 0.0},
                 model={"conv_filters": 0, "downsample": 1})
    task = make_task(cfg)
    assert task.build_model().fcn is None and task.cfg.model.downsample == 1
    assert task.cfg.data.jitter == 0.0


def test_augmentation_changes_training_batches_only(tmp_path):
    plain = series_task(tmp_path, 30, 30, jitter=0.0, scaling=0.0, valid_fraction=0.0)
    aug = series_task(tmp_path, 30, 30, jitter=0.1, scaling=0.2, valid_fraction=0.0)
    for a, b in zip(plain.train_batches(0), aug.train_batches(0), strict=True):
        assert torch.equal(a["y"], b["y"]) and a["x"].shape == b["x"].shape
        assert not torch.equal(a["x"], b["x"])
    torch.manual_seed(0)
    model = plain.build_model()
    out_plain, _ = plain.outputs(model, plain.valid)
    out_aug, _ = aug.outputs(model, aug.valid)  # evaluation reads the series as they are
    assert np.array_equal(out_plain, out_aug)
