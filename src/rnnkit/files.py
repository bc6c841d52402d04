"""Every file rnnkit writes goes through here: written whole or not at all, never through a link.

A run directory may come from someone else, so a name in it may be a symbolic link planted to
make rnnkit overwrite a file elsewhere (`forecast.csv -> ~/.bashrc`). The writers below:

  write_bytes / write_text / write_json   a temporary file beside the target, created with
                                          O_EXCL | O_NOFOLLOW, fsync'ed, then renamed over the
                                          target (rename replaces a name, it follows no link);
                                          the directory is fsync'ed after.
  write_new                               a file that must not exist yet (in a fresh directory).
  open_append                             O_APPEND | O_NOFOLLOW (metrics.jsonl).
  save_figure                             a matplotlib figure rendered to memory, then
                                          write_bytes.
  make_dir                                a directory, not a link to one.

and each refuses, with one line naming the path, a target that is a symbolic link or a
directory that is one (`refuse_link`). The directory the caller was given (RUN_DIR, --out-dir)
is the caller's choice and may itself be a link; only the names rnnkit creates inside it are
checked. Nothing here deletes anything but its own temporary files.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from rnnkit.errors import RnnkitError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # 0 on Windows: no symlinks to follow by accident


def refuse_link(path: str | Path) -> Path:
    """`path`, after checking that it is not a symbolic link (it may not exist yet)."""
    path = Path(path)
    if path.is_symlink():
        raise RnnkitError(f"{path} is a symbolic link (to {os.readlink(path)}); rnnkit writes "
                          "no file through a link: remove the link, or use another directory")
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Replace `path` with `data` atomically (see the module doc)."""
    path = refuse_link(path)
    if path.is_dir():
        raise RnnkitError(f"{path} is a directory; expected a file there: move it away, or use "
                          "another directory")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = _open_new(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # our own temporary file, never the target
        raise
    fsync_dir(path.parent)
    return path


def write_new(path: str | Path, data: bytes) -> Path:
    """`data` to a new file `path` (O_EXCL | O_NOFOLLOW: refused if anything is there), fsync'ed,
    not renamed: for the files of a fresh temporary directory (a checkpoint being written)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
                     | getattr(os, "O_BINARY", 0), 0o666)
    except FileExistsError:
        raise RnnkitError(f"{path} is in the way (expected a fresh directory): remove it") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any, indent: int = 2) -> Path:
    """JSON (no NaN or infinity: they are not JSON) to `path`, atomically."""
    return write_text(path, json.dumps(obj, indent=indent, allow_nan=False) + "\n")


def open_append(path: str | Path):
    """A text file opened for appending (created if missing), never through a link."""
    path = refuse_link(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o666)
    except IsADirectoryError:
        raise RnnkitError(f"{path} is a directory; expected a file there") from None
    return os.fdopen(fd, "a", encoding="utf-8")


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """A matplotlib figure as PNG at `path` (rendered in memory, then write_bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return write_bytes(path, buffer.getvalue())


def make_dir(path: str | Path) -> Path:
    """`path` as a directory (made with its parents if missing), refusing a link or a file."""
    path = refuse_link(path)
    if path.exists() and not path.is_dir():
        raise RnnkitError(f"{path} is a file; expected a directory there: choose another path")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RnnkitError(f"{path}: a part of this path is a file, not a directory; choose "
                          "another path") from None
    return path


def fsync_dir(path: str | Path) -> None:
    """Make the renames in directory `path` durable (POSIX; directories cannot be opened on
    Windows)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_new(tmp: Path) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
    try:
        return os.open(tmp, flags, 0o666)
    except FileExistsError:  # a stale temporary file of a crashed process with our pid
        if tmp.is_symlink() or not tmp.is_file():
            raise RnnkitError(f"{tmp} is in the way (not a file rnnkit left): remove it") from None
        tmp.unlink()
        return os.open(tmp, flags, 0o666)
