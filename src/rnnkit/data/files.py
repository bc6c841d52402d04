"""Reading a user's text file: one DataError naming the path (and the line of a bad byte) for a
directory, a missing or unreadable file, or bytes that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

from rnnkit.errors import DataError


def check_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a Path if it is a file; otherwise a DataError that says what it is instead."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a {what}")
    if not path.is_file():
        raise DataError(f"{path}: no such {what}")
    return path


def read_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of the file at `path` (checked by `check_file`)."""
    path = check_file(path, what)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read the {what} ({err.strerror or err})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 text (byte {raw[err.start]:#04x}); "
                        "save the file as UTF-8") from None
