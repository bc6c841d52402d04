"""data.drop_last, `rnnkit evaluate --refit` and seed ensembles (train.ensemble) of forecasters."""

import json

import pytest
import torch
from helpers import TINY, sine_csv

from rnnkit.cli import main
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast import Config, DataConfig, make_task
from rnnkit.tasks.forecast.run import refit_cut
from rnnkit.training.checkpoint import load_run
from rnnkit.training.refit import make_refit


def test_drop_last_shortens_the_series_and_checks_its_range(tmp_path):
    src = sine_csv(tmp_path / "a.csv")
    d = DataConfig(name=str(src), time_column="step", season=8, lookback=16, horizon=8, folds=2)
    full = make_task(Config(data=d)).info["layout"]
    d.drop_last = 16
    cut = make_task(Config(data=d)).info["layout"]
    assert cut["n"] == full["n"] - 16 == 104
    assert cut["origins"] == [o - 16 for o in full["origins"]]
    for bad in (-1, 120):
        d.drop_last = bad
        with pytest.raises(ConfigError, match=f"data.drop_last: expected an integer in "
                                              rf"\[0, 120\) .*got {bad}"):
            make_task(Config(data=d))


def test_refit_cut_ends_the_refit_series_one_horizon_after_the_origin():
    d = DataConfig(horizon=8, drop_last=5)
    assert refit_cut(100, 92, d) == 5  # the last origin: nothing more dropped
    assert refit_cut(100, 60, d) == 5 + 32
    # the full series has 100 + 5 steps, the refit one 105 - cut: its test fold is [o, o + H)
    assert 100 + 5 - refit_cut(100, 60, d) == 60 + 8


def test_refit_never_sees_data_after_the_origin(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "forecast", f"--data.name={sine_csv(tmp_path / 'a.csv')}",
                 "--data.folds=3", *TINY, "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    origin = 104  # the second of the origins 96, 104, 112
    cut = refit_cut(120, origin, Config(data=DataConfig(horizon=8)).data)
    overrides = [f"--data.drop_last={cut}", "--data.folds=1"]
    refit = make_refit(run, config)
    _, meta_a, weights_a = refit(overrides, "a")
    sine_csv(tmp_path / "a.csv", replace_from=origin)  # everything from the origin on changes
    _, meta_b, weights_b = refit(overrides, "b")
    assert meta_a["scaler"] == meta_b["scaler"]
    assert meta_a["layout"]["origins"] == [origin] and meta_a["layout"]["n"] == origin + 8
    for key in weights_a:
        torch.testing.assert_close(weights_a[key], weights_b[key], rtol=0, atol=0)
    sine_csv(tmp_path / "a.csv", replace_from=origin - 1)  # the step before it: validated on
    refit(overrides, "c")
    assert evals(run / "refit" / "a") == evals(run / "refit" / "b") != evals(run / "refit" / "c")
    assert "refit a" in capsys.readouterr().err


def evals(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "eval"]


def test_evaluate_refit_end_to_end(tmp_path, capsys):
    src = sine_csv(tmp_path / "a.csv")
    run = tmp_path / "run"
    assert main(["train", "forecast", f"--data.name={src}", "--data.folds=2", *TINY,
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    once = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(run), "--json", "--refit"]) == 0
    out, err = capsys.readouterr()
    again = json.loads(out)  # stdout is the JSON object alone
    assert once["refit"] is False and again["refit"] is True
    assert err.count("rnnkit: refit origin-") == 2
    assert sorted(p.name for p in (run / "refit").iterdir()) == [".rnnkit.lock", "origin-104",
                                                                 "origin-112"]
    assert again["seasonal_naive"] == once["seasonal_naive"]
    assert again["rnnkit"] != once["rnnkit"]
    last = load_run(run / "refit" / "origin-112")[0]  # the last origin: the full series
    assert last["task"]["data"]["drop_last"] == 0 and last["task"]["data"]["folds"] == 1
    assert last["train"]["steps"] == 20 and last["train"]["seed"] == 0
    assert main(["evaluate", str(run), "--refit", "--data", str(src)]) == 2
    assert "--refit: retrains on the run's own series" in capsys.readouterr().err


def test_ensemble_trains_evaluates_and_forecasts(tmp_path, capsys):
    src = sine_csv(tmp_path / "a.csv")
    run = tmp_path / "run"
    assert main(["train", "forecast", f"--data.name={src}", "--data.folds=2", *TINY,
                 "--train.ensemble=2", "--model.linear=true", "--out", str(run)]) == 0
    weights = load_run(run)[2]
    assert weights["members.1.linear.weight"].shape == (8, 16)  # (horizon, lookback)
    assert weights["members.1.linear.weight"].abs().sum() > 0  # trained away from zero
    assert "done: 2 members, ensemble validation" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0.0 <= report["rnnkit"]["coverage"] <= 1.0 and report["rnnkit"]["rmse"] > 0
    assert main(["forecast", str(run), "--horizon", "12"]) == 0  # 8 direct + 4 rolled out
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "time,y,y_lower90,y_upper90" and len(rows) == 1 + 12 + 1
    mid, lo, hi = (float(v) for v in rows[1].split(",")[1:])
    assert lo < mid < hi
