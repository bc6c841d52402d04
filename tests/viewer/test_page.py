"""The page's data survives quantisation and embedding; the page fetches nothing; files."""

from __future__ import annotations

import base64
import json
import os
import re
import zlib

import numpy as np
import pytest
import torch

from rnnkit.data.tokenizers import CharTokenizer
from rnnkit.errors import RnnkitError
from rnnkit.models.lm import LanguageModel
from rnnkit.viewer.build import inspect_data, parse_kinds
from rnnkit.viewer.page import GENERATOR, dequantise, quantise, render, write_page

TEXT = 'def f(x):\n    return "</script>" + (x)  # /*DATA*/ <!--TITLE-->\n'


def embedded(html: str) -> dict:
    block = re.search(r'<script id="rnnkit-data" type="application/json">(.*?)</script>', html,
                      re.S)
    return json.loads(block.group(1))


def inflate(b64: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(b64)), np.uint8)


@pytest.fixture
def lm():
    torch.manual_seed(0)
    tok = CharTokenizer.build(TEXT)
    return LanguageModel(tok.vocab_size, 4, 5, 2, cell="lstm").eval(), tok


@pytest.mark.parametrize("levels", [2, 16, 256])
def test_quantised_values_are_within_half_a_step(levels):
    acts = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32)
    acts[:, 3] = 0.25  # a constant unit
    q, lo, hi = quantise(acts, levels)
    assert q.shape == (7, 50) and q.dtype == np.uint8 and q.max() <= levels - 1
    step = (hi - lo) / (levels - 1)
    err = np.abs(dequantise(q, lo, hi, levels) - acts)
    assert (err <= step / 2 + 1e-6).all()
    assert np.allclose(dequantise(q, lo, hi, levels)[:, 3], 0.25)


def test_levels_out_of_range_is_one_line():
    with pytest.raises(RnnkitError, match="--levels: expected 2 to 256, got 300"):
        quantise(np.zeros((3, 2), np.float32), 300)


def test_the_page_carries_the_recording_and_fetches_nothing(lm):
    model, tok = lm
    data = inspect_data(model, tok, TEXT, ("h", "c", "o"), levels=64, top_k=3, title="<t>")
    html = render(data)
    assert GENERATOR in html[:2048]
    assert not re.search(r"(src|href)=\"(?!data:)|https?://|@import|url\(", html)
    back = embedded(html)  # "</script>" in the text did not end the data block early
    assert "".join(back["pieces"]) == TEXT and back["title"] == "<t>"
    assert "&lt;t&gt;" in html.split("<body>")[0]
    T, U = len(TEXT), 10
    from rnnkit.viewer.record import record

    rec = record(model, tok.encode(TEXT), ("h", "c", "o"), top_k=3)
    for kind, d in back["kinds"].items():
        q = inflate(d["data"]).reshape(U, T)
        lo, hi = np.array(d["lo"]), np.array(d["hi"])
        got = dequantise(q, lo, hi, 64)
        assert np.abs(got - rec.acts[kind]).max() <= (hi - lo).max() / 126 + 1e-5
        assert np.array(d["corr"]).shape == (U, len(back["properties"]))
    assert d["sigmoid"] and not back["kinds"]["c"]["sigmoid"]
    ids = inflate(back["top_ids"]).reshape(T, 3)
    np.testing.assert_array_equal(ids, rec.top_ids)
    props = inflate(back["props"]).reshape(len(back["properties"]), T)
    assert props[back["properties"].index("in_string"), TEXT.index("</")] == 1


def test_kinds_are_parsed_against_the_cell():
    assert parse_kinds(None, "LSTM") == ("h",)
    assert parse_kinds("all", "GRU") == ("h", "r", "z", "n")
    assert parse_kinds("c, f,c", "LSTM") == ("c", "f")
    with pytest.raises(RnnkitError, match="--kinds: a GRU model shows h, r, z, n"):
        parse_kinds("h,c", "GRU")


def test_write_page_replaces_its_own_page_only(tmp_path):
    page = tmp_path / "p.html"
    write_page(page, f"<html>{GENERATOR}one</html>")
    write_page(page, f"<html>{GENERATOR}two</html>")  # its own: replaced
    assert "two" in page.read_text()
    other = tmp_path / "notes.html"
    other.write_text("<html>someone's notes</html>")
    with pytest.raises(RnnkitError, match="not a page rnnkit inspect wrote"):
        write_page(other, f"<html>{GENERATOR}</html>")
    assert other.read_text() == "<html>someone's notes</html>"
    link = tmp_path / "link.html"
    os.symlink(page, link)
    with pytest.raises(RnnkitError, match="symbolic link"):
        write_page(link, f"<html>{GENERATOR}three</html>")
    assert "two" in page.read_text()


def test_a_vocabulary_over_256_stores_two_byte_ids():
    from rnnkit.data.tokenizers import WordTokenizer
    from rnnkit.viewer.record import record

    text = " ".join(f"w{i}" for i in range(300)) + "\n"
    tok = WordTokenizer.build(text)
    assert tok.vocab_size > 256
    torch.manual_seed(0)
    model = LanguageModel(tok.vocab_size, 4, 5, 1, cell="gru").eval()
    with torch.no_grad():
        model.decoder.bias[280:] += 5.0  # ids past 255 at the top
    data = inspect_data(model, tok, text, ("h",), top_k=2)
    assert data["top_wide"]
    ids = np.frombuffer(zlib.decompress(base64.b64decode(data["top_ids"])), "<u2")
    rec = record(model, tok.encode(text), ("h",), top_k=2)
    np.testing.assert_array_equal(ids.reshape(-1, 2), rec.top_ids)
    assert rec.top_ids.max() >= 280
