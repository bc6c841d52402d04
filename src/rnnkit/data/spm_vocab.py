"""Sub-word tokens for sequence-to-sequence text: a sentencepiece unigram model trained on the
training text, with the ids of rnnkit.data.seq_vocab (0 `<pad>`, 1 `<unk>`, 2 `<s>`, 3 `</s>`).

The trained model is kept inside the vocabulary (`to_dict` holds its bytes, base64), so a run
directory rebuilds it without the training text. Same interface as SeqVocab: `encode`, `decode`,
`split` (the pieces, for heat-maps), `unknown`, `size`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable

from rnnkit.data.seq_vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from rnnkit.errors import ConfigError, RnnkitError

DEFAULT_SIZE = 8000


def _spm():
    try:
        import sentencepiece
    except ImportError:
        raise RnnkitError("data.tokenizer=sentencepiece needs sentencepiece: pip install "
                          "sentencepiece (or pip install 'rnnkit[data]')") from None
    return sentencepiece


class SpmVocab:
    kind = "sentencepiece"

    def __init__(self, model: bytes):
        self.model = bytes(model)
        self._sp = _spm().SentencePieceProcessor(model_proto=self.model)
        specials = [self._sp.pad_id(), self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()]
        if specials != [PAD_ID, UNK_ID, BOS_ID, EOS_ID]:
            raise RnnkitError(f"sentencepiece model: expected special ids 0-3, got {specials}")
        self.pieces = [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int = 0) -> SpmVocab:
        """A unigram model of at most `max_size` pieces (0 = DEFAULT_SIZE) fitted to `texts`."""
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise ConfigError(f"data.max_vocab: expected an integer >= 0, got {max_size!r}")
        out = io.BytesIO()
        _spm().SentencePieceTrainer.train(
            sentence_iterator=iter(list(texts)), model_writer=out,
            vocab_size=max_size or DEFAULT_SIZE, hard_vocab_limit=False, model_type="unigram",
            pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID, character_coverage=1.0,
            num_threads=1, minloglevel=2)
        return cls(out.getvalue())

    @property
    def size(self) -> int:
        return len(self.pieces)

    def encode(self, text: str) -> list[int]:
        return list(self._sp.encode(text))

    def split(self, text: str) -> list[str]:
        return list(self._sp.encode(text, out_type=str))

    def unknown(self, text: str) -> list[str]:
        pieces = (p.removeprefix("▁") for p in self.split(text) if self._sp.piece_to_id(p)
                  == UNK_ID)
        return list(dict.fromkeys(p for p in pieces if p))

    def decode(self, ids: Iterable[int]) -> str:
        kept = []
        for i in ids:
            if i == EOS_ID:
                break
            if i > EOS_ID or i == UNK_ID:
                kept.append(int(i))
        return self._sp.decode(kept)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "model": base64.b64encode(self.model).decode("ascii")}

    @classmethod
    def from_dict(cls, d: dict) -> SpmVocab:
        return cls(base64.b64decode(d["model"]))


def build_vocab(kind: str, texts: Iterable[str], min_freq: int = 1, max_size: int = 0):
    """A SeqVocab (`char`, `word`) or an SpmVocab (`sentencepiece`) fitted to `texts`."""
    from rnnkit.data.seq_vocab import SeqVocab

    if kind == "sentencepiece":
        return SpmVocab.build(texts, max_size)
    return SeqVocab.build(texts, kind, min_freq, max_size)


def vocab_from_dict(d: dict):
    from rnnkit.data.seq_vocab import SeqVocab

    if isinstance(d, dict) and d.get("kind") == SpmVocab.kind:
        return SpmVocab.from_dict(d)
    return SeqVocab.from_dict(d)
