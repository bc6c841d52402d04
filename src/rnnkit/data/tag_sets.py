"""Per-base tagged DNA for `rnnkit train tag`: every base of a genome tagged 0 non-coding,
1 coding on the + strand, 2 coding on the - strand (rnnkit.data.genome_regions.coding_tags).

- `coding-tags`: the Arabidopsis chloroplast genome (without IRb, see genome_regions), cut into
  blocks of 8,000 bp dealt to train / valid / test (seeded by data.seed). Training items are
  stretches of `chunk` bases every `stride` bases inside the training blocks; validation and test
  items are whole runs of adjacent blocks of their split, so a coding segment is scored whole.
- your own GenBank file (`data.name=FILE.gb`, or `.gbk`, optionally `.gz`): every record, tagged
  from its CDS features, split the same way per record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnkit.data.genbank import is_genbank_name, read_genbank
from rnnkit.data.genome_regions import Region, chloroplast, coding_tags, deal_blocks
from rnnkit.errors import DataError

TAG_SETS = ("coding-tags",)
TAG_NAMES = ["noncoding", "plus", "minus"]
TAG_LETTERS = ".+-"  # one character per base in predictions
STRAND_SWAP = [0, 2, 1]  # the tags of the reverse complement


@dataclass
class Stretch:
    """A piece of a genome: its bases, its tags (L,) int64, and where it is."""

    sequence: str
    tags: np.ndarray
    record: str
    start: int


@dataclass
class TagData:
    name: str
    train: list[Stretch]
    valid: list[Stretch]
    test: list[Stretch]
    split: dict = field(default_factory=dict)


def _merge(regions: list[Region]) -> list[Region]:
    """Adjacent regions of the same split as one."""
    out: list[Region] = []
    for r in regions:
        if out and out[-1].split == r.split and out[-1].end == r.start:
            out[-1] = Region(r.record, out[-1].start, r.end, r.split)
        else:
            out.append(Region(r.record, r.start, r.end, r.split))
    return out


def _cut(name: str, genomes, test_fraction, valid_fraction, seed, chunk, stride,
         block) -> TagData:
    parts = {"train": [], "valid": [], "test": []}
    regions_meta = []
    for record, seq, tags in genomes:
        regions = deal_blocks(record, len(seq), block, test_fraction, valid_fraction, seed)
        regions_meta += [[record, r.start, r.end, r.split] for r in regions]
        for r in _merge(regions):
            if r.split != "train":
                parts[r.split].append(Stretch(seq[r.start:r.end],
                                              tags[r.start:r.end].astype(np.int64),
                                              record, r.start))
                continue
            starts = list(range(r.start, max(r.end - chunk, r.start) + 1, stride))
            if starts[-1] + chunk < r.end:  # one more, ending at the region's end
                starts.append(r.end - chunk)
            for s in starts:
                e = min(s + chunk, r.end)
                parts["train"].append(Stretch(seq[s:e], tags[s:e].astype(np.int64), record, s))
    for split, items in parts.items():
        if not items:
            raise DataError(f"{name}: the {split} split is empty; the genome is too short for "
                            f"blocks of {block} bp (use more data or other fractions)")
    split = {"kind": "regions", "seed": seed, "block": block, "chunk": chunk, "stride": stride,
             "regions": regions_meta}
    return TagData(name, parts["train"], parts["valid"], parts["test"], split)


def load_tag_data(name: str, test_fraction: float, valid_fraction: float, seed: int,
                  chunk: int = 600, stride: int = 300, block: int = 8000) -> TagData:
    """The named set or a GenBank file, split by region."""
    if name.lower() == "coding-tags":
        seq, tags = chloroplast()
        genomes = [("NC_000932.1", seq, tags)]
    elif is_genbank_name(name):
        genomes = [(r.id, r.sequence, coding_tags(r))
                   for r in read_genbank(name, kinds=("CDS",))]
        if not any((t > 0).any() for _, _, t in genomes):
            raise DataError(f"{name}: no CDS features; tagging needs annotated coding regions")
    else:
        raise DataError(f"unknown tagging data {name!r}; expected coding-tags or a GenBank "
                        "file (.gb, .gbk, optionally .gz)")
    return _cut(name, genomes, test_fraction, valid_fraction, seed, chunk, stride, block)
