"""A run directory's safety: what may become a run, and one process at a time.

    check_fresh(run_dir)   a new run goes only into a missing or empty directory (an old lock
                           file aside): a directory holding anything else is refused, whether it
                           is someone's folder (rnnkit would mix its best/ and last/ with theirs)
                           or the remains of a run that lost its config.json. rnnkit deletes
                           nothing it did not write, so it does not clean up either.
    check_no_links(..)     no name rnnkit writes in the directory is a symbolic link.
    RunLock(run_dir)       an exclusive lock (fcntl.flock) on RUN_DIR/.rnnkit.lock, held while
                           a process trains into the directory; the file says who holds it
                           (pid, host, since when), and the refusal says so. The lock goes with
                           the process (the kernel drops it when the process dies, kill -9
                           included); the file stays, and is harmless.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from rnnkit.errors import RnnkitError
from rnnkit.files import refuse_link

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not locked (docs/reliability.md)
    fcntl = None

LOCK_NAME = ".rnnkit.lock"
# Signs of an rnnkit run (besides config.json): with them and without config.json, a damaged run.
RUN_SIGNS = ("metrics.jsonl", "last/state.json", "best/state.json", "last.old/state.json",
             "members")


# Every name rnnkit writes directly in a run directory (checkpoint temporaries are checked where
# they are made): none may be a symbolic link (rnnkit.files).
WRITTEN = ("config.json", "metrics.jsonl", "last", "best", "last.old", "best.old", "members",
           "calibration.json", "ensemble.json", "curves.png", "tensorboard", LOCK_NAME)


def check_no_links(run_dir: Path) -> None:
    """Refuse a run directory where a name rnnkit writes is a symbolic link, before anything
    is written (the writers check again, one by one)."""
    for name in WRITTEN:
        refuse_link(Path(run_dir) / name)


def check_fresh(run_dir: Path) -> None:
    """Refuse a `--out` that cannot take a new run (see the module doc)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RnnkitError(f"--out: {run_dir} is a file; expected a directory for the run "
                          "(missing or empty): choose another path")
    if not run_dir.is_dir():
        return
    if (run_dir / "config.json").exists():
        raise RnnkitError(f"--out: {run_dir} already holds a run; continue it with "
                          f"--resume {run_dir}, or choose another directory")
    present = sorted(p.name for p in run_dir.iterdir() if p.name != LOCK_NAME)
    if not present:
        return
    shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
    if any((run_dir / sign).exists() for sign in RUN_SIGNS):
        raise RnnkitError(f"--out: {run_dir} holds a run without its config.json ({shown}); "
                          "rnnkit cannot resume it and will not overwrite it: move it away, "
                          "or choose another directory")
    raise RnnkitError(f"--out: {run_dir} is not empty and is not an rnnkit run ({shown}); "
                      "choose a new or empty directory")


class RunLock:
    """`with RunLock(run_dir):` the process's exclusive claim on the directory (module doc)."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        if fcntl is None:
            return
        refuse_link(self.path)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RnnkitError(f"{self.path.parent} is in use by another rnnkit process "
                              f"({holder(self.path)}); wait for it to finish, or stop it, "
                              "then try again") from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def holder(path: Path) -> str:
    """Who holds the lock at `path`, from what the holder wrote into it."""
    try:
        info = json.loads(Path(path).read_text())
        return f"pid {info['pid']} on {info['host']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):  # written a moment ago, or damaged
        return "holder unknown"
