import numpy as np
import pytest
import torch

from rnnkit.data.batching import (
    bucket_batches,
    class_weights,
    length_mask,
    pad_batch,
    padding_fraction,
    shard_batches,
)
from rnnkit.errors import DataError


def test_pad_batch_pads_with_zeros_and_returns_lengths():
    seqs = [np.ones((2, 3)), np.full((4, 3), 2.0), np.full((1, 3), 3.0)]
    x, lengths = pad_batch(seqs)
    assert x.shape == (3, 4, 3) and lengths.tolist() == [2, 4, 1]
    assert x[0, 2:].abs().sum() == 0 and x[2, 1:].abs().sum() == 0 and x[1].min() == 2.0
    ids, _ = pad_batch([np.array([5, 6]), np.array([7])])
    assert ids.dtype == torch.int64 and ids.tolist() == [[5, 6], [7, 0]]


def test_pad_batch_rejects_mismatched_steps_and_empties():
    with pytest.raises(DataError, match="sequence 1 has step shape"):
        pad_batch([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(DataError, match="sequence 0 is empty"):
        pad_batch([np.zeros((0, 3))])


def test_length_mask():
    assert length_mask(torch.tensor([1, 3]), 3).tolist() == [[True, False, False],
                                                              [True, True, True]]


def test_bucketing_covers_every_item_once_and_cuts_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=1000).tolist()
    plain = bucket_batches(lengths, 16, seed=1, bucket=False)
    bucketed = bucket_batches(lengths, 16, seed=1, bucket=True)
    for batches in (plain, bucketed):
        assert sorted(i for b in batches for i in b) == list(range(1000))
    assert padding_fraction(bucketed, lengths) < 0.1 < padding_fraction(plain, lengths)
    assert bucketed == bucket_batches(lengths, 16, seed=1, bucket=True)  # same seed, same order
    assert bucketed != bucket_batches(lengths, 16, seed=2, bucket=True)


def test_sharding_gives_each_rank_as_many_batches():
    batches = [[i] for i in range(7)]
    shards = [shard_batches(batches, r, 3) for r in range(3)]
    assert [len(s) for s in shards] == [2, 2, 2]
    assert not set(map(tuple, shards[0])) & set(map(tuple, shards[1]))


def test_balanced_class_weights():
    w = class_weights([0, 0, 0, 1], n_classes=3)
    # n / (present classes * count): 4 / (2 * 3), 4 / (2 * 1); an absent class weighs 0
    assert torch.allclose(w, torch.tensor([4 / 6, 2.0, 0.0]))
