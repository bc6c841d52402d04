"""`predict`, `forecast` and `generate` on a run of another task name the run's task and the
command that fits it, before reading the run's settings."""

import pytest

from rnnkit.cli import forecast as forecast_cli
from rnnkit.cli import generate as generate_cli
from rnnkit.cli import main
from rnnkit.cli import predict as predict_cli

RUNS = {  # what load_run returns, cut to what identifies the task
    "lm": ({"task_name": "lm", "task": {"data": {"corpus": "stdlib"}}}, {"task": "lm"}, {}),
    "classify": ({"task_name": "classify", "task": {"data": {"name": "gunpoint"}}},
                 {"task": "classify"}, {}),
    "forecast": ({"task_name": "forecast", "task": {"data": {"name": "airline"}}},
                 {"task": "forecast"}, {}),
    "toy": ({"task_name": "toy", "task": {"data": {"vocab": 4}}}, {"vocab": 4}, {}),
}
COMMANDS = {"predict": (predict_cli, ["--input", "x.ts"]), "forecast": (forecast_cli, []),
            "generate": (generate_cli, ["--length", "3"])}
FITS = {"lm": "generate", "classify": "predict", "forecast": "forecast", "toy": "evaluate"}
NEEDS = {"predict": "classify", "forecast": "forecast", "generate": "lm"}


@pytest.mark.parametrize("command,task", [(c, t) for c in sorted(COMMANDS) for t in sorted(RUNS)
                                          if NEEDS[c] != t])
def test_run_of_another_task_names_the_right_command(monkeypatch, capsys, command, task):
    module, extra = COMMANDS[command]
    monkeypatch.setattr(module, "_load_run", lambda run_dir, which: RUNS[task])
    assert main([command, "RUN", *extra]) == 2
    err = capsys.readouterr().err
    article = "an" if task == "lm" else "a"
    assert err.count("\n") == 1
    assert f"RUN is {article} {task} run" in err and f"`rnnkit {FITS[task]}`" in err
    assert f"`rnnkit {command}` needs a {NEEDS[command]} run" in err
