"""Seq2Seq on CUDA equals Seq2Seq on the CPU, in float64: teacher-forced logits and every
gradient, greedy and beam search, and a Translator's text (the GPU bible benchmark trains and
decodes there). Run on a machine with a GPU: pytest tests/models/test_seq2seq_cuda.py"""

from __future__ import annotations

import copy

import pytest
import torch

from rnnkit.data.spm_vocab import build_vocab
from rnnkit.models.decode import beam_search, greedy
from rnnkit.models.seq2seq import Seq2Seq, smoothed_loss
from rnnkit.tasks.translate import Translator

DEVICE = "cuda"
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA device (this machine has none)")
TOL = dict(rtol=1e-9, atol=1e-9)


def _pair(attention: str, cell: str = "lstm", vocab: int = 11):
    torch.manual_seed(0)
    cpu = Seq2Seq(vocab, vocab, 6, 8, 2, cell=cell, attention=attention).double()
    return cpu, copy.deepcopy(cpu).to(DEVICE)


def _batch(vocab: int = 11):
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([7, 3, 5, 1])
    src = torch.randint(4, vocab, (4, 7), generator=g) * (torch.arange(7) < lengths[:, None])
    tgt = torch.randint(4, vocab, (4, 6), generator=g)
    tgt[:, 0] = 2  # BOS
    tgt[2, 4:] = 0  # padding
    return src, lengths, tgt


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", ["bahdanau", "general", "none"])
def test_logits_and_every_gradient_on_cuda_equal_the_cpu(attention, cell):
    cpu, gpu = _pair(attention, cell)
    src, lengths, tgt = _batch()
    upstream = torch.randn(4, 5, 11, dtype=torch.float64)
    results = []
    for model in (cpu, gpu):
        device = next(model.parameters()).device
        logits = model(src.to(device), lengths.to(device), tgt[:, :-1].to(device))
        loss = smoothed_loss(logits, tgt[:, 1:].to(device), 0.1)
        (loss + (logits * upstream.to(device)).sum()).backward()
        results.append((logits, loss, {n: p.grad for n, p in model.named_parameters()}))
    (l_cpu, loss_cpu, g_cpu), (l_gpu, loss_gpu, g_gpu) = results
    assert l_gpu.device.type == DEVICE
    torch.testing.assert_close(l_gpu.cpu(), l_cpu, **TOL)
    torch.testing.assert_close(loss_gpu.cpu(), loss_cpu, **TOL)
    assert g_cpu.keys() == g_gpu.keys()
    for name, grad in g_cpu.items():
        torch.testing.assert_close(g_gpu[name].cpu(), grad, **TOL, msg=name)


def test_scheduled_sampling_runs_on_cuda():
    _, gpu = _pair("bahdanau")
    src, lengths, tgt = (t.to(DEVICE) for t in _batch())
    logits = gpu(src, lengths, tgt[:, :-1], sample_prob=0.5)
    assert logits.device.type == DEVICE and bool(torch.isfinite(logits).all())


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_greedy_and_beam_on_cuda_find_what_the_cpu_finds(attention):
    cpu, gpu = _pair(attention)
    src, lengths, _ = _batch()
    found = []
    for model in (cpu.eval(), gpu.eval()):
        device = next(model.parameters()).device
        with torch.no_grad():
            state = model.start(src.to(device), lengths.to(device))
            g = greedy(model.step, state, 2, 3, [6, 4, 5, 3], keep_attention=True)
            b = beam_search(model.step, state, 2, 3, [6, 4, 5, 3], beam=4, n_best=3,
                            keep_attention=True, static=model.STATIC)
        found.append((g, b))
    (g_cpu, b_cpu), (g_gpu, b_gpu) = found
    pairs = list(zip(g_cpu, g_gpu, strict=True))
    pairs += [(x, y) for xs, ys in zip(b_cpu, b_gpu, strict=True)
              for x, y in zip(xs, ys, strict=True)]
    assert len(pairs) > 4
    for x, y in pairs:
        assert x.tokens == y.tokens
        assert x.score == pytest.approx(y.score, rel=1e-9, abs=1e-9)
        if x.attention is not None:
            torch.testing.assert_close(y.attention.cpu(), x.attention, **TOL)


def test_a_translator_on_cuda_writes_the_cpu_translations():
    texts = ["in the beginning", "god said", "let there be light", "and there was light"]
    src_v = tgt_v = build_vocab("char", texts, 1, 0)
    torch.manual_seed(2)
    cpu = Seq2Seq(src_v.size, tgt_v.size, 8, 16, attention="bahdanau").double()
    gpu = copy.deepcopy(cpu).to(DEVICE)
    out = [Translator(m, src_v, tgt_v).translate(texts, beam=beam, n_best=1, batch_size=3)
           for m in (cpu, gpu) for beam in (1, 3)]
    assert [[t[0].text for t in o] for o in out[:2]] == [[t[0].text for t in o] for o in out[2:]]
