"""A vocabulary for classifying short texts: characters or words -> ids, with padding and `<unk>`.

Classification differs from language modelling in what it needs from a tokenizer: id 0 must be
padding (the embedding's `padding_idx`), text never seen in training must still encode (unknown
pieces map to `<unk>`, id 1), and the vocabulary is capped (`max_size`) and lower-cased by
default. With `url_token`, web addresses become the one piece `<url>` and @mentions `<user>`
(tweets hold thousands of distinct ones, each too rare to learn). The language-model
tokenizers (rnnkit.data.tokenizers) keep every character and have no padding id, so this small
class is kept separate; it serialises to JSON (`to_dict`/`from_dict`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from rnnkit.errors import ConfigError, DataError

PAD, UNK = "<pad>", "<unk>"
KINDS = ("word", "char")
_WORDS = re.compile(r"\w+|[^\w\s]")  # words and single punctuation marks; spaces dropped
URL, USER = "<url>", "<user>"
_URLS = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTIONS = re.compile(r"(?<!\w)@\w+")
_WORDS_URL = re.compile(r"<url>|<user>|\w+|[^\w\s]")


class TextVocab:
    """Maps text to int64 ids: 0 = `<pad>`, 1 = `<unk>`, then pieces, most frequent first."""

    def __init__(self, kind: str, pieces: list[str], lowercase: bool = True,
                 url_token: bool = False):
        if kind not in KINDS:
            raise ConfigError(f"data.tokenizer: expected one of {', '.join(KINDS)}, got {kind!r}")
        if pieces[:2] != [PAD, UNK]:
            raise DataError(f"text vocabulary: expected it to start with {PAD}, {UNK}")
        self.kind = kind
        self.pieces = list(pieces)
        self.lowercase = bool(lowercase)
        self.url_token = bool(url_token)
        self._index = {p: i for i, p in enumerate(self.pieces)}

    def split(self, text: str) -> list[str]:
        if self.url_token:
            text = _MENTIONS.sub(f" {USER} ", _URLS.sub(f" {URL} ", text))
        if self.lowercase:
            text = text.lower()
        if self.kind == "char":
            return list(text)
        return (_WORDS_URL if self.url_token else _WORDS).findall(text)

    @classmethod
    def build(cls, texts: Iterable[str], kind: str = "word", min_freq: int = 1,
              max_size: int = 0, lowercase: bool = True, url_token: bool = False) -> TextVocab:
        """Fit on training texts: pieces seen >= min_freq times, at most `max_size` ids in all
        (0 = no cap); ties broken alphabetically so the same texts give the same ids."""
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ConfigError(f"data.min_freq: expected an integer >= 1, got {min_freq!r}")
        if not isinstance(max_size, int) or max_size < 0 or 0 < max_size < 3:
            raise ConfigError(f"data.max_vocab: expected 0 (no cap) or an integer >= 3, "
                              f"got {max_size!r}")
        probe = cls(kind, [PAD, UNK], lowercase, url_token)
        counts = Counter(p for t in texts for p in probe.split(t))
        kept = sorted((p for p, n in counts.items() if n >= min_freq),
                      key=lambda p: (-counts[p], p))
        if max_size:
            kept = kept[: max_size - 2]
        if not kept:
            raise DataError("text vocabulary: no piece occurs min_freq times in the training text")
        return cls(kind, [PAD, UNK, *kept], lowercase, url_token)

    @property
    def size(self) -> int:
        return len(self.pieces)

    def encode(self, text: str, max_len: int = 0) -> np.ndarray:
        """Ids of `text` (at least one: an empty text is `<unk>`), cut to `max_len` if > 0."""
        return self.encode_pieces(text, max_len)[0]

    def encode_pieces(self, text: str, max_len: int = 0) -> tuple[np.ndarray, list[str]]:
        """(ids, the pieces they stand for); an empty text is one `<unk>`."""
        pieces = self.split(text)[: max_len or None] or [UNK]
        ids = np.fromiter((self._index.get(p, 1) for p in pieces), dtype=np.int64,
                          count=len(pieces))
        return ids, pieces

    def to_dict(self) -> dict:
        return {"kind": self.kind, "pieces": self.pieces, "lowercase": self.lowercase,
                "url_token": self.url_token}

    @classmethod
    def from_dict(cls, d: dict) -> TextVocab:
        try:
            return cls(d["kind"], list(d["pieces"]), bool(d.get("lowercase", True)),
                       bool(d.get("url_token", False)))
        except (KeyError, TypeError):
            raise DataError("text vocabulary: expected a dict with 'kind' and 'pieces'") from None
