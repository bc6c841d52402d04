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


def tfidf_logreg(train_x, train_y, test_x, seed: int):
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True)
    train = hstack([words.fit_transform(train_x), chars.fit_transform(train_x)]).tocsr()
    test = hstack([words.transform(test_x), chars.transform(test_x)]).tocsr()
    model = LogisticRegression(C=4.0, max_iter=2000, random_state=seed)
    model.fit(train, train_y)
    return model.predict(test)


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
