"""The generated long-range tasks: seeded, well formed, and their baselines right."""

import math

import pytest
import torch

from rnnkit.data.synthetic import (
    adding_baseline,
    adding_batch,
    blocks_baseline,
    blocks_batch,
    copy_baseline,
    copy_batch,
    recall_batch,
    recall_chance,
    recall_inputs,
)

GENERATORS = {
    "adding": lambda g: adding_batch(16, 30, g),
    "copy": lambda g: copy_batch(16, 30, g),
    "blocks": lambda g: blocks_batch(16, 30, generator=g),
}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_same_seed_same_data_other_seed_other_data(name):
    make = GENERATORS[name]
    a = make(torch.Generator().manual_seed(3))
    b = make(torch.Generator().manual_seed(3))
    c = make(torch.Generator().manual_seed(4))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not all(torch.equal(u, v) for u, v in zip(a, c, strict=True))


def test_adding_layout_and_mean_predictor_mse():
    x, y = adding_batch(200_000, 20, torch.Generator().manual_seed(0))
    assert x.shape == (20, 200_000, 2)
    marks = x[..., 1]
    assert torch.equal(marks.sum(0), torch.full((200_000,), 2.0))
    assert torch.equal(marks[:10].sum(0), torch.ones(200_000))  # one in each half
    assert torch.allclose((x[..., 0] * marks).sum(0), y)
    assert bool(((x[..., 0] >= 0) & (x[..., 0] < 1)).all())
    # predicting the mean 1: MSE = Var(U + U) = 2/12; standard error here ~ 2.4e-4
    assert adding_baseline() == pytest.approx(1 / 6)
    assert ((y - 1) ** 2).mean().item() == pytest.approx(1 / 6, abs=2e-3)
    assert y.mean().item() == pytest.approx(1.0, abs=3e-3)


def test_copy_layout_and_memoryless_baseline():
    T = 25
    x, y = copy_batch(500, T, torch.Generator().manual_seed(0))
    tokens = x.argmax(-1)
    assert x.shape == (T + 20, 500, 10) and y.shape == (T + 20, 500)
    assert bool(((tokens[:10] >= 1) & (tokens[:10] <= 8)).all())
    assert bool((tokens[10:T + 9] == 0).all()) and bool((tokens[T + 9] == 9).all())
    assert bool((tokens[T + 10:] == 0).all())
    assert bool((y[:T + 10] == 0).all()) and torch.equal(y[T + 10:], tokens[:10])
    # the memoryless strategy: blank with certainty, then uniform over the 8 symbols
    probs = torch.zeros(T + 20, 500, 10)
    probs[:T + 10, :, 0] = 1.0
    probs[T + 10:, :, 1:9] = 1 / 8
    nll = -probs.gather(2, y.unsqueeze(-1)).log().mean().item()
    assert nll == pytest.approx(copy_baseline(T), rel=1e-6)
    assert copy_baseline(100) == pytest.approx(10 * math.log(8) / 120)


def test_blocks_repeat_their_pattern():
    x, y, period = blocks_batch(64, 40, colours=4, max_period=6,
                                generator=torch.Generator().manual_seed(1))
    seq = torch.cat([x.argmax(-1), y[-1:]])  # (41, B) colours of blocks 0..40
    assert torch.equal(seq[1:], y)
    assert bool(((period >= 2) & (period <= 6)).all())
    for b in range(64):
        p = int(period[b])
        assert torch.equal(seq[p:, b], seq[:-p, b])
    assert blocks_baseline(4) == pytest.approx(math.log(4))


def test_bad_lengths_raise():
    with pytest.raises(ValueError, match="length"):
        adding_batch(2, 1)
    with pytest.raises(ValueError, match="length"):
        copy_batch(2, 0)


def test_recall_batch_layout_and_seed():
    x, y = recall_batch(16, 10, 8, torch.Generator().manual_seed(3))
    x2, y2 = recall_batch(16, 10, 8, torch.Generator().manual_seed(3))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (10, 16, recall_inputs(8)) == (10, 16, 17)
    assert torch.equal(x[0, :, :8].argmax(1), y)  # the symbol at step 0
    assert (x[1:-1, :, 8:16].sum(-1) == 1).all()  # one distractor per middle step
    assert (x[-1, :, -1] == 1).all() and (x.sum(-1) == 1).all()  # query last; one-hot


def test_recall_chance():
    assert recall_chance(8) == (0.125, math.log(8))


def test_recall_rejects_impossible_settings():
    with pytest.raises(ValueError, match="length >= 2"):
        recall_batch(2, 1)
