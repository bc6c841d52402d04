import json
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import TINY

from rnnkit.cli import main
from rnnkit.errors import DataError
from rnnkit.tasks import forecast
from rnnkit.tasks.forecast import Config, DataConfig, make_task
from rnnkit.tasks.forecast import baselines as B
from rnnkit.tasks.forecast.backtest import backtest, mase_scale, score
from rnnkit.tasks.forecast.run import rebuild
from rnnkit.training.checkpoint import load_run
from rnnkit.training.settings import resolve

TOY = np.array([1.0, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6.5])  # season 4, rising


def test_naive_and_seasonal_naive_by_hand():
    point, lo, hi = B.naive(TOY, 3, 4, 0.9)
    assert point.tolist() == [6.5, 6.5, 6.5]
    sigma = np.std(np.diff(TOY), ddof=1)
    np.testing.assert_allclose(hi - point, 1.6448536 * sigma * np.sqrt([1, 2, 3]), rtol=1e-6)
    point, lo, hi = B.seasonal_naive(TOY, 6, 4, 0.9)
    assert point.tolist() == [3, 4, 5, 6.5, 3, 4]  # the last season, repeated
    sigma = np.std(TOY[4:] - TOY[:-4], ddof=1)
    np.testing.assert_allclose(hi - point, 1.6448536 * sigma * np.sqrt([1, 1, 1, 1, 2, 2]),
                               rtol=1e-6)
    point, _, _ = B.seasonal_naive(TOY, 2, 4, 0.9, transform="log")
    np.testing.assert_allclose(point, [3, 4])


def test_metrics_by_hand():
    y = np.array([[[2.0], [4.0]]])
    f = np.array([[[1.0], [4.0]]])
    m = score(y, f, f - 0.5, f + 0.5, scale=np.array([2.0]), level=0.8)
    assert m["mae"] == 0.5 and m["rmse"] == pytest.approx(math.sqrt(0.5))
    assert m["smape"] == pytest.approx(100 * (2 * 1 / 3 + 0) / 2)
    assert m["mase"] == 0.25 and m["coverage"] == 0.5
    # width 1 each; y = 2 lies 0.5 above [0.5, 1.5]: penalty 2 / 0.2 * 0.5 = 5
    assert m["iscore"] == pytest.approx((1 + 5 + 1 + 0) / 2)
    assert mase_scale(TOY[:, None], 4).tolist() == [np.abs(TOY[4:] - TOY[:-4]).mean()]


def test_ets_and_arima_beat_seasonal_naive_on_trend_and_season():
    t = np.arange(48)
    y = 20 + 0.5 * t + 3 * np.sin(2 * np.pi * t / 6)
    hist, future = y[:42, None], y[42:]
    res = backtest(y[:, None], [42], 6, 6, 0.9, "none", None, ["seasonal_naive", "ets", "arima"])
    assert res["seasonal_naive"]["metrics"]["mae"] == pytest.approx(3.0)  # one season's trend
    assert res["ets"]["metrics"]["mae"] < 0.5 and res["arima"]["metrics"]["mae"] < 0.5
    np.testing.assert_allclose(np.asarray(res["ets"]["point"])[0, :, 0], future, atol=1.0)
    assert hist.shape == (42, 1) and len(res["arima"]["order"]) == 1


