"""The video tagger and its frame-averaging baseline: shapes, padding never counts, any
registered cell, and the baseline's blindness to time order (the reason it is the baseline)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.video_tagger import (
    VideoTagger,
    VideoTaggerConfig,
    coordinate_channels,
    with_deltas,
)


def _model(kind: str = "rnn", **kw) -> VideoTagger:
    torch.manual_seed(0)
    cfg = VideoTaggerConfig(n_tags=5, kind=kind, channels=(4, 8), feature_size=8,
                            hidden_size=6, **kw)
    return VideoTagger(cfg).double().eval()


def _clips(b=2, t=5, s=16):
    torch.manual_seed(1)
    return torch.rand(b, t, 3, s, s, dtype=torch.float64)


@pytest.mark.parametrize("kind, over_time, skip, keypoints, deltas", [
    ("rnn", "mean", False, 0, False), ("rnn", "last", False, 0, False),
    ("rnn", "mean", True, 0, False), ("rnn", "mean", True, 3, False),
    ("rnn", "mean", True, 3, True), ("rnn", "last", False, 0, True),
    ("frame_average", "mean", False, 0, False), ("frame_average", "mean", False, 3, True)])
def test_padding_never_changes_a_clip(kind, over_time, skip, keypoints, deltas):
    """A short clip alone equals the same clip padded in a batch beside a longer one (even with
    garbage in its padding)."""
    model = _model(kind, over_time=over_time, skip=skip, keypoints=keypoints, deltas=deltas)
    x = _clips(2, 6)
    lengths = torch.tensor([6, 4])
    x[1, 4:] = 7.0  # padding content must not matter
    both = model(x, lengths)
    alone = model(x[1:2, :4], torch.tensor([4]))
    assert both.shape == (2, 5)
    torch.testing.assert_close(both[1:2], alone)


def test_frame_stride_reads_every_sth_frame():
    model = _model(frame_stride=2)
    x, lengths = _clips(2, 7), torch.tensor([7, 4])
    full = _model(frame_stride=1)
    torch.testing.assert_close(model(x, lengths), full(x[:, ::2], torch.tensor([4, 2])))


@pytest.mark.parametrize("keypoints, deltas", [(0, False), (3, False), (3, True)])
def test_the_baseline_cannot_see_time_order_and_the_rnn_can(keypoints, deltas):
    x = _clips(1, 7)
    lengths = torch.tensor([7])
    rev = x.flip(1)
    base = _model("frame_average", keypoints=keypoints, deltas=deltas)  # deltas: rnn only
    rnn = _model("rnn", keypoints=keypoints, deltas=deltas)
    skip = _model("rnn", skip=True, keypoints=keypoints, deltas=deltas)
    torch.testing.assert_close(base(x, lengths), base(rev, lengths))
    assert (rnn(x, lengths) - rnn(rev, lengths)).abs().max() > 1e-4
    assert (skip(x, lengths) - skip(rev, lengths)).abs().max() > 1e-4


def test_deltas_are_the_change_from_the_frame_before_and_zero_in_padding():
    v = torch.tensor([[[1.0], [3.0], [6.0], [0.0]], [[2.0], [5.0], [0.0], [0.0]]])  # (2, 4, 1)
    out = with_deltas(v, torch.tensor([4, 2]))
    torch.testing.assert_close(out[..., 0], v[..., 0])
    torch.testing.assert_close(out[..., 1], torch.tensor([[0.0, 2.0, 3.0, -6.0],
                                                          [0.0, 3.0, 0.0, 0.0]]))
    model = _model(deltas=True)
    assert model.rnn.input_size == 2 * 8


def test_keypoints_feed_the_frame_vector():
    """The keypoints read the frame with its coordinate channels, and the frame vector is the
    merge (BatchNorm1d, Linear) of the pooled vector and the keypoints (the module's own tests
    check that the positions follow a thing)."""
    model = _model(keypoints=3, frame_size=16)
    assert model.where.in_channels == 5 and model.merge[1].in_features == 8 + 4 * 3
    x = _clips(1, 1)
    one = torch.tensor([1])
    real = coordinate_channels(x[0])
    expected = model.merge(torch.cat([model.encoder(real)[0].amax(1), model.where(real)], 1))
    torch.testing.assert_close(model.frame_vectors(x, one)[0], expected)


def test_skip_is_the_baseline_plus_the_recurrent_term():
    x, lengths = _clips(2, 5), torch.tensor([5, 3])
    skip = _model("rnn", skip=True)
    base = _model("frame_average")
    base.encoder.load_state_dict(skip.encoder.state_dict())
    base.mix.load_state_dict(skip.mix.state_dict())
    base.head.load_state_dict(skip.head.state_dict())
    with torch.no_grad():
        skip.rnn.weight_ih_l0.zero_()
        skip.rnn.weight_hh_l0.zero_()
        skip.rnn.bias_ih_l0.fill_(-30.0)  # gates shut: the recurrent term is ~0
    torch.testing.assert_close(skip(x, lengths), base(x, lengths), atol=1e-9, rtol=0)


@pytest.mark.parametrize("cell", ["gru", "rnn_tanh", "ln_lstm"])
def test_any_registered_cell_trains(cell):
    model = VideoTagger(VideoTaggerConfig(n_tags=3, cell=cell, channels=(4,), feature_size=4,
                                          hidden_size=4))
    x, lengths = torch.rand(2, 3, 3, 8, 8), torch.tensor([3, 2])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x, lengths),
                                                                torch.ones(2, 3))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters() if p.requires_grad)


def test_coordinate_channels_are_ramps():
    out = coordinate_channels(torch.zeros(2, 3, 4, 6))
    assert out.shape == (2, 5, 4, 6)
    # ramps in [0.25, 0.75]: (c - 0.5) / 0.25 inside the encoder is x, y in [-1, 1]
    torch.testing.assert_close(out[0, 3, 0], torch.linspace(0.25, 0.75, 6))
    torch.testing.assert_close(out[1, 4, :, 2], torch.linspace(0.25, 0.75, 4))


def test_bad_config_and_inputs_are_one_clear_error():
    with pytest.raises(ConfigError, match="known cells"):
        VideoTaggerConfig(n_tags=3, cell="lstmm")
    with pytest.raises(ConfigError, match="model.kind"):
        VideoTaggerConfig(n_tags=3, kind="average")
    with pytest.raises(ConfigError, match="model.over_time"):
        VideoTaggerConfig(n_tags=3, over_time="first")
    with pytest.raises(ConfigError, match="model.channels"):
        VideoTaggerConfig(n_tags=3, channels=())
    with pytest.raises(ConfigError, match="model.keypoints"):
        VideoTaggerConfig(n_tags=3, keypoints=-1)
    model = _model()
    with pytest.raises(ConfigError, match="frames: expected"):
        model(torch.rand(2, 3, 16, 16, dtype=torch.float64), torch.tensor([1, 1]))
    with pytest.raises(ConfigError, match="lengths"):
        model(_clips(2, 5), torch.tensor([5, 0]))


def test_grid_pooling_keeps_where_things_are_and_ignores_padding():
    model = _model(pool="grid", frame_size=16)
    x, lengths = _clips(2, 6), torch.tensor([6, 4])
    x[1, 4:] = 3.0
    torch.testing.assert_close(model(x, lengths)[1:2], model(x[1:2, :4], torch.tensor([4])))
    # the same picture shifted moves a grid-pooled vector
    v = model.frame_vectors(x[:1, :1], torch.tensor([1]))
    shifted = model.frame_vectors(x[:1, :1].roll(8, dims=-1), torch.tensor([1]))
    assert (v - shifted).abs().max() > 1e-6
    with pytest.raises(ConfigError, match="too small"):
        VideoTagger(VideoTaggerConfig(n_tags=3, pool="grid", frame_size=4, channels=(4, 4, 4)))
