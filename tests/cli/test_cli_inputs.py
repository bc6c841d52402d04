"""Command-line values out of range, bad paths and a closed pipe: one line, or a quiet exit."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from rnnkit.cli import generate as generate_cli
from rnnkit.cli import main
from rnnkit.data.series import load_series
from rnnkit.data.tabular import read_text_csv
from rnnkit.data.ts_format import read_ts
from rnnkit.errors import ConfigError, DataError
from rnnkit.models.generate import Sampling, sample_token
from rnnkit.tasks.forecast.future import check_horizon, future_labels
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task

SRC = str(Path(__file__).resolve().parents[2] / "src")
FAKE_RUN = """
import torch
from rnnkit.cli import generate as generate_cli
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task
task = make_task(Config(DataConfig(corpus={corpus!r}, batch_size=2, seq_len=8),
                        ModelConfig(embedding_size=8, hidden_size=8, num_layers=1)))
record = ({{"task_name": "lm", "task": {{}}}}, task.metadata(), task.build_model().state_dict())
generate_cli._load_run = lambda run_dir, which: record
"""


@pytest.fixture
def lm_run(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc abd abe\n" * 20)
    task = make_task(Config(DataConfig(corpus=str(corpus), batch_size=2, seq_len=8),
                            ModelConfig(embedding_size=8, hidden_size=8, num_layers=1)))
    record = ({"task_name": "lm", "task": {}}, task.metadata(), task.build_model().state_dict())
    monkeypatch.setattr(generate_cli, "_load_run", lambda run_dir, which: record)
    return corpus


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf"])
def test_generate_temperature_must_be_finite_and_not_negative(lm_run, capsys, value):
    assert main(["generate", "RUN", f"--temperature={value}", "--length", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--temperature" in err and value in err


def test_tiny_temperature_samples_the_most_likely_token():
    logits = torch.tensor([0.5, 2.0, 1.0, -3.0])
    gen = torch.Generator().manual_seed(0)
    for t in (1e-40, 1e-300, 5e-324):
        assert sample_token(logits, Sampling(temperature=t), gen) == 1
        assert sample_token(logits, Sampling(temperature=t, top_p=0.5), gen) == 1


def test_generate_tiny_temperature_end_to_end(lm_run, capsys):
    assert main(["generate", "RUN", "--temperature", "1e-40", "--length", "5", "--seed", "1"]) == 0
    greedy = capsys.readouterr().out
    assert main(["generate", "RUN", "--temperature", "0", "--length", "5"]) == 0
    assert capsys.readouterr().out == greedy


@pytest.mark.parametrize("device,needle", [("gpu", "expected auto, cpu, cuda"),
                                           ("cuda:99", "cuda:99"), ("meta", "expected auto")])
def test_unknown_or_missing_device_is_one_line(lm_run, capsys, device, needle):
    assert main(["generate", "RUN", "--device", device, "--length", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device" in err and needle in err
    assert main(["evaluate", "RUN", "--device", device, "--data", str(lm_run)]) == 2
    assert "--device" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_cuda_without_cuda_is_one_line(lm_run, capsys):
    assert main(["generate", "RUN", "--device", "cuda", "--length", "2"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_forecast_horizon_limits():
    with pytest.raises(ConfigError, match=r"--horizon: expected an integer >= 1, got 0"):
        check_horizon(0, trained=8)
    with pytest.raises(ConfigError) as err:
        check_horizon(100000, trained=8)
    assert "at most 80" in str(err.value) and "100000" in str(err.value)
    assert check_horizon(None, trained=8) == 8 and check_horizon(80, trained=8) == 80


def test_future_dates_beyond_year_9999_fall_back_to_step_labels():
    labels = future_labels(["9999-08", "9999-09", "9999-10"], "MS", 6)
    assert labels == ["9999-11", "9999-12", "+3", "+4", "+5", "+6"]
    labels = future_labels(["1960-10", "1960-11", "1960-12"], "MS", 100000)
    assert labels[0] == "1961-01" and labels[-1] == "+100000"


def test_config_file_not_utf8_or_a_directory(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"[optim]\nlr = 0.1\n# caf\xe9\n")
    assert main(["train", "toy", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:3: not valid UTF-8" in err
    assert main(["train", "toy", "--config", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a directory" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("seed", ["-1", str(2**64), str(2**70)])
def test_generate_seed_out_of_range_is_one_line(lm_run, capsys, seed):
    assert main(["generate", "RUN", f"--seed={seed}", "--length", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seed: expected an integer in [0, 2^63 - 1]" in err


@pytest.mark.parametrize("threads", ["-1", "1025", str(2**63)])
def test_generate_threads_out_of_range_is_one_line(lm_run, capsys, threads):
    assert main(["generate", "RUN", f"--threads={threads}", "--length", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--threads: expected an integer in [0, 1024]" in err


def test_a_directory_where_a_file_is_expected(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        load_series(str(tmp_path))
    with pytest.raises(DataError, match="is a directory"):
        read_ts(tmp_path)
    with pytest.raises(DataError, match="is a directory"):
        read_text_csv(tmp_path)


def test_closed_stdout_is_a_quiet_exit(lm_run, monkeypatch):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["generate", "RUN", "--length", "50"]) == 141


def test_generate_into_head_exits_quietly(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc abd abe\n" * 20)
    script = tmp_path / "gen.py"
    script.write_text(textwrap.dedent(FAKE_RUN.format(corpus=str(corpus))) + textwrap.dedent("""
        import sys
        from rnnkit.cli import main
        sys.exit(main(["generate", "RUN", "--length", "200000", "--threads", "1"]))
    """))
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    gen = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env)
    first = gen.stdout.read(20)  # like `head -c 20`, then close the pipe
    gen.stdout.close()
    _, err = gen.communicate(timeout=120)
    assert len(first) == 20
    assert err.decode() == "" and gen.returncode == 141
