"""`splice-sites`: the UCI splice-junction task rebuilt from annotated primate genes.

From the 18 primate GenBank entries of emboss-test (rnnkit.data.genome_files), every pair of
consecutive parts of a spliced CDS or mRNA feature (on genomic DNA) gives two boundaries:

- `EI` (donor): the last exon base | the first intron base, the intron starting with GT;
- `IE` (acceptor): the last intron base | the first exon base, the intron ending with AG.

A window of 60 bases, 30 on either side of the boundary, is read on the gene's strand (so a
minus-strand gene's window is the reverse complement of the genome). Boundaries whose intron
does not start with GT or end with AG (43 introns here: other splice classes or annotation slips)
are left out and counted. `N` (neither) windows are drawn (seeded) from the
same records on either strand, at least 60 bases away from every annotated boundary, half of
them with GT where a donor has it and half with AG where an acceptor has it, so the two
letters alone do not give the answer; there are as many as EI and IE together, but for a few
short records with no room left for them.

The split is by region: each record is cut into blocks of 20,000 bases (a shorter record is one
block), all blocks are dealt to train / valid / test with a seed, and a window belongs to the
block holding its boundary, inside which it must lie whole. A validation or test window whose
60 bases also occur in the training part (repeats such as Alu elements, and exons of the
paralogous HLA genes) is dropped and counted. Paralogous genes (the HLA class I
genes of the MHC entry) can still share similar, not identical, exons across blocks.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from rnnkit.data.dna import reverse_complement
from rnnkit.data.genbank import read_genbank
from rnnkit.data.genome_files import pinned_path
from rnnkit.data.genome_regions import SPLITS, Region
from rnnkit.errors import ConfigError

FLANK = 30  # bases on either side of the boundary: windows of 60
CLASSES = ["EI", "IE", "N"]


@cache
def _records():
    return tuple(r for r in read_genbank(pinned_path("primates"), kinds=("CDS", "mRNA"))
                 if r.features)


def boundaries(rec) -> tuple[set, int]:
    """({(kind, position, strand)}, non-canonical dropped). `position` is the genome
    coordinate of the boundary: the first intron base (EI) or the first exon base (IE) on a
    + strand; on a - strand the boundary lies before genome base `position`."""
    found, dropped = set(), 0
    seq = rec.sequence
    for f in rec.features:
        for (s1, e1, st1), (s2, e2, st2) in zip(f.parts, f.parts[1:], strict=False):
            if st1 != st2 or (st1 > 0 and s2 <= e1) or (st1 < 0 and e2 >= s1):
                continue  # trans-spliced or overlapping parts: no intron between them
            if st1 > 0:  # intron [e1, s2)
                intron, donor, acceptor = seq[e1:s2], e1, s2
            else:  # intron [e2, s1) read on the minus strand
                intron, donor, acceptor = reverse_complement(seq[e2:s1]), s1, e2
            if len(intron) < 4 or not (intron.startswith("GT") and intron.endswith("AG")):
                dropped += 1
                continue
            found.add(("EI", donor, st1))
            found.add(("IE", acceptor, st1))
    return found, dropped


def window(seq: str, position: int, strand: int) -> str | None:
    """The 60 bases around a boundary, on `strand`; None where it runs off the sequence."""
    lo, hi = position - FLANK, position + FLANK
    if lo < 0 or hi > len(seq):
        return None
    return seq[lo:hi] if strand > 0 else reverse_complement(seq[lo:hi])


def deal(blocks: list[tuple[str, int, int]], test_fraction: float, valid_fraction: float,
         seed: int) -> list[Region]:
    if not (0.0 < test_fraction < 1.0 and 0.0 <= valid_fraction < 1.0
            and test_fraction + valid_fraction < 1.0):
        raise ConfigError(f"data.test_fraction + data.valid_fraction: expected fractions that "
                          f"leave a training share, got {test_fraction} and {valid_fraction}")
    n = len(blocks)
    order = np.random.default_rng([seed, n, 7]).permutation(n)
    n_test, n_valid = round(test_fraction * n), round(valid_fraction * n)
    split = {int(k): "test" if r < n_test else "valid" if r < n_test + n_valid else "train"
             for r, k in enumerate(order)}
    return [Region(rec, s, e, split[k]) for k, (rec, s, e) in enumerate(blocks)]


def _decoys(rec, region: Region, banned: np.ndarray, n: int, rng) -> list[tuple[str, str]]:
    """Up to n (window, 'N') pairs inside `region`, half with GT at the donor's offset and half
    with AG at the acceptor's, on random strands."""
    out = []
    for attempt in range(n * 50):
        if len(out) >= n:
            break
        pos = int(rng.integers(region.start + FLANK, max(region.end - FLANK, region.start + FLANK)
                               + 1))
        strand = 1 if rng.random() < 0.5 else -1
        if pos - FLANK < region.start or pos + FLANK > region.end or banned[pos]:
            continue
        w = window(rec.sequence, pos, strand)
        want = "GT" if attempt % 2 == 0 else "AG"
        got = w[FLANK:FLANK + 2] if want == "GT" else w[FLANK - 2:FLANK]
        if w is not None and got == want and "N" not in w:
            out.append((w, "N"))
    return out


def load_splice_sites(test_fraction: float, valid_fraction: float, seed: int,
                      block: int = 20000):
    """({split: [(window, class)]}, metadata)."""
    blocks = []
    for rec in _records():
        edges = np.linspace(0, len(rec.sequence), max(1, round(len(rec.sequence) / block)) + 1)
        edges = edges.round().astype(int)
        blocks += [(rec.id, int(a), int(b)) for a, b in zip(edges, edges[1:], strict=False)]
    regions = deal(blocks, test_fraction, valid_fraction, seed)
    rng = np.random.default_rng([seed, 60])
    parts = {s: [] for s in SPLITS}
    dropped = 0
    for rec in _records():
        sites, bad = boundaries(rec)
        dropped += bad
        banned = np.zeros(len(rec.sequence) + 1, dtype=bool)
        for _, pos, _ in sites:
            banned[max(pos - 2 * FLANK, 0):pos + 2 * FLANK] = True
        for region in (r for r in regions if r.record == rec.id):
            found = []
            for kind, pos, strand in sorted(sites):
                if region.start <= pos - FLANK and pos + FLANK <= region.end:
                    w = window(rec.sequence, pos, strand)
                    if w is not None:
                        found.append((w, kind))
            parts[region.split] += found + _decoys(rec, region, banned, len(found), rng)
    # Repeats (Alu) and paralogues put the very same 60 bases in several blocks: a window
    # already in an earlier split is dropped from the later one.
    seen, repeated = set(), 0
    for split in SPLITS:
        kept = [(w, c) for w, c in parts[split] if split == "train" or w not in seen]
        repeated += len(parts[split]) - len(kept)
        parts[split] = kept
        seen.update(w for w, _ in kept)
    meta = {"seed": seed, "block": block, "flank": FLANK, "non_canonical_dropped": dropped,
            "repeated_dropped": repeated,
            "regions": [[r.record, r.start, r.end, r.split] for r in regions]}
    return parts, meta
