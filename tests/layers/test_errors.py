"""Bad input gives one clear message naming the argument, the expected and the received value."""

import pytest
import torch

import rnnkit
from rnnkit.errors import RnnkitError


@pytest.mark.parametrize("make,match", [
    (lambda: rnnkit.LSTM(3, 4, dropout=1.5),
     r"dropout should be a number in range \[0, 1\].*got 1.5"),
    (lambda: rnnkit.LSTM(3, 4, dropout=-0.1), r"dropout .* got -0.1"),
    (lambda: rnnkit.LSTM(3, 4, proj_size=4),
     r"proj_size has to be smaller than hidden_size \(4\), got 4"),
    (lambda: rnnkit.LSTM(3, 4, proj_size=-1), r"proj_size must be at least 0, got -1"),
    (lambda: rnnkit.LSTM(0, 4), r"input_size must be greater than zero, got 0"),
    (lambda: rnnkit.GRU(3, 4, num_layers=0), r"num_layers must be greater than zero, got 0"),
    (lambda: rnnkit.RNN(3, 4, nonlinearity="sigmoid"),
     r"Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'"),
    (lambda: rnnkit.GRU(3, 4, impl="cuda"), r"impl must be one of 'auto', 'reference'"),
])
def test_bad_settings(make, match):
    with pytest.raises(ValueError, match=match):
        make()


LSTM = lambda: rnnkit.LSTM(3, 4, num_layers=2)  # noqa: E731


@pytest.mark.parametrize("call,match", [
    (lambda m: m(torch.randn(5, 2, 3, 1)),
     r"LSTM: Expected input to be 2D or 3D, got 4D.*\(T, B, input_size\)"),
    (lambda m: m(torch.randn(5, 2, 7)),
     r"input.size\(-1\) must be equal to input_size. Expected 3, got 7"),
    (lambda m: m(torch.ones(5, 2, 3, dtype=torch.long)),
     r"input dtype \(torch.int64\) does not match weight dtype \(torch.float32\)"),
    (lambda m: m(torch.randn(5, 2, 3), torch.randn(2, 2, 4)), r"hx for LSTM must be a tuple"),
    (lambda m: m(torch.randn(5, 2, 3), (torch.randn(1, 2, 4), torch.randn(2, 2, 4))),
     r"Expected hidden\[0\] size \(2, 2, 4\), got \[1, 2, 4\]"),
    (lambda m: m(torch.randn(5, 2, 3), (torch.randn(2, 2, 4), torch.randn(2, 3, 4))),
     r"Expected hidden\[1\] size \(2, 2, 4\), got \[2, 3, 4\]"),
    (lambda m: m(torch.randn(5, 2, 3), lengths=torch.tensor([5, 6])),
     r"lengths must lie in \[1, 5\].*got 6"),
    (lambda m: m(torch.randn(5, 2, 3), lengths=torch.tensor([0, 5])),
     r"lengths must lie in \[1, 5\].*got 0"),
    (lambda m: m(torch.randn(5, 2, 3), lengths=torch.tensor([5, 4, 3])),
     r"one entry per sequence, shape \(2,\), got shape \(3,\)"),
    (lambda m: m(torch.randn(5, 2, 3), lengths=torch.tensor([2.0, 5.0])),
     r"lengths must be integers"),
    (lambda m: m(torch.randn(5, 2, 3), lengths=torch.tensor([2, 5]), enforce_sorted=True),
     r"sorted in decreasing order.*\[2, 5\].*enforce_sorted=False"),
])
def test_bad_input(call, match):
    with pytest.raises(RnnkitError, match=match):
        call(LSTM())


def test_gru_hx_shape():
    with pytest.raises(ValueError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 2, 5\]"):
        rnnkit.GRU(3, 4)(torch.randn(5, 2, 3), torch.randn(1, 2, 5))


def test_batch_first_layout_in_message():
    with pytest.raises(ValueError, match=r"got 1D tensor.*\(B, T, input_size\)"):
        rnnkit.GRU(3, 4, batch_first=True)(torch.randn(3))
