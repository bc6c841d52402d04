"""`--data.path`: a directory of WAV files with transcript.txt, or a JSON-lines file of strokes.

The items are shuffled with data.seed and cut into test, validation (data.valid_fraction of them
each) and training parts; the alphabet is every character of the training texts (a validation
or test text with another character is an error that names it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.audio import wav_features
from rnnkit.data.recognition_files import read_strokes_jsonl, read_transcript_dir
from rnnkit.errors import DataError
from rnnkit.tasks.recognize.items import Source


def load_items(path) -> tuple[str, list]:
    """(kind, [(features, text)]) of a WAV directory ("speech") or a .jsonl file ("strokes")."""
    path = Path(path)
    if path.is_dir():
        pairs = read_transcript_dir(path)
        return "speech", [(wav_features(wav), text) for wav, text in pairs]
    if path.suffix.lower() in (".jsonl", ".json"):
        return "strokes", read_strokes_jsonl(path)
    raise DataError(f"data.path: {path} is neither a directory of WAV files nor a .jsonl file "
                    "of strokes")


def load_own(d) -> Source:
    kind, items = load_items(d.path)
    n_held = max(1, int(round(len(items) * d.valid_fraction)))
    if len(items) < 2 * n_held + 1:
        raise DataError(f"data.path: {len(items)} item(s) are too few to hold out validation "
                        "and test items; give at least 3")
    order = np.random.default_rng(d.seed).permutation(len(items))
    test = [items[i] for i in order[:n_held]]
    valid = [items[i] for i in order[n_held : 2 * n_held]]
    train = [items[i] for i in order[2 * n_held :]]
    alphabet = "".join(sorted({c for _, t in train for c in t}))
    return Source(kind, alphabet, train, valid, test, {"path": str(d.path)})
