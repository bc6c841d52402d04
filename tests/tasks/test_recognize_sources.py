"""The named data sets through make_task and a few training steps: handwriting, spoken-digits."""

from __future__ import annotations

import numpy as np
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
    assert len(task.mean) == 4 and task.alphabet.chars.startswith("abc")  # + pen height
    model = a_step(task)
    assert set(task.evaluate(model)) == {"loss", "cer", "wer", "seq_acc"}


def test_a_validation_or_test_font_among_the_training_fonts_is_refused():
    with pytest.raises(ConfigError, match="data.test_font: 'futural' draws the same glyphs as "
                                          "training font 'futural'"):
        make_task(tiny("handwriting", fonts="futural,scripts", test_font="futural"))


def test_spoken_digits_trains_on_log_mel_frames(tmp_path):
    task = make_task(tiny("spoken-digits", cache_dir=str(tmp_path), n_train=8))
    assert task.kind == "speech" and task.alphabet.chars == "0123456789"
    assert len(task.mean) == 40
    a_step(task)


def test_an_unknown_data_name_is_one_clear_error():
    with pytest.raises(ConfigError, match="data.name: expected one of ctc-toy, handwriting"):
        make_task(tiny("mnist"))


def test_the_mel_warp_stretches_the_band_axis_and_is_reproducible(tmp_path):
    import numpy as np

    task = make_task(tiny("spoken-digits", cache_dir=str(tmp_path), n_train=8, warp=0.2))
    x = task.train[0][0]
    np.testing.assert_allclose(task.warp(x, 1.0), x, atol=1e-5)
    raw = x * task.scale + task.mean
    stretched = task.warp(x, 2.0) * task.scale + task.mean
    np.testing.assert_allclose(stretched[:, 10], raw[:, 5], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(stretched[:, 11], (raw[:, 5] + raw[:, 6]) / 2, rtol=1e-4,
                               atol=1e-4)
    a, b = next(task.train_batches(3)), next(task.train_batches(3))
    assert torch.equal(a["x"], b["x"])
    task.cfg.data.warp = 0.0
    assert not torch.equal(next(task.train_batches(3))["x"], a["x"])
    with pytest.raises(ConfigError, match="data.warp"):
        tiny("spoken-digits", warp=0.7)


def test_a_speech_run_transcribes_a_wav_and_refuses_other_files(tmp_path):
    import dataclasses
    import sys
    from pathlib import Path

    from rnnkit.errors import DataError
    from rnnkit.tasks.recognize.run import transcribe_loaded

    sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
    from test_audio import tone, write_wav

    cfg = tiny("spoken-digits", cache_dir=str(tmp_path), n_train=8)
    task = make_task(cfg)
    run = ({"task": dataclasses.asdict(cfg)}, task.metadata(), task.build_model().state_dict())
    write_wav(tmp_path / "a.wav", tone(24000, 0.5), 24000)
    out = transcribe_loaded(*run, tmp_path / "a.wav", beam=4)
    assert set(out["text"]) <= set("0123456789") and out["frames"] == 1 + (8000 - 512) // 160
    (tmp_path / "b.wav").write_text("not audio")
    with pytest.raises(DataError, match="b.wav: not a readable PCM WAV"):
        transcribe_loaded(*run, tmp_path / "b.wav")
    with pytest.raises(DataError, match="expected a .wav file"):
        transcribe_loaded(*run, tmp_path / "c.json")


def test_fresh_handwriting_items_each_epoch_are_reproducible():
    task = make_task(tiny("handwriting", fonts="futural,scripts", valid_font="cursive",
                          fresh=True))
    first = [t for _, t, _ in task.epoch_items(0)]
    second = [t for _, t, _ in task.epoch_items(1)]
    assert first == [t for _, t, _ in task.train] and second != first and len(second) == 16
    again = make_task(tiny("handwriting", fonts="futural,scripts", valid_font="cursive",
                           fresh=True))
    assert torch.equal(next(again.train_batches(1))["x"], next(task.train_batches(1))["x"])


def test_a_font_that_is_a_training_font_under_another_name_is_refused():
    with pytest.raises(ConfigError, match="data.valid_font: 'futural' draws the same glyphs as "
                                          "training font 'rowmans'"):
        make_task(tiny("handwriting", fonts="rowmans,scripts", valid_font="futural"))


def test_validation_items_may_come_from_several_fonts():
    from rnnkit.tasks.recognize.sources import load_source

    d = tiny("handwriting", fonts="futural,scripts", valid_font="cursive, timesr",
             n_valid=40, pen_noise=1.0).data
    src = load_source(d, parts=("valid",))
    assert len(src.valid) == 40 and src.train == [] and src.test == []
    with pytest.raises(ConfigError, match="data.pen_noise"):
        tiny("handwriting", pen_noise=3.0)


def test_model_factor_zero_takes_the_factor_of_the_data_kind_and_the_run_keeps_it():
    import dataclasses

    from rnnkit.tasks.recognize.config import FACTOR_BY_KIND
    from rnnkit.tasks.recognize.run import rebuild

    cfg = Config(data={"name": "handwriting", "n_train": 8, "n_valid": 2, "n_test": 2,
                       "fonts": "futural", "valid_font": "cursive"},
                 model={"hidden_size": 8, "num_layers": 1})
    assert cfg.model.factor == 0
    task = make_task(cfg)
    assert task.factor == FACTOR_BY_KIND["strokes"] == task.metadata()["factor"]
    model = task.build_model()
    assert model.rnn.input_size == 4 * task.factor  # 4 features per point, stacked
    toy = make_task(Config(data={"name": "ctc-toy", "n_train": 8, "n_valid": 2},
                           model={"hidden_size": 8, "num_layers": 1}))
    assert toy.factor == 2
    # a run rebuilds with the factor it used, whatever the table says now
    meta = {**task.metadata(), "factor": 5}
    cfg5 = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, factor=5))
    state = make_task(cfg5).build_model().state_dict()
    _, again = rebuild({"task": dataclasses.asdict(cfg)}, meta, state)
    assert again.cfg.factor == 5
    with pytest.raises(ConfigError, match="model.factor"):
        Config(model={"factor": -1})


def test_handwriting_training_items_get_pen_noise_by_default_and_held_out_items_never():
    from rnnkit.tasks.recognize.config import DataConfig

    assert DataConfig().pen_noise == 1.0 and DataConfig().pen_norm == "none"
    fonts = {"fonts": "futural,scripts", "valid_font": "cursive"}
    noisy, plain = make_task(tiny("handwriting", **fonts)), make_task(
        tiny("handwriting", pen_noise=0.0, **fonts))
    assert any(a.shape != b.shape or not (a == b).all()
               for (a, _, _), (b, _, _) in zip(noisy.train, plain.train, strict=True))
    for (a, _, _), (b, _, _) in zip(noisy.valid, plain.valid, strict=True):  # unstandardised
        np.testing.assert_allclose(a * noisy.scale + noisy.mean, b * plain.scale + plain.mean,
                                   atol=1e-5)
