"""Labelled DNA sequences for `rnnkit train classify`: named sets and your own files.

Named sets (`data.name`), split into train / validation / test by the data itself (the split is
saved with the run; `data.seed` changes it):
- `motif-grammar` (generated, seeded; 4,000 sequences of 80-160 random bases): two motifs,
  A = GATTACAG and B = CCTGAGGT, are planted once each at least 12 bases apart; the class is their
  order, `AB` or `BA`. Every k-mer up to length 8 occurs with the same odds in both classes, so a
  bag of k-mers sees nothing (its baseline stays near 0.5); a model must read the order.
  The split is random (the sequences are independent).
- `coding-windows` (Arabidopsis chloroplast genome, rnnkit.data.genome_regions): 200-bp windows
  every 50 bp (every 10 bp in the training part), `coding` when every base lies in an annotated
  CDS (on either strand), `noncoding` when none does (windows partly coding are left out).
  A window is read on the genome's + strand, so genes on the - strand are seen as their reverse
  complement. Split by genome region (blocks of 8,000 bp), never by window.
- `splice-sites` (primate genes, rnnkit.data.splice_sites): 60-bp windows around exon/intron
  (`EI`) and intron/exon (`IE`) boundaries and decoys with the same GT / AG (`N`), split by
  region (blocks of 20,000 bp).

Your own data: FASTA (`.fa`, `.fasta`, `.fna`, ... optionally `.gz`) with `label=NAME` in each
header, or a CSV with a `sequence` column and a label column (`data.label_column`). Letters are
mapped onto A C G T N (IUPAC codes counted); any other letter stops with the record and position.
"""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np

from rnnkit.data.datasets import Dataset, split_dataset, stratified_split
from rnnkit.data.dna import clean
from rnnkit.data.fasta import header_label, is_fasta_name, mapped_total, read_fasta
from rnnkit.data.genome_regions import NONCODING, chloroplast, deal_blocks, windows
from rnnkit.data.splice_sites import CLASSES as SPLICE_CLASSES
from rnnkit.data.splice_sites import load_splice_sites
from rnnkit.data.tabular import read_text_csv
from rnnkit.errors import DataError

DNA_SETS = ("motif-grammar", "coding-windows", "splice-sites")
MOTIF_A, MOTIF_B = "GATTACAG", "CCTGAGGT"
SEQUENCE_COLUMN = "sequence"


def is_dna_set(name: str) -> bool:
    return name.lower() in DNA_SETS


def _has_motif(seq: str) -> bool:
    return MOTIF_A in seq or MOTIF_B in seq


def motif_grammar(n: int = 4000, seed: int = 0, min_len: int = 80, max_len: int = 160,
                  min_gap: int = 12) -> tuple[list[str], list[str]]:
    """(sequences, labels 'AB'/'BA'): background bases uniform, the motifs planted once each,
    `min_gap` or more bases apart; a background that already holds a motif is drawn again."""
    rng = np.random.default_rng([seed, 21])
    m = len(MOTIF_A)
    seqs, labels = [], []
    while len(seqs) < n:
        length = int(rng.integers(min_len, max_len + 1))
        first = int(rng.integers(0, length - 2 * m - min_gap + 1))
        second = int(rng.integers(first + m + min_gap, length - m + 1))
        order = "AB" if rng.random() < 0.5 else "BA"
        a, b = (MOTIF_A, MOTIF_B) if order == "AB" else (MOTIF_B, MOTIF_A)
        bases = list("".join(rng.choice(list("ACGT"), length)))
        bases[first:first + m] = a
        bases[second:second + m] = b
        seq = "".join(bases)
        # exactly one A and one B: no extra copy in the background or across a junction
        if seq.count(MOTIF_A) == 1 and seq.count(MOTIF_B) == 1:
            seqs.append(seq)
            labels.append(order)
    return seqs, labels


def _three_way(name: str, xs, ys, classes, parts: dict, meta: dict) -> Dataset:
    """A Dataset from {split: indices}; valid items come first in the train lists and
    split['valid_indices'] points at them (the classify task uses them as its validation set)."""
    train_idx = list(parts["valid"]) + list(parts["train"])
    split = {"kind": name, **meta, "n_items": {k: len(v) for k, v in parts.items()},
             "valid_indices": list(range(len(parts["valid"])))}
    return Dataset(name, "dna", [xs[i] for i in train_idx], [ys[i] for i in train_idx],
                   [xs[i] for i in parts["test"]], [ys[i] for i in parts["test"]], classes,
                   split)


