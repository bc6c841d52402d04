"""The recogniser on CUDA equals it on the CPU: model forward, CTC loss (both kernels) and its
gradient, the task's loss with infeasible items, decoding, and a train -> evaluate round trip.
Skipped where torch sees no CUDA device (this project's CI is CPU-only; run on a GPU machine)."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.functional.ctc import ctc_loss
from rnnkit.models.ctc import CTCModelConfig, CTCRecognizer
from rnnkit.tasks.recognize import Config, make_task

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA device (checks cuda against cpu)")


def batch(seed=0, B=5, T=23, F=4):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, F, generator=g, dtype=torch.float64)
    lengths = torch.tensor([T, T - 4, 9, T - 1, 2])[:B]
    targets = torch.randint(1, 6, (B, 4), generator=g)
    target_lengths = torch.tensor([4, 3, 2, 0, 3])[:B]  # the last item: 1 frame for 3 labels
    return x, lengths, targets, target_lengths


@pytest.mark.parametrize("subsample", ["none", "stack", "conv"])
@pytest.mark.parametrize("impl", ["torch", "reference"])
def test_model_and_ctc_loss_on_cuda_equal_cpu(subsample, impl):
    x, lengths, targets, target_lengths = batch()
    torch.manual_seed(0)
    cpu = CTCRecognizer(CTCModelConfig(4, 6, hidden_size=7, subsample=subsample, factor=2,
                                       conv_channels=5, dropout=0.0)).double()
    gpu = CTCRecognizer(cpu.cfg).double().cuda()
    gpu.load_state_dict(cpu.state_dict())
    results = []
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        lp, out_len = model(x.to(dev), lengths)
        nll = ctc_loss(lp.transpose(0, 1), targets.to(dev), out_len, target_lengths,
                       reduction="none", zero_infinity=True, impl=impl)
        upstream = torch.linspace(0.5, 1.5, len(nll), dtype=nll.dtype, device=nll.device)
        (nll * upstream).sum().backward()
        grads = [p.grad.cpu() for p in model.parameters()]
        results.append((lp.detach().cpu(), out_len.cpu(), nll.detach().cpu(), grads))
    (lp_c, len_c, nll_c, g_c), (lp_g, len_g, nll_g, g_g) = results
    assert torch.equal(len_c, len_g)
    torch.testing.assert_close(lp_g, lp_c, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(nll_g, nll_c, rtol=1e-9, atol=1e-9)
    assert nll_c[-1] == 0  # infeasible: zeroed
    for a, b in zip(g_g, g_c, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


def test_the_task_scores_and_decodes_on_cuda_as_on_cpu():
    cfg = Config(data={"name": "handwriting", "n_train": 24, "n_valid": 12, "batch_size": 8,
                       "fonts": "futural,scripts", "valid_font": "cursive", "pen_noise": 1.0},
                 model={"hidden_size": 8, "num_layers": 1, "factor": 3, "dropout": 0.0})
    task = make_task(cfg)
    model = task.build_model().eval()
    on_cpu = task.score(model, task.valid, beam=4)
    on_gpu = task.score(model.cuda(), task.valid, beam=4)
    assert on_gpu["cer"] == on_cpu["cer"] and abs(on_gpu["loss"] - on_cpu["loss"]) < 1e-4
    out = task.step(model.train(), next(task.train_batches(0)), None)
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_train_and_evaluate_on_cuda(tmp_path, capsys):
    from rnnkit.cli import main

    run = tmp_path / "run"
    assert main(["train", "recognize", "--data.name=ctc-toy", "--data.n_train=64",
                 "--data.n_valid=16", "--data.n_test=16", "--model.hidden_size=8",
                 "--train.device=cuda", "--steps", "6", "--train.eval_every=3", "--plain",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", "test", "--json", "--device", "cuda"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_items"] == 16 and 0 <= report["cer"] <= 1 and "beam_cer" in report
