import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.experiments.recall import LastStepClassifier, train_recall
from rnnkit.layers import lstm_forget_bias_


def test_forget_bias_sets_every_layer_and_direction():
    lstm = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True)
    lstm_forget_bias_(lstm, 3.0)
    for name, p in lstm.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.all(p[4:8] == 3.0) and not torch.all(p[:4] == 3.0)
        if name.startswith("bias_hh"):
            assert torch.all(p[4:8] == 0.0)


def test_forget_bias_needs_an_lstm():
    with pytest.raises(ValueError, match="needs an rnnkit.LSTM"):
        lstm_forget_bias_(rnnkit.GRU(3, 4))


def test_short_recall_is_learned():
    torch.set_num_threads(1)
    result = train_recall("lstm", 5, 300, seed=0)
    assert result.accuracy > 0.9


def test_classifier_reads_the_last_step():
    model = LastStepClassifier("gru", 17, 8, 8)
    assert model(torch.randn(6, 3, 17)).shape == (3, 8)


def test_demo_cli_runs(capsys):
    assert main(["demo", "--length", "4", "--steps", "5", "--cells", "rnn,lstm"]) == 0
    out = capsys.readouterr().out
    assert "rnn" in out and "lstm" in out and "accuracy" in out


def test_demo_cli_rejects_unknown_cells(capsys):
    assert main(["demo", "--cells", "transformer"]) == 2
    assert "--cells: unknown cell 'transformer'; known cells: lstm, gru" in capsys.readouterr().err
