"""GenBank reading: the pinned files, their features checked against the entries' own FASTA
files and protein translations, and the pins themselves."""

from __future__ import annotations

import pytest

from rnnkit.data import genome_files
from rnnkit.data.fasta import read_fasta
from rnnkit.data.genbank import read_genbank
from rnnkit.data.genome_files import pinned_path
from rnnkit.errors import DataError


def test_plasmid_genbank_agrees_with_its_fasta_files():
    (rec,) = read_genbank(pinned_path("plasmid-gb"))
    (genome,) = read_fasta(pinned_path("plasmid"))
    assert rec.sequence == genome.sequence and len(rec.sequence) == 9609
    cds = [f for f in rec.features if f.kind == "CDS"]
    ffn = read_fasta(pinned_path("plasmid-cds"))
    assert [f.extract(rec.sequence) for f in cds] == [r.sequence for r in ffn]


def test_chloroplast_cds_translate_to_their_annotated_proteins():
    from Bio.Seq import Seq

    (rec,) = read_genbank(pinned_path("chloroplast"))
    assert len(rec.sequence) == 154478
    cds = [f for f in rec.features if f.kind == "CDS"]
    assert len(cds) == 85
    trans_spliced = [f for f in cds if len({s for _, _, s in f.parts}) > 1]
    assert trans_spliced  # rps12: parts on both strands, kept in reading order
    checked = 0
    for f in cds:
        if "translation" not in f.qualifiers:
            continue
        protein = str(Seq(f.extract(rec.sequence)).translate(table=11, to_stop=True))
        # the annotated protein starts with M even where the start codon is not ATG
        assert protein[1:] == f.qualifiers["translation"][1:], f.qualifiers.get("gene")
        checked += 1
    assert checked >= 80


def test_primate_entries_and_their_exon_features():
    recs = read_genbank(pinned_path("primates"))
    assert len(recs) == 18
    mhc = next(r for r in recs if r.id == "BA000025.2")
    assert len(mhc.sequence) == 2229817
    assert sum(f.kind == "exon" for f in mhc.features) == 745
    x59796 = next(r for r in recs if r.id == "X59796.1")
    assert dict(x59796.mapped) == {"V": 1, "D": 1}  # counted, not dropped


def test_record_without_sequence(tmp_path):
    path = tmp_path / "x.gb"
    path.write_text("LOCUS       X1          10 bp    DNA     linear   PRI 01-JAN-2000\n"
                    "DEFINITION  nothing.\nACCESSION   X1\nVERSION     X1.1\n"
                    "FEATURES             Location/Qualifiers\n"
                    "     source          1..10\nORIGIN\n//\n")
    with pytest.raises(DataError, match=r"x\.gb: record 'X1\.1' has no sequence"):
        read_genbank(path)


def test_not_genbank(tmp_path):
    path = tmp_path / "x.gb"
    path.write_text(">a\nACGT\n")
    with pytest.raises(DataError, match=r"x\.gb: no GenBank records|x\.gb: not a readable"):
        read_genbank(path)


def test_missing_package_and_changed_file_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(genome_files.FILES, "gone", ("some-deb", str(tmp_path / "no.gb"), "0"))
    with pytest.raises(DataError, match="needs the Debian package some-deb.*apt-get install "
                                        "some-deb"):
        pinned_path("gone")
    other = tmp_path / "other.gb"
    other.write_text("changed")
    monkeypatch.setitem(genome_files.FILES, "changed", ("some-deb", str(other), "0" * 64))
    with pytest.raises(DataError, match="differs from the pinned file"):
        pinned_path("changed")
