"""model.calibrate: the interval scale fitted on the validation windows after training, saved
in RUN_DIR/calibration.json and applied by evaluate (also --refit) and forecast."""

import json

import pytest
import torch
from helpers import TINY, sine_csv

from rnnkit.cli import main
from rnnkit.errors import ConfigError
from rnnkit.models.forecaster import point_and_interval
from rnnkit.tasks.forecast import Config, DataConfig, ModelConfig, make_task
from rnnkit.tasks.forecast.run import rebuild
from rnnkit.training.checkpoint import load_run


def task_on(path, **model):
    d = DataConfig(name=str(path), time_column="step", season=8, lookback=16, horizon=8,
                   folds=2, valid_folds=2)
    return make_task(Config(data=d, model=ModelConfig(hidden_size=8, **model)))


def edit(src, dst, step, value):
    lines = src.read_text().splitlines()
    lines[1 + step] = f"{step},{value}"
    dst.write_text("\n".join(lines) + "\n")
    return dst


def test_the_factor_is_fitted_on_the_validation_windows_only(tmp_path):
    src = sine_csv(tmp_path / "a.csv")
    task = task_on(src)
    layout = task.info["layout"]  # 120 steps: test from 104, validation windows from 88
    assert (layout["test_start"], layout["train_end"]) == (104, 88)
    torch.manual_seed(0)
    model = task.build_model().eval()
    fitted = task.calibrate(model)
    assert fitted["points"] == 9 * 8  # validation origins 88..96, 8 steps each, 1 target
    assert fitted["scale"] > 0 and fitted["level"] == 0.9
    in_test = task_on(edit(src, tmp_path / "b.csv", 110, 999.0))  # a test value changed
    assert in_test.calibrate(model) == fitted
    in_valid = task_on(edit(src, tmp_path / "c.csv", 100, 999.0))  # a validation target
    assert in_valid.calibrate(model)["scale"] != fitted["scale"]


def test_calibrate_needs_validation_windows(tmp_path):
    d = DataConfig(name=str(sine_csv(tmp_path / "a.csv")), time_column="step", season=8,
                   lookback=16, horizon=8, valid_folds=0)
    with pytest.raises(ConfigError, match="model.calibrate=true: the factor is fitted on the "
                                          "validation windows; expected data.valid_folds >= 1, "
                                          "got 0"):
        make_task(Config(data=d, model=ModelConfig(calibrate=True)))
    assert make_task(Config(data=d)).calibrate(None) is None  # nothing to fit: no file


def half_width(run, calibrate: bool, which="best"):
    config, metadata, weights = load_run(run, which)
    config["task"]["model"]["calibrate"] = calibrate
    task, model = rebuild(config, metadata, weights)
    point, _, hi = point_and_interval(model(torch.randn(3, 16, 1)), "gaussian", 0.9)
    return hi - point


def test_ensemble_run_saves_applies_and_reports_the_factor(tmp_path, capsys):
    src = sine_csv(tmp_path / "a.csv")
    run = tmp_path / "run"
    assert main(["train", "forecast", f"--data.name={src}", "--data.folds=2", *TINY,
                 "--train.ensemble=2", "--model.calibrate=true", "--out", str(run)]) == 0
    fitted = json.loads((run / "calibration.json").read_text())
    assert set(fitted) == {"best", "last"} and fitted["best"]["points"] == 8
    assert not (run / "members" / "0" / "calibration.json").exists()  # the ensemble's only
    for which in ("best", "last"):
        assert load_run(run, which)[1]["calibration"] == fitted[which]
        torch.manual_seed(1)
        plain = half_width(run, False, which)
        torch.manual_seed(1)
        torch.testing.assert_close(half_width(run, True, which), fitted[which]["scale"] * plain)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json", "--checkpoint", "last"]) == 0
    assert json.loads(capsys.readouterr().out)["calibration"] == fitted["last"]["scale"]
    assert main(["evaluate", str(run)]) == 0
    scale = f"{fitted['best']['scale']:.3g}"
    assert f"intervals x{scale} (fitted on validation)" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--json", "--refit"]) == 0
    scales = json.loads(capsys.readouterr().out)["calibration"]  # each refit's own factor
    assert len(scales) == 2 and all(s > 0 for s in scales)
    refit = json.loads((run / "refit" / "origin-112" / "calibration.json").read_text())
    assert scales[1] == refit["best"]["scale"]
    (run / "calibration.json").unlink()  # a run from before calibration
    assert main(["forecast", str(run)]) == 2
    assert "model.calibrate=true: this run has no calibration.json" in capsys.readouterr().err
