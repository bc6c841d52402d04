"""train.threads=auto: the probe over the first steps, with made-up step times."""

import pytest

from rnnkit.tasks import toy
from rnnkit.training import threads as T
from rnnkit.training.settings import resolve

from .toyrun import records, run_toy

REAL_SCREEN = T.screen  # the tests below replace T.screen


def _probe(step_times: dict[int, list[float]], counts=(1, 2)):
    chosen_threads = []
    probe = T.ThreadProbe(list(counts), chosen_threads.append)
    line = None
    while probe.probing:
        probe.before_step()
        n = chosen_threads[-1]
        line = probe.after_step(step_times[n].pop(0))
    return probe, line, chosen_threads


def test_the_faster_count_wins_and_the_first_step_is_not_timed():
    # the run's first step (1 thread) is slow and not counted; then rounds of one step each
    probe, line, calls = _probe({1: [9.0, 0.30, 0.32], 2: [0.40, 0.42]})
    assert probe.chosen == 1 and calls == [1, 1, 2, 1, 2, 1]  # the last call sets the choice
    assert "train.threads=auto: 1" in line and "2 threads 410 ms" in line
    probe, line, calls = _probe({1: [0.3, 0.30, 0.30], 2: [0.20, 0.21]})
    assert probe.chosen == 2 and calls == [1, 1, 2, 1, 2, 2]
    assert probe.record() == {"event": "threads", "chosen": 2, "median_product_s": {},
                              "median_step_s": {"1": 0.30, "2": pytest.approx(0.205)}}


def test_a_much_slower_count_costs_one_step():
    # on a busy machine two threads ran 8x slower: one step of it, then the choice
    probe, line, calls = _probe({1: [2.0, 2.1], 2: [18.0]})
    assert probe.chosen == 1 and calls == [1, 1, 2, 1]
    assert "2 threads 18000 ms" in line
    probe, _, calls = _probe({1: [1, 1.0, 1.0], 2: [0.8, 0.8], 4: [2.0]}, (1, 2, 4))
    assert probe.chosen == 2 and calls == [1, 1, 2, 4, 1, 2, 2]  # 4 dropped after round 1


def test_more_threads_must_be_clearly_faster():
    probe, _, _ = _probe({1: [0.3, 0.300, 0.300], 2: [0.290, 0.290]})  # 3% faster: a tie
    assert probe.chosen == 1
    probe, _, _ = _probe({1: [1, 1.0, 1.0], 2: [0.7, 0.7], 4: [0.68, 0.68]}, (1, 2, 4))
    assert probe.chosen == 2  # 4 is not 5% faster than 2


def test_candidates_and_a_single_one():
    assert T.candidates(1) == [1] and T.candidates(2) == [1, 2] and T.candidates(16) == [1, 2, 16]
    probe = T.ThreadProbe([1], lambda n: None, "torch's default is 1 thread here")
    assert not probe.probing and probe.message() == \
        "train.threads=auto: 1 (torch's default is 1 thread here)"
    assert T.auto_threads("cuda", False).message().endswith("the model runs on cuda)")


def _keep_both(monkeypatch):
    monkeypatch.setattr(T, "candidates", lambda default: [1, 2])
    monkeypatch.setattr(T, "screen", lambda counts, set_threads: {n: 1e-3 for n in counts})


def test_the_product_test_leaves_out_a_far_slower_count(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setattr(T, "candidates", lambda default: [1, 2])
    monkeypatch.setattr(T, "screen", lambda counts, set_threads: {1: 1.5e-3, 2: 30e-3})
    try:
        probe = T.auto_threads("cpu", False)
        assert not probe.probing and probe.chosen == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert "1 thread 1.50 ms, 2 threads 30.00 ms" in probe.message()
    assert probe.record()["median_product_s"] == {"1": 1.5e-3, "2": 30e-3}
    # the real product test: one time per count, all positive
    times = REAL_SCREEN([1], lambda n: None, rounds=2)
    assert set(times) == {1} and times[1] > 0


def test_a_run_ending_within_the_probe_still_chooses(tmp_path, monkeypatch):
    _keep_both(monkeypatch)
    run_toy(tmp_path / "run", "--train.threads=auto", "--train.steps=3")
    events = [r for r in records(tmp_path / "run", "event") if r.get("event") == "threads"]
    assert len(events) == 1 and events[0]["chosen"] in (1, 2) and events[0]["step"] == 3


def test_a_run_logs_the_choice_and_its_reason(tmp_path, monkeypatch, capsys):
    import torch

    before = torch.get_num_threads()
    _keep_both(monkeypatch)
    try:
        run_toy(tmp_path / "run", "--train.threads=auto", "--train.steps=12")
    finally:
        torch.set_num_threads(before)
    events = [r for r in records(tmp_path / "run", "event") if r.get("event") == "threads"]
    # a warm-up step and 2 rounds of 2 counts, or 1 round when 2 threads are far behind
    assert len(events) == 1 and events[0]["step"] in (3, 5)
    assert set(events[0]["median_step_s"]) == {"1", "2"}


def test_threads_setting_reads_auto_and_integers():
    assert resolve(toy, "toy", overrides=["--train.threads=auto"]).train.threads == "auto"
    assert resolve(toy, "toy", overrides=["--train.threads=2"]).train.threads == 2
    from rnnkit.errors import ConfigError

    with pytest.raises(ConfigError, match="expected an int or auto, got 'many'"):
        resolve(toy, "toy", overrides=["--train.threads=many"])
    with pytest.raises(ConfigError, match="train.threads"):
        resolve(toy, "toy", overrides=["--train.threads=-1"])
