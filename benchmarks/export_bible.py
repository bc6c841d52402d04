"""Export the `bible` splits (KJV -> Reina-Valera 1909, as `--data.name=bible` builds them) to
plain TSV files, for a machine without pysword or the SWORD modules (the GPU machine).

    PYTHONPATH=src python benchmarks/export_bible.py --out .gpu/bible [--seed 0]

writes OUT/train.tsv, valid.tsv, test.tsv (source<TAB>target a line) and OUT/manifest.json.
A run trained with

    --data.name=files --data.train_path=OUT/train.tsv --data.valid_path=OUT/valid.tsv
    --data.test_path=OUT/test.tsv

sees the very pairs, vocabularies and batches of `--data.name=bible` (tests/data/test_bible.py).
"""

from __future__ import annotations

import argparse
import json
import time

from rnnkit.data import bible


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory for the TSV files")
    ap.add_argument("--seed", type=int, default=0, help="data.seed of the split")
    args = ap.parse_args()
    start = time.perf_counter()
    manifest = bible.export(args.out, args.seed)
    print(json.dumps(manifest))
    print(f"wrote {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
