"""`predict`, `forecast`, `generate`, `transcribe`, `translate` and `caption` on a run of another
task name the run's task and the command that fits it, before reading the run's settings."""

import pytest

from rnnkit.cli import caption as caption_cli
from rnnkit.cli import forecast as forecast_cli
from rnnkit.cli import generate as generate_cli
from rnnkit.cli import main
from rnnkit.cli import predict as predict_cli
from rnnkit.cli import transcribe as transcribe_cli
from rnnkit.cli import translate as translate_cli


def record(task: str, data: dict):
    """What load_run returns, cut to what identifies the task (toy's metadata names none)."""
    metadata = {} if task == "toy" else {"task": task}
    return {"task_name": task, "task": {"data": data}}, metadata, {}


RUNS = {"lm": record("lm", {"corpus": "stdlib"}), "classify": record("classify", {"name": "x"}),
        "forecast": record("forecast", {"name": "airline"}), "toy": record("toy", {"vocab": 4}),
        "recognize": record("recognize", {"name": "spoken-digits"}),
        "translate": record("translate", {"name": "dates"}),
        "caption": record("caption", {"name": "shapes"})}
COMMANDS = {"predict": (predict_cli, ["--input", "x.ts"]), "forecast": (forecast_cli, []),
            "generate": (generate_cli, ["--length", "3"]),
            "transcribe": (transcribe_cli, ["x.wav"]), "translate": (translate_cli, ["x"]),
            "caption": (caption_cli, ["x.png"])}
FITS = {"lm": "generate", "classify": "predict", "forecast": "forecast", "toy": "evaluate",
        "recognize": "transcribe", "translate": "translate", "caption": "caption"}


@pytest.mark.parametrize("command,task", [(c, t) for c in sorted(COMMANDS) for t in sorted(RUNS)
                                          if FITS[t] != c])
def test_run_of_another_task_names_the_right_command(monkeypatch, capsys, command, task):
    module, extra = COMMANDS[command]
    monkeypatch.setattr(module, "_load_run", lambda run_dir, which: RUNS[task])
    assert main([command, "RUN", *extra]) == 2
    err = capsys.readouterr().err
    article = "an" if task == "lm" else "a"
    assert err.count("\n") == 1, err
    assert f"RUN is {article} {task} run, which `rnnkit {command}` does not take" in err
    assert f"use `rnnkit {FITS[task]}`" in err


def test_transcribe_lm_option_needs_an_lm_run(monkeypatch, capsys):
    runs = {"RUN": RUNS["recognize"], "LMRUN": RUNS["classify"]}
    monkeypatch.setattr(transcribe_cli, "_load_run", lambda run_dir, which: runs[run_dir])
    assert main(["transcribe", "RUN", "x.wav", "--beam", "8", "--lm", "LMRUN"]) == 2
    err = capsys.readouterr().err
    assert "LMRUN is a classify run, which `rnnkit transcribe --lm` does not take" in err
