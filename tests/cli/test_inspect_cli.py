"""`rnnkit inspect RUN_DIR --text FILE`: the page where told, one-line errors."""

from __future__ import annotations

import pytest
import torch

from rnnkit.cli import inspect as inspect_cli
from rnnkit.cli import main
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task
from rnnkit.viewer.page import GENERATOR

CORPUS = "def f(x):\n    return (x, 'a')\n" * 10


@pytest.fixture
def runs(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS)
    task = make_task(Config(DataConfig(corpus=str(corpus), batch_size=2, seq_len=8),
                            ModelConfig(embedding_size=4, hidden_size=6, num_layers=2,
                                        cell="gru")))
    torch.manual_seed(0)
    model = task.build_model().eval()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    table = {str(run_dir): ({"task_name": "lm", "task": {}}, task.metadata(), model.state_dict()),
             "clf": ({"task_name": "classify"}, {"task": "classify"}, {})}
    monkeypatch.setattr(inspect_cli, "_load_run", lambda run_dir, which: table[run_dir])
    return run_dir, corpus


def test_writes_the_page_into_the_run_by_default(runs, capsys):
    run_dir, corpus = runs
    assert main(["inspect", str(run_dir), "--text", str(corpus), "--kinds", "h,z"]) == 0
    page = run_dir / "inspect.html"
    html = page.read_text()
    assert GENERATOR in html and "(h, z)" in capsys.readouterr().out
    assert main(["inspect", str(run_dir), "--text", str(corpus)]) == 0  # its own: replaced
    assert page.read_text() != html


def test_writes_where_told_and_reads_max_chars(runs, tmp_path, capsys):
    run_dir, corpus = runs
    out = tmp_path / "page.html"
    assert main(["inspect", str(run_dir), "--text", str(corpus), "--html", str(out),
                 "--max-chars", "25"]) == 0
    assert out.exists() and not (run_dir / "inspect.html").exists()
    assert f"{out}: 25 tokens x 12 units (h)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--text", "MISSING"], "--text: MISSING does not exist"),
    (["--text", "CORPUS", "--kinds", "c"], "--kinds: a GRU model shows h, r, z, n"),
    (["--text", "CORPUS", "--max-chars", "-1"], "--max-chars: expected 0 (all) or more"),
    (["--text", "CORPUS", "--top-k", "0"], "--top-k: expected 1 to 50"),
    (["--text", "CORPUS", "--levels", "1"], "--levels: expected 2 to 256"),
    (["--text", "BINARY"], "is not UTF-8 text"),
    (["--text", "EMPTY"], "--text: the file is empty"),
    (["--text", "ODD"], "'@'"),
])
def test_bad_input_is_one_line(runs, tmp_path, capsys, argv, message):
    run_dir, corpus = runs
    files = {"CORPUS": corpus, "MISSING": "MISSING"}
    (tmp_path / "b.bin").write_bytes(b"\xff\xfe\x00abc")
    (tmp_path / "e.txt").write_text("")
    (tmp_path / "o.txt").write_text("x @ y")
    files |= {"BINARY": tmp_path / "b.bin", "EMPTY": tmp_path / "e.txt", "ODD": tmp_path / "o.txt"}
    argv = [str(files.get(a, a)) for a in argv]
    assert main(["inspect", str(run_dir), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (run_dir / "inspect.html").exists()


def test_refuses_a_file_it_did_not_write(runs, tmp_path, capsys):
    run_dir, corpus = runs
    mine = tmp_path / "mine.html"
    mine.write_text("<html>mine</html>")
    assert main(["inspect", str(run_dir), "--text", str(corpus), "--html", str(mine)]) == 2
    assert "not a page rnnkit inspect wrote" in capsys.readouterr().err
    assert mine.read_text() == "<html>mine</html>"


def test_another_tasks_run_names_its_command(runs, capsys):
    _, corpus = runs
    assert main(["inspect", "clf", "--text", str(corpus)]) == 2
    assert "rnnkit predict" in capsys.readouterr().err
