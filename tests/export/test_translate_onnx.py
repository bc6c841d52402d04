"""rnnkit.export.translate_to_onnx: encoder and decoder step as Seq2Seq.start / step for every
attention and cell, OnnxTranslator's greedy translations equal rnnkit's, and the refusals."""

from __future__ import annotations

import json
import random

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from rnnkit.data.pairs import make_batch
from rnnkit.data.seq_vocab import SeqVocab
from rnnkit.export import ExportError, translate_to_onnx
from rnnkit.export.translate_runtime import OnnxTranslator
from rnnkit.models.seq2seq import Seq2Seq, smoothed_loss
from rnnkit.tasks.translate import Translator

SETTINGS = [
    {}, {"cell": "gru", "attention": "bahdanau", "num_layers": 2},
    {"cell": "rnn_tanh", "attention": "dot", "bidirectional": False},
    {"attention": "none", "num_layers": 2}, {"cell": "gru", "input_feed": False},
]


def seq2seq(src_vocab: int = 11, tgt_vocab: int = 13, **kw) -> Seq2Seq:
    torch.manual_seed(0)
    return Seq2Seq(src_vocab, tgt_vocab, embedding_size=6, hidden_size=8, dropout=0.2,
                   **kw).eval()


def sess(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("kw", SETTINGS)
def test_encoder_and_step_files_equal_start_and_step(tmp_path, kw):
    model = seq2seq(**kw)
    reports = translate_to_onnx(model, tmp_path / "e.onnx", tmp_path / "s.onnx",
                                metadata={"task": "translate"})
    assert [r.path for r in reports] == [str(tmp_path / "e.onnx"), str(tmp_path / "s.onnx")]
    assert all(r.max_abs_diff < 1e-5 and "S=300 B=2" in r.shapes for r in reports)
    src = torch.tensor([[4, 5, 6, 0, 0], [7, 8, 9, 10, 3], [5, 0, 0, 0, 0]])
    lengths = torch.tensor([3, 5, 1])
    with torch.no_grad():
        state = model.start(src, lengths)
        logits, new, weights = model.step(torch.tensor([2, 5, 12]), state)
    enc = sess(tmp_path / "e.onnx")
    names = [o.name for o in enc.get_outputs()]
    assert names == list(state)  # h [, c] [, feed] [, memory, keys, mask]
    got = dict(zip(names, enc.run(None, {"src": src.numpy(), "src_lengths": lengths.numpy()}),
                   strict=True))
    for name, value in state.items():
        np.testing.assert_allclose(got[name], value.numpy(), atol=1e-5, err_msg=name)
    step = sess(tmp_path / "s.onnx")
    out = dict(zip([o.name for o in step.get_outputs()],
                   step.run(None, {"tokens": np.array([2, 5, 12])} | got), strict=True))
    np.testing.assert_allclose(out["log_probs"], torch.log_softmax(logits, 1).numpy(),
                               atol=1e-5)
    for name in new:
        if name not in model.STATIC:
            np.testing.assert_allclose(out[f"new_{name}"], new[name].numpy(), atol=1e-5)
    assert ("attention" in out) == (weights is not None)
    if weights is not None:
        np.testing.assert_allclose(out["attention"], weights.numpy(), atol=1e-6)
        assert np.all(out["attention"][2, 1:] == 0)  # padding weighs exactly 0
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "s.onnx")).metadata_props}
    assert json.loads(props["rnnkit.metadata"]) == {"task": "translate"}


def reverse_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = ("".join(rng.choice("abcdef") for _ in range(rng.randint(1, 6))) for _ in range(n))
    return [(w, w[::-1]) for w in words]


