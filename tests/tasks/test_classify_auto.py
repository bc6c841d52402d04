"""Settings the classify task chooses from the training split, and series augmentation."""

from dataclasses import asdict

import numpy as np
import pytest
import torch
from helpers import write_ts

from rnnkit.tasks.classify import Config, make_task
from rnnkit.tasks.classify.auto import FILTERS, MAX_STEPS


def series_task(tmp_path, train_len, test_len, **data):
    cfg = Config(data={"train_path": write_ts(tmp_path / "tr.ts", [train_len] * 20, 0),
                       "test_path": write_ts(tmp_path / "te.ts", [test_len] * 10, 1),
                       "batch_size": 8, **data}, model={"hidden_size": 4, "embed_dim": 4})
    return make_task(cfg)


def test_auto_settings_come_from_the_training_split_and_are_saved(tmp_path):
    task = series_task(tmp_path, 2 * MAX_STEPS + 1, 10 * MAX_STEPS)  # long test series
    saved = asdict(task.cfg)
    assert saved["model"]["downsample"] == 3  # ceil(2 * MAX_STEPS + 1 / MAX_STEPS): training only
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
    plain = series_task(tmp_path, 30, 30, jitter=0.0, scaling=0.0, valid_fraction=0.0, folds=0)
    aug = series_task(tmp_path, 30, 30, jitter=0.1, scaling=0.2, valid_fraction=0.0, folds=0)
    for a, b in zip(plain.train_batches(0), aug.train_batches(0), strict=True):
        assert torch.equal(a["y"], b["y"]) and a["x"].shape == b["x"].shape
        assert not torch.equal(a["x"], b["x"])
    torch.manual_seed(0)
    model = plain.build_model()
    out_plain, _ = plain.outputs(model, plain.valid)
    out_aug, _ = aug.outputs(model, aug.valid)  # evaluation reads the series as they are
    assert np.array_equal(out_plain, out_aug)


def test_training_batches_are_equal_not_a_full_one_and_a_single_item(tmp_path):
    cfg = Config(data={"train_path": write_ts(tmp_path / "tr.ts", [12] * 33, 0),
                       "test_path": write_ts(tmp_path / "te.ts", [12] * 4, 1),
                       "batch_size": 32, "valid_fraction": 0.0})
    sizes = sorted(len(b["y"]) for b in make_task(cfg).train_batches(0))
    assert sizes == [16, 17]


def test_series_norm_is_chosen_when_the_training_scales_are_far_apart(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["@problemName toy", "@univariate true", "@classLabel true a b", "@data"]
    for i in range(20):  # scales 1e-3 .. 1e3: the class is the shape, not the level
        x = 10.0 ** rng.uniform(-3, 3) * np.sin(np.linspace(0, 6, 30) * (1 + i % 2))
        lines.append(",".join(f"{v:.6g}" for v in x) + (":a" if i % 2 else ":b"))
    (tmp_path / "tr.ts").write_text("\n".join(lines) + "\n")
    task = make_task(Config(data={"train_path": str(tmp_path / "tr.ts")}))
    assert task.cfg.data.series_norm == "on" and task.prep.model_inputs == 2
    x, _ = task.train[0]
    assert x.shape == (30, 2)  # the z-normalised series and its log scale
    assert np.ptp(x[:, 1]) == 0  # the scale channel is constant over time
    plain = series_task(tmp_path, 30, 30)
    assert plain.cfg.data.series_norm == "off" and plain.prep.model_inputs == 1


def test_ensemble_rule_small_short_series_sets_get_members():
    from rnnkit.tasks.classify.auto import ENSEMBLE, MAX_READ, SMALL_SET, ensemble_size

    assert ensemble_size("series", [100] * 20, 1) == ENSEMBLE
    assert ensemble_size("series", [100] * SMALL_SET, 1) == ENSEMBLE
    assert ensemble_size("series", [100] * (SMALL_SET + 1), 1) == 1  # larger: one model
    assert ensemble_size("series", [MAX_READ + 1] * 20, 1) == 1  # long as read: dear members
    assert ensemble_size("series", [4 * MAX_READ] * 20, 4) == ENSEMBLE  # downsampled: cheap
    assert ensemble_size("text", [10] * 20, 1) == 1
    assert ensemble_size("dna", [10] * 20, 1) == 1


def tiny_series_run(tmp_path, *extra):
    from rnnkit.cli import main

    train = write_ts(tmp_path / "tr.ts", [16] * 24, 0)
    test = write_ts(tmp_path / "te.ts", [16] * 6, 1)
    run_dir = tmp_path / "run"
    code = main(["train", "classify", f"--data.train_path={train}", f"--data.test_path={test}",
                 "--data.batch_size=8", "--model.hidden_size=4", "--model.embed_dim=4",
                 "--model.conv_filters=2", "--train.threads=1", "--train.eval_every=2",
                 "--steps", "2", "--out", str(run_dir), "--plain", *extra])
    assert code == 0
    return run_dir, tmp_path / "te.ts"


def test_auto_ensemble_is_saved_and_evaluate_predict_use_every_member(tmp_path, capsys):
    import json

    from rnnkit.cli import main
    from rnnkit.tasks.classify.auto import ENSEMBLE

    run_dir, test = tiny_series_run(tmp_path)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train"]["ensemble"] == ENSEMBLE  # the number, not auto
    members = [run_dir / "members" / str(k) for k in range(ENSEMBLE)]
    assert all((m / "done.json").is_file() for m in members)
    assert not (run_dir / "members" / str(ENSEMBLE)).exists()
    capsys.readouterr()
    probs = []
    for path in (run_dir, *members):
        assert main(["predict", str(path), "--input", str(test), "--json"]) == 0
        probs.append([[r["probabilities"][c] for c in ("down", "up")]
                      for r in json.loads(capsys.readouterr().out)])
    mean = torch.tensor(probs[1:]).mean(0)
    torch.testing.assert_close(torch.tensor(probs[0]), mean, atol=2e-6, rtol=0)
    assert main(["evaluate", str(run_dir), "--data", "test", "--json", "--no-baselines"]) == 0
    report = json.loads(capsys.readouterr().out)
    pred = mean.argmax(1).tolist()
    true = [1 if i % 2 else 0 for i in range(6)]  # write_ts: odd rows are "up"
    assert report["accuracy"] == pytest.approx(float(np.mean(np.array(pred) == true)))


def test_a_given_ensemble_size_is_kept(tmp_path):
    import json

    run_dir, _ = tiny_series_run(tmp_path, "--train.ensemble=1")
    assert json.loads((run_dir / "config.json").read_text())["train"]["ensemble"] == 1
    assert not (run_dir / "members").exists() and (run_dir / "best").is_dir()
