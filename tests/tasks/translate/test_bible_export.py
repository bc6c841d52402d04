"""The `bible` splits exported to TSV files (rnnkit.data.bible.export) give a translate run the
same pairs, vocabularies and batches as `data.name=bible` (the GPU machine has no pysword and no
SWORD modules: it trains on the files)."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.data import bible
from rnnkit.errors import RnnkitError
from rnnkit.tasks.translate import Config, DataConfig, TranslateTask
from rnnkit.tasks.translate.task import load_split


def _files_config(out, **data) -> Config:
    return Config(data=DataConfig(name="files", train_path=str(out / "train.tsv"),
                                  valid_path=str(out / "valid.tsv"),
                                  test_path=str(out / "test.tsv"), **data))


def _fake_corpus(monkeypatch):
    words = ["light", "earth", "water", "day", "night", "God", "said", "and", "the", "¿qué?"]
    pairs = tuple((" ".join(words[(i + k) % 10] for k in range(1 + i % 7)) + f" {i}",
                   " ".join(words[(3 * i + k) % 10] for k in range(2 + i % 5)) + f" n{i}")
                  for i in range(3300))
    monkeypatch.setattr(bible, "_all_pairs", lambda sword_path: pairs)
    monkeypatch.setattr(bible, "describe", lambda sword_path=None: "bible: fake")
    return pairs


def _batches(task: TranslateTask, n: int = 5):
    out = []
    for batch in task.train_batches(epoch=1):
        out.append(batch)
        if len(out) == n:
            return out
    return out


def test_a_run_on_the_exported_files_sees_what_data_name_bible_sees(tmp_path, monkeypatch):
    _fake_corpus(monkeypatch)
    manifest = bible.export(tmp_path / "bible", seed=3)
    assert manifest["pairs"] == {"train": 300, "valid": 1000, "test": 2000}
    assert json.loads((tmp_path / "bible" / "manifest.json").read_text())["seed"] == 3
    data = dict(tokenizer="word", max_vocab=40, max_tokens=6, batch_size=16, seed=3)
    named = Config(data=DataConfig(name="bible", **data))
    files = _files_config(tmp_path / "bible", **data)
    for split in bible.SPLITS:
        assert load_split(files, split) == load_split(named, split)
    a, b = TranslateTask(named), TranslateTask(files)
    assert [v.to_dict() for v in a.vocabs] == [v.to_dict() for v in b.vocabs]
    for x, y in zip(_batches(a), _batches(b), strict=True):
        assert all(torch.equal(u, v) for u, v in zip(x, y, strict=True))
    # another seed draws other verses: the files are the seed's own
    assert load_split(Config(data=DataConfig(name="bible", seed=4)), "test") != \
        load_split(files, "test")


def test_export_refuses_a_file_where_its_directory_goes(tmp_path, monkeypatch):
    _fake_corpus(monkeypatch)
    (tmp_path / "bible").write_text("not a directory")
    with pytest.raises(RnnkitError, match="is a file; expected a directory"):
        bible.export(tmp_path / "bible")


def test_the_real_corpus_reads_back_from_its_export_pair_for_pair(tmp_path):
    pytest.importorskip("pysword", reason="needs pysword: pip install pysword")
    try:
        bible.describe()
    except RnnkitError:
        pytest.skip("needs the SWORD modules: apt-get install sword-text-kjv sword-text-sparv")
    bible.export(tmp_path)
    cfg = _files_config(tmp_path)
    for split in bible.SPLITS:
        assert load_split(cfg, split) == bible.bible_pairs(split)
