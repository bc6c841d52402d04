"""The viewer's one HTML file: page.html, page.css and page.js from this package with the data
embedded as JSON, nothing fetched from anywhere.

The activations are quantised per unit and kind: q = round((a - lo) / (hi - lo) * (levels - 1))
with lo, hi the unit's own minimum and maximum over the text, one byte per value, unit by unit
(a unit's trace is one contiguous slice), then zlib-compressed and base64-encoded; the page
inflates them with the browser's DecompressionStream. With the default 16 levels a value is
within (hi - lo) / 30 of the recorded one (enough for a colour and a 12-pixel trace; the ranking
is computed from the recorded values, not these), and zlib stores about 2.5 bits per value:
about 4 MB a kind for 20,000 tokens x 512 units (sizes: docs/inspect.md).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.files import refuse_link, write_text
from rnnkit.viewer.record import Recording, is_sigmoid

GENERATOR = '<meta name="generator" content="rnnkit inspect">'
FORMAT = 1  # the data layout page.js reads


def b64(data: bytes, compress: bool = False) -> str:
    return base64.b64encode(zlib.compress(data, 9) if compress else data).decode("ascii")


def quantise(acts: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, T) uint8 codes, lo (U,), hi (U,) of acts (T, U); a constant unit gets all zeros."""
    if not 2 <= levels <= 256:
        raise RnnkitError(f"--levels: expected 2 to 256, got {levels}")
    lo, hi = acts.min(axis=0), acts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    q = np.rint((acts - lo) / span * (levels - 1)).astype(np.uint8)
    return np.ascontiguousarray(q.T), lo, hi


def dequantise(q: np.ndarray, lo: np.ndarray, hi: np.ndarray, levels: int) -> np.ndarray:
    """(T, U) values of the (U, T) codes, as page.js computes them."""
    return (lo[:, None] + q.astype(np.float64) * (hi - lo)[:, None] / (levels - 1)).T


def page_data(rec: Recording, pieces: list[str], vocab: list[str], props: dict[str, np.ndarray],
              corr: dict[str, np.ndarray], levels: int = 16, title: str = "") -> dict:
    """The JSON object the page reads (FORMAT 1)."""
    kinds = {}
    for kind, acts in rec.acts.items():
        q, lo, hi = quantise(acts, levels)
        kinds[kind] = {"sigmoid": is_sigmoid(rec.mode, kind), "lo": _round(lo), "hi": _round(hi),
                       "data": b64(q.tobytes(), compress=True),
                       "corr": [[round(float(r), 3) for r in row] for row in corr[kind]]}
    wide = len(vocab) > 256
    ids = rec.top_ids.astype("<u2" if wide else np.uint8)
    prop_codes = np.stack([np.clip(np.rint(v), 0, 255) for v in props.values()]).astype(np.uint8)
    next_prob = np.where(np.isnan(rec.next_prob), 255, np.rint(rec.next_prob * 254))
    return {
        "format": FORMAT, "title": title, "mode": rec.mode, "layers": rec.num_layers,
        "hidden": rec.hidden_size, "levels": levels, "pieces": pieces, "vocab": vocab,
        "kinds": kinds, "properties": list(props), "props": b64(prop_codes.tobytes(), True),
        "k": int(ids.shape[1]), "top_wide": wide, "top_ids": b64(ids.tobytes(), True),
        "top_probs": b64(np.rint(rec.top_probs * 255).astype(np.uint8).tobytes(), True),
        "next_prob": b64(next_prob.astype(np.uint8).tobytes(), True),
    }


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in values.tolist()]


def render(data: dict) -> str:
    """The whole page: the template with its style, script and data inlined."""
    pkg = resources.files("rnnkit.viewer")
    template = (pkg / "page.html").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("<", "\\u003c")  # no "</script>" can end the block early
    parts = {"/*STYLE*/": (pkg / "page.css").read_text(encoding="utf-8"),
             "/*SCRIPT*/": (pkg / "page.js").read_text(encoding="utf-8"),
             "/*DATA*/": payload, "<!--GENERATOR-->": GENERATOR,
             "<!--TITLE-->": _escape(data.get("title") or "rnnkit inspect")}
    found = [m for m in parts if template.count(m) != 1]
    if found:
        raise RnnkitError(f"rnnkit's page.html has {found[0]} {template.count(found[0])} "
                          "times, expected once: this is a bug in rnnkit")
    # one pass over the template: what is put in is never searched for markers again
    pattern = "|".join(re.escape(m) for m in parts)
    return re.sub(pattern, lambda m: parts[m.group(0)], template)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_page(path: str | Path, html: str) -> Path:
    """`html` to `path`, replacing a file there only if rnnkit inspect wrote it."""
    path = refuse_link(path)
    if path.exists() and path.is_file():
        with open(path, "rb") as f:
            head = f.read(2048).decode("utf-8", errors="replace")
        if GENERATOR not in head:
            raise RnnkitError(f"{path} exists and is not a page rnnkit inspect wrote; rnnkit "
                              "overwrites only its own files: give another --html path")
    return write_text(path, html)
