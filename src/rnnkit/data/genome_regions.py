"""Genomes cut into contiguous regions for training, validation and test, and the per-base coding
annotation of a GenBank record.

Windows taken at random from one genome leak: two overlapping windows share bases, and even
neighbours share genes. So a genome is cut into blocks of `block` bases, whole blocks are dealt to
the splits (seeded), and every window or stretch lies inside one block: no base of a test item is
in a training item (tests/data/test_genome_sets.py checks it).

The Arabidopsis chloroplast genome carries its inverted repeat twice: bases 84,171-110,434 (IRa)
and 128,215-154,478 (IRb) are exact reverse complements of each other, so IRb is left out (one
copy in a training block and the other in a test block would be the same DNA on both sides).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from rnnkit.data.genbank import GenbankRecord, read_genbank
from rnnkit.data.genome_files import pinned_path
from rnnkit.errors import ConfigError

SPLITS = ("train", "valid", "test")
CHLOROPLAST_KEPT = 128214  # bases [0, 128214): all but IRb
CHLOROPLAST_IRA = (84170, 110434)  # 0-based half-open; IRb = [128214, 154478)
# per-base tags of the coding annotation
NONCODING, PLUS, MINUS = 0, 1, 2


@dataclass
class Region:
    record: str  # the record's id
    start: int
    end: int  # half-open
    split: str


def deal_blocks(record: str, length: int, block: int, test_fraction: float,
                valid_fraction: float, seed: int) -> list[Region]:
    """[0, length) cut into blocks of about `block` bases, dealt to test / valid / train by a
    seeded permutation (at least one block each while there are three or more)."""
    if not (0.0 < test_fraction < 1.0 and 0.0 <= valid_fraction < 1.0
            and test_fraction + valid_fraction < 1.0):
        raise ConfigError(f"data.test_fraction + data.valid_fraction: expected fractions that "
                          f"leave a training share, got {test_fraction} and {valid_fraction}")
    n = max(1, round(length / block))
    edges = np.linspace(0, length, n + 1).round().astype(int)
    order = np.random.default_rng([seed, n]).permutation(n)
    n_test = max(1, round(test_fraction * n)) if n >= 3 else 0
    n_valid = max(1 if valid_fraction > 0 else 0, round(valid_fraction * n)) if n >= 3 else 0
    split_of = {}
    for rank, k in enumerate(order):
        split_of[int(k)] = ("test" if rank < n_test else
                            "valid" if rank < n_test + n_valid else "train")
    return [Region(record, int(edges[k]), int(edges[k + 1]), split_of[k]) for k in range(n)]


def coding_tags(rec: GenbankRecord) -> np.ndarray:
    """(L,) int8 per base: PLUS / MINUS inside a CDS part on that strand, NONCODING elsewhere.
    Where genes on the two strands overlap (a few bases), the later feature's strand wins."""
    tags = np.zeros(len(rec.sequence), dtype=np.int8)
    for f in rec.features:
        if f.kind != "CDS":
            continue
        for start, end, strand in f.parts:
            tags[start:end] = PLUS if strand > 0 else MINUS
    return tags


@cache
def chloroplast() -> tuple[str, np.ndarray]:
    """(sequence, coding tags) of the chloroplast genome without IRb (see the module text)."""
    (rec,) = read_genbank(pinned_path("chloroplast"), kinds=("CDS",))
    return rec.sequence[:CHLOROPLAST_KEPT], coding_tags(rec)[:CHLOROPLAST_KEPT]


def windows(regions: list[Region], width: int, stride: int) -> dict[str, list[tuple[int, int]]]:
    """{split: [(start, end)]} of windows of `width` bases every `stride` bases, each inside one
    region (a window that would cross a region's end is not made)."""
    out: dict[str, list[tuple[int, int]]] = {s: [] for s in SPLITS}
    for r in regions:
        for start in range(r.start, r.end - width + 1, stride):
            out[r.split].append((start, start + width))
    return out
