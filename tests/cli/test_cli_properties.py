"""Property-based: `rnnkit generate` with random option values exits 0 or ends with one error
line (status 2); it never raises."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.cli import generate as generate_cli
from rnnkit.cli import main
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task

NUMBERS = st.one_of(st.sampled_from(["nan", "inf", "-inf", "1e-40", "5e-324", "1e999", "0", "-0",
                                     "1", "-1", "0.5", "1.0000001", str(2**63), str(2**64), "x",
                                     ""]),
                    st.integers(-10, 10**20).map(str), st.floats().map(repr))
OPTIONS = st.dictionaries(
    st.sampled_from(["--temperature", "--top-k", "--top-p", "--seed", "--length", "--threads",
                     "--device"]),
    st.one_of(NUMBERS, st.sampled_from(["cpu", "auto", "cuda", "cuda:3", "gpu", "meta", "mps"])),
    max_size=4)


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("lm") / "corpus.txt"
    corpus.write_text("abc abd abe\n" * 20)
    task = make_task(Config(DataConfig(corpus=str(corpus), batch_size=2, seq_len=8),
                            ModelConfig(embedding_size=8, hidden_size=8, num_layers=1)))
    return {"task_name": "lm", "task": {}}, task.metadata(), task.build_model().state_dict()


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=OPTIONS)
def test_generate_with_random_options(record, monkeypatch, capsys, options):
    monkeypatch.setattr(generate_cli, "_load_run", lambda run_dir, which: record)
    length = options.pop("--length", "3")
    if length.lstrip("-").isdigit() and int(length) > 50:
        length = "50"  # keep the run short; the property is about refusals
    argv = ["generate", "RUN", f"--length={length}", *(f"{k}={v}" for k, v in options.items())]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse: a value of the wrong type
        code = stop.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, err)
    if code == 2:  # one error line (argparse puts its usage lines before it)
        last = err.strip().splitlines()[-1]
        assert last.startswith("rnnkit") and "error: " in last and "Traceback" not in err, err
