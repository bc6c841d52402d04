"""impl="auto" by measurement (rnnkit.backends.autotune): the choice follows the timing, is kept
per machine and reused, survives a cache it cannot write, leaves the caller's random stream
alone, and RNNKIT_AUTO=rules turns it off."""

from __future__ import annotations

import json

import pytest
import torch

import rnnkit
from rnnkit.backends import autotune
from rnnkit.backends.dispatch import LayerSpec, auto_choice, rule_choice
from rnnkit.cli import env as env_cli
from rnnkit.layers import auto_measure


@pytest.fixture
def measuring(monkeypatch, tmp_path):
    """Measurement on, a fresh cache in tmp_path, and a fake timer: calls[] records each probe;
    set ratio[0] to the native/fused time ratio the next measurement reports."""
    monkeypatch.setenv("RNNKIT_AUTO", "measure")
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path / "cache"))
    autotune.forget_process_choices()
    calls, ratio = [], [2.0]

    def fake(probe):
        calls.append(probe)
        return ratio[0] * 1e-3, 1e-3

    monkeypatch.setattr(autotune, "_measurer", fake)
    yield calls, ratio
    autotune.forget_process_choices()


X = torch.zeros(50, 24, 20)  # (T, B, I): probes round B to 32 and I to 32


def test_the_faster_one_is_chosen_and_ties_go_to_torch(measuring):
    calls, ratio = measuring
    impl, reason = auto_choice(LayerSpec("GRU", True, 64), X, training=True)
    assert impl == "fused" and "2.00x" in reason and "B<=32, I<=32, H=64" in reason
    ratio[0] = 1.02  # within the margin: torch's kernel
    assert auto_choice(LayerSpec("GRU", True, 128), X, training=True)[0] == "native"
    ratio[0] = 0.5
    assert auto_choice(LayerSpec("LSTM", True, 64), X, training=False)[0] == "native"
    assert [(p.mode, p.hidden_size, p.training) for p in calls] == [
        ("GRU", 64, True),
        ("GRU", 128, True),
        ("LSTM", 64, False),
    ]
    assert calls[0].batch == 32 and calls[0].input_size == 32


def test_a_measurement_is_saved_and_reused_by_the_next_process(measuring, tmp_path):
    calls, ratio = measuring
    spec = LayerSpec("RNN_TANH", True, 32)
    assert auto_choice(spec, X, training=True)[0] == "fused"
    assert auto_choice(spec, X[:, :17], training=True)[0] == "fused"  # B 17 -> the same probe
    assert len(calls) == 1
    autotune.forget_process_choices()  # as a new process would start
    ratio[0] = 0.1  # a new measurement would say native: the saved one must be used
    assert auto_choice(spec, X, training=True)[0] == "fused"
    assert len(calls) == 1
    saved = json.loads(autotune.cache_path().read_text())
    assert saved["machine"] == autotune.machine()
    assert list(saved["choices"]) == [calls[0].key()]
    assert autotune.cache_path().parent == tmp_path / "cache"


def test_masked_training_and_threads_are_separate_probes(measuring):
    calls, _ = measuring
    spec = LayerSpec("GRU", True, 16)
    auto_choice(spec, X, training=True)
    auto_choice(spec, X, training=True, masked=True)
    auto_choice(spec, X, training=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        auto_choice(spec, X, training=True)
    finally:
        torch.set_num_threads(threads)
    assert len({p.key() for p in calls}) == 4


def test_an_unwritable_cache_keeps_the_choice_for_this_process(measuring, monkeypatch, tmp_path):
    calls, _ = measuring
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(blocker / "cache"))
    impl, reason = auto_choice(LayerSpec("GRU", True, 8), X, training=True)
    assert impl == "fused" and "not saved" in reason
    assert blocker.read_text() == "not a directory"
    auto_choice(LayerSpec("GRU", True, 8), X, training=True)
    assert len(calls) == 1


def test_a_damaged_cache_file_is_measured_again(measuring):
    calls, _ = measuring
    path = autotune.cache_path()
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    assert auto_choice(LayerSpec("GRU", True, 8), X, training=True)[0] == "fused"
    assert len(calls) == 1 and json.loads(path.read_text())["choices"]


def test_rules_turn_measurement_off(measuring, monkeypatch):
    calls, _ = measuring
    monkeypatch.setenv("RNNKIT_AUTO", "rules")
    spec = LayerSpec("GRU", True, 64)
    assert auto_choice(spec, X, training=True) == rule_choice(spec, X, training=True)
    monkeypatch.setenv("RNNKIT_AUTO", "fastest")
    with pytest.raises(ValueError, match="RNNKIT_AUTO='fastest': expected one of measure, rules"):
        auto_choice(spec, X, training=True)
    assert calls == []


def test_what_torch_cannot_run_is_never_measured(measuring):
    calls, _ = measuring
    assert auto_choice(LayerSpec("GRU", False, 64), X, training=True)[0] == "fused"
    assert auto_choice(LayerSpec("LSTM", True, 64, regularised=True), X, True)[0] == "fused"
    assert calls == []


def test_a_layer_runs_what_was_measured_faster(measuring):
    _, ratio = measuring
    lstm = rnnkit.LSTM(20, 16)
    lstm(X)
    assert lstm.last_impl == "fused"  # the LSTM too: no vendor rule keeps it on torch's kernel
    ratio[0] = 0.5
    gru = rnnkit.GRU(20, 16)
    gru(X)
    assert gru.last_impl == "native"


def test_the_real_measurement_leaves_the_random_stream_alone(measuring, monkeypatch):
    monkeypatch.setattr(autotune, "STEPS", 4)
    state = torch.random.get_rng_state()
    probe = autotune.Probe("LSTM", True, 2, 4, 8, True, True, "float32", 1)
    native_s, fused_s = auto_measure.measure(probe)
    assert native_s > 0 and fused_s > 0
    assert torch.equal(torch.random.get_rng_state(), state)
    assert not torch.is_grad_enabled() or torch.is_grad_enabled()  # the mode is restored


def test_env_lists_the_saved_choices(measuring, capsys):
    calls, ratio = measuring
    auto_choice(LayerSpec("GRU", True, 64), X, training=True)
    ratio[0] = 0.25
    auto_choice(LayerSpec("LSTM", True, 64), X, training=False)
    lines = env_cli.auto_lines()
    assert len(lines) == 2
    assert any(
        line.startswith("GRU/") and "2.00x" in line and line.endswith("fused") for line in lines
    )
    assert any(
        line.startswith("LSTM/") and "0.25x" in line and line.endswith("native") for line in lines
    )
    assert "2 saved in" in env_cli.collect()["auto"]