def load_motif_grammar(test_fraction: float, valid_fraction: float, seed: int) -> Dataset:
    xs, ys = motif_grammar(seed=seed)
    rest, test = stratified_split(ys, test_fraction, seed)
    parts = {"test": test.tolist(), "train": rest.tolist(), "valid": []}
    if valid_fraction > 0:
        kept, held = stratified_split([ys[i] for i in rest], valid_fraction, seed + 1)
        parts["train"], parts["valid"] = rest[kept].tolist(), rest[held].tolist()
    return _three_way("motif-grammar", xs, ys, ["AB", "BA"], parts,
                      {"seed": seed, "motifs": [MOTIF_A, MOTIF_B]})


def load_coding_windows(test_fraction: float, valid_fraction: float, seed: int,
                        width: int = 200, stride: int = 50, train_stride: int = 10,
                        block: int = 8000) -> Dataset:
    seq, tags = chloroplast()
    regions = deal_blocks("NC_000932.1", len(seq), block, test_fraction, valid_fraction, seed)
    xs, ys, parts = [], [], {}
    spans_of = windows(regions, width, stride)
    spans_of["train"] = windows(regions, width, train_stride)["train"]
    for split, spans in spans_of.items():
        parts[split] = []
        for start, end in spans:
            coding = tags[start:end] != NONCODING
            if coding.all() or not coding.any():
                parts[split].append(len(xs))
                xs.append(seq[start:end])
                ys.append("coding" if coding.all() else "noncoding")
    meta = {"seed": seed, "width": width, "stride": stride, "train_stride": train_stride,
            "regions": [[r.start, r.end, r.split] for r in regions]}
    return _three_way("coding-windows", xs, ys, ["coding", "noncoding"], parts, meta)


def load_splice(test_fraction: float, valid_fraction: float, seed: int) -> Dataset:
    by_split, meta = load_splice_sites(test_fraction, valid_fraction, seed)
    xs, ys, parts = [], [], {}
    for split, pairs in by_split.items():
        parts[split] = list(range(len(xs), len(xs) + len(pairs)))
        xs += [w for w, _ in pairs]
        ys += [c for _, c in pairs]
    return _three_way("splice-sites", xs, ys, list(SPLICE_CLASSES), parts, meta)


def load_dna_set(name: str, test_fraction: float, valid_fraction: float, seed: int) -> Dataset:
    key = name.lower()
    if key == "motif-grammar":
        return load_motif_grammar(test_fraction, valid_fraction, seed)
    if key == "coding-windows":
        return load_coding_windows(test_fraction, valid_fraction, seed)
    if key == "splice-sites":
        return load_splice(test_fraction, valid_fraction, seed)
    raise DataError(f"unknown DNA data set {name!r}; available: {', '.join(DNA_SETS)}")


def _csv_columns(path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [h.strip().lstrip("\ufeff") for h in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []  # read_text_csv reports the problem when the file is read for real


def is_dna_file(path: str, text_column: str = "text") -> bool:
    """FASTA by name, or a CSV with a `sequence` column and no column named `text_column`."""
    if is_fasta_name(str(path)):
        return True
    columns = _csv_columns(path)
    return SEQUENCE_COLUMN in columns and text_column not in columns


def read_dna_file(path, label_column: str | None = "label"):
    """(sequences over A C G T N, labels or None, record names, mapped letter counts) of a FASTA
    or CSV file; `label_column=None` reads no labels (prediction input)."""
    if is_fasta_name(str(path)):
        records = read_fasta(path)
        labels = None if label_column is None else [header_label(r, path) for r in records]
        return [r.sequence for r in records], labels, [r.id for r in records], \
            mapped_total(records)
    texts, labels = read_text_csv(path, SEQUENCE_COLUMN, label_column)
    seqs, mapped = [], Counter()
    for i, text in enumerate(texts):
        cleaned = clean("".join(text.split()), f"{path}: row {i + 1}")
        seqs.append(cleaned.sequence)
        mapped.update(cleaned.mapped)
    names = [f"row {i + 1}" for i in range(len(seqs))]
    return seqs, (labels if label_column is not None else None), names, mapped


def load_dna_files(train_path: str, test_path: str, label_column: str, test_fraction: float,
                   seed: int) -> Dataset:
    """Your own labelled DNA: a stratified test split of `train_path`, or `test_path`."""
    xs, ys, _, _ = read_dna_file(train_path, label_column)
    name = str(train_path).rsplit("/", 1)[-1]
    classes = sorted(set(ys))
    if not test_path:
        return split_dataset(name, "dna", xs, ys, classes, test_fraction, seed)
    tx, ty, _, _ = read_dna_file(test_path, label_column)
    return Dataset(name, "dna", xs, ys, tx, ty, classes,
                   {"kind": "files", "train": str(train_path), "test": str(test_path)})
