"""The record a recognition data source gives: (kind, alphabet, train, valid, test, info).

kind is what a new input file is turned into features by ("frames", "speech", "strokes"); items
are (features (T, F) float32, text). Its own module so that the named sources (sources.py) and the
user's files (own_data.py) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Source:
    kind: str
    alphabet: str
    train: list
    valid: list
    test: list
    info: dict
