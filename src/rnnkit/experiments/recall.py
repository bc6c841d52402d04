"""Remember the first of T steps: an Elman RNN against an LSTM (`rnnkit demo`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

import rnnkit
from rnnkit.data.synthetic import recall_batch, recall_chance, recall_inputs
from rnnkit.layers import lstm_forget_bias_


class LastStepClassifier(nn.Module):
    """An RNN read at its last step. The LSTM starts with its forget gate open (bias 3):
    with torch's default init it stays on a plateau at chance on this task (measured)."""

    def __init__(self, cell: str, inputs: int, hidden: int, classes: int, forget_bias=3.0):
        super().__init__()
        self.rnn = rnnkit.Recurrent(cell, inputs, hidden)
        if self.rnn.family.lstm_like:
            lstm_forget_bias_(self.rnn, forget_bias)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])  # (B, classes) from the last step


@dataclass
class RecallResult:
    cell: str
    steps: int
    seconds: float
    accuracy: float
    loss: float


def train_recall(cell: str, length: int, steps: int, hidden: int = 32, symbols: int = 8,
                 batch: int = 32, lr: float = 3e-3, seed: int = 0, on_step=None) -> RecallResult:
    """Trains for `steps` Adam steps (so the result does not depend on the machine's speed), then
    measures accuracy on 1024 fresh sequences."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = LastStepClassifier(cell, recall_inputs(symbols), hidden, symbols)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = recall_batch(batch, length, symbols, gen)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if on_step:
            on_step(step, loss.item(), time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        x, y = recall_batch(1024, length, symbols, torch.Generator().manual_seed(seed + 1))
        logits = model(x)
        acc = (logits.argmax(1) == y).float().mean().item()
        test_loss = nn.functional.cross_entropy(logits, y).item()
    return RecallResult(cell, steps, elapsed, acc, test_loss)


__all__ = ["RecallResult", "recall_chance", "train_recall"]