def sine_csv(path, n=120, season=8, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 10 + 0.02 * t + 2 * np.sin(2 * np.pi * t / season) + noise * rng.normal(size=n)
    rows = [f"{i},{v:.5f}" for i, v in enumerate(y)]
    path.write_text("step,y\n" + "\n".join(rows) + "\n")
    return path


def test_task_fits_scaler_on_training_part_only(tmp_path):
    src = sine_csv(tmp_path / "a.csv")
    cfg = Config(data=DataConfig(name=str(src), time_column="step", season=8, lookback=16,
                                 horizon=8, folds=2))
    task = make_task(cfg)
    lines = src.read_text().splitlines()
    train_end = task.info["layout"]["train_end"]
    assert train_end == 120 - 8 - 8 - 8
    for i in range(train_end + 1, len(lines)):  # replace validation and test values
        lines[i] = lines[i].split(",")[0] + ",999"
    (tmp_path / "b.csv").write_text("\n".join(lines) + "\n")
    cfg.data.name = str(tmp_path / "b.csv")
    assert make_task(cfg).info["scaler"] == task.info["scaler"]
    assert task.train_y.shape[1:] == (8, 1) and task.valid_x.shape[1:] == (16, 1)


def test_task_reports_bad_data(tmp_path):
    src = sine_csv(tmp_path / "a.csv", n=30)
    with pytest.raises(DataError, match="horizon=40 is not shorter"):
        make_task(Config(data=DataConfig(name=str(src), horizon=40)))


def test_train_evaluate_forecast_end_to_end(tmp_path, capsys):
    src = sine_csv(tmp_path / "s.csv")
    run = tmp_path / "run"
    code = main(["train", "forecast", f"--data.name={src}", "--data.time_column=step",
                 "--data.season=8", "--data.lookback=16", "--data.horizon=8", "--data.folds=2",
                 "--data.baselines=naive,seasonal_naive", "--model.hidden_size=16",
                 "--train.threads=1", "--train.eval_every=50", "--steps", "150",
                 "--out", str(run), "--plain"])
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for method in ("rnnkit", "naive", "seasonal_naive"):
        assert {"mae", "rmse", "mase", "smape", "coverage"} <= set(report[method])
    assert report["rnnkit"]["rmse"] < report["naive"]["rmse"]
    assert report["rnnkit"]["mase"] < 1.0
    assert (run / "backtest.txt").is_file() and (run / "backtest.png").is_file()
    other = sine_csv(tmp_path / "other.csv", n=100, seed=1)  # another series, same columns
    assert main(["evaluate", str(run), "--data", str(other), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"] == str(other) and report["origins"] == ["84", "92"]
    assert main(["forecast", str(run), "--horizon", "12"]) == 0  # 8 direct + 4 rolled out
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "time,y,y_lower90,y_upper90" and len(out) == 1 + 12 + 1
    assert out[1].split(",")[0] == "120" and out[-1].startswith("plot: ")
    mid, lo, hi = (float(v) for v in out[1].split(",")[1:])
    assert lo < mid < hi and 7 < mid < 15
    assert (run / "forecast.csv").is_file() and (run / "forecast.png").is_file()


def test_cli_bad_csv_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,y\n2020-01,1\n2020-02,x\n2020-03,2\n")
    code = main(["train", "forecast", f"--data.name={bad}", "--steps", "1",
                 "--out", str(tmp_path / "run"), "--plain"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith("rnnkit: error: ") and "line 3, column 'y'" in err


def test_student_t_head_and_point_weight_end_to_end(tmp_path, capsys):
    # a Student-t ensemble with the squared-error term (window scale, trend_season base,
    # residual inputs) trains, is rebuilt from its run
    # directory (three parameters per step: mu, log sigma^2, log(nu - 2)), evaluates, forecasts
    src = sine_csv(tmp_path / "s.csv")
    run = tmp_path / "run"
    assert main(["train", "forecast", f"--data.name={src}", *TINY, "--model.head=student_t",
                 "--model.point_weight=1.0", "--model.window_scale=true",
                 "--model.base=trend_season", "--model.residual=true", "--train.ensemble=2",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0.0 <= report["rnnkit"]["coverage"] <= 1.0
    assert report["rnnkit"]["rmse"] < report["naive"]["rmse"]
    _, model = rebuild(*load_run(run))
    assert model(torch.zeros(1, 16, 1)).shape == (1, 8, 1, 3)
    cfg = model.members[0].cfg
    assert (cfg.window_scale, cfg.residual, cfg.base) == (True, True, "trend_season")
    assert main(["forecast", str(run)]) == 0
    mid, lo, hi = (float(v) for v in capsys.readouterr().out.splitlines()[1].split(",")[1:])
    assert lo < mid < hi


@pytest.mark.parametrize("key, value, message", [
    ("model.point_weight", "-1", "model.point_weight: expected a finite number >= 0, got -1.0"),
    ("model.df", "1.5", r"model.df: expected 0 \(learned\) or a number > 2, got 1.5"),
    ("model.head", "cauchy", r"model.head \(from --model.head=cauchy\): expected one of gaussian, "
                       "student_t, quantile"),
])
def test_bad_head_settings_are_one_line(tmp_path, capsys, key, value, message):
    src = sine_csv(tmp_path / "s.csv")
    code = main(["train", "forecast", f"--data.name={src}", "--data.time_column=step",
                 f"--{key}={value}", "--steps", "1", "--out", str(tmp_path / "run"), "--plain"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert re.search(message, err), err


@pytest.mark.parametrize("name", ["co2", "sunspots"])
def test_shipped_forecast_configs_resolve_and_build(name):
    # the tuned configs (BENCHMARKS.md "Forecasting") must stay valid as the options change
    path = Path(__file__).parents[2] / "configs" / f"{name}.toml"
    cfg = resolve(forecast, "forecast", file_data=tomllib.loads(path.read_text()),
                  file_name=str(path))
    assert cfg.task.data.name == name and cfg.task.model.window_scale and cfg.task.model.linear
    assert cfg.train.threads == 1 and cfg.train.ensemble == 5
    model = make_task(cfg.task).build_model()
    hidden = {"co2": 128, "sunspots": 32}[name]  # co2's round 4 choice; sunspots the default
    assert tuple(model.rnn.weight_hh_l0.shape) == (4 * hidden, hidden)
    assert model.linear is not None
