"""Scoring text that holds characters a language model's vocabulary lacks.

A char vocabulary has no unknown token, so `rnnkit evaluate` of a language model on a user's own
held-out text would otherwise stop at the first character the training text never had. Instead:

- as a **target**, an unknown character is excluded: it is not scored and counts neither as a
  token nor as a character of the bits-per-character;
- as an **input** (the context for the next prediction), it is read as a stand-in: a space if the
  vocabulary has one, else the known character most frequent in the scored text (ties: the
  lowest id);
- the count and the distinct characters (up to MAX_SHOWN, in order of first appearance) are
  reported;
- if more than MAX_UNKNOWN_SHARE of the text's characters are unknown, the text does not match
  the model's vocabulary and scoring it is refused (`DataError`, one line).

Byte vocabularies encode any text, and the word tokenizer maps unknown words to `<unk>` (scored
as such), so only `CharTokenizer` has unknown characters; the other tokenizers pass through with
every target kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import DataError

MAX_UNKNOWN_SHARE = 0.05  # above this share of unknown characters, scoring is refused
MAX_SHOWN = 10  # distinct unknown characters named in the report


@dataclass
class ScoringText:
    ids: np.ndarray  # (N,) int64 token ids, unknown characters replaced by `stand_in`
    char_lengths: np.ndarray  # (N,) characters each token stands for
    target_mask: np.ndarray | None  # (N,) bool, False where the token is not scored; None: all
    excluded: int  # characters of the text the vocabulary lacks (none of them is scored)
    unknown: list[str]  # up to MAX_SHOWN distinct unknown characters, in order of appearance
    stand_in: str | None  # the character unknown inputs are read as; None if nothing unknown


def stand_in_id(chars: list[str], ids: np.ndarray, known: np.ndarray) -> int:
    """A space if the vocabulary has one, else the known character most frequent in `ids`."""
    if " " in chars:
        return chars.index(" ")
    counts = np.bincount(ids[known], minlength=len(chars))
    return int(np.argmax(counts))  # argmax takes the lowest id among ties


def encode_for_scoring(tokenizer, text: str, source: str = "--data") -> ScoringText:
    """`text` as ids to score with `tokenizer`, unknown characters excluded as targets and read
    as a stand-in as inputs (see the module docstring). `source` names the text in errors."""
    lengths = tokenizer.char_lengths(text)
    if not hasattr(tokenizer, "encode_known"):  # byte and word tokenizers: nothing is unknown
        return ScoringText(tokenizer.encode(text), lengths, None, 0, [], None)
    ids, known = tokenizer.encode_known(text)
    excluded = int(len(known) - np.count_nonzero(known))
    if excluded == 0:
        return ScoringText(ids, lengths, None, 0, [], None)
    unknown_at = np.flatnonzero(~known).tolist()
    distinct = list(dict.fromkeys(text[i] for i in unknown_at))
    shown = distinct[:MAX_SHOWN]
    if excluded > MAX_UNKNOWN_SHARE * len(text):
        more = f" and {len(distinct) - MAX_SHOWN} more" if len(distinct) > MAX_SHOWN else ""
        raise DataError(
            f"{source}: {excluded} of {len(text)} characters ({excluded / len(text):.1%}) are "
            f"not in the model's char vocabulary ({', '.join(map(repr, shown))}{more}): the text "
            f"does not match the model's vocabulary (at most {MAX_UNKNOWN_SHARE:.0%} may be "
            "unknown); score text like the training text, or train with --data.tokenizer=byte"
        )
    stand = stand_in_id(tokenizer.chars, ids, known)
    return ScoringText(np.where(known, ids, stand), lengths, known, excluded,
                       [repr(c) for c in shown], tokenizer.chars[stand])
