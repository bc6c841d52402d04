"""GenBank files (plain or gzip): each record's sequence and its annotated features, parsed with
Biopython (`pip install biopython`, in rnnkit's `data` extra).

A feature keeps what the data sets need: its type (CDS, mRNA, exon, ...), its parts as 0-based
half-open intervals with a strand each, in the order the molecule is read (for
`complement(join(a, b))` that is b then a; a trans-spliced gene may mix strands), and a few
qualifiers (gene, product, translation). Sequences are mapped onto A C G T N as in FASTA files
(rnnkit.data.dna.clean); features without a strand are left out and counted.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.dna import clean, reverse_complement
from rnnkit.data.fasta import open_text
from rnnkit.errors import DataError

GENBANK_SUFFIXES = (".gb", ".gbk", ".genbank", ".gbff")
KEPT_QUALIFIERS = ("gene", "product", "translation", "codon_start", "transl_table")


@dataclass
class Feature:
    kind: str
    parts: list[tuple[int, int, int]]  # (start, end, strand +1/-1), in reading order

    qualifiers: dict = field(default_factory=dict)

    def extract(self, sequence: str) -> str:
        """The feature's bases as the molecule reads them (each part on its own strand)."""
        out = []
        for start, end, strand in self.parts:
            piece = sequence[start:end]
            out.append(piece if strand > 0 else reverse_complement(piece))
        return "".join(out)


@dataclass
class GenbankRecord:
    id: str
    description: str
    sequence: str  # over A C G T N
    features: list[Feature]
    mapped: Counter = field(default_factory=Counter)
    unstranded: int = 0  # features of the wanted kinds left out: no strand


def is_genbank_name(name: str) -> bool:
    lower = name.lower().removesuffix(".gz")
    return lower.endswith(GENBANK_SUFFIXES)


def _seqio():
    try:
        from Bio import SeqIO
    except ImportError:
        raise DataError("reading GenBank files needs Biopython: pip install biopython "
                        "(or pip install 'rnnkit[data]')") from None
    return SeqIO


def _feature(f) -> Feature | None:
    parts = []
    for part in f.location.parts:
        if part.strand not in (1, -1):
            return None
        parts.append((int(part.start), int(part.end), int(part.strand)))
    quals = {k: v[0] for k, v in f.qualifiers.items() if k in KEPT_QUALIFIERS and v}
    return Feature(f.type, parts, quals)


def _record(rec, path, kinds) -> GenbankRecord:
    where = f"{path}: record {rec.id!r}"
    try:
        text = str(rec.seq)
    except Exception as err:  # Biopython's UndefinedSequenceError: a record without ORIGIN
        if type(err).__name__ != "UndefinedSequenceError":
            raise
        raise DataError(f"{where} has no sequence (no ORIGIN section)") from None
    if not text:
        raise DataError(f"{where} has no sequence")
    cleaned = clean(text, where)
    features, unstranded = [], 0
    for f in rec.features:
        if f.type not in kinds:
            continue
        feature = _feature(f)
        if feature is None:
            unstranded += 1
        else:
            features.append(feature)
    return GenbankRecord(rec.id, rec.description, cleaned.sequence, features, cleaned.mapped,
                         unstranded)


def read_genbank(path: str | Path, kinds=("CDS", "mRNA", "exon", "intron")) -> list[GenbankRecord]:
    """Every record of a GenBank file with its features of the given `kinds`."""
    seqio = _seqio()
    records = []
    try:
        with open_text(path, "GenBank file") as handle, warnings.catch_warnings():
            # Biopython warns about harmless quirks of old entries (e.g. a LOCUS line's
            # spacing); what rnnkit uses is checked here instead.
            warnings.simplefilter("ignore")
            for rec in seqio.parse(handle, "genbank"):
                records.append(_record(rec, path, set(kinds)))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; expected a GenBank file") from None
    except (ValueError, EOFError, OSError) as err:
        if isinstance(err, DataError):
            raise
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: not a readable GenBank file ({first})") from None
    if not records:
        raise DataError(f"{path}: no GenBank records (no LOCUS line)")
    return records
