"""From a language model and a text to the page's data: tokens, recording, properties, ranking."""

from __future__ import annotations

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.viewer.page import page_data
from rnnkit.viewer.properties import correlations, text_properties, token_properties
from rnnkit.viewer.record import kinds_of, record


def default_kinds(mode: str) -> tuple[str, ...]:
    """What a page shows unless told: h, the state every cell has and its output (each kind
    adds about 4 MB to a page of 20,000 tokens x 512 units)."""
    return ("h",)


def parse_kinds(spec: str | None, mode: str) -> tuple[str, ...]:
    """--kinds "h,c,f" -> ("h", "c", "f"); "all" -> every kind; None -> default_kinds."""
    if spec is None:
        return default_kinds(mode)
    if spec == "all":
        return kinds_of(mode)
    kinds = tuple(dict.fromkeys(k.strip() for k in spec.split(",") if k.strip()))
    allowed = kinds_of(mode)
    bad = [k for k in kinds if k not in allowed]
    if not kinds or bad:
        raise RnnkitError(f"--kinds: a {mode} model shows {', '.join(allowed)} (or all); got "
                          f"{spec!r}")
    return kinds


def pieces_of(tokenizer, ids: np.ndarray) -> list[str]:
    """The text each token adds (a byte inside a multi-byte character adds '')."""
    decode = tokenizer.stream_decoder()
    return [decode(int(i)) for i in ids]


def vocabulary(tokenizer) -> list[str]:
    """How the page names every token id in the predictions."""
    if tokenizer.kind == "byte":
        return [chr(i) if i < 128 else f"<{i:#04x}>" for i in range(256)]
    return [tokenizer.decode([i]) for i in range(tokenizer.vocab_size)]


def inspect_data(model, tokenizer, text: str, kinds: tuple[str, ...], levels: int = 16,
                 top_k: int = 5, title: str = "") -> dict:
    """The page's data for `model` (a LanguageModel) run over `text` from a zero state."""
    if not text:
        raise RnnkitError("--text: the file is empty; give some text to run the model over")
    ids = np.asarray(tokenizer.encode(text))  # a character outside the vocabulary: one line
    pieces = pieces_of(tokenizer, ids)
    rec = record(model, ids, kinds, top_k=top_k)
    ends = np.cumsum([len(p) for p in pieces])
    props = token_properties(text_properties("".join(pieces)), ends)
    corr = {kind: correlations(acts, props) for kind, acts in rec.acts.items()}
    return page_data(rec, pieces, vocabulary(tokenizer), props, corr, levels, title)


def best_units(data: dict, count: int = 5) -> list[tuple[str, int, str, float]]:
    """The `count` (kind, unit, property, r) with the largest |r| in the page's data."""
    found = []
    for kind, d in data["kinds"].items():
        for u, row in enumerate(d["corr"]):
            j = int(np.argmax(np.abs(row)))
            found.append((kind, u, data["properties"][j], row[j]))
    return sorted(found, key=lambda x: -abs(x[3]))[:count]
