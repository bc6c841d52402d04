import json
import math
import re
import sys
import types

import pytest
import torch

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli import generate as generate_cli
from rnnkit.cli import main
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """What load_run would return for a tiny lm run whose decoder outputs uniform logits."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc abd abe\n" * 20)
    task = make_task(Config(DataConfig(corpus=str(corpus), batch_size=2, seq_len=8),
                            ModelConfig(embedding_size=8, hidden_size=8, num_layers=1)))
    torch.manual_seed(0)
    model = task.build_model()
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    run = ({"task_name": "lm", "task": {}}, task.metadata(), model.state_dict())
    calls = []

    def load_run(run_dir, which):
        calls.append((run_dir, which))
        return run

    monkeypatch.setattr(generate_cli, "_load_run", load_run)
    monkeypatch.setattr(evaluate_cli, "_load_run", load_run)
    return corpus, task, calls


def test_generate_streams_the_prime_and_the_sample(fake_run, capsys):
    _, task, calls = fake_run
    args = ["generate", "RUN", "--prime", "ab", "--length", "40", "--seed", "3", "--top-k", "5"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("ab") and len(out) == 2 + 40 + 1
    assert set(out[2:-1]) <= set(task.tokenizer.chars)
    assert calls == [("RUN", "best")]
    assert main(args) == 0 and capsys.readouterr().out == out  # same seed, same text


def test_generate_bad_arguments_are_one_line(fake_run, capsys):
    assert main(["generate", "RUN", "--temperature", "-1"]) == 2
    assert "--temperature" in capsys.readouterr().err
    assert main(["generate", "RUN", "--prime", "xyz"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "byte tokenizer" in err


def test_evaluate_json(fake_run, capsys):
    corpus, task, _ = fake_run
    assert main(["evaluate", "RUN", "--data", str(corpus), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    v = task.tokenizer.vocab_size
    assert metrics["loss"] == pytest.approx(math.log(v), rel=1e-6)
    assert metrics["bpc"] == pytest.approx(math.log2(v), rel=1e-6)
    assert metrics["perplexity"] == pytest.approx(v, rel=1e-5)
    assert main(["evaluate", "RUN", "--data", str(corpus)]) == 0
    assert "perplexity" in capsys.readouterr().out


def test_evaluate_unknown_task_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(evaluate_cli, "_load_run", lambda d, w: ({"task_name": "nope"}, {}, {}))
    assert main(["evaluate", "RUN", "--data", "x"]) == 2
    assert "task 'nope' is not installed" in capsys.readouterr().err


def test_generate_checks_the_prime_before_printing_it(fake_run, capsys):
    assert main(["generate", "RUN", "--prime", "ab€"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "'€'" in captured.err


def test_generate_rejects_negative_threads(fake_run, capsys):
    assert main(["generate", "RUN", "--threads", "-1"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_evaluate_lm_needs_data(fake_run, capsys):
    assert main(["evaluate", "RUN"]) == 2
    assert "--data" in capsys.readouterr().err


def test_evaluate_dispatches_on_the_task_name(monkeypatch, capsys):
    seen = {}

    def evaluate_loaded(config, metadata, state_dict, data, batch_size, device, run_dir):
        seen.update(data=data, batch_size=batch_size, device=device, run_dir=run_dir)
        return {"accuracy": 0.5, "confusion_matrix": [[1, 0], [1, 0]]}

    module = types.ModuleType("rnnkit.tasks.faketask")
    module.evaluate_loaded = evaluate_loaded
    monkeypatch.setitem(sys.modules, "rnnkit.tasks.faketask", module)
    monkeypatch.setattr(evaluate_cli, "_load_run", lambda d, w: ({"task_name": "faketask"}, {}, {}))
    assert main(["evaluate", "RUN", "--batch-size", "3"]) == 0
    assert seen == {"data": None, "batch_size": 3, "device": "cpu", "run_dir": "RUN"}
    assert capsys.readouterr().out.splitlines() == [
        "accuracy          0.5", "confusion_matrix  [[1, 0], [1, 0]]"]


def test_evaluate_uses_the_task_formatter_when_it_has_one(monkeypatch, capsys):
    module = types.ModuleType("rnnkit.tasks.faketask2")
    module.evaluate_loaded = lambda *args, **kwargs: {"accuracy": 0.25}
    module.format_report = lambda metrics: f"acc={metrics['accuracy']:.0%}"
    monkeypatch.setitem(sys.modules, "rnnkit.tasks.faketask2", module)
    run = ({"task_name": "faketask2"}, {}, {})
    monkeypatch.setattr(evaluate_cli, "_load_run", lambda d, w: run)
    assert main(["evaluate", "RUN"]) == 0
    assert capsys.readouterr().out == "acc=25%\n"
    assert main(["evaluate", "RUN", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"accuracy": 0.25}


def test_evaluate_refit_needs_a_task_that_can_refit(fake_run, capsys):
    corpus, _, _ = fake_run
    assert main(["evaluate", "RUN", "--data", str(corpus), "--refit"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--refit: task 'lm' cannot refit" in err


def test_generate_num_samples_prints_each_sample_and_sample_0_is_the_single_one(fake_run, capsys):
    args = ["generate", "RUN", "--prime", "ab", "--length", "30", "--seed", "4"]
    assert main(args) == 0
    single = capsys.readouterr().out
    assert main([*args, "--num-samples", "3"]) == 0
    out = capsys.readouterr().out
    parts = re.split(r"^--- sample (\d) ---\n", out, flags=re.M)
    assert parts[0] == "" and parts[1::2] == ["0", "1", "2"]
    samples = parts[2::2]
    assert samples[0] == single and len(set(samples)) == 3
    assert all(s.startswith("ab") and len(s) == 2 + 30 + 1 for s in samples)
    assert main([*args, "--num-samples", "0"]) == 2
    assert "--num-samples" in capsys.readouterr().err
