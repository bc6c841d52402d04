"""Text properties per character, and the unit-property correlations."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.viewer.properties import NAMES, correlations, text_properties, token_properties

CODE = 'def f(x):\n    s = "a(b" # c\n    return (x[1],\n        2)\n'


def _at(props, text, needle, start=0):
    i = text.index(needle, start)
    return {name: float(props[name][i]) for name in NAMES}


def test_every_property_by_hand():
    p = text_properties(CODE)
    assert set(p) == set(NAMES) and all(len(v) == len(CODE) for v in p.values())
    paren = _at(p, CODE, "(")  # f(x: opens a bracket, column 5, no indentation
    assert paren["bracket_depth"] == 1 and paren["in_brackets"] == 1 and paren["column"] == 5
    assert paren["indent"] == 0 and paren["in_word"] == 0
    inner = _at(p, CODE, "(b")  # inside the string: a "(" there opens nothing
    assert inner["in_string"] == 1 and inner["bracket_depth"] == 0
    for i in (CODE.index('"a'), CODE.index('b"') + 1):  # both quotes count as inside
        assert p["in_string"][i] == 1
    assert _at(p, CODE, "# c")["in_comment"] == 1 and _at(p, CODE, "# c")["in_string"] == 0
    assert _at(p, CODE, " c")["in_comment"] == 1
    ret = _at(p, CODE, "return")
    assert ret["indent"] == 4 and ret["column"] == 4 and ret["in_word"] == 1
    deep = _at(p, CODE, "1")
    assert deep["bracket_depth"] == 2  # ( and [
    two = _at(p, CODE, "2)")  # a continuation line inside the open (
    assert two["in_brackets"] == 1 and two["indent"] == 8 and two["column"] == 8
    assert p["bracket_depth"][-1] == 0 and p["column"][-1] == len("        2)")


def test_leading_whitespace_counts_as_it_is_read():
    p = text_properties("x\n   y\n")
    assert p["indent"].tolist() == [0, 0, 1, 2, 3, 3, 3]


def test_triple_quotes_escapes_and_unterminated_strings():
    text = "a = '''x'y\n\"z'''\nb = 'p\\'q'\nc = 'open\nd"
    p = text_properties(text)
    body = text.index("x'y")
    assert p["in_string"][body:text.index("'''", body) + 3].all()  # ' and " inside ''' count
    assert p["in_string"][text.index("b =")] == 0
    escaped = text.index("\\'")
    assert p["in_string"][escaped:escaped + 4].all()  # \' does not close the string
    assert p["in_string"][text.index("c =")] == 0
    assert p["in_string"][text.index("open")] == 1
    assert p["in_string"][text.index("\nd") + 1] == 0  # a one-line string ends at its newline


def test_token_properties_take_each_tokens_last_character():
    props = {"x": np.array([0, 1, 2, 3, 4], np.float32)}
    got = token_properties(props, np.array([0, 2, 2, 5]))  # an empty first and third token
    assert got["x"].tolist() == [0, 1, 1, 4]


def test_correlations_match_numpy_and_are_zero_for_constants():
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    props = {"a": t.astype(np.float32), "const": np.ones(200, np.float32)}
    acts = np.stack([t * 2 + 1, -t + rng.normal(size=200) * 0.5, np.zeros(200)], axis=1)
    r = correlations(acts, props)
    assert r.shape == (3, 2)
    assert r[0, 0] == pytest.approx(1.0)
    assert r[1, 0] == pytest.approx(np.corrcoef(acts[:, 1], t)[0, 1])
    assert (r[:, 1] == 0).all() and r[2, 0] == 0
