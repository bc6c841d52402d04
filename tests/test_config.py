"""Typed configs: TOML files and dotted overrides; unknown keys and wrong types fail with one
clear line."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from rnnkit import config as C
from rnnkit.errors import ConfigError
from rnnkit.tasks import toy
from rnnkit.training.settings import resolve


@dataclass
class Inner:
    size: int = 4
    rate: float = 0.5
    kind: Literal["a", "b"] = "a"
    flag: bool = False
    names: list[str] = field(default_factory=list)
    limit: int | None = None


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    title: str = "x"


def test_build_and_parse_types():
    cfg = C.build(Outer, {"inner": {"size": 3, "rate": 1, "kind": "b", "names": ["p"]}})
    assert cfg.inner == Inner(size=3, rate=1.0, kind="b", names=["p"]) and cfg.title == "x"
    assert C.parse_text(float, "3e-4", "k", "s") == 3e-4
    assert C.parse_text(bool, "True", "k", "s") is True
    assert C.parse_text(int | None, "none", "k", "s") is None
    assert C.parse_text(list[int], "1,2,3", "k", "s") == [1, 2, 3]
    assert C.parse_text(tuple[float, ...], "[0.9, 0.99]", "k", "s") == (0.9, 0.99)


@pytest.mark.parametrize("data, match", [
    ({"inner": {"sise": 3}}, r"unknown key 'inner.sise' \(from f.toml\); known keys here: "),
    ({"inner": {"size": "3"}}, r"inner.size \(from f.toml\): expected an integer, got '3'"),
    ({"inner": {"size": 2.5}}, r"inner.size \(from f.toml\): expected an integer, got 2.5"),
    ({"inner": {"kind": "c"}}, r"inner.kind \(from f.toml\): expected one of 'a', 'b', got 'c'"),
    ({"inner": {"flag": 1}}, r"expected true or false, got 1"),
    ({"inner": 3}, r"inner \(from f.toml\): expected a table, got 3"),
])
def test_bad_values_fail_with_one_line(data, match):
    with pytest.raises(ConfigError, match=match) as err:
        C.build(Outer, data, source="f.toml")
    assert "\n" not in str(err.value)


def test_run_config_priority_and_namespaces(tmp_path):
    cfg = resolve(toy, "toy")
    assert cfg.train.steps == toy.TRAIN_DEFAULTS["train.steps"]  # task defaults over engine's
    path = tmp_path / "run.toml"
    path.write_text('task = "toy"\n[optim]\nlr = 0.5\nname = "sgd"\n[model]\nhidden_size = 8\n')
    cfg = resolve(toy, "toy", file_data=C.load_toml(path), file_name=str(path),
                  overrides=["--optim.lr=3e-4", "--model.cell", "gru", "--train.clip_norm=0"])
    assert cfg.optim.lr == 3e-4 and cfg.optim.name == "sgd"  # override over file over default
    assert cfg.task.model.hidden_size == 8 and cfg.task.model.cell == "gru"
    assert cfg.train.clip_norm == 0.0
    assert cfg.to_dict()["task"]["model"]["hidden_size"] == 8


@pytest.mark.parametrize("override, match", [
    ("--optim.lrr=1", r"unknown key 'optim.lrr' \(from --optim.lrr=1\); known keys in optim: "),
    ("--modle.hidden_size=1", r"unknown key 'modle.hidden_size'.*known keys in the top level"),
    ("--optim.lr=fast", r"optim.lr \(from --optim.lr=fast\): expected a number, got 'fast'"),
    ("--train.steps=1.5", r"train.steps \(from --train.steps=1.5\): expected an integer"),
    ("--optim.name=adam", r"optim.name .*expected one of adamw, sgd, rmsprop, got 'adam'"),
    ("--optim.lr", r"--optim.lr: missing value"),
    ("optim.lr=1", r"unexpected argument 'optim.lr=1'"),
    ("--optim=1", r"optim \(from --optim=1\) is a table"),
])
def test_bad_overrides_fail_with_one_line(override, match):
    with pytest.raises(ConfigError, match=match) as err:
        resolve(toy, "toy", overrides=[override])
    assert "\n" not in str(err.value)


def test_bad_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[optim]\nlr = \n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML: .*line 2"):
        C.load_toml(path)
    path.write_text("[optim]\nlr = 'high'\n")
    with pytest.raises(ConfigError, match=r"optim.lr \(from .*bad.toml\): expected a number"):
        resolve(toy, "toy", file_data=C.load_toml(path), file_name=str(path))
    path.write_text('task = "lm"\n')
    with pytest.raises(ConfigError, match="task = 'lm', but TASK is 'toy'"):
        resolve(toy, "toy", file_data=C.load_toml(path), file_name=str(path))
    with pytest.raises(ConfigError, match="--config: no such file"):
        C.load_toml(tmp_path / "missing.toml")


@pytest.mark.parametrize("override, match", [
    ("--train.steps=-1", r"train.steps: expected >= 0, got -1"),
    ("--guard.lr_factor=2", r"guard.lr_factor: expected in \(0, 1\], got 2.0"),
    ("--optim.lr=0", r"optim.lr: expected > 0, got 0.0"),
])
def test_out_of_range_values(override, match):
    with pytest.raises(ConfigError, match=match):
        resolve(toy, "toy", overrides=[override])
