"""k-fold cross-validation on the training split (`data.folds = K`, auto for small series sets).

The training split is dealt into K stratified folds (rnnkit.data.datasets.stratified_folds,
seeded by `data.seed`); there is no separate validation share (`data.valid_fraction` is not
used). Ensemble member k (`train.ensemble`, auto = K) trains on the other folds and validates
on fold k % K: its early stopping and its `best` checkpoint -- the number of training steps --
are chosen on items it never trained on, and every training item validates some member. The
ensemble's validation metrics (ensemble.json, `task.evaluate(ensemble)`) are out of fold: each
item is scored by the members that did not train on it (their mean probabilities). They lean
optimistic, as each member's checkpoint was chosen on its fold (unittest: 0.95 out of fold,
0.77 on the test split; BENCHMARKS.md). The test split is never read by any of this. A
single model of a K-fold run (train.ensemble = 1) is member 0.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.models.ensemble import Ensemble


def member_task(task, k: int):
    """The task of ensemble member k: trains on every fold but k % K, validates on fold k % K."""
    held = task.folds[k % len(task.folds)]
    rest = np.setdiff1d(np.arange(len(task.train)), held)
    return type(task)(task.cfg, task.prep, task.split, train=[task.train[i] for i in rest],
                      valid=[task.train[i] for i in held])


@torch.no_grad()
def out_of_fold(task, model) -> dict:
    """Loss and metrics of `model` (an Ensemble of the members, or member 0 alone) on the
    training split, each item predicted only by the members whose validation fold holds it."""
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    total, count = None, np.zeros(len(task.train))
    for k, member in enumerate(members):
        held = task.folds[k % len(task.folds)]
        out, _ = task.outputs(member, [task.train[i] for i in held])  # probabilities or values
        if total is None:
            total = np.zeros((len(task.train), *out.shape[1:]))
        total[held] += out
        count[held] += 1
    seen = np.flatnonzero(count)
    out = total[seen] / count[seen].reshape(-1, *([1] * (total.ndim - 1)))
    y = np.array([task.train[i][1] for i in seen])
    if task.prep.regression:
        loss = float(np.mean((out - y) ** 2))  # the training loss: MSE of the scaled target
    else:
        loss = float(-np.mean(np.log(np.maximum(out[np.arange(len(y)), y], 1e-12))))
    return task.report(out, loss, y)
