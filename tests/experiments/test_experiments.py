"""The experiment runner and `rnnkit experiment` end to end on tiny settings."""

import json

import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.experiments.common import RunSettings, SequenceModel, scale_recurrent, train_problem
from rnnkit.experiments.run import PROBLEMS

TINY = ["--lengths", "6", "--steps", "3", "--hidden", "4", "--batch", "4", "--eval-every", "2",
        "--eval-size", "8"]


def test_lstm_forget_bias_starts_at_one():
    model = SequenceModel("lstm", 2, 3, 1, many_to_one=True)
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    assert torch.equal(b[3:6], torch.ones(3))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chrono_settings_initialise_gated_cells_with_the_run_length(cell, monkeypatch):
    seen = []
    import rnnkit.experiments.common as common

    real = common.chrono_init_
    monkeypatch.setattr(common, "chrono_init_", lambda layer, t, gen: seen.append(t) or
                        real(layer, t, gen))
    s = RunSettings(steps=1, hidden=4, batch=2, eval_every=1, eval_size=4, init="chrono")
    r = train_problem(PROBLEMS["adding"], cell, 9, s)
    assert seen == [9] and (r.cell, r.init, r.chrono_tmax) == (f"{cell} chrono", "chrono", 9)
    r = train_problem(PROBLEMS["adding"], cell, 9, RunSettings(
        steps=1, hidden=4, batch=2, eval_every=1, eval_size=4, init="chrono", chrono_tmax=30))
    assert seen == [9, 30] and r.chrono_tmax == 30


def test_chrono_model_biases_and_rnn_default():
    model = SequenceModel("lstm", 2, 5, 1, many_to_one=True, init="chrono", chrono_tmax=20)
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    assert torch.equal(b[:5], -b[5:10]) and not torch.equal(b[5:10], torch.ones(5))
    assert torch.all(b[5:10] <= torch.log(torch.tensor(19.0)) + 1e-6)
    r = train_problem(PROBLEMS["adding"], "rnn", 6, RunSettings(
        steps=1, hidden=4, batch=2, eval_every=1, eval_size=4, init="chrono"))
    assert (r.cell, r.init, r.chrono_tmax) == ("rnn", "default", None)


def test_scale_recurrent_sets_the_spectral_radius():
    rnn = rnnkit.GRU(2, 5)
    scale_recurrent(rnn, 3.0)
    for k in range(3):
        block = rnn.weight_hh_l0[5 * k:5 * (k + 1)].detach()
        assert torch.linalg.eigvals(block).abs().max().item() == pytest.approx(3.0, rel=1e-4)


@pytest.mark.parametrize("name", ["adding", "copy", "blocks"])
def test_train_problem_records_curves_and_flows(name):
    s = RunSettings(steps=4, hidden=4, batch=4, eval_every=2, eval_size=8)
    r = train_problem(PROBLEMS[name], "gru", 7, s)
    assert [c[0] for c in r.curve] == [2, 4] and r.steps == 4 and len(r.grad_norms) == 4
    assert r.error == r.curve[-1][2] and r.baseline == PROBLEMS[name].baseline(7)
    steps = {"adding": 7, "copy": 7 + 20, "blocks": 7}[name]  # copy: T blanks + 2 x 10 symbols
    assert len(r.flow_start["norm"]) == steps == len(r.flow_end["distance"])


def test_stop_below_ends_a_run_early():
    s = RunSettings(steps=50, hidden=4, batch=4, eval_every=1, eval_size=8, stop_below=1e9)
    assert train_problem(PROBLEMS["adding"], "rnn", 5, s).steps == 1


def test_cli_adding_table_and_pngs(tmp_path, capsys):
    out = tmp_path / "adding"
    assert main(["experiment", "adding", "--cells", "rnn,lstm,gru", *TINY, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    table = text[text.index("experiment "):]
    for cell in ("rnn", "lstm", "gru"):
        assert f"adding     {cell}" in table
    assert "0.1667" in table  # the mean predictor's MSE, 1/6
    results = json.loads((out / "results.json").read_text())
    assert [r["cell"] for r in results] == ["rnn", "lstm", "gru"]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["curves_adding_T6.png", "flow_adding_T6.png", "flow_adding_gru_T6.png",
                    "flow_adding_lstm_T6.png", "flow_adding_rnn_T6.png"]
    assert all(0 < (out / p).stat().st_size < 200_000 for p in pngs)


def test_cli_copy_with_chrono_init(tmp_path, capsys):
    out = tmp_path / "copy"
    argv = ["experiment", "copy", "--cells", "rnn,gru,lstm", *TINY, "--init", "chrono",
            "--chrono-tmax", "40", "--out", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out.split("experiment ")[-1]
    assert "copy       rnn " in table and "gru chrono" in table and "lstm chrono" in table
    results = json.loads((out / "results.json").read_text())
    assert [(r["cell"], r["init"], r["chrono_tmax"]) for r in results] == [
        ("rnn", "default", None), ("gru chrono", "chrono", 40), ("lstm chrono", "chrono", 40)]
    assert (out / "flow_copy_lstm_chrono_T6.png").is_file()


def test_cli_exploding_runs_clip_off_then_on(tmp_path, capsys):
    out = tmp_path / "exploding"
    assert main(["experiment", "exploding", "--cells", "rnn", *TINY, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rnn clip off" in text and "rnn clip 1" in text
    assert (out / "gradnorm_exploding_T6.png").is_file()
    first, second = json.loads((out / "results.json").read_text())
    # same seed and initialisation: the first step's gradient norm (before clipping) is equal
    assert first["grad_norms"][0] == pytest.approx(second["grad_norms"][0])


@pytest.mark.parametrize("argv, message", [
    (["experiment", "nope"], "expected one of adding, copy, blocks, exploding"),
    (["experiment", "adding", "--cells", "lstm,xyz"],
     "--cells: unknown cell 'xyz'; known cells: lstm"),
    (["experiment", "adding", "--lengths", "a,b"], "--lengths: expected comma-separated"),
    (["experiment", "adding", "--steps", "0"], "--steps must be >= 1"),
    (["experiment", "adding", "--init", "chrono", "--chrono-tmax", "2"],
     "--chrono-tmax: expected an integer > 2, got 2"),
    (["experiment", "adding", "--chrono-tmax", "50"],
     "--chrono-tmax: expected together with --init chrono, got --init default"),
    (["experiment", "adding", "--cells", "rnn", "--init", "chrono"],
     "--init chrono: expected --cells with lstm or gru"),
])
def test_cli_bad_arguments_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["experiment", "adding", "--init", "warm"], "--init: invalid choice: 'warm'"),
    (["experiment", "adding", "--init", "chrono", "--chrono-tmax", "x"],
     "--chrono-tmax: invalid int value: 'x'"),
])
def test_cli_bad_init_values_are_rejected_by_the_parser(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_bad_init_settings_raise():
    with pytest.raises(ValueError, match="--init: expected one of default, chrono, got 'warm'"):
        train_problem(PROBLEMS["adding"], "lstm", 5, RunSettings(steps=1, init="warm"))
    with pytest.raises(ValueError, match="--chrono-tmax: expected an integer > 2, got 1"):
        train_problem(PROBLEMS["adding"], "lstm", 5, RunSettings(steps=1, init="chrono",
                                                                  chrono_tmax=1))
