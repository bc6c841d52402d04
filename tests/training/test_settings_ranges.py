"""Settings out of range are refused at the boundary, before a run directory exists: one line
naming the key, the allowed range and the value."""

import pytest
import torch

from rnnkit.cli import main
from rnnkit.errors import ConfigError
from rnnkit.tasks import classify, forecast, lm, recognize, toy, translate
from rnnkit.training.settings import resolve

BAD = [
    ("optim.lr", "nan", "finite"),
    ("optim.lr", "inf", "finite"),
    ("optim.eps", "nan", "finite"),
    ("optim.eps", "-1e-8", ">= 0"),
    ("optim.weight_decay", "inf", "finite"),
    ("optim.weight_decay", "-0.1", ">= 0"),
    ("optim.momentum", "-0.5", ">= 0"),
    ("optim.alpha", "-1", ">= 0"),
    ("optim.betas", "0.9,1.0", "[0, 1)"),
    ("optim.betas", "-0.1,0.999", "[0, 1)"),
    ("optim.betas", "0.9", "two numbers"),
    ("train.clip_norm", "nan", "finite"),
    ("train.clip_norm", "inf", "finite"),
    ("train.minutes", "inf", "finite"),
    ("train.seed", str(2**63), "2^63 - 1"),
    ("train.seed", "-1", "[0, 2^63 - 1]"),
    ("train.threads", "-2", "[0, 1024]"),
    ("train.threads", str(2**31), "[0, 1024]"),
    ("sched.warmup_steps", "-5", ">= 0"),
    ("sched.gamma", "0", "(0, 1]"),
    ("sched.gamma", "1.5", "(0, 1]"),
    ("sched.every_epochs", "0", ">= 1"),
    ("sched.start_epoch", "-1", ">= 0"),
    ("sched.total_steps", "-1", ">= 0"),
    ("sched.min_lr", "-1e-4", ">= 0"),
    ("sched.patience", "-1", ">= 0"),
    ("model.dropout", "1.5", "[0, 1]"),
    ("model.dropout", "-0.1", "[0, 1]"),
    ("model.dropout", "nan", "finite"),
    ("model.hidden_size", "0", ">= 1"),
    ("model.num_layers", "0", ">= 1"),
    ("data.batch_size", "0", ">= 1"),
    ("data.seed", str(2**64), "2^63 - 1"),
    ("data.chunks_per_epoch", str(10**30), "64-bit"),
]


@pytest.mark.parametrize("key,value,needle", BAD)
def test_out_of_range_setting_is_one_line_naming_key_and_value(key, value, needle):
    with pytest.raises(ConfigError) as err:
        resolve(toy, "toy", overrides=[f"--{key}={value}"])
    message = str(err.value)
    assert key in message and needle in message and "\n" not in message
    shown = value.split(",")[0] if "," in value else value
    assert shown.lstrip("-") in message or str(float(shown)) in message


def test_nesterov_needs_momentum():
    with pytest.raises(ConfigError, match="optim.nesterov"):
        resolve(toy, "toy", overrides=["--optim.name=sgd", "--optim.nesterov=true",
                                       "--optim.momentum=0"])


@pytest.mark.parametrize("module,name", [(lm, "lm"), (forecast, "forecast"),
                                         (classify, "classify"), (recognize, "recognize"),
                                         (translate, "translate")])
def test_every_task_checks_dropout_and_sizes(module, name):
    for key, value in (("model.dropout", "2"), ("model.hidden_size", "-3")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            resolve(module, name, overrides=[f"--{key}={value}"])


def test_edges_are_accepted():
    cfg = resolve(toy, "toy", overrides=["--train.seed=9223372036854775807", "--model.dropout=1",
                                         "--optim.betas=0,0.5", "--sched.gamma=1",
                                         "--optim.momentum=0", "--train.threads=0"])
    assert cfg.train.seed == 2**63 - 1 and cfg.optim.betas == (0.0, 0.5)


def test_toml_nan_is_refused():
    with pytest.raises(ConfigError, match=r"optim\.lr .*finite.*nan"):
        resolve(toy, "toy", file_data={"optim": {"lr": float("nan")}}, file_name="c.toml")


def test_steps_zero_needs_another_limit():
    with pytest.raises(ConfigError) as err:
        resolve(toy, "toy", overrides=["--train.steps=0"])
    assert "train.steps" in str(err.value) and "never stop" in str(err.value)
    cfg = resolve(toy, "toy", overrides=["--train.steps=0", "--train.epochs=2"])
    assert cfg.train.steps == 0 and cfg.train.epochs == 2
    cfg = resolve(lm, "lm", overrides=["--train.steps=0"])  # lm: train.minutes=15 stops it
    assert cfg.train.minutes == 15.0


def test_unavailable_or_unknown_device_is_refused():
    with pytest.raises(ConfigError, match="train.device"):
        resolve(toy, "toy", overrides=["--train.device=gpu0"])
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve(toy, "toy", overrides=["--train.device=cuda"])
    else:
        bad = f"cuda:{torch.cuda.device_count()}"
        with pytest.raises(ConfigError, match="no such CUDA device"):
            resolve(toy, "toy", overrides=[f"--train.device={bad}"])


@pytest.mark.parametrize("args,needle", [
    (["--optim.lr=nan"], "optim.lr"),
    (["--train.clip_norm=inf"], "train.clip_norm"),
    (["--steps", "0"], "--steps"),
    (["--steps", "-2", "--train.epochs=1"], "--steps"),
    (["--minutes", "0"], "--minutes"),
    (["--minutes", "-3"], "--minutes"),
    (["--minutes", "nan"], "--minutes"),
    (["--seed", "-1"], "train.seed"),
    (["--train.device=cuda:99"], "train.device"),
])
def test_cli_refuses_before_making_the_run_dir(tmp_path, capsys, args, needle):
    run = tmp_path / "run"
    assert main(["train", "toy", "--out", str(run), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert not run.exists()


def test_steps_zero_with_an_epoch_limit_on_the_command_line_runs(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--steps", "0", "--train.epochs=1", "--data.chunks_per_epoch=2",
            "--data.batch_size=4", "--model.hidden_size=4", "--train.eval_every=0", "--plain"]
    assert main(["train", "toy", "--out", str(run), *args]) == 0
    assert "done: 2 steps" in capsys.readouterr().out
