"""The DNA data sets: the motif grammar, coding windows split by genome region (no base shared
between splits), and your own FASTA / CSV files."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.dna import reverse_complement
from rnnkit.data.dna_sets import (
    MOTIF_A,
    MOTIF_B,
    is_dna_file,
    load_coding_windows,
    load_dna_files,
    motif_grammar,
    read_dna_file,
)
from rnnkit.data.genbank import read_genbank
from rnnkit.data.genome_files import pinned_path
from rnnkit.data.genome_regions import (
    CHLOROPLAST_IRA,
    CHLOROPLAST_KEPT,
    chloroplast,
    deal_blocks,
    windows,
)
from rnnkit.errors import DataError


def test_motif_grammar_plants_each_motif_once_in_the_labelled_order():
    xs, ys = motif_grammar(n=300, seed=3)
    assert (xs, ys) == motif_grammar(n=300, seed=3)  # seeded
    assert xs != motif_grammar(n=300, seed=4)[0]
    for x, y in zip(xs, ys, strict=True):
        assert x.count(MOTIF_A) == 1 and x.count(MOTIF_B) == 1
        assert y == ("AB" if x.index(MOTIF_A) < x.index(MOTIF_B) else "BA")
    assert 0.4 < np.mean([y == "AB" for y in ys]) < 0.6


def test_motif_grammar_is_invisible_to_kmer_counts():
    from rnnkit.models.kmer_baseline import fit_kmer_baseline

    xs, ys = motif_grammar(n=1600, seed=0)
    base = fit_kmer_baseline(xs[:1200], ys[:1200])
    acc = float(np.mean(base.predict(xs[1200:]) == np.array(ys[1200:])))
    assert acc < 0.6  # chance is 0.5


def test_blocks_cover_the_genome_once_and_every_split_gets_some():
    regions = deal_blocks("g", 100_003, 8000, 0.2, 0.1, seed=5)
    edges = [(r.start, r.end) for r in regions]
    assert edges[0][0] == 0 and edges[-1][1] == 100_003
    assert all(a[1] == b[0] for a, b in zip(edges, edges[1:], strict=False))
    assert {r.split for r in regions} == {"train", "valid", "test"}
    assert [r.split for r in regions] != [r.split for r in deal_blocks("g", 100_003, 8000, 0.2,
                                                                          0.1, seed=6)]


def test_coding_windows_share_no_base_across_splits():
    data = load_coding_windows(0.2, 0.1, seed=0)
    regions = deal_blocks("NC_000932.1", CHLOROPLAST_KEPT, 8000, 0.2, 0.1, 0)
    spans = windows(regions, 200, 50)
    spans["train"] = windows(regions, 200, 10)["train"]
    covered = {}
    for split, items in spans.items():
        mask = np.zeros(CHLOROPLAST_KEPT, dtype=bool)
        for start, end in items:
            mask[start:end] = True
        covered[split] = mask
    assert not (covered["train"] & covered["test"]).any()
    assert not (covered["train"] & covered["valid"]).any()
    assert not (covered["valid"] & covered["test"]).any()
    n = data.split["n_items"]
    assert n["test"] == len(data.test_x) and n["train"] + n["valid"] == len(data.train_x)
    assert min(n.values()) > 50 and set(data.test_y) == {"coding", "noncoding"}


def test_coding_window_labels_follow_the_annotation():
    seq, tags = chloroplast()
    data = load_coding_windows(0.2, 0.1, seed=0)
    starts = {seq.find(x): y for x, y in zip(data.test_x[:40], data.test_y[:40], strict=True)}
    for start, label in starts.items():
        window = tags[start:start + 200]
        assert (window > 0).all() if label == "coding" else not (window > 0).any()


def test_the_left_out_inverted_repeat_is_the_reverse_complement_of_the_kept_one():
    (rec,) = read_genbank(pinned_path("chloroplast"), kinds=())
    ira = rec.sequence[CHLOROPLAST_IRA[0]:CHLOROPLAST_IRA[1]]
    assert reverse_complement(rec.sequence[CHLOROPLAST_KEPT:]) == ira
    assert len(chloroplast()[0]) == CHLOROPLAST_KEPT


def test_own_fasta_and_csv(tmp_path):
    fa = tmp_path / "mine.fa"
    fa.write_text("".join(f">s{i} label={'x' if i % 2 else 'y'}\nACGTRACGT{'A' * i}\n"
                          for i in range(10)))
    csv = tmp_path / "mine.csv"
    csv.write_text("sequence,label\n" + "".join(f"ACGT{'C' * i},{'x' if i % 2 else 'y'}\n"
                                                 for i in range(10)))
    assert is_dna_file(str(fa)) and is_dna_file(str(csv))
    seqs, labels, names, mapped = read_dna_file(fa)
    assert names[0] == "s0" and labels[:2] == ["y", "x"] and mapped["R"] == 10
    data = load_dna_files(str(fa), "", "label", 0.2, 0)
    assert data.kind == "dna" and data.classes == ["x", "y"] and len(data.test_x) == 2
    assert load_dna_files(str(csv), str(fa), "label", 0.2, 0).test_x[0] == "ACGTNACGT"


def test_own_csv_with_a_bad_letter_names_the_row(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("sequence,label\nACGT,x\nAC-GT,y\n")
    with pytest.raises(DataError, match=r"bad\.csv: row 2: position 3: '-'"):
        read_dna_file(csv)


def test_splice_sites_hold_their_consensus_and_share_no_region():
    from rnnkit.data.dna_sets import load_dna_set
    from rnnkit.data.splice_sites import FLANK, load_splice_sites

    parts, meta = load_splice_sites(0.2, 0.1, seed=0)
    assert meta["non_canonical_dropped"] > 0  # counted, not hidden
    for split, pairs in parts.items():
        classes = [c for _, c in pairs]
        assert {"EI", "IE", "N"} == set(classes), split
        sites = classes.count("EI") + classes.count("IE")
        if split == "train":  # (valid and test lose repeated windows, most of them sites)
            assert 0.98 * sites <= classes.count("N") <= sites
        for w, c in pairs:
            assert len(w) == 2 * FLANK
            if c == "EI":
                assert w[FLANK:FLANK + 2] == "GT"
            if c == "IE":
                assert w[FLANK - 2:FLANK] == "AG"
    regions = {(r[0], r[1], r[2]): r[3] for r in meta["regions"]}
    assert len(regions) == len(meta["regions"])  # each block dealt once
    train = {w for w, _ in parts["train"]}
    assert not train & {w for w, _ in parts["test"]} and meta["repeated_dropped"] > 0
    data = load_dna_set("splice-sites", 0.2, 0.1, 0)
    assert len(data.test_x) == len(parts["test"]) and data.classes == ["EI", "IE", "N"]
