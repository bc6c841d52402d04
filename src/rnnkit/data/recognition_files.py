"""Your own recognition data: a directory of WAV files with a transcript, or pen strokes in JSON.

Speech: DIR/transcript.txt has one line per file, `NAME.wav TEXT` (the first space separates
them; blank lines and lines starting with # are skipped), and every NAME.wav in DIR has exactly
one line. Strokes: a JSON-lines file, one item per line, {"strokes": [[dx, dy, pen_up], ...],
"text": "..."}; a single input to transcribe is the same object (its "text", if any, ignored).
Every problem is one DataError naming the file and line; nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit.data.files import read_text
from rnnkit.errors import DataError

TRANSCRIPT = "transcript.txt"


def read_transcript_dir(folder) -> list[tuple[Path, str]]:
    """(WAV path, text) pairs of DIR, in transcript order, checked against the files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a directory; expected a directory of WAV files with "
                        f"{TRANSCRIPT}")
    path = folder / TRANSCRIPT
    if not path.is_file():
        raise DataError(f"{folder}: no {TRANSCRIPT}; write one line per WAV file: NAME.wav TEXT")
    pairs, seen = [], {}
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, text = line.strip().partition(" ")
        text = text.strip()
        if not name.lower().endswith(".wav") or not text:
            raise DataError(f"{path}:{n}: expected 'NAME.wav TEXT', got {line.strip()!r}")
        if name in seen:
            raise DataError(f"{path}:{n}: {name} is listed again (first on line {seen[name]})")
        if not (folder / name).is_file():
            raise DataError(f"{path}:{n}: {name} is not a file in {folder}")
        seen[name] = n
        pairs.append((folder / name, text))
    unlisted = sorted(p.name for p in folder.iterdir()
                      if p.suffix.lower() == ".wav" and p.name not in seen)
    if unlisted:
        raise DataError(f"{path}: {len(unlisted)} WAV file(s) have no line, e.g. {unlisted[0]}; "
                        "add a line 'NAME.wav TEXT' for each or move them out")
    if not pairs:
        raise DataError(f"{path}: no lines; write one line per WAV file: NAME.wav TEXT")
    return pairs


def strokes_array(value, where: str) -> np.ndarray:
    """(T, 3) float32 from a list of [dx, dy, pen_up] triples."""
    try:
        frames = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        frames = None
    if frames is None or frames.ndim != 2 or frames.shape[1] != 3 or len(frames) == 0:
        raise DataError(f"{where}: \"strokes\" must be a non-empty list of [dx, dy, pen_up]")
    if not np.isfinite(frames).all():
        raise DataError(f"{where}: \"strokes\" holds a value that is not a finite number")
    return frames


def _item(obj, where: str, labelled: bool):
    if not isinstance(obj, dict) or "strokes" not in obj:
        raise DataError(f"{where}: expected an object {{\"strokes\": [[dx, dy, pen_up], ...], "
                        "\"text\": \"...\"}")
    text = obj.get("text")
    if labelled and (not isinstance(text, str) or not text):
        raise DataError(f"{where}: no \"text\" (a non-empty string) for this item")
    return strokes_array(obj["strokes"], where), text


def read_strokes_jsonl(path, labelled: bool = True) -> list[tuple[np.ndarray, str]]:
    """(frames (T, 3), text) per line of a JSON-lines file."""
    path = Path(path)
    items = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{n}: not JSON ({err.msg})") from None
        items.append(_item(obj, f"{path}:{n}", labelled))
    if not items:
        raise DataError(f"{path}: no items")
    return items


def read_strokes_json(path) -> np.ndarray:
    """The frames of one item: a JSON object {"strokes": [...]} (a .jsonl: its first line)."""
    path = Path(path)
    text = read_text(path)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return read_strokes_jsonl(path, labelled=False)[0][0]
    return _item(obj, str(path), labelled=False)[0]
