"""`rnnkit predict` on a series run (.ts input), with the CLI's load_run stood in for."""

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.cli import predict as predict_cli
from rnnkit.tasks.classify import Config, make_task


def write_ts(path, levels, labels="@classLabel true up down", with_labels=True):
    lines = ["@problemName toy", "@univariate true", labels, "@data"]
    for i, level in enumerate(levels):
        values = ",".join(f"{level + 0.1 * np.sin(t + i):.4f}" for t in range(4 + i % 5))
        label = (":up" if level > 0 else ":down") if with_labels else ""
        lines.append(values + label)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def series_run(tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: extra threads only spin on a loaded machine
    rng = np.random.default_rng(0)
    levels = rng.choice([-1.0, 1.0], size=40) * rng.uniform(0.5, 2.0, size=40)
    train = write_ts(tmp_path / "train.ts", levels)
    task = make_task(Config(data={"train_path": str(train), "batch_size": 8},
                            model={"hidden_size": 8, "embed_dim": 4, "pooling": "attention"}))
    torch.manual_seed(0)
    model = task.build_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for epoch in range(8):
        for batch in task.train_batches(epoch):
            opt.zero_grad()
            task.step(model, batch).loss.backward()
            opt.step()
    record = ({"task": asdict(task.cfg)}, task.metadata(), model.state_dict())
    monkeypatch.setattr(predict_cli, "_load_run", lambda run_dir, which: record)
    yield tmp_path
    torch.set_num_threads(threads)


def test_predict_ts_without_labels(series_run, capsys):
    new = write_ts(series_run / "new.ts", [1.5, -1.5, 0.9], "@classLabel false",
                   with_labels=False)
    assert main(["predict", str(series_run), "--input", str(new), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in rows] == ["up", "down", "up"]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in rows)


def test_predict_ts_errors_are_one_line(series_run, capsys):
    bad = series_run / "bad.ts"
    bad.write_text("@univariate true\n@classLabel true up down\n@data\n1,2,3:up\n1,2:sideways\n")
    assert main(["predict", str(series_run), "--input", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:5:" in err and "'sideways'" in err
    two_dims = series_run / "wide.ts"
    two_dims.write_text("@univariate false\n@classLabel false\n@data\n1,2:3,4\n")
    assert main(["predict", str(series_run), "--input", str(two_dims)]) == 2
    assert "expected a series of shape (T, 1)" in capsys.readouterr().err
    csv_in = series_run / "in.csv"
    csv_in.write_text("text\nhello\n")
    assert main(["predict", str(series_run), "--input", str(csv_in)]) == 2
    assert "expected a .ts file" in capsys.readouterr().err


def test_predict_regression_run_gives_values(tmp_path, monkeypatch, capsys):
    lines = ["@univariate true", "@targetLabel true", "@data"]
    lines += [",".join(["%.2f" % (0.1 * i)] * 6) + f":{0.1 * i:.2f}" for i in range(30)]
    path = tmp_path / "r.ts"
    path.write_text("\n".join(lines) + "\n")
    task = make_task(Config(data={"train_path": str(path), "valid_fraction": 0.0},
                            model={"hidden_size": 4, "embed_dim": 0, "pooling": "mean"}))
    model = task.build_model()
    record = ({"task": asdict(task.cfg)}, task.metadata(), model.state_dict())
    monkeypatch.setattr(predict_cli, "_load_run", lambda run_dir, which: record)
    assert main(["predict", str(tmp_path), "--input", str(path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "row,value" and len(out) == 31
    # untrained, but outputs are de-standardised: near the target mean (1.45), not near 0
    values = np.array([float(r.split(",")[1]) for r in out[1:]])
    assert abs(values.mean() - 1.45) < 1.0 and np.isfinite(values).all()


@pytest.mark.parametrize("case, needle", [("1,inf,2", "'inf' is not finite"),
                                          ("?,?,?", "dimension 1 has no values")])
def test_predict_refuses_non_finite_inputs(series_run, capsys, case, needle):
    bad = series_run / "nonfinite.ts"
    bad.write_text(f"@univariate true\n@classLabel false\n@data\n1,2,3\n{case}\n")
    assert main(["predict", str(series_run), "--input", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:5:" in err and needle in err


def test_predict_dispatches_on_the_runs_task(monkeypatch, capsys):
    import sys
    import types

    module = types.ModuleType("rnnkit.tasks.fakepredict")
    module.predict_loaded = lambda config, metadata, state_dict, path: (
        ["a", "b"], ["b"], np.array([[0.25, 0.75]]))
    monkeypatch.setitem(sys.modules, "rnnkit.tasks.fakepredict", module)
    monkeypatch.setattr(predict_cli, "_load_run",
                        lambda run_dir, which: ({"task_name": "fakepredict"}, {}, {}))
    assert main(["predict", "RUN", "--input", "x.csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["row,label,p_a,p_b", "1,b,0.250000,0.750000"]


def test_predict_on_a_task_without_predictions_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(predict_cli, "_load_run",
                        lambda run_dir, which: ({"task_name": "lm"}, {}, {}))
    assert main(["predict", "RUN", "--input", "x.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "an lm run, which `rnnkit predict` does not take" in err
