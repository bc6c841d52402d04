"""On a CUDA device: every impl of every layer kind gives torch.nn's outputs, final states and
gradients there, equal to the same layer run on the CPU, with lengths and two directions; double
backward on the fused path; a model trains and generates on the GPU. Runs where CUDA exists (the
lent GPU machine); elsewhere it is skipped with that reason, as CI has no GPU."""

import itertools

import pytest
import torch
from helpers import as_tuple, max_diff, random_upstream, twin_layers, weighted_loss
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

T, B, I, H = 6, 3, 4, 5
LENGTHS = torch.tensor([4, 6, 1])
GRID = list(itertools.product(["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"],
                              ["reference", "fused", "native", "auto"],
                              [False, True],  # bidirectional
                              ["full", "packed"]))


def forward_backward(layer, x, h0, lengths_mode):
    x = x.detach().clone().requires_grad_()
    h0 = tuple(h.detach().clone().requires_grad_() for h in h0)
    hx = h0 if len(h0) == 2 else h0[0]
    if lengths_mode == "packed":
        seq = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
        out, state = layer(seq, hx)
        out, _ = pad_packed_sequence(out, total_length=T)
    else:
        out, state = layer(x, hx)
    state = as_tuple(state)
    g_out, g_state = random_upstream(out.cpu(), tuple(s.cpu() for s in state), seed=1)
    dev = out.device
    loss = weighted_loss(out, state, g_out.to(dev), tuple(g.to(dev) for g in g_state))
    loss.backward()
    grads = [x.grad, *(h.grad for h in h0), *(p.grad for p in layer.parameters())]
    return [t.detach().cpu() for t in (out, *state, *grads)]


def initial_state(kind, bidir, dtype):
    dirs = 2 if bidir else 1
    gen = torch.Generator().manual_seed(3)
    h_size = 3 if kind == "lstm_proj" else H
    h = torch.randn(dirs, B, h_size, generator=gen, dtype=dtype)
    if kind.startswith("lstm"):
        return h, torch.randn(dirs, B, H, generator=gen, dtype=dtype)
    return (h,)


@pytest.mark.parametrize("kind,impl,bidir,lengths_mode", GRID)
def test_cuda_equals_torch_nn_and_the_cpu(kind, impl, bidir, lengths_mode):
    torch.manual_seed(0)
    ours, theirs = twin_layers(kind, impl, I, H, dtype=torch.float64, bidirectional=bidir)
    x = torch.randn(T, B, I, dtype=torch.float64)
    h0 = initial_state(kind, bidir, torch.float64)
    on_cpu = forward_backward(ours, x, h0, lengths_mode)
    ours.zero_grad()
    on_gpu = forward_backward(ours.cuda(), x.cuda(), tuple(h.cuda() for h in h0), lengths_mode)
    torch_gpu = forward_backward(theirs.cuda(), x.cuda(), tuple(h.cuda() for h in h0),
                                 lengths_mode)
    assert max_diff(on_gpu, on_cpu) < 1e-9
    assert max_diff(on_gpu, torch_gpu) < 1e-9


def test_auto_takes_torchs_kernel_on_cuda():
    from rnnkit.backends.dispatch import LayerSpec, auto_choice

    impl, reason = auto_choice(LayerSpec("GRU", hidden_size=512), torch.zeros(2, 64, 8,
                                                                               device="cuda"),
                               training=True)
    assert impl == "native" and "cuda" in reason


@pytest.mark.parametrize("kind", ["gru", "rnn_tanh", "lstm"])
def test_double_backward_on_cuda_matches_torch_nn(kind):
    torch.manual_seed(0)
    ours, theirs = twin_layers(kind, "fused", I, H, dtype=torch.float64)
    ours, theirs = ours.cuda(), theirs.cuda()
    x = torch.randn(T, B, I, dtype=torch.float64, device="cuda")

    def penalised(layer):
        xi = x.clone().requires_grad_()
        out, _ = layer(xi)
        (g,) = torch.autograd.grad(out.sum(), xi, create_graph=True)
        loss = out.sum() + (g ** 2).sum()
        return torch.autograd.grad(loss, [xi, *layer.parameters()])

    assert max_diff(penalised(ours), penalised(theirs)) < 1e-9


def test_a_language_model_trains_and_generates_on_cuda(tmp_path, capsys):
    from rnnkit.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("def f(x):\n    return x + 1\n" * 200)
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(corpus), "--steps", "20", "--train.device=cuda",
                 "--out", str(run)]) == 0
    assert main(["generate", str(run), "--length", "40", "--seed", "0", "--device", "cuda"]) == 0
    assert capsys.readouterr().out.strip()


def test_an_absent_cuda_device_is_one_line(tmp_path, capsys):
    from rnnkit.cli import main

    bad = f"cuda:{torch.cuda.device_count()}"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc\n" * 100)
    assert main(["train", "lm", "--data", str(corpus), "--steps", "2", f"--train.device={bad}",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and bad in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("task, data, held_out", [("classify", "digits", ["--data", "test"]),
                                                  ("forecast", "sunspots", [])])
def test_classify_and_forecast_train_and_evaluate_on_cuda(task, data, held_out, tmp_path, capsys):
    from rnnkit.cli import main

    run = tmp_path / "run"
    assert main(["train", task, "--data", data, "--steps", "20", "--train.device=cuda",
                 "--out", str(run)]) == 0
    assert main(["evaluate", str(run), *held_out, "--device", "cuda"]) == 0
    assert capsys.readouterr().out.strip()
