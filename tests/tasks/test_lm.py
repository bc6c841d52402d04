import dataclasses
import json
import math

import pytest
import torch

from rnnkit.data.tokenizers import tokenizer_from_dict
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import lm
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, evaluate_tokens, make_task

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _cfg(path, **data):
    return Config(
        data=DataConfig(corpus=str(path), batch_size=4, seq_len=16, eval_batch_size=2,
                        valid_fraction=0.1, **data),
        model=ModelConfig(embedding_size=16, hidden_size=32, num_layers=1),
    )


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "fox.txt"
    path.write_text(TEXT)
    return path


def _detach(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return None if state is None else state.detach()


def test_contract_members():
    assert set(lm.TRAIN_DEFAULTS) >= {"train.steps", "optim.lr"}
    assert {f.name for f in dataclasses.fields(Config)} == {"data", "model"}
    assert lm.LMTask.name == "lm"


def test_step_and_evaluate_on_tiny_data(corpus):
    task = make_task(_cfg(corpus))
    model = task.build_model()
    batches = task.train_batches(epoch=0)
    first = next(batches)
    out = task.step(model, first, None)
    assert out.loss.dim() == 0 and out.n_items == 4 * 16
    assert math.log(task.tokenizer.vocab_size) * 0.8 < out.loss.item() < 2 * math.log(27)
    out.loss.backward()
    assert model.embedding.weight.grad is not None
    out2 = task.step(model, next(batches), _detach(out.state))  # the carried state is accepted
    assert torch.isfinite(out2.loss)
    metrics = task.evaluate(model)
    assert set(metrics) >= {"loss", "bpc", "perplexity"}
    assert metrics["bpc"] == pytest.approx(metrics["loss"] / math.log(2))  # char tokenizer
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]))


def test_a_tiny_corpus_overfits(tmp_path):
    path = tmp_path / "fox.txt"
    path.write_text("the quick brown fox jumps over the lazy dog. " * 8)
    torch.manual_seed(0)
    task = make_task(Config(
        data=DataConfig(corpus=str(path), batch_size=4, seq_len=32, valid_fraction=0.1,
                        valid_slices=1, eval_batch_size=1),  # 36 characters: one slice
        model=ModelConfig(embedding_size=16, hidden_size=64, num_layers=1),
    ))
    model = task.build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = last = None
    for epoch in range(60):  # 3 chunks an epoch: 180 Adam steps
        state = None
        for batch in task.train_batches(epoch):
            out = task.step(model, batch, state)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            state = _detach(out.state)
            first = out.loss.item() if first is None else first
            last = out.loss.item()
    assert first > 2.5 and last < 0.05
    # The validation text is the same sentence, read from a zero state: far below uniform.
    assert task.evaluate(model)["loss"] < 0.25 * math.log(task.tokenizer.vocab_size)


def test_uniform_model_scores_log_v_exactly(corpus):
    task = make_task(_cfg(corpus))
    model = task.build_model()
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    v = task.tokenizer.vocab_size
    metrics = task.evaluate(model)
    assert metrics["loss"] == pytest.approx(math.log(v), rel=1e-6)
    assert metrics["bpc"] == pytest.approx(math.log2(v), rel=1e-6)
    assert metrics["perplexity"] == pytest.approx(v, rel=1e-5)


def test_bpc_is_per_character_for_bytes():
    # 'é' is two bytes: a uniform byte model pays 2 x ln 256 nats for one character.
    model = lm.build_model(ModelConfig(embedding_size=4, hidden_size=4, num_layers=1), 256)
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    tok = tokenizer_from_dict({"kind": "byte"})
    text = "aé" * 50
    m = evaluate_tokens(model, tok.encode(text), tok.char_lengths(text), 2, 8)
    assert m["loss"] == pytest.approx(math.log(256), rel=1e-6)
    assert m["bpc"] == pytest.approx(8 * m["tokens"] / m["chars"], rel=1e-6)
    assert m["chars"] == pytest.approx(m["tokens"] * 2 / 3, abs=1)


def test_metadata_rebuilds_the_model_and_evaluate_loaded(corpus):
    task = make_task(_cfg(corpus, tokenizer="word"))
    model = task.build_model()
    meta = json.loads(json.dumps(task.metadata()))
    assert meta["task"] == "lm" and meta["tokenizer"]["kind"] == "word"
    again, tok = lm.model_from_run(meta, model.state_dict())
    tokens = torch.from_numpy(tok.encode("the lazy dog"))[None]
    torch.testing.assert_close(again(tokens)[0], model.eval()(tokens)[0])
    metrics = lm.evaluate_loaded({"task_name": "lm"}, meta, model.state_dict(), str(corpus))
    assert metrics["tokens"] > 100 and metrics["loss"] > 0


def test_unknown_characters_in_evaluation_data(corpus, tmp_path):
    task = make_task(_cfg(corpus))
    model = task.build_model()
    other = tmp_path / "other.txt"
    other.write_text("ZEBRA!")  # all unknown: refused (tests/data/test_unknown_chars.py)
    with pytest.raises(DataError, match="does not match the model's vocabulary"):
        lm.evaluate_loaded({}, task.metadata(), model.state_dict(), str(other))
    with pytest.raises(ConfigError, match="--data"):
        lm.evaluate_loaded({}, task.metadata(), model.state_dict(), None)
    with pytest.raises(DataError, match="not a language-model run"):
        lm.model_from_run({"task": "classify"}, {})


def test_no_validation_slice_overlaps_training(tmp_path):
    # every line is unique, so a whole line found in both parts would be an overlap
    lines = [f"line {i:05d}\n" for i in range(60_000)]  # 660,000 characters
    path = tmp_path / "numbered.txt"
    path.write_text("".join(lines))
    task = make_task(Config(DataConfig(corpus=str(path), valid_fraction=0.1, valid_slices=6)))
    assert lm.valid_slice_count(660_000, task.cfg.data) == 6
    data, tok = task.data(), task.tokenizer
    train, valid = tok.decode(data.train_ids), tok.decode(data.valid_ids)
    assert len(train) + len(valid) == len("".join(lines))
    whole = [line for line in valid.splitlines(keepends=True) if line in lines]
    assert whole and not any(line in train for line in whole)
    numbers = sorted(int(line[5:10]) for line in whole)
    gaps = sum(b - a > 1 for a, b in zip(numbers[:-1], numbers[1:], strict=True))
    assert gaps == 5 and numbers[-1] == 59_999  # 6 slices, the last at the corpus's end
    assert len(data.valid_char_lengths) == len(data.valid_ids) == len(valid)


def test_validation_slices_are_never_shorter_than_min_slice_chars():
    d = DataConfig(valid_fraction=0.1, valid_slices=5)
    assert lm.valid_slice_count(10 * 5 * lm.MIN_SLICE_CHARS, d) == 5
    assert lm.valid_slice_count(10 * 2 * lm.MIN_SLICE_CHARS + 9, d) == 2
    assert lm.valid_slice_count(1000, d) == 1  # a small corpus validates on its end
    with pytest.raises(ConfigError, match="data.valid_slices"):
        lm.valid_slice_count(10**7, DataConfig(valid_slices=0))
