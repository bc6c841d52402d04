"""The caption task end to end on a tiny run: train, `rnnkit caption` on picture files (other
sizes, grey, unreadable), `rnnkit evaluate --data test|test-comp --json` with attention maps,
and the one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from rnnkit.cli import main
from rnnkit.data import caption_grammar as G
from rnnkit.data import shapes
from rnnkit.errors import ConfigError
from rnnkit.tasks.caption import Config, make_task
from rnnkit.tasks.caption.metrics import caption_scores

TINY = ["--steps", "40", "--train.eval_every=40", "--train.threads=1", "--data.image_size=24",
        "--model.channels=[4,8]", "--model.feature_size=8", "--model.hidden_size=16",
        "--model.embedding_size=8", "--data.batch_size=16", "--data.n_valid=20",
        "--data.n_test=12", "--data.n_train=640", "--decode.max_len=12", "--decode.beam=2",
        "--sched.name=constant", "--sched.warmup_steps=0", "--optim.lr=1e-2",
        "--plain"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("caption") / "run"
    assert main(["train", "caption", "--out", str(out), *TINY]) == 0
    return out


def test_training_learns_the_caption_words_and_scores_both_validation_sets(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if r["kind"] == "train"]
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    evals = [r for r in rows if r["kind"] == "eval"]
    for key in ("bleu4", "attr_f1", "thing_f1", "exact", "comp_attr_f1", "comp_thing_f1"):
        assert 0.0 <= evals[-1][key] <= 1.0


def test_word_dropout_reads_input_words_as_unk_in_training_only():
    cfg = Config()
    cfg.objective.word_dropout = 0.5
    cfg.data.image_size, cfg.model.channels = 24, (4, 8)
    task = make_task(cfg)
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, pictures, tgt_in):
            seen.append(tgt_in.clone())
            return torch.zeros(*tgt_in.shape, task.vocab.size, requires_grad=True)

    tgt = torch.tensor([[2] + [5] * 200 + [3]])
    spy = Spy()
    task.step(spy, (torch.zeros(1, 3, 24, 24), tgt), None)
    dropped = seen[-1][0, 1:].eq(1).float().mean().item()  # UNK_ID = 1
    assert seen[-1][0, 0] == 2 and 0.35 < dropped < 0.65
    task.step(spy.eval(), (torch.zeros(1, 3, 24, 24), tgt), None)
    assert torch.equal(seen[-1], tgt[:, :-1])


def test_caption_describes_pictures_of_any_size_and_mode(run_dir, tmp_path, capsys):
    picture, _ = shapes.scenes("test", [0], size=24)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(picture[0]).save(a)
    Image.fromarray(picture[0]).convert("L").resize((60, 60)).save(b)
    assert main(["caption", str(run_dir), str(a), str(b), "--json", "--beam", "1"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["picture"] for r in rows] == [str(a), str(b)]
    for r in rows:  # words of the grammar only, and a finite score
        assert set(r["caption"].split()) <= set(G.WORDS) and np.isfinite(r["score"])
    assert "resized from 60 x 60 to 24 x 24" in err and "L converted to RGB" in err
    assert main(["caption", str(run_dir), str(a), "--beam", "1"]) == 0
    assert capsys.readouterr().out.strip() == rows[0]["caption"]


def test_caption_refuses_an_unreadable_picture_in_one_line(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    assert main(["caption", str(run_dir), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.png: cannot read it as a picture" in err
    assert main(["caption", str(run_dir), str(bad), "--beam", "0"]) == 2
    assert "--beam" in capsys.readouterr().err


@pytest.mark.parametrize("split", ["test", "test-comp"])
def test_evaluate_scores_greedy_and_beam_and_draws_attention(run_dir, capsys, split):
    assert main(["evaluate", str(run_dir), "--data", split, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["data"] == split and m["pictures"] == 12
    for key in ("greedy", "beam2"):
        for name in ("bleu4", "attr_precision", "attr_recall", "attr_f1", "thing_f1", "exact"):
            assert 0.0 <= m[key][name] <= 1.0
    assert len(m["attention_png"]) == 4
    for path in m["attention_png"]:
        assert (run_dir / f"attention-{split}-0.png").exists()
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert main(["evaluate", str(run_dir), "--data", split]) == 0
    assert "attr F1" in capsys.readouterr().out


def test_valid_comp_has_the_validation_size(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--data", "valid-comp", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pictures"] == 20


def test_evaluate_refuses_an_unknown_split(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--data", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "test-comp" in err


def test_scores_of_perfect_and_empty_captions():
    refs = ["a small red circle left of a large blue square", "a large white triangle"]
    perfect = caption_scores(refs, refs)
    assert perfect["bleu4"] == pytest.approx(1.0) and perfect["attr_f1"] == 1.0
    assert perfect["exact"] == 1.0
    empty = caption_scores(["", ""], refs)
    assert empty["bleu4"] == 0.0 and empty["attr_f1"] == 0.0 and empty["exact"] == 0.0


@pytest.mark.parametrize("key,value,match", [
    ("image_size", 50, "data.image_size"), ("held_out", ["pink circle"], "data.held_out"),
    ("max_things", 0, "data.max_things"), ("word_dropout", 1.0, "objective.word_dropout")])
def test_bad_data_settings_are_config_errors(key, value, match):
    cfg = Config()
    setattr(cfg.objective if key == "word_dropout" else cfg.data, key, value)
    with pytest.raises(ConfigError, match=match):
        make_task(cfg)


def test_training_batches_hold_no_held_out_pair():
    cfg = Config()
    cfg.data.n_train, cfg.data.batch_size, cfg.data.image_size = 64, 32, 24
    cfg.model.channels = (4, 8)
    task = make_task(cfg)
    held = {tuple(p.split()) for p in cfg.data.held_out}
    vocab = task.vocab
    for pics, tgt in task.train_batches(0):
        assert pics.shape == (32, 3, 24, 24) and tgt[:, 0].eq(2).all()
        for row in tgt.tolist():
            things, _ = G.parse_lenient(vocab.decode(row[1:]))
            assert things and not {(t.colour, t.shape) for t in things} & held