def trained(vocab: SeqVocab, steps: int = 60, **kw) -> Seq2Seq:
    """A small model taught to reverse words for a few steps: translations of varied lengths,
    partly right, from confident (not near-tied) outputs."""
    model = seq2seq(vocab.size, vocab.size, **kw).train()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    pairs = reverse_pairs(32 * steps, 0)
    for i in range(0, len(pairs), 32):
        src, lengths, tgt = make_batch([vocab.encode(s) for s, _ in pairs[i:i + 32]],
                                       [vocab.encode(t) for _, t in pairs[i:i + 32]])
        loss = smoothed_loss(model(src, lengths, tgt[:, :-1]), tgt[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("kw", [{}, {"cell": "gru", "attention": "bahdanau", "num_layers": 2}])
def test_onnx_translator_greedy_equals_rnnkits(tmp_path, kw):
    vocab = SeqVocab.build(["abcdef"], "char")
    model = trained(vocab, **kw)
    meta = {"task": "translate", "src_vocab": vocab.to_dict(), "tgt_vocab": vocab.to_dict(),
            "decode": {"max_len_ratio": 1.5, "max_len_extra": 3}}
    translate_to_onnx(model, tmp_path / "e.onnx", tmp_path / "s.onnx", meta)
    sources = [s for s, _ in reverse_pairs(62, 5)] + ["", "abgg"]  # g: <unk>
    expected = [t[0].text for t in Translator(model, vocab, vocab, 1.5, 3).translate(
        sources, beam=1, batch_size=16)]
    assert len({len(t) for t in expected}) > 3
    assert sum(t == s[::-1] for s, t in zip(sources, expected, strict=True)) > 1
    onnx_translator = OnnxTranslator(tmp_path / "e.onnx", tmp_path / "s.onnx")
    assert onnx_translator.translate(sources, batch_size=16) == expected
    assert onnx_translator.translate(sources[:5], batch_size=1) == expected[:5]


@pytest.mark.parametrize("kw, message", [
    ({"zoneout": 0.1}, "zoneout=0.1 has no ONNX export"),
    ({"cell": "ln_lstm"}, "the ln_lstm cell has no ONNX operator"),
    ({"cell": "peephole_lstm"}, "the peephole_lstm cell has no ONNX operator"),
    ({"cell": "ln_gru"}, "the ln_gru cell has no ONNX operator")])
def test_refusals_are_one_line_and_write_nothing(tmp_path, kw, message):
    with pytest.raises(ExportError, match=message) as err:
        translate_to_onnx(seq2seq(**kw), tmp_path / "e.onnx", tmp_path / "s.onnx")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_recurrent_dropout_exports_and_a_failed_check_writes_nothing(tmp_path):
    model = seq2seq(recurrent_dropout=0.3)
    assert translate_to_onnx(model, tmp_path / "e.onnx", tmp_path / "s.onnx")[0].max_abs_diff \
        < 1e-5
    with pytest.raises(ExportError, match="encoder: onnxruntime differs .*nothing was written"):
        translate_to_onnx(model, tmp_path / "e2.onnx", tmp_path / "s2.onnx", tolerance=1e-12)
    with pytest.raises(ExportError, match="two different paths"):
        translate_to_onnx(model, tmp_path / "x.onnx", tmp_path / "x.onnx")
    with pytest.raises(ExportError, match="exports a Seq2Seq translation model, got Linear"):
        translate_to_onnx(torch.nn.Linear(2, 2), tmp_path / "y.onnx", tmp_path / "z.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.onnx", "s.onnx"]


def test_runtime_refuses_files_that_do_not_belong_together(tmp_path):
    meta = {"task": "translate", "src_vocab": SeqVocab.build(["ab"]).to_dict(),
            "tgt_vocab": SeqVocab.build(["cd"]).to_dict()}
    translate_to_onnx(seq2seq(), tmp_path / "e.onnx", tmp_path / "s.onnx", meta)
    translate_to_onnx(seq2seq(cell="gru"), tmp_path / "e2.onnx", tmp_path / "s2.onnx", meta)
    translate_to_onnx(seq2seq(), tmp_path / "e3.onnx", tmp_path / "s3.onnx", meta)
    model = seq2seq()
    with torch.no_grad():
        model.out.bias[0] += 1.0  # the same shapes, other weights
    translate_to_onnx(model, tmp_path / "e4.onnx", tmp_path / "s4.onnx", meta)
    OnnxTranslator(tmp_path / "e.onnx", tmp_path / "s3.onnx")  # the same weights: a pair
    for step in ("s2.onnx", "s4.onnx"):
        with pytest.raises(ExportError, match=f"{step} is not the decoder step exported with"):
            OnnxTranslator(tmp_path / "e.onnx", tmp_path / step)
    with pytest.raises(ExportError, match="s.onnx is not the encoder"):
        OnnxTranslator(tmp_path / "s.onnx", tmp_path / "e.onnx")
    with pytest.raises(ExportError, match="is not a file"):
        OnnxTranslator(tmp_path / "missing.onnx", tmp_path / "s.onnx")
