"""data.pen_norm end to end: a strokes run keeps its normalisation in its metadata, and
`rnnkit transcribe`, `rnnkit evaluate` and the exported ONNX file normalise a user's strokes as
training did (a digitiser's units drop out); runs from before the setting read raw strokes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.data.handwriting import render
from rnnkit.errors import ConfigError
from rnnkit.tasks.recognize import Config
from rnnkit.tasks.recognize.run import rebuild
from rnnkit.training.checkpoint import load_run

ALL = "slant,height,overlap,resample,turn"
WORDS = ["mum", "nun", "moon", "noon", "union", "minimum", "omnium", "unmunion"]


def strokes_file(path, n=24):
    rng = np.random.default_rng(0)
    fonts = ["cursive", "futural", "timesr"]
    with open(path, "w") as f:
        for i in range(n):
            text = WORDS[i % len(WORDS)]
            frames = render(text, fonts[i % 3], rng) * (50.0, 50.0, 1.0)  # tablet units
            f.write(json.dumps({"strokes": frames.round(3).tolist(), "text": text}) + "\n")
    return path


def train(tmp_path, name, pen_norm):
    run = tmp_path / name
    assert main(["train", "recognize", f"--data.path={strokes_file(tmp_path / 's.jsonl')}",
                 "--data.batch_size=4", "--data.valid_fraction=0.2", f"--data.pen_norm={pen_norm}",
                 "--model.hidden_size=8", "--model.num_layers=1", "--model.factor=2",
                 "--train.threads=1", "--steps", "2", "--out", str(run), "--plain"]) == 0
    return run


def test_transcribe_evaluate_and_onnx_normalise_as_training_did(tmp_path, capsys):
    from rnnkit.export.recognize_runtime import OnnxRecognizer

    run = train(tmp_path, "run", ALL)
    config, metadata, state_dict = load_run(run, "best")
    assert metadata["pen_norm"] == ALL and len(metadata["mean"]) == 6
    task, model = rebuild(config, metadata, state_dict)
    frames = render("minimum", "scripts", np.random.default_rng(5))
    bigger = frames * (40.0, 40.0, 1.0)
    a, b = task.encode_item(frames, "", "a")[0], task.encode_item(bigger, "", "b")[0]
    np.testing.assert_allclose(a, b, atol=1e-3)  # the units drop out
    paths = []
    for name, x in (("a.json", frames), ("b.json", bigger)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps({"strokes": x.tolist()}))
    capsys.readouterr()
    assert main(["transcribe", str(run), *map(str, paths), "--json"]) == 0
    texts = [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()]
    assert len(texts) == 2 and texts[0] == texts[1]
    assert main(["evaluate", str(run), "--data", str(tmp_path / "s.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_items"] == 24

    onnx_path = tmp_path / "rec.onnx"
    assert main(["export", str(run), "--onnx", str(onnx_path)]) == 0
    onnx_model = OnnxRecognizer(onnx_path)
    assert onnx_model.pen_norm == ALL
    np.testing.assert_allclose(onnx_model.features(bigger), a, atol=1e-3)
    got, got_len = onnx_model.log_probs([bigger])
    with torch.no_grad():
        expected, _ = model(torch.from_numpy(a)[None], torch.tensor([len(a)]))
    np.testing.assert_allclose(got[0, : got_len[0]], expected[0].numpy(), atol=1e-4)
    assert onnx_model.transcribe([frames, bigger]) == texts


def test_a_run_from_before_the_setting_reads_raw_strokes(tmp_path):
    run = train(tmp_path, "old", "none")
    config, metadata, state_dict = load_run(run, "best")
    assert metadata["pen_norm"] == "none"
    del metadata["pen_norm"]  # what a run saved before data.pen_norm holds
    for key in ("pen_norm",):
        config["task"]["data"].pop(key)
    task, _ = rebuild(config, metadata, state_dict)
    assert task.pen_norm == "none"
    frames = render("moon", "futural")
    x = task.encode_item(frames, "", "x")[0]
    assert x.shape == (len(frames), 4)  # (dx, dy, pen_up, height), one per frame
    np.testing.assert_allclose(x[:, :3] * task.scale[:3] + task.mean[:3], frames, atol=1e-5)


def test_bad_pen_norm_is_one_clear_error():
    with pytest.raises(ConfigError, match="data.pen_norm: expected 'none' or a comma-separated"):
        Config(data={"pen_norm": "slant,italic"})
