"""The LSTM-FCN-style series classifier: exact masked pooling and padding invariance."""

import torch

from rnnkit.models.classifier import ClassifierConfig, build_classifier
from rnnkit.models.conv_frontend import FCNBlock, downsample


def test_downsample_is_the_mean_of_each_window_of_real_steps():
    x = torch.arange(1.0, 11.0, dtype=torch.float64).view(1, 10, 1)  # 1..10
    padded = torch.cat([x, torch.full((1, 6, 1), 99.0, dtype=torch.float64)], 1)
    out, lengths = downsample(padded, torch.tensor([10]), 4)
    assert lengths.tolist() == [3]
    # windows 1-4, 5-8, and the partial 9-10 (the 99s past the length are left out)
    assert out[0, :3, 0].tolist() == [2.5, 6.5, 9.5] and out[0, 3, 0] == 0.0
    same, n = downsample(x, torch.tensor([10]), 1)
    assert same is x and n.tolist() == [10]


def test_fcn_block_zeroes_padding_and_keeps_the_length():
    torch.manual_seed(0)
    block = FCNBlock(2, 4).double().eval()
    x = torch.randn(2, 9, 2, dtype=torch.float64)
    h = block(x, torch.tensor([9, 5]))
    assert h.shape == (2, 9, 4) and (h[1, 5:] == 0).all()
    alone = block(x[1:, :5], torch.tensor([5]))
    torch.testing.assert_close(h[1:, :5], alone, rtol=0, atol=1e-12)


def test_a_series_gets_the_same_prediction_alone_or_padded_in_a_batch():
    torch.manual_seed(1)
    cfg = ClassifierConfig(input_kind="series", input_size=3, embed_dim=4, hidden_size=5,
                           n_outputs=3, conv_filters=4, downsample=3, bidirectional=True,
                           pooling="mean")
    model = build_classifier(cfg).double()
    for _ in range(3):  # a few training steps so BatchNorm's running statistics are not trivial
        model(torch.randn(4, 20, 3, dtype=torch.float64), torch.tensor([20, 17, 11, 4])).sum() \
            .backward()
    model.eval()
    x = torch.randn(3, 20, 3, dtype=torch.float64)
    lengths = torch.tensor([20, 13, 7])
    batched = model(x, lengths)
    for i in range(3):
        alone = model(x[i:i + 1, :lengths[i]], lengths[i:i + 1])
        torch.testing.assert_close(batched[i:i + 1], alone, rtol=0, atol=1e-10)
    assert len(model.head.weight[0]) == 2 * 5 + 4  # [z_rnn, z_fcn]


def test_gradients_reach_both_branches():
    cfg = ClassifierConfig(input_kind="series", input_size=1, hidden_size=3, n_outputs=2,
                           conv_filters=2)
    model = build_classifier(cfg)
    model(torch.randn(2, 12, 1), torch.tensor([12, 9])).sum().backward()
    assert model.fcn.convs[0].weight.grad.abs().sum() > 0
    assert model.embed.weight.grad.abs().sum() > 0
