"""Tokenizers for language modelling: characters (the default), UTF-8 bytes, and words.

Every tokenizer maps text to a 1-D int64 numpy array of ids and back, says how many characters of
the text each token stands for (so bits per character is defined for any tokenizer), and turns
into a JSON-serialisable dict for checkpoints (`to_dict` / `tokenizer_from_dict`).

- `CharTokenizer`: one id per Unicode character seen when it was built. Text with a character the
  vocabulary lacks raises `DataError` naming the characters (the byte tokenizer has no such gaps);
  `encode_known` instead marks them (rnnkit.data.unknown_chars scores such text).
- `ByteTokenizer`: the 256 UTF-8 byte values; any text encodes. A character is 1 to 4 tokens.
- `WordTokenizer`: words, single punctuation marks and whitespace runs (so decoding gives the text
  back); pieces seen fewer than `min_freq` times become `<unk>`.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from rnnkit.errors import ConfigError, DataError

UNK = "<unk>"
# A word, a whitespace run, or one other character: the pieces concatenate back to the text.
_WORD_PIECES = re.compile(r"\w+|\s+|[^\w\s]")
KINDS = ("char", "byte", "word")


def _as_ids(ids) -> list[int]:
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    return [int(i) for i in ids]


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of characters it was built on."""

    kind = "char"

    def __init__(self, chars: Sequence[str]):
        chars = list(chars)
        if not chars or any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise ConfigError("char tokenizer: 'chars' must be distinct single characters")
        self.chars = chars
        points = np.array([ord(c) for c in chars], dtype=np.uint32)
        self._order = np.argsort(points, kind="stable")  # sorted position -> id
        self._points = points[self._order]

    @classmethod
    def build(cls, text: str) -> CharTokenizer:
        if not text:
            raise DataError("char tokenizer: cannot build a vocabulary from empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode_known(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, known): the ids of `text` and a bool mask of the characters the vocabulary has;
        where `known` is False the id is -1."""
        # Vectorised: code points looked up in the sorted code points of the vocabulary.
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids_in = np.minimum(np.searchsorted(self._points, points), len(self._points) - 1)
        known = self._points[ids_in] == points
        # Map positions in the sorted code points back to this vocabulary's ids.
        ids = np.where(known, self._order[ids_in], -1).astype(np.int64)
        return ids, known

    def encode(self, text: str) -> np.ndarray:
        ids, known = self.encode_known(text)
        if not known.all():
            missing = sorted({text[i] for i in np.flatnonzero(~known).tolist()})
            shown = ", ".join(repr(c) for c in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise DataError(
                f"text has {len(missing)} character(s) the char vocabulary lacks: {shown}{more}; "
                "use the byte tokenizer (data.tokenizer=byte), which encodes any text"
            )
        return ids

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in _as_ids(ids))

    def char_lengths(self, text: str) -> np.ndarray:
        return np.ones(len(text), dtype=np.int64)

    def stream_decoder(self) -> Callable[[int], str]:
        return lambda i: self.chars[i]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": "".join(self.chars)}


class ByteTokenizer:
    """The UTF-8 bytes of the text: vocabulary 256, nothing is ever unknown."""

    kind = "byte"
    vocab_size = 256

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)

    def decode(self, ids) -> str:
        return bytes(_as_ids(ids)).decode("utf-8", errors="replace")

    def char_lengths(self, text: str) -> np.ndarray:
        # A character's first byte counts 1, its continuation bytes (10xxxxxx) count 0.
        raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        return ((raw & 0xC0) != 0x80).astype(np.int64)

    def stream_decoder(self) -> Callable[[int], str]:
        # Incremental: a character split over several bytes appears once its last byte arrives.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return lambda i: decoder.decode(bytes((i,)))

    def to_dict(self) -> dict:
        return {"kind": self.kind}


class WordTokenizer:
    """Words, punctuation marks and whitespace runs; rare pieces (< min_freq) become `<unk>`."""

    kind = "word"

    def __init__(self, words: Sequence[str], min_freq: int = 1):
        words = list(words)
        if not words or words[0] != UNK or len(set(words)) != len(words):
            raise ConfigError(f"word tokenizer: 'words' must be distinct and start with {UNK!r}")
        self.words = words
        self.min_freq = int(min_freq)
        self._index = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(cls, text: str, min_freq: int = 1) -> WordTokenizer:
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ConfigError(f"data.min_freq: expected an integer >= 1, got {min_freq!r}")
        counts = Counter(_WORD_PIECES.findall(text))
        if not counts:
            raise DataError("word tokenizer: cannot build a vocabulary from empty text")
        # Most frequent first, ties in a fixed (alphabetical) order: the same text, the same ids.
        kept = [w for w, n in counts.items() if n >= min_freq]
        kept.sort(key=lambda w: (-counts[w], w))
        return cls([UNK, *kept], min_freq)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> np.ndarray:
        pieces = _WORD_PIECES.findall(text)
        index = self._index
        return np.fromiter((index.get(p, 0) for p in pieces), dtype=np.int64, count=len(pieces))

    def decode(self, ids) -> str:
        return "".join(self.words[i] for i in _as_ids(ids))

    def char_lengths(self, text: str) -> np.ndarray:
        # Lengths of the original pieces, so an <unk> counts the characters it replaced.
        return np.array([len(p) for p in _WORD_PIECES.findall(text)], dtype=np.int64)

    def stream_decoder(self) -> Callable[[int], str]:
        return lambda i: self.words[i]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "words": list(self.words), "min_freq": self.min_freq}


Tokenizer = CharTokenizer | ByteTokenizer | WordTokenizer


def build_tokenizer(kind: str, text: str, min_freq: int = 1) -> Tokenizer:
    """A tokenizer of `kind` ('char', 'byte' or 'word') fitted to `text`."""
    if kind == "char":
        return CharTokenizer.build(text)
    if kind == "byte":
        return ByteTokenizer()
    if kind == "word":
        return WordTokenizer.build(text, min_freq)
    raise ConfigError(f"data.tokenizer: expected one of {', '.join(KINDS)}, got {kind!r}")


def tokenizer_from_dict(d: dict) -> Tokenizer:
    """Inverse of `tokenizer.to_dict()` (as stored in a checkpoint's metadata)."""
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind == "char":
        return CharTokenizer(list(d["chars"]))
    if kind == "byte":
        return ByteTokenizer()
    if kind == "word":
        return WordTokenizer(d["words"], d.get("min_freq", 1))
    raise DataError(f"tokenizer: expected a dict with kind in {KINDS}, got kind {kind!r}")
