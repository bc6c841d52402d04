"""rnnkit train recognize -> evaluate (greedy, beam, alignment PNG) -> transcribe, on the toy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.data.ctc_toy import toy_items

TOY = ["--data.name=ctc-toy", "--data.n_train=600", "--data.n_valid=40", "--data.n_test=60",
       "--data.batch_size=16", "--model.hidden_size=24", "--model.num_layers=1",
       "--model.subsample=none", "--model.dropout=0", "--train.threads=1", "--optim.lr=0.01",
       "--train.eval_every=120", "--steps", "120", "--plain"]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("recognize") / "run"
    assert main(["train", "recognize", *TOY, "--out", str(run_dir)]) == 0
    return run_dir


def test_evaluate_reports_greedy_and_beam_and_draws_the_alignment(toy_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(toy_run), "--data", "test", "--json", "--beam", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_items"] == 60 and report["beam"] == 4
    assert report["cer"] == 0.0 and report["beam_cer"] == 0.0 and report["seq_acc"] == 1.0
    assert (toy_run / "alignment.png").stat().st_size > 1000
    assert main(["evaluate", str(toy_run)]) == 0
    text = capsys.readouterr().out
    assert "cer" in text and "beam 8" in text and "alignment.png" in text


def test_transcribe_reads_each_file(toy_run, tmp_path, capsys):
    items = toy_items(2, seed=99)
    paths = []
    for i, (x, _) in enumerate(items):
        paths.append(tmp_path / f"{i}.npy")
        np.save(paths[-1], x)
    capsys.readouterr()
    assert main(["transcribe", str(toy_run), str(paths[0]), "--beam", "4"]) == 0
    assert capsys.readouterr().out.strip() == items[0][1]
    assert main(["transcribe", str(toy_run), *map(str, paths), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == [t for _, t in items]


@pytest.mark.parametrize("args, message", [
    (["{run}", "{tmp}/x.wav"], "expected a .npy file"),
    (["{run}", "{tmp}/wide.npy"], "expected frames of 5 features"),
    (["{run}", "{tmp}/wide.npy", "--beam", "-1"], "--beam: expected an integer >= 0"),
    (["{run}", "{tmp}/wide.npy", "--lm", "{run}"], "needs a beam search"),
])
def test_transcribe_errors_are_one_line(toy_run, tmp_path, capsys, args, message):
    np.save(tmp_path / "wide.npy", np.zeros((4, 7), np.float32))
    (tmp_path / "x.wav").write_bytes(b"")
    argv = [a.format(run=toy_run, tmp=tmp_path) for a in args]
    assert main(["transcribe", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    corpus = root / "letters.txt"
    rng = np.random.default_rng(0)
    corpus.write_text(" ".join("".join(rng.choice(list("abcd"), 4)) for _ in range(400)))
    run_dir = root / "run"
    assert main(["train", "lm", f"--data.corpus={corpus}", "--model.hidden_size=16",
                 "--model.embedding_size=8", "--model.num_layers=1", "--data.seq_len=16",
                 "--data.batch_size=4", "--data.eval_batch_size=4", "--train.threads=1",
                 "--train.eval_every=20", "--steps", "20", "--out", str(run_dir),
                 "--plain"]) == 0
    return run_dir


def test_language_model_fusion_runs_in_evaluate_and_transcribe(toy_run, lm_run, tmp_path,
                                                                capsys):
    capsys.readouterr()
    assert main(["evaluate", str(toy_run), "--json", "--beam", "4", "--lm", str(lm_run),
                 "--lm-weight", "0.1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lm_weight"] == 0.1 and report["beam_cer"] <= 0.05
    x, text = toy_items(1, seed=7)[0]
    np.save(tmp_path / "x.npy", x)
    assert main(["transcribe", str(toy_run), str(tmp_path / "x.npy"), "--beam", "4", "--lm",
                 str(lm_run), "--lm-weight", "0.1"]) == 0
    assert capsys.readouterr().out.strip() == text


def test_the_char_lm_steps_equal_one_pass_over_the_prefix(lm_run):
    import torch

    from rnnkit.cli._runs import load_run
    from rnnkit.tasks.recognize.fusion import CharLM

    _, metadata, state_dict = load_run(str(lm_run), "best")
    lm = CharLM(metadata, state_dict, "abcdz", context=" ")
    stepped = lm((1, 3, 2))
    model = lm.model
    ids = [lm.ids[k - 1] for k in (1, 3, 2)]
    with torch.no_grad():
        logits, _ = model(torch.tensor([[*lm.start, *ids]]))
    seen = [i for i in lm.ids if i is not None]
    want = torch.log_softmax(logits[0, -1].double()[seen], 0).numpy()
    np.testing.assert_allclose(stepped[1:5], want, rtol=1e-5)
    assert stepped[5] == pytest.approx(np.log(1e-6))  # 'z' is not in the LM's vocabulary
    assert np.exp(stepped[1:5]).sum() == pytest.approx(1.0)
