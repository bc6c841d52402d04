"""train.diag_every: the gradient-flow figures of rnnkit.diagnostics go to metrics.jsonl."""

import json

from rnnkit.cli import main


def test_diag_records_every_n_steps(tmp_path, capsys):
    run = tmp_path / "toy"
    argv = ["train", "toy", "--steps", "4", "--out", str(run), "--train.threads=1",
            "--train.diag_every=2"]
    assert main(argv) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    diag = [r for r in records if r.get("kind") == "diag"]
    assert [r["step"] for r in diag] == [2, 4]
    assert {"diag/rnn.l0.jacobian_d1", "diag/rnn.l0.sat_f_high", "diag/rnn.l0.vanishing"} <= set(
        diag[0])


def test_diag_every_rejects_negative(tmp_path, capsys):
    argv = ["train", "toy", "--steps", "1", "--out", str(tmp_path / "r"), "--train.diag_every=-1"]
    assert main(argv) == 2
    assert "train.diag_every" in capsys.readouterr().err
