"""The CTC reference against brute-force enumeration of alignments and torch's kernel (float64)."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnkit.functional.ctc import ctc_loss, min_input_lengths

D = torch.float64


def collapse(path, blank=0):
    out, prev = [], None
    for k in path:
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return tuple(out)


def brute_nll(log_probs, target, T, blank=0):
    """-log of the summed probability of every path of length T that collapses to target."""
    C = log_probs.shape[-1]
    scores = [sum(log_probs[t, k] for t, k in enumerate(path))
              for path in itertools.product(range(C), repeat=T) if collapse(path, blank) ==
              tuple(target)]
    if not scores:
        return torch.tensor(float("inf"), dtype=D)
    return -torch.logsumexp(torch.stack(scores), 0)


def logits(T, B, C, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, B, C, generator=g, dtype=D, requires_grad=True)


TINY = [(), (1,), (2, 2), (1, 2), (2, 1, 2), (1, 1, 1), (2, 2, 2)]


@pytest.mark.parametrize("blank", [0, 2])
def test_loss_and_gradient_equal_brute_force(blank):
    T, C = 5, 3
    labels = [1, 2] if blank == 0 else [0, 1]
    targets = [tuple(labels[k - 1] for k in t) for t in TINY]
    B = len(targets)
    z = logits(T, B, C, seed=blank)
    lengths = torch.tensor([T, T - 1, T, 3, T, T, T - 1])
    L = max(len(t) for t in targets)
    padded = torch.tensor([list(t) + [labels[0]] * (L - len(t)) for t in targets])
    lp = z.log_softmax(-1)
    ours = ctc_loss(lp, padded, lengths, torch.tensor([len(t) for t in targets]), blank=blank,
                    reduction="none")
    want = torch.stack([brute_nll(lp[: lengths[b], b], targets[b], int(lengths[b]), blank)
                        for b in range(B)])
    assert torch.isinf(want[-1])  # (2, 2, 2) needs 5 frames; the last item has 4
    torch.testing.assert_close(ours, want)
    g = torch.randn(B, dtype=D, generator=torch.Generator().manual_seed(1))
    finite = torch.isfinite(want)
    grad_ours, = torch.autograd.grad((ours[finite] * g[finite]).sum(), z, retain_graph=True)
    grad_want, = torch.autograd.grad((want[finite] * g[finite]).sum(), z)
    torch.testing.assert_close(grad_ours, grad_want)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_equal_to_torch_on_a_variable_length_batch(reduction):
    T, B, C, L = 15, 6, 6, 5
    g = torch.Generator().manual_seed(3)
    z = logits(T, B, C, seed=4)
    targets = torch.randint(1, C, (B, L), generator=g)
    targets[0, :3] = 2  # repeats
    target_lengths = torch.tensor([5, 0, 3, 1, 4, 5])
    input_lengths = torch.tensor([15, 7, 11, 1, 15, 9])
    args = (targets, input_lengths, target_lengths)
    ours = ctc_loss(z.log_softmax(-1), *args, reduction=reduction)
    torch_ = torch.nn.functional.ctc_loss(z.log_softmax(-1), *args, reduction=reduction)
    torch.testing.assert_close(ours, torch_)
    up = torch.randn(ours.shape, dtype=D, generator=g)
    grad_ours, = torch.autograd.grad((ours * up).sum(), z)
    grad_torch, = torch.autograd.grad((torch_ * up).sum(), z)
    torch.testing.assert_close(grad_ours, grad_torch)
    fast = ctc_loss(z.log_softmax(-1), *args, reduction=reduction, impl="torch")
    torch.testing.assert_close(fast, ours)


def test_gradcheck_of_the_hand_written_backward():
    z = logits(6, 2, 4, seed=5)
    args = (torch.tensor([[1, 3, 3], [2, 0, 0]]), torch.tensor([6, 4]), torch.tensor([3, 1]))
    assert torch.autograd.gradcheck(
        lambda x: ctc_loss(x.log_softmax(-1), *args, reduction="none"), (z,))


def test_input_too_short_is_infinite_or_zeroed_with_zero_gradient():
    z = logits(3, 2, 3, seed=6)
    targets = torch.tensor([[1, 1], [1, 2]])
    args = (targets, torch.tensor([3, 1]), torch.tensor([2, 2]))
    assert min_input_lengths(targets, torch.tensor([2, 2])).tolist() == [3, 2]
    nll = ctc_loss(z.log_softmax(-1), *args, reduction="none")
    assert torch.isfinite(nll[0]) and torch.isinf(nll[1])
    zeroed = ctc_loss(z.log_softmax(-1), *args, reduction="none", zero_infinity=True)
    assert zeroed[1] == 0 and zeroed[0] == nll[0]
    grad, = torch.autograd.grad(zeroed.sum(), z)
    assert torch.all(grad[:, 1] == 0) and torch.any(grad[:, 0] != 0)


def test_an_infeasible_item_with_partial_paths_gets_a_zero_gradient_not_nan():
    # 2 frames for 3 labels: some alpha and beta entries are finite, log p is -inf
    z = logits(6, 3, 5, seed=2)
    targets = torch.tensor([[1, 2, 3], [1, 2, 0], [2, 3, 4]])
    args = (targets, torch.tensor([6, 6, 2]), torch.tensor([3, 2, 3]))
    grads = []
    for impl in ("reference", "torch"):
        nll = ctc_loss(z.log_softmax(-1), *args, reduction="none", zero_infinity=True, impl=impl)
        grads.append(torch.autograd.grad((nll * torch.tensor([1.0, 2.0, 3.0])).sum(), z)[0])
    assert torch.all(torch.isfinite(grads[0])) and torch.all(grads[0][:, 2] == 0)
    torch.testing.assert_close(grads[0], grads[1])


def test_empty_target_is_all_blank():
    z = logits(4, 1, 3, seed=7)
    lp = z.log_softmax(-1)
    nll = ctc_loss(lp, torch.zeros(1, 0, dtype=torch.long), torch.tensor([4]), torch.tensor([0]),
                   reduction="none")
    torch.testing.assert_close(nll[0], -lp[:, 0, 0].sum())


@pytest.mark.parametrize("bad, message", [
    ("logits", "not log-probabilities"),
    ("blank_label", "differ from blank"),
    ("long_input", "input_lengths"),
    ("label_range", "labels must lie in"),
])
def test_bad_arguments_are_one_clear_error(bad, message):
    z = logits(4, 1, 3, seed=8).detach()
    lp, targets, il = z.log_softmax(-1), torch.tensor([[1, 2]]), torch.tensor([4])
    if bad == "logits":
        lp = z
    elif bad == "blank_label":
        targets = torch.tensor([[1, 0]])
    elif bad == "long_input":
        il = torch.tensor([5])
    else:
        targets = torch.tensor([[1, 3]])
    with pytest.raises(ValueError, match=message):
        ctc_loss(lp, targets, il, torch.tensor([2]))
