"""The translate task: settings, data splits, training a tiny run, save/load/translate, evaluate."""

from __future__ import annotations

import json

import pytest
import torch
from translate_helpers import reverse_pairs, write_tsv

from rnnkit.config import build
from rnnkit.errors import ConfigError, RnnkitError
from rnnkit.tasks.translate import Config, Translator, evaluate_loaded, make_task, model_from_run
from rnnkit.tasks.translate.task import load_split
from rnnkit.training.checkpoint import load_run


@pytest.mark.parametrize("overrides, words", [
    ({"data": {"name": "wmt"}}, "data.name: expected dates, bible or files"),
    ({"data": {"name": "files"}}, "needs data.train_path"),
    ({"data": {"valid_fraction": 1.0}}, "data.valid_fraction: expected in"),
    ({"decode": {"beam": 0}}, "decode.beam: expected >= 1"),
    ({"objective": {"label_smoothing": 1.0}}, "objective.label_smoothing"),
    ({"model": {"share_embeddings": True}}, "needs data.share_vocab"),
])
def test_bad_settings_are_one_clear_line(overrides, words):
    with pytest.raises(ConfigError, match=words):
        make_task(build(Config, overrides))


def test_files_without_a_validation_file_split_off_the_last_pairs(tmp_path):
    pairs = reverse_pairs(40, 0)
    write_tsv(tmp_path / "p.tsv", pairs)
    cfg = build(Config, {"data": {"name": "files", "train_path": str(tmp_path / "p.tsv"),
                                  "valid_fraction": 0.1}})
    assert load_split(cfg, "train") == pairs[:36] and load_split(cfg, "valid") == pairs[36:]
    with pytest.raises(RnnkitError, match="no data.test_path"):
        load_split(cfg, "test")
    with pytest.raises(RnnkitError, match="only the dates data set"):
        load_split(cfg, "test_locales")


def test_the_dates_task_builds_its_vocabularies_and_batches():
    task = make_task(build(Config, {"data": {"n_train": 300, "n_valid": 20, "batch_size": 8}}))
    src_v, tgt_v = task.vocabs
    assert set("0123456789-") <= set(tgt_v.pieces) and tgt_v.size == 4 + 11
    src, lengths, tgt = next(iter(task.train_batches(0)))
    assert src.shape[0] == 8 and tgt[:, 0].eq(2).all() and int(lengths.min()) >= 1
    model = task.build_model()
    out = task.step(model, (src, lengths, tgt), None)
    assert out.loss.dim() == 0 and out.n_items == int((tgt[:, 1:] > 0).sum())


def test_the_tiny_run_reverses_held_out_words(reverse_run):
    run_dir, _ = reverse_run
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evals = [m for m in metrics if m.get("kind", m.get("type")) == "eval" or "exact" in m]
    assert evals and max(m["exact"] for m in evals) >= 90.0


def test_save_load_translate_round_trip(reverse_run):
    run_dir, data = reverse_run
    config, metadata, state_dict = load_run(run_dir, "best")
    model, src_v, tgt_v = model_from_run(metadata, state_dict)
    again, _, _ = model_from_run(*load_run(run_dir, "best")[1:])
    words = ["abc", "fedca", "a", "", "bb"]
    one = Translator(model, src_v, tgt_v).translate(words, beam=3)
    two = Translator(again, src_v, tgt_v).translate(words, beam=3)
    assert [t[0].text for t in one] == [t[0].text for t in two]
    assert one[3][0].text == ""  # an empty line translates to an empty line
    loaded = model.state_dict()
    assert set(loaded) == set(state_dict)
    assert all(torch.equal(loaded[k], state_dict[k]) for k in loaded)


def test_evaluate_scores_greedy_beam_and_the_copy_baseline(reverse_run):
    run_dir, _ = reverse_run
    config, metadata, state_dict = load_run(run_dir, "best")
    m = evaluate_loaded(config, metadata, state_dict, "test", batch_size=32, run_dir=run_dir)
    assert m["pairs"] == 100 and m["data"] == "test"
    for key in ("greedy", "beam5", "copy_source"):
        assert 0 <= m[key]["chrf"] <= 100 and 0 <= m[key]["exact"] <= 100
    assert m["greedy"]["exact"] >= 90.0 and m["beam5"]["exact"] >= m["greedy"]["exact"] - 2
    assert "tok:13a" in m["greedy"]["bleu_signature"]
    assert (run_dir / "attention.png").stat().st_size > 1000
    with pytest.raises(RnnkitError, match="--data: expected one of"):
        evaluate_loaded(config, metadata, state_dict, "nowhere.tsv", run_dir=run_dir)


def test_model_from_run_refuses_another_tasks_run():
    with pytest.raises(RnnkitError, match="not a translate run"):
        model_from_run({"task": "lm"}, {})


def test_the_heat_map_draws_any_script_quietly_and_needs_attention(tmp_path):
    import warnings

    from rnnkit.tasks.translate import Translation
    from rnnkit.tasks.translate.metrics import plot_attention

    t = Translation("2031-11-28", 0.0, 0.0, torch.rand(3, 4), list("日本語x"), ["2", "0", "</s>"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plot_attention([t], tmp_path / "a.png").stat().st_size > 1000
    with pytest.raises(RnnkitError, match="attention=none has none"):
        plot_attention([Translation("x", 0.0, 0.0)], tmp_path / "b.png")


def test_a_sentencepiece_run_saves_its_model_in_the_metadata(tmp_path):
    write_tsv(tmp_path / "p.tsv", [(f"ein Haus {i}", f"a house {i}") for i in range(60)])
    task = make_task(build(Config, {"data": {"name": "files", "train_path": str(tmp_path / "p.tsv"),
                                             "tokenizer": "sentencepiece", "max_vocab": 40},
                                    "model": {"hidden_size": 16, "embedding_size": 8}}))
    model = task.build_model()
    meta = json.loads(json.dumps(task.metadata()))
    loaded, src_v, tgt_v = model_from_run(meta, model.state_dict())
    assert src_v.pieces == task.vocabs[0].pieces and tgt_v.size <= 40
    out = Translator(loaded, src_v, tgt_v).translate(["ein Haus 7"], beam=2)
    assert isinstance(out[0][0].text, str)
