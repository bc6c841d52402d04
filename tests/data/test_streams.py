import numpy as np
import pytest
import torch

from rnnkit.data.streams import TokenStreams
from rnnkit.errors import ConfigError, DataError


def _targets(streams):
    return torch.cat([c.targets for c in streams], dim=1)  # (B, L)


def test_chunks_are_contiguous_and_cover_the_data():
    tokens = np.arange(103)
    s = TokenStreams(tokens, batch_size=4, seq_len=7)
    assert s.stream_len == 25 and len(s) == 4  # chunks of 7, 7, 7, 4
    chunks = list(s)
    assert [c.inputs.shape[1] for c in chunks] == [7, 7, 7, 4]
    for c in chunks:
        assert torch.equal(c.targets, c.inputs + 1)  # targets are the next tokens
    # Row b of chunk k+1 continues row b of chunk k.
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert torch.equal(b.inputs[:, 0], a.inputs[:, -1] + 1)
    assert torch.equal(_targets(chunks).reshape(-1), torch.arange(1, 101))


def test_ranks_shard_disjointly_and_together_cover_everything():
    tokens = np.arange(1000)
    parts = [_targets(TokenStreams(tokens, 3, 10, rank=r, world_size=4)) for r in range(4)]
    assert all(p.shape == parts[0].shape for p in parts)
    seen = torch.cat([p.reshape(-1) for p in parts])
    assert torch.equal(seen.sort().values, torch.arange(1, 1 + seen.numel()))
    assert seen.numel() == 12 * (999 // 12)


def test_resumable_position():
    tokens = np.arange(200)
    s = TokenStreams(tokens, 2, 8)
    it = iter(s)
    first = [next(it), next(it)]
    saved = s.state_dict()
    rest = list(it)
    resumed = TokenStreams(tokens, 2, 8)
    resumed.load_state_dict(saved)
    again = list(resumed)
    assert saved == {"position": 2} and len(first) + len(rest) == len(s)
    assert all(torch.equal(a.inputs, b.inputs) for a, b in zip(rest, again, strict=True))
    with pytest.raises(DataError, match="position"):
        resumed.load_state_dict({"position": 99})


def test_errors():
    with pytest.raises(DataError, match="cannot fill"):
        TokenStreams(np.arange(4), batch_size=4, seq_len=2)
    with pytest.raises(ConfigError, match="seq_len"):
        TokenStreams(np.arange(100), 2, 0)
    with pytest.raises(ConfigError, match="rank"):
        TokenStreams(np.arange(100), 2, 4, rank=2, world_size=2)
