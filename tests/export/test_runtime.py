"""Sampling from the exported one-step model in onnxruntime (`rnnkit generate --onnx`)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.cli import generate as generate_cli
from rnnkit.cli import main
from rnnkit.export import lm_to_onnx
from rnnkit.export.runtime import OnnxStepModel, generate_onnx
from rnnkit.models.generate import Sampling, generate
from rnnkit.tasks.lm import Config, DataConfig, ModelConfig, make_task


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rt")
    corpus = tmp / "corpus.txt"
    corpus.write_text("def f(x):\n    return x + 1\n" * 10)
    task = make_task(Config(DataConfig(corpus=str(corpus), batch_size=2, seq_len=8),
                            ModelConfig(embedding_size=8, hidden_size=12, num_layers=2)))
    torch.manual_seed(0)
    model = task.build_model().eval()
    with torch.no_grad():  # a peaked distribution, so the samples say something
        model.decoder.weight.mul_(8)
    lm_to_onnx(model, tmp / "lm.onnx", tmp / "lm.step.onnx", task.tokenizer.to_dict())
    run = ({"task_name": "lm", "task": {}}, task.metadata(), model.state_dict())
    return model, task.tokenizer, tmp, run


@pytest.mark.parametrize("sampling", [Sampling(0.0), Sampling(1.0, seed=3),
                                      Sampling(0.8, top_k=4, top_p=0.9, seed=5)])
def test_onnx_samples_are_rnnkits_samples(exported, sampling):
    model, tok, tmp, _ = exported
    ours = "".join(generate_onnx(OnnxStepModel(tmp / "lm.step.onnx"), "def", 60, sampling))
    ref = "".join(generate(model, tok, "def", 60, sampling))
    assert ours == ref and len(ours) == 60


def test_cli_generate_onnx_equals_generate_run_dir(exported, capsys, monkeypatch):
    _, _, tmp, run = exported
    monkeypatch.setattr(generate_cli, "_load_run", lambda run_dir, which: run)
    args = ["--prime", "de", "--length", "50", "--seed", "7", "--top-k", "5"]
    assert main(["generate", "--onnx", str(tmp / "lm.step.onnx"), *args, "--threads", "1"]) == 0
    from_onnx = capsys.readouterr().out
    assert main(["generate", "RUN", *args]) == 0
    assert capsys.readouterr().out == from_onnx and from_onnx.startswith("de")


@pytest.mark.parametrize("argv, message", [
    (["RUN", "--onnx", "STEP"], "give RUN_DIR or --onnx STEP_MODEL (one of them)"),
    ([], "give RUN_DIR or --onnx STEP_MODEL"),
    (["--onnx", "WHOLE"], "is not the one-step model of an rnnkit language model"),
    (["--onnx", "GARBAGE"], "onnxruntime cannot load"),
    (["--onnx", "NOWHERE"], "is not a file"),
    (["--onnx", "STEP", "--device", "cuda"], "leave --device out"),
    (["--onnx", "STEP", "--prime", "@"], "'@'"),
])
def test_bad_onnx_generation_is_one_line(exported, capsys, argv, message):
    tmp = exported[2]
    (tmp / "garbage.onnx").write_text("not a model")
    names = {"STEP": tmp / "lm.step.onnx", "WHOLE": tmp / "lm.onnx",
             "GARBAGE": tmp / "garbage.onnx", "NOWHERE": tmp / "nowhere.onnx"}
    assert main(["generate", *[str(names.get(a, a)) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
