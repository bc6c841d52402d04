"""The DNA alphabet: A, C, G, T and N, as the ids a model reads, and the reverse complement.

    id 0: padding   1: A   2: C   3: G   4: T   5: N (any base)

Letters are read case-insensitively (lower case is soft-masking, not a different base). The other
IUPAC codes (R Y S W K M B D H V: two or more possible bases) become N, and U (RNA) becomes T;
each such letter is counted (`Cleaned.mapped`), never dropped, so a caller can report how much of
its input was ambiguous. Anything else (a digit, '-', '*', '.') is an error naming where it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from rnnkit.errors import DataError

BASES = "ACGTN"
PAD, N_ID = 0, 5
N_IDS = 6  # padding + the five letters
AMBIGUOUS = "RYSWKMBDHV"  # IUPAC codes for two or more bases: read as N
_MAP = {**{b: b for b in BASES}, **{c: "N" for c in AMBIGUOUS}, "U": "T"}
# id -> id of the complementary base (padding and N map to themselves)
COMPLEMENT_IDS = np.array([0, 4, 3, 2, 1, 5], dtype=np.int64)
_TABLE = np.zeros(256, dtype=np.int64)
for _i, _b in enumerate(BASES, start=1):
    _TABLE[ord(_b)] = _i


@dataclass
class Cleaned:
    """A sequence over A C G T N, and how many of each other letter were mapped into it."""

    sequence: str
    mapped: Counter = field(default_factory=Counter)


def clean(text: str, where: str = "sequence", line_of=None) -> Cleaned:
    """`text` (letters only: whitespace is the caller's business) upper-cased and mapped onto
    A C G T N. A letter outside the IUPAC alphabet raises one DataError naming `where`, the
    1-based position in the sequence and, when `line_of(position)` is given, the file line."""
    upper = text.upper()
    if set(upper) <= set(BASES):  # the common case: nothing to map
        return Cleaned(upper)
    mapped: Counter = Counter()
    out = []
    for i, ch in enumerate(upper):
        base = _MAP.get(ch)
        if base is None:
            line = f" (line {line_of(i)})" if line_of is not None else ""
            raise DataError(f"{where}: position {i + 1}{line}: {text[i]!r} is not a DNA letter; "
                            "expected A, C, G, T, N or an IUPAC code (R Y S W K M B D H V)")
        if base != ch:
            mapped[ch] += 1
        out.append(base)
    return Cleaned("".join(out), mapped)


def encode(sequence: str) -> np.ndarray:
    """Ids (T,) int64 of a sequence over A C G T N (as `clean` returns it)."""
    ids = _TABLE[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]
    if ids.size and int(ids.min()) == 0:
        i = int(np.argmin(ids))
        raise DataError(f"sequence: position {i + 1}: {sequence[i]!r} is not one of A C G T N "
                        "(clean the sequence first)")
    return ids


def decode(ids) -> str:
    """The letters of ids 1..5 (padding, id 0, is left out)."""
    return "".join(BASES[i - 1] for i in np.asarray(ids).tolist() if i)


def reverse_complement(sequence: str) -> str:
    """The other strand, read 5' to 3': reversed, A<->T, C<->G, N stays N."""
    return sequence.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


def reverse_complement_ids(ids: np.ndarray) -> np.ndarray:
    """`reverse_complement` on ids (T,) without padding."""
    return COMPLEMENT_IDS[np.asarray(ids)[::-1]]
