"""Labelled text in CSV files: one row per example, a text column and a label column.

The column names are configurable (`text_column`, `label_column`); the first row is the header.
Any defect (a missing file, a header without the named columns, a row with the wrong number of
fields, an empty text or label, undecodable bytes) raises `DataError` naming the file and line.
Line numbers are the file's physical lines, so a quoted field spanning lines is counted right.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rnnkit.errors import DataError


def _read_text(path: Path, encoding: str, errors: str) -> str:
    """The whole file decoded; a decoding error names the line of the first bad byte."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such CSV file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory; expected a CSV file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read the CSV file ({err.strerror or err})") from None
    try:
        return raw.decode(encoding, errors=errors)
    except LookupError:
        raise DataError(f"{path}: unknown text encoding {encoding!r}") from None
    except UnicodeDecodeError as err:
        line_no = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line_no}: not valid {encoding} text (byte "
                        f"{raw[err.start]:#04x}); set the file's encoding") from None


def _column(path: Path, header: list[str], name: str, what: str) -> int:
    if name not in header:
        shown = ", ".join(repr(h) for h in header)
        raise DataError(f"{path}:1: no {what} column {name!r} in the header (columns: {shown}); "
                        f"name the right one with the {what}_column setting")
    return header.index(name)


def _check_row(path: Path, line_no: int, row: list[str], header: list[str], i_text: int,
               i_label: int | None) -> tuple[str, str | None]:
    if len(row) != len(header):
        raise DataError(f"{path}:{line_no}: expected {len(header)} fields like the header, "
                        f"got {len(row)} (an unquoted comma?)")
    text = row[i_text]
    if not text.strip():
        raise DataError(f"{path}:{line_no}: empty text in column {header[i_text]!r}")
    if i_label is None:
        return text, None
    label = row[i_label].strip()
    if not label:
        raise DataError(f"{path}:{line_no}: empty label in column {header[i_label]!r}")
    return text, label


def read_text_csv(
    path: str | Path,
    text_column: str = "text",
    label_column: str | None = "label",
    encoding: str = "utf-8",
    errors: str = "strict",
) -> tuple[list[str], list[str]]:
    """(texts, labels) from a CSV file. With `label_column=None` (prediction input) the labels
    list is empty; a label column that is present is then ignored."""
    path = Path(path)
    texts: list[str] = []
    labels: list[str] = []
    reader = csv.reader(io.StringIO(_read_text(path, encoding, errors), newline=""))
    line_no = 1
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file, expected a header row naming the columns")
        header = [h.strip().lstrip("\ufeff") for h in header]
        i_text = _column(path, header, text_column, "text")
        i_label = None if label_column is None else _column(path, header, label_column, "label")
        line_no = reader.line_num + 1
        for row in reader:
            if row:  # blank lines are skipped
                text, label = _check_row(path, line_no, row, header, i_text, i_label)
                texts.append(text)
                if label is not None:
                    labels.append(label)
            line_no = reader.line_num + 1
    except csv.Error as err:
        raise DataError(f"{path}:{line_no}: malformed CSV ({err})") from None
    if not texts:
        raise DataError(f"{path}: no rows after the header")
    return texts, labels
