"""Property-based: random keys, values and types through the config parser and the dotted
overrides give either a valid run config (whose config.json can be written) or one ValueError /
TypeError with a one-line message, never another exception type."""

import dataclasses
import json
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit import config as C
from rnnkit.tasks import classify, forecast, lm, recognize, toy, translate
from rnnkit.training.settings import ENGINE_SECTIONS, resolve

TASKS = {"toy": toy, "lm": lm, "classify": classify, "forecast": forecast,
         "recognize": recognize, "translate": translate}
CHECK = settings(max_examples=80, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


def dotted_keys(cls, prefix: str = "") -> list[str]:
    out = []
    for name, tp in C.field_types(cls).items():
        out.append(prefix + name)
        if dataclasses.is_dataclass(tp):
            out += dotted_keys(tp, f"{prefix}{name}.")
    return out


def all_keys(module) -> list[str]:
    keys = dotted_keys(module.Config)
    for name, cls in ENGINE_SECTIONS.items():
        keys += [name] + dotted_keys(cls, name + ".")
    return sorted(keys)


TEXT_VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-1", "0", "1", "0.5", "2", "true", "no",
                     "none", "", " ", "[]", "[1,2]", "0.9,0.999", "{}", '{"a": 1}', "lstm",
                     "auto", "cpu", "cuda:7", str(2**63), str(-2**70), "1_000", "word",
                     "\x00", "\udcff", "é", "--x", "a=b"]),
    st.text(max_size=12),
    st.integers().map(str),
    st.floats().map(repr),
)
KEY_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.-0123456789 =é", max_size=24)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
FILE_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def outcome(call):
    """The resolved config, or the message of the ValueError / TypeError it raised."""
    try:
        cfg = call()
    except (ValueError, TypeError) as err:
        message = str(err)
        assert message.strip() and "\n" not in message, repr(message)
        return None
    # what the run writes to config.json: strict JSON, so no nan or inf can hide in it
    json.dumps(cfg.to_dict(), allow_nan=False)
    return cfg


@CHECK
@given(task=st.sampled_from(sorted(TASKS)), data=st.data())
def test_dotted_overrides_on_real_keys(task, data):
    key = data.draw(st.sampled_from(all_keys(TASKS[task])))
    value = data.draw(TEXT_VALUES)
    outcome(lambda: resolve(TASKS[task], task, overrides=[f"--{key}={value}"]))


@CHECK
@given(task=st.sampled_from(sorted(TASKS)), key=KEY_TEXT, value=TEXT_VALUES,
       split=st.booleans())
def test_dotted_overrides_on_random_keys(task, key, value, split):
    argv = [f"--{key}", value] if split else [f"--{key}={value}"]
    outcome(lambda: resolve(TASKS[task], task, overrides=argv))


@CHECK
@given(argv=st.lists(st.one_of(TEXT_VALUES, KEY_TEXT.map(lambda k: "--" + k)), max_size=4))
def test_any_argument_list(argv):
    outcome(lambda: resolve(toy, "toy", overrides=argv))


@CHECK
@given(task=st.sampled_from(sorted(TASKS)), data=st.data())
def test_config_file_tables(task, data):
    keys = all_keys(TASKS[task])
    picked = data.draw(st.lists(st.one_of(st.sampled_from(keys), KEY_TEXT), min_size=1,
                                max_size=3))
    tree: dict = {}
    for key in picked:
        tree = C._deep_merge(tree, C.nest(key, data.draw(FILE_VALUES)))
    outcome(lambda: resolve(TASKS[task], task, file_data=tree, file_name="c.toml"))


@CHECK
@given(value=FILE_VALUES, tp=st.sampled_from([int, float, bool, str, list[int], tuple[float, ...],
                                              dict[str, int], int | None,
                                              typing.Literal["a", "b"], typing.Any]))
def test_check_on_any_value_and_type(value, tp):
    try:
        C.check(tp, value, "k", "test")
    except (ValueError, TypeError) as err:
        assert str(err).strip() and "\n" not in str(err)


def test_error_text_with_a_newline_is_shown_escaped_on_one_line():
    with pytest.raises(ValueError) as err:
        resolve(toy, "toy", overrides=["--data=x\ny"])
    assert str(err.value).startswith("data (from --data=x\\ny) is a table: set its keys")
