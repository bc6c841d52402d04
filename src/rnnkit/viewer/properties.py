"""Simple properties of a text, per character, that a unit of a language model may track.

Each is causal: its value at character t depends on the text up to and including t, what the
model has read when its state at t is taken. The scanner knows Python's lexical rules well
enough for the default corpus (quotes, triple quotes, backslash escapes, `#` comments); on other
text the same rules give the same numbers (an apostrophe in prose opens a "string").

    in_string      1 inside a string literal, its opening and closing quote included
    in_comment     1 from `#` (outside a string) to the end of the line
    in_brackets    1 where at least one of ( [ { is open (outside strings and comments)
    bracket_depth  how many of ( [ { are open
    indent         the leading spaces and tabs of the current line read so far
    column         the position in the line: 0 at its first character
    in_word        1 on a letter, digit or underscore

`correlations` scores every unit against every property (Pearson's r).
"""

from __future__ import annotations

import numpy as np

NAMES = ("in_string", "in_comment", "in_brackets", "bracket_depth", "indent", "column",
         "in_word")
OPEN, CLOSE = "([{", ")]}"


def text_properties(text: str) -> dict[str, np.ndarray]:
    """{name: (len(text),) float32} for every property in NAMES."""
    n = len(text)
    out = {name: np.zeros(n, np.float32) for name in NAMES}
    quote = ""  # the open string's delimiter: ', ", ''' or """
    comment = escaped = False
    depth = column = indent = 0
    leading = True  # still in the line's leading whitespace
    i = 0
    while i < n:
        ch = text[i]
        step = 1
        opened_here = False
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif text.startswith(quote, i):
                step = len(quote)
                for k in range(i, min(i + step, n)):  # the closing quote is inside
                    out["in_string"][k] = 1.0
                quote = ""
            elif ch == "\n" and len(quote) == 1:
                quote = ""  # an unterminated one-line string ends with its line
        elif comment:
            if ch == "\n":
                comment = False
        elif ch == "#":
            comment = True
        elif ch in "'\"":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            step, opened_here = len(quote), True
        elif ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(depth - 1, 0)
        for k in range(i, min(i + step, n)):
            c = text[k]
            if opened_here or quote:
                out["in_string"][k] = 1.0
            out["in_comment"][k] = float(comment)
            out["bracket_depth"][k] = depth
            leading = leading and c in " \t"
            indent += leading
            out["indent"][k] = indent
            out["column"][k] = column
            out["in_word"][k] = float(c.isalnum() or c == "_")
            column += 1
            if c == "\n":
                column = indent = 0
                leading = True
        i += step
    out["in_brackets"] = (out["bracket_depth"] > 0).astype(np.float32)
    return out


def token_properties(props: dict[str, np.ndarray], piece_ends: np.ndarray) -> dict[str, np.ndarray]:
    """Per token: each property at the last character of the token (piece_ends[t] = the index
    one past it; a token that adds no character, an incomplete UTF-8 byte, takes the last one
    before it, or 0 at the very start)."""
    idx = np.clip(piece_ends - 1, 0, None)
    return {name: np.where(piece_ends > 0, values[idx] if len(values) else 0, 0).astype(
        np.float32) for name, values in props.items()}


def correlations(acts: np.ndarray, props: dict[str, np.ndarray]) -> np.ndarray:
    """(U, P) Pearson r of each unit's activation acts[:, u] (T, U) with each property (T,),
    in float64; 0 where either side is constant (no variance, no correlation to speak of)."""
    a = acts.astype(np.float64)
    a = a - a.mean(axis=0)
    a_norm = np.sqrt((a * a).sum(axis=0))  # (U,)
    result = np.zeros((a.shape[1], len(props)))
    for j, values in enumerate(props.values()):
        p = values.astype(np.float64) - values.mean()
        p_norm = np.sqrt(p @ p)
        denom = a_norm * p_norm
        ok = denom > 1e-12 * max(1.0, float(denom.max(initial=0.0)))
        result[ok, j] = (a[:, ok].T @ p) / denom[ok]
    return result
