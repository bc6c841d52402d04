"""A vocabulary for sequence-to-sequence text: characters or words -> ids, with the four ids an
encoder-decoder needs: 0 = `<pad>`, 1 = `<unk>`, 2 = `<s>` (BOS), 3 = `</s>` (EOS).

Pieces the vocabulary lacks encode as `<unk>` (a translation model must read any input);
`unknown(text)` lists them, so a command can say which. Words are runs of letters and digits or
single other characters (spaces dropped; decoding joins words with one space); characters keep
every character, spaces included, so decoding gives the text back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rnnkit.errors import ConfigError, DataError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
KINDS = ("char", "word")
_WORDS = re.compile(r"\w+|[^\w\s]")


class SeqVocab:
    """`encode(text) -> list[int]` (no BOS/EOS), `decode(ids) -> str` (stops at EOS, skips the
    other special ids)."""

    def __init__(self, kind: str, pieces: list[str]):
        if kind not in KINDS:
            raise ConfigError(f"data.tokenizer: expected one of {', '.join(KINDS)}, got {kind!r}")
        if tuple(pieces[:4]) != SPECIALS or len(set(pieces)) != len(pieces):
            raise DataError(f"vocabulary: expected distinct pieces starting with {SPECIALS}")
        self.kind, self.pieces = kind, list(pieces)
        self._index = {p: i for i, p in enumerate(self.pieces)}

    def split(self, text: str) -> list[str]:
        return list(text) if self.kind == "char" else _WORDS.findall(text)

    @classmethod
    def build(cls, texts: Iterable[str], kind: str = "char", min_freq: int = 1,
              max_size: int = 0) -> SeqVocab:
        """Pieces seen >= min_freq times in `texts`, most frequent first (ties alphabetical, so
        the same texts give the same ids), at most `max_size` ids in all (0 = no cap)."""
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ConfigError(f"data.min_freq: expected an integer >= 1, got {min_freq!r}")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0 or (
                0 < max_size <= len(SPECIALS)):
            raise ConfigError(f"data.max_vocab: expected 0 (no cap) or an integer > "
                              f"{len(SPECIALS)}, got {max_size!r}")
        probe = cls(kind, list(SPECIALS))
        counts = Counter(p for t in texts for p in probe.split(t))
        kept = sorted((p for p, n in counts.items() if n >= min_freq and p not in SPECIALS),
                      key=lambda p: (-counts[p], p))
        if max_size:
            kept = kept[: max_size - len(SPECIALS)]
        if not kept:
            raise DataError("vocabulary: no piece occurs data.min_freq times in the training text")
        return cls(kind, [*SPECIALS, *kept])

    @property
    def size(self) -> int:
        return len(self.pieces)

    def encode(self, text: str) -> list[int]:
        index = self._index
        return [index.get(p, UNK_ID) for p in self.split(text)]

    def unknown(self, text: str) -> list[str]:
        """The distinct pieces of `text` that encode as `<unk>`, in order of appearance."""
        return list(dict.fromkeys(p for p in self.split(text) if p not in self._index))

    def decode(self, ids: Iterable[int]) -> str:
        pieces = []
        for i in ids:
            if i == EOS_ID:
                break
            if i > EOS_ID:
                pieces.append(self.pieces[i])
            elif i == UNK_ID:
                pieces.append(UNK)
        return ("" if self.kind == "char" else " ").join(pieces)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "pieces": self.pieces}

    @classmethod
    def from_dict(cls, d: dict) -> SeqVocab:
        try:
            return cls(d["kind"], list(d["pieces"]))
        except (KeyError, TypeError):
            raise DataError("vocabulary: expected a dict with 'kind' and 'pieces'") from None
