"""The named data sets through make_task and a few training steps: handwriting, spoken-digits."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.recognize import Config, make_task


def tiny(name, **data):
    return Config(data={"name": name, "n_train": 16, "n_valid": 4, "n_test": 4, "batch_size": 8,
                        **data},
                  model={"hidden_size": 8, "num_layers": 1, "factor": 3})


def a_step(task):
    model = task.build_model()
    out = task.step(model, next(task.train_batches(0)), None)
    out.loss.backward()
    assert torch.isfinite(out.loss) and out.loss > 0
    return model


def test_handwriting_trains_on_some_fonts_and_validates_on_another():
    task = make_task(tiny("handwriting", fonts="futural,scripts", valid_font="cursive"))
    assert task.kind == "strokes" and task.source_info["valid_font"] == "cursive"
    assert len(task.mean) == 3 and task.alphabet.chars.startswith("abc")
    model = a_step(task)
    assert set(task.evaluate(model)) == {"loss", "cer", "wer", "seq_acc"}


def test_a_validation_or_test_font_among_the_training_fonts_is_refused():
    with pytest.raises(ConfigError, match="data.test_font: 'futural' is also in data.fonts"):
        make_task(tiny("handwriting", fonts="futural,scripts", test_font="futural"))


def test_spoken_digits_trains_on_log_mel_frames(tmp_path):
    task = make_task(tiny("spoken-digits", cache_dir=str(tmp_path), n_train=8))
    assert task.kind == "speech" and task.alphabet.chars == "0123456789"
    assert len(task.mean) == 40
    a_step(task)


def test_an_unknown_data_name_is_one_clear_error():
    with pytest.raises(ConfigError, match="data.name: expected one of ctc-toy, handwriting"):
        make_task(tiny("mnist"))
