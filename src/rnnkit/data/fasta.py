"""FASTA files of DNA, plain or gzip-compressed (told apart by their first bytes, not the name).

    >id free description label=coding
    ACGTACGTNN
    acgtRYACGT

A record is a header line starting with '>' and the sequence lines after it (whitespace inside
them is ignored, lines starting with ';' are comments). Letters are mapped onto A C G T N by
`rnnkit.data.dna.clean`, which counts every ambiguous letter it maps. Errors are one line naming
the file, the record and the line: an empty file, text before the first header, a record with no
sequence, a letter outside the alphabet (with its position in the record). The label of a record,
for training, is a `label=NAME` word in its header (`header_label`).
"""

from __future__ import annotations

import gzip
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.dna import clean
from rnnkit.data.files import check_file
from rnnkit.errors import DataError

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".ffn", ".fas", ".seq")
_LABEL = re.compile(r"(?:^|\s)label=(\S+)")


@dataclass
class DnaRecord:
    id: str
    description: str  # the whole header after '>'
    sequence: str  # over A C G T N
    mapped: Counter = field(default_factory=Counter)  # ambiguous letter -> times read as N/T
    line: int = 0  # the header's line in the file (1-based)


def open_text(path: str | Path, what: str = "file") -> io.TextIOBase:
    """A text stream of the file at `path`, decompressed when it is gzip (or BGZF) data."""
    path = check_file(path, what)
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict")
    return path.open("r", encoding="utf-8", errors="strict")


def is_fasta_name(name: str) -> bool:
    """The file name looks like FASTA (`.fa`, `.fasta`, `.fna`, ... optionally `.gz`)."""
    lower = name.lower().removesuffix(".gz")
    return lower.endswith(FASTA_SUFFIXES)


def _lines(path) -> list[str]:
    try:
        with open_text(path, "FASTA file") as f:
            return f.read().splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; expected a FASTA file") from None
    except (OSError, EOFError) as err:  # a truncated or corrupt gzip stream
        raise DataError(f"{path}: cannot read the FASTA file ({err})") from None


def read_fasta(path: str | Path) -> list[DnaRecord]:
    """Every record of a FASTA file, in file order."""
    lines = _lines(path)
    records: list[DnaRecord] = []
    header, start, chunks, chunk_lines = None, 0, [], []
    for no, text in enumerate(lines, start=1):
        line = text.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            if header is not None:
                records.append(_record(path, header, start, chunks, chunk_lines))
            header, start, chunks, chunk_lines = line[1:].strip(), no, [], []
        elif header is None:
            raise DataError(f"{path}:{no}: sequence text before the first '>' header; "
                            "expected a FASTA file")
        else:
            piece = "".join(line.split())
            chunks.append(piece)
            chunk_lines.append((no, len(piece)))
    if header is not None:
        records.append(_record(path, header, start, chunks, chunk_lines))
    if not records:
        raise DataError(f"{path}: no FASTA records (no line starts with '>')")
    return records


def _record(path, header: str, line: int, chunks: list, chunk_lines: list) -> DnaRecord:
    rid = header.split()[0] if header.split() else ""
    name = f"record {rid!r}" if rid else "a record with an empty header"
    if not chunks:
        raise DataError(f"{path}:{line}: {name} has no sequence")

    def line_of(pos: int) -> int:
        for no, n in chunk_lines:
            if pos < n:
                return no
            pos -= n
        return chunk_lines[-1][0]

    cleaned = clean("".join(chunks), f"{path}: {name}", line_of)
    return DnaRecord(rid, header, cleaned.sequence, cleaned.mapped, line)


def header_label(record: DnaRecord, path) -> str:
    """The NAME of a `label=NAME` word in the record's header; one line naming the record and
    line when there is none."""
    found = _LABEL.search(record.description)
    if not found:
        raise DataError(f"{path}:{record.line}: record {record.id!r} has no label in its header; "
                        "expected a word label=NAME (e.g. '>seq1 label=coding')")
    return found.group(1)


def mapped_total(records) -> Counter:
    """All letters mapped onto N (or U onto T) over `records`."""
    total: Counter = Counter()
    for r in records:
        total.update(r.mapped)
    return total
