"""rnnkit.export.lm_to_onnx: the whole-sequence and one-step files equal the model in PyTorch."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from rnnkit.export import ExportError, lm_to_onnx
from rnnkit.models.lm import LanguageModel


def sess(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_whole_and_step_files_match_pytorch(tmp_path, cell):
    torch.manual_seed(0)
    model = LanguageModel(30, 8, 12, num_layers=2, cell=cell, dropout=0.3).eval()
    whole, step = tmp_path / "lm.onnx", tmp_path / "lm.step.onnx"
    reports = lm_to_onnx(model, whole, step, {"kind": "byte"})
    assert [r.path for r in reports] == [str(whole), str(step)]
    assert max(r.max_abs_diff for r in reports) < 1e-5
    tokens = torch.randint(30, (3, 11))
    with torch.no_grad():
        logits, _ = model(tokens)
    L, names = 2, (["h0", "c0"] if cell == "lstm" else ["h0"])
    zeros = {n: np.zeros((L, 3, 12), np.float32) for n in names}
    got = sess(whole).run(None, {"tokens": tokens.numpy()} | zeros)[0]
    np.testing.assert_allclose(got, logits.numpy(), atol=1e-5)
    # streaming: the step model fed one token at a time, carrying its state, gives the same
    stepper, state, per_step = sess(step), zeros, []
    for t in range(11):
        out = stepper.run(None, {"tokens": tokens[:, t].numpy()} | state)
        per_step.append(out[0])
        state = dict(zip(names, out[1:], strict=True))
    np.testing.assert_allclose(np.stack(per_step, axis=1), logits.numpy(), atol=1e-5)


def test_tokenizer_is_in_the_metadata(tmp_path):
    model = LanguageModel(3, 4, 4, num_layers=1, cell="gru")
    lm_to_onnx(model, tmp_path / "lm.onnx", tokenizer={"kind": "char", "chars": "ab\n"})
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "lm.onnx")).metadata_props}
    assert json.loads(props["rnnkit.tokenizer"]) == {"kind": "char", "chars": "ab\n"}


def test_no_file_is_written_when_either_check_fails(tmp_path):
    model = LanguageModel(5, 4, 4, num_layers=1)
    with pytest.raises(ExportError, match="nothing was written"):
        lm_to_onnx(model, tmp_path / "a.onnx", tmp_path / "b.onnx", tolerance=1e-12)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="exports a language model, got Linear"):
        lm_to_onnx(torch.nn.Linear(2, 2), tmp_path / "a.onnx")
