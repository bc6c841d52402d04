"""Non-recurrent baselines for `rnnkit train classify` on the `tweets` dataset.

    python benchmarks/classify_baselines.py [--seed 0] [--test-fraction 0.2]

Uses exactly the split the classify task uses (rnnkit.data.datasets.load_dataset('tweets') with
the same seed and fraction), fits on the training split only and prints test accuracy and
macro-F1 for: the majority class, and TF-IDF (word 1-2 grams + char 2-5 grams) with logistic
regression (scikit-learn). Put an rnnkit run's `rnnkit evaluate` numbers beside these.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnkit.data.datasets import load_dataset
from rnnkit.tasks._metrics import classification_report
from rnnkit.tasks.classify.baselines import tfidf_logreg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    args = parser.parse_args()
    data = load_dataset("tweets", test_fraction=args.test_fraction, seed=args.seed)
    index = {c: i for i, c in enumerate(data.classes)}
    y_test = np.array([index[y] for y in data.test_y])
    print(f"tweets: {len(data.train_x)} train / {len(data.test_x)} test texts, "
          f"classes {', '.join(data.classes)}; split seed {args.seed}")
    print(f"{'model':<24} {'accuracy':>9} {'macro_f1':>9} {'seconds':>8}")
    majority = max(data.classes, key=data.train_y.count)
    rows = [("majority class", lambda: [majority] * len(data.test_x))]
    rows.append(("tfidf + logreg", lambda: tfidf_logreg(data.train_x, data.train_y,
                                                       data.test_x, args.seed)))
    for name, predict in rows:
        start = time.perf_counter()
        pred = np.array([index[p] for p in predict()])
        report = classification_report(y_test, pred, data.classes)
        print(f"{name:<24} {report['accuracy']:>9.4f} {report['macro_f1']:>9.4f} "
              f"{time.perf_counter() - start:>8.1f}")


if __name__ == "__main__":
    main()
