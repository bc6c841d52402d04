"""Scoring a language model on text with characters its char vocabulary lacks."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli import main
from rnnkit.data.tokenizers import CharTokenizer, build_tokenizer
from rnnkit.data.unknown_chars import encode_for_scoring
from rnnkit.errors import DataError
from rnnkit.tasks import lm
from rnnkit.tasks.lm import ModelConfig

TRAIN = "the quick brown fox jumps over the lazy dog.\n"
# 200 characters ending in a newline (a file is read as is), 4 of them unknown ('Z' twice,
# 'é', '!'): 2% of the text
HELD_OUT = ("the lazy dog jumps over a quick brown fox.\n" * 5)[:195] + "\n"
HELD_OUT = HELD_OUT[:20] + "Z" + HELD_OUT[20:60] + "éZ" + HELD_OUT[60:150] + "!" + HELD_OUT[150:]


def _run(seed=0):
    torch.manual_seed(seed)
    tok = build_tokenizer("char", TRAIN)
    model = lm.build_model(ModelConfig(embedding_size=8, hidden_size=12, num_layers=2),
                           tok.vocab_size)
    meta = {"task": "lm", "tokenizer": tok.to_dict(), "model": {**vars(ModelConfig())},
            "vocab_size": tok.vocab_size, "seq_len": 16}
    meta["model"].update(embedding_size=8, hidden_size=12, num_layers=2)
    return model, tok, meta


def _by_hand(model, tok, text):
    """Mean cross-entropy over the known targets, the whole text read as one float64 sequence
    with unknown inputs read as a space."""
    ids = [tok.chars.index(c) if c in tok.chars else tok.chars.index(" ") for c in text]
    keep = torch.tensor([c in tok.chars for c in text[1:]])
    model = model.double().eval()
    with torch.no_grad():
        logits, _ = model(torch.tensor(ids)[None, :-1])
        nats = F.cross_entropy(logits[0], torch.tensor(ids[1:]), reduction="none")
    return nats[keep].sum().item() / keep.sum().item(), int(keep.sum())


def test_encode_known_marks_the_unknown_characters():
    tok = CharTokenizer.build("abc ")
    ids, known = tok.encode_known("abZ c")
    assert known.tolist() == [True, True, False, True, True]
    assert ids[2] == -1 and tok.decode(ids[known]) == "ab c"
    with pytest.raises(DataError, match="'Z'"):
        tok.encode("abZ c")


def test_the_loss_equals_the_hand_computed_loss_over_the_known_targets(tmp_path):
    model, tok, meta = _run()
    expected, n_known = _by_hand(model, tok, HELD_OUT)
    scoring = encode_for_scoring(tok, HELD_OUT)
    assert scoring.excluded == 4 and scoring.unknown == ["'Z'", "'é'", "'!'"]
    assert scoring.stand_in == " "
    for batch_size in (1, 3):  # one stream, and three streams read in chunks of 16
        m = lm.evaluate_tokens(model.double(), scoring.ids, scoring.char_lengths, batch_size,
                               16, scoring.target_mask)
        if batch_size == 1:
            assert m["tokens"] == n_known == len(HELD_OUT) - 1 - 4
            assert m["loss"] == pytest.approx(expected, rel=1e-6)
        else:
            # the streams drop the last (N - 1) mod 3 targets; what is scored is still known
            assert m["tokens"] == m["chars"] <= n_known
        assert m["bpc"] == pytest.approx(m["loss"] / math.log(2))
    path = tmp_path / "held_out.txt"
    path.write_text(HELD_OUT)
    got = lm.evaluate_loaded({}, meta, model.float().state_dict(), str(path), batch_size=1)
    assert len(HELD_OUT) == 200 and got["tokens"] == n_known
    assert got["loss"] == pytest.approx(expected, rel=1e-5)
    assert got["excluded"] == 4 and got["unknown"] == ["'Z'", "'é'", "'!'"]


def test_the_stand_in_without_a_space_is_the_most_frequent_known_character():
    tok = CharTokenizer.build("abc")
    scoring = encode_for_scoring(tok, "abbb" * 10 + "cZ" + "abbb" * 10)
    assert scoring.stand_in == "b" and scoring.ids[41] == tok.chars.index("b")
    assert scoring.target_mask.tolist().count(False) == 1


def test_more_than_5_percent_unknown_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    model, tok, meta = _run()
    path = tmp_path / "other.txt"
    path.write_text("the dog " * 10 + "ZEBRAS!\n")  # 7 of 88 characters: 8%
    monkeypatch.setattr(evaluate_cli, "_load_run",
                        lambda d, w: ({"task_name": "lm"}, meta, model.state_dict()))
    assert main(["evaluate", "RUN", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not match the model's vocabulary" in err
    assert "7 of 88 characters" in err and "'Z'" in err


def test_evaluate_reports_the_excluded_characters(tmp_path, monkeypatch, capsys):
    model, tok, meta = _run()
    path = tmp_path / "held_out.txt"
    path.write_text(HELD_OUT)
    monkeypatch.setattr(evaluate_cli, "_load_run",
                        lambda d, w: ({"task_name": "lm"}, meta, model.state_dict()))
    assert main(["evaluate", "RUN", "--data", str(path), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["excluded"] == 4 and metrics["unknown"] == ["'Z'", "'é'", "'!'"]
    assert metrics["stand_in"] == " "
    assert main(["evaluate", "RUN", "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert "excluded    4 characters not in the model's vocabulary" in out and "'é'" in out


def test_text_without_unknown_characters_scores_as_before(tmp_path):
    model, tok, meta = _run()
    text = (TRAIN * 6)[:250]
    path = tmp_path / "known.txt"
    path.write_text(text)
    before = lm.evaluate_tokens(model, tok.encode(text), tok.char_lengths(text), 3, 16)
    got = lm.evaluate_loaded({}, meta, model.state_dict(), str(path), batch_size=3)
    assert {k: got[k] for k in before} == before  # exactly: the same code path
    assert got["excluded"] == 0 and got["unknown"] == [] and got["stand_in"] is None
    assert encode_for_scoring(tok, text).target_mask is None
    all_true = np.ones(len(text), dtype=bool)  # a mask of all True scores the same
    masked = lm.evaluate_tokens(model, tok.encode(text), tok.char_lengths(text), 3, 16, all_true)
    assert masked == pytest.approx(before, rel=1e-6)


def test_byte_and_word_tokenizers_keep_every_target():
    for kind in ("byte", "word"):
        tok = build_tokenizer(kind, TRAIN)
        scoring = encode_for_scoring(tok, "ZEBRA été")
        assert scoring.target_mask is None and scoring.excluded == 0
        assert scoring.ids.tolist() == tok.encode("ZEBRA été").tolist()
