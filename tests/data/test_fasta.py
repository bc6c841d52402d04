"""FASTA reading: the shipped files against Biopython's parser, gzip or plain, and one clear
line for each kind of bad input."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from rnnkit.data.dna import clean
from rnnkit.data.fasta import header_label, mapped_total, read_fasta
from rnnkit.data.genome_files import pinned_path
from rnnkit.errors import DataError

BIO_FASTA = Path("/usr/share/doc/python-biopython-doc/Tests/Fasta")


def _biopython(path):
    from Bio import SeqIO

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        return [(r.id, r.description, str(r.seq)) for r in SeqIO.parse(f, "fasta")]


@pytest.mark.parametrize("path", [pinned_path("plasmid"), pinned_path("plasmid-cds"),
                                  BIO_FASTA / "lupine.nu", BIO_FASTA / "elderberry.nu",
                                  BIO_FASTA / "f002"],
                         ids=lambda p: Path(p).name)
def test_shipped_fasta_files_read_as_biopython_reads_them(path):
    ours = read_fasta(path)
    theirs = _biopython(path)
    assert [(r.id, r.description) for r in ours] == [(i, d) for i, d, _ in theirs]
    assert [r.sequence for r in ours] == [clean(s).sequence for _, _, s in theirs]
    assert len(ours) >= 1 and all(r.sequence for r in ours)


def test_gzip_and_plain_read_the_same(tmp_path):
    plain = tmp_path / "cds.fa"
    with gzip.open(pinned_path("plasmid-cds"), "rb") as src, plain.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    same = tmp_path / "cds.txt"  # gzip is told by its bytes, not by the name
    same.write_bytes(pinned_path("plasmid-cds").read_bytes())
    a, b, c = read_fasta(plain), read_fasta(pinned_path("plasmid-cds")), read_fasta(same)
    assert [r.sequence for r in a] == [r.sequence for r in b] == [r.sequence for r in c]


def test_ambiguous_letters_are_counted_not_dropped():
    path = Path("/usr/share/EMBOSS/test/data/ambignuc.fasta")
    (rec,) = read_fasta(path)
    assert len(rec.sequence) == 32  # every letter kept
    assert sum(mapped_total([rec]).values()) == 22  # 11 codes twice (lower and upper case)
    assert rec.mapped["U"] == 2 and rec.sequence.count("N") == 20 + 2  # U -> T, 'n' is N


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "x.fa"
    p.write_text(text)
    return p


def test_empty_fasta(tmp_path):
    with pytest.raises(DataError, match=r"x\.fa: no FASTA records"):
        read_fasta(_write(tmp_path, "\n\n"))


def test_record_without_sequence_names_record_and_line(tmp_path):
    with pytest.raises(DataError, match=r"x\.fa:3: record 'b' has no sequence"):
        read_fasta(_write(tmp_path, ">a\nACGT\n>b\n>c\nAC\n"))


def test_bad_letter_names_record_position_and_line(tmp_path):
    text = ">a\nACGT\n>b label=x\nACGTA\nCC*G\n"
    with pytest.raises(DataError, match=r"record 'b': position 8 \(line 5\): '\*'"):
        read_fasta(_write(tmp_path, text))


def test_text_before_first_header(tmp_path):
    with pytest.raises(DataError, match=r"x\.fa:1: sequence text before the first '>'"):
        read_fasta(_write(tmp_path, "ACGT\n>a\nAC\n"))


def test_header_label_present_and_missing(tmp_path):
    path = _write(tmp_path, ">s1 some words label=coding\nACGT\n>s2 no label\nACGT\n")
    first, second = read_fasta(path)
    assert header_label(first, path) == "coding"
    with pytest.raises(DataError, match=r"x\.fa:3: record 's2' has no label in its header"):
        header_label(second, path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such FASTA file"):
        read_fasta(tmp_path / "nope.fa")
    with pytest.raises(DataError, match="is a directory"):
        read_fasta(tmp_path)
