"""benchmarks/lm_variants.py: the variant names it takes, the hidden size it solves for equal
parameter counts, and its --smoke table (every variant trained, every number finite)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from rnnkit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("lm_variants",
                                                  ROOT / "benchmarks" / "lm_variants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_variant_names(bench):
    v = bench.parse_variant("lstm+vd0.25+zo0.1")
    assert (v.cell, v.recurrent_dropout, v.zoneout) == ("lstm", 0.25, 0.1)
    assert bench.parse_variant("mingru") == bench.Variant("mingru", "mingru")
    for bad in ("lstm+vd", "lstm+vd1.5", "lstm+xx0.1", "LSTM", "lstm+vd0.2.3"):
        with pytest.raises(ConfigError, match="--variants"):
            bench.parse_variant(bad)


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru", "minlstm", "ln_lstm"])
def test_hidden_size_gives_the_closest_count(bench, cell):
    v = bench.Variant(cell, cell)
    hidden, params = bench.solve_hidden(v, 65, 200_000, 32, 2)
    assert params == bench.count_params(v, 65, hidden, 32, 2)
    for other in (hidden - 1, hidden + 1):  # no neighbour is closer to the target
        assert abs(bench.count_params(v, 65, other, 32, 2) - 200_000) >= abs(params - 200_000)
    assert abs(params - 200_000) < 0.02 * 200_000


def test_smoke_table_has_every_variant_with_finite_numbers(bench, tmp_path, capsys):
    rows = bench.main(["--smoke", "--out", str(tmp_path / "runs"),
                       "--json", str(tmp_path / "table.json")])
    labels = bench.DEFAULT_VARIANTS.split(",")
    assert [r["variant"] for r in rows] == labels
    for r in rows:
        assert r["steps"] == 4
        for key in ("train_bpc", "valid_bpc_best", "valid_bpc_last", "test_bpc", "minutes"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["variant"], key, r[key])
        assert abs(r["params"] - 6_000) < 600
    for r in rows:  # the settings each run trained with are the ones its name asks for
        v = bench.parse_variant(r["variant"])
        assert (r["cell"], r["recurrent_dropout"], r["zoneout"]) == (v.cell, v.recurrent_dropout,
                                                                     v.zoneout)
        cfg = json.loads((tmp_path / "runs" / r["variant"] / "config.json").read_text())
        model = cfg["task"]["model"]
        assert (model["cell"], model["recurrent_dropout"], model["zoneout"],
                model["hidden_size"]) == (v.cell, v.recurrent_dropout, v.zoneout, r["hidden"])
    assert any(r["recurrent_dropout"] > 0 for r in rows) and any(r["zoneout"] > 0 for r in rows)
    by_name = {r["variant"]: r for r in rows}
    table = capsys.readouterr().out.splitlines()
    for label in labels:  # one printed row per variant
        assert sum(line.split()[0] == label for line in table if line.strip()) == 1
    assert (tmp_path / "table.json").is_file()
    # a second call reads the finished runs again instead of training them
    again = bench.main(["--smoke", "--out", str(tmp_path / "runs"), "--variants", "lstm"])
    assert again[0]["valid_bpc_best"] == by_name["lstm"]["valid_bpc_best"]
    assert "reusing the finished run" in capsys.readouterr().out
