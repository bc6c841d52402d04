"""Typed configs: dataclasses built strictly from TOML files, dicts and dotted overrides.

A config is a tree of dataclasses. Values come, in increasing priority, from the dataclass
defaults, a task's TRAIN_DEFAULTS, a TOML file (`--config FILE`) and dotted command-line
overrides (`--optim.lr=3e-4`). Every source is checked against the field types: an unknown key
or a value of the wrong type raises ConfigError with one line that names the key, where it came
from, what was expected and what was received.

Supported field types: bool, int, float (an int is accepted), str, typing.Literal[...],
X | None, list[X], tuple[X, ...], dict[str, X], nested dataclasses, and Any. A float must be
finite (no nan or inf: none of rnnkit's settings has a use for them, and JSON cannot hold them);
an int must fit in 64 bits.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import json
import math
import textwrap
import tokenize
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from rnnkit.errors import ConfigError

INT64 = 2**63  # ints must fit in 64 bits (torch, numpy and JSON readers take no more)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def load_toml(path: str | Path) -> dict:
    """Read a TOML config file; a syntax error names the file, line and column."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"--config: {path} is a directory; expected a TOML file")
    if not path.is_file():
        raise ConfigError(f"--config: no such file: {path}")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"--config: cannot read {path} ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not valid UTF-8 text (byte {raw[err.start]:#04x}); "
                          "TOML files are UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of every field of dataclass `cls` (string annotations included)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def build(cls: type, data: dict, *, source: str = "config", prefix: str = "") -> Any:
    """Instantiate dataclass `cls` from a (nested) dict, rejecting unknown keys and wrong types.

    Missing keys take the dataclass defaults. `source` names where the data came from (a file
    name, "--optim.lr=..."), `prefix` the dotted path of `cls` inside the whole config.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{_name(prefix)} (from {source}): expected a table, got {data!r}")
    types_ = field_types(cls)
    unknown = sorted(set(data) - set(types_))
    if unknown:
        key = prefix + unknown[0]
        known = ", ".join(sorted(types_))
        raise ConfigError(f"unknown key '{key}' (from {source}); known keys here: {known}")
    values = {name: check(types_[name], value, f"{prefix}{name}", source)
              for name, value in data.items()}
    return cls(**values)


def section(cls: type, value: Any, name: str) -> Any:
    """A task config's section `name` (a `cls`, or a dict from a saved config or a test, checked
    like the command line's settings)."""
    if isinstance(value, cls):
        return value
    return build(cls, value, source="the task config", prefix=name + ".")


def update(obj: Any, data: dict, *, source: str, prefix: str = "") -> Any:
    """A copy of dataclass instance `obj` with the (nested, possibly partial) `data` applied."""
    return build(type(obj), _deep_merge(to_dict(obj), data), source=source, prefix=prefix)


def to_dict(obj: Any) -> dict:
    """A dataclass instance as plain JSON-ready dicts and lists (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def check(tp: Any, value: Any, key: str, source: str) -> Any:
    """`value` converted to type `tp`, or ConfigError naming `key`, `source`, the expected type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return build(tp, value, source=source, prefix=key + ".")
    if origin is Literal:
        if value in args and type(value) is type(args[args.index(value)]):
            return value
        return _bad(key, source, "one of " + ", ".join(map(repr, args)), value)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return check(a, value, key, source)
            except ConfigError as err:
                errors.append(err)
        if len(inner) > 1:
            return _bad(key, source, _either(tp), value)
        raise errors[0]
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            return _bad(key, source, f"a list ({_type_name(tp)})", value)
        item = args[0] if args else Any
        items = [check(item, v, f"{key}[{i}]", source) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            return _bad(key, source, "a table", value)
        item = args[1] if args else Any
        return {str(k): check(item, v, f"{key}.{k}", source) for k, v in value.items()}
    if tp is bool:
        return value if isinstance(value, bool) else _bad(key, source, "true or false", value)
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and not -INT64 <= value < INT64:
            return _bad(key, source, "a 64-bit integer (between -2^63 and 2^63 - 1)", value)
        return value if ok else _bad(key, source, "an integer", value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _bad(key, source, "a number", value)
        try:
            number = float(value)
        except OverflowError:  # an int beyond float64
            number = math.inf
        return number if math.isfinite(number) else _bad(key, source, "a finite number", value)
    if tp is str:
        return value if isinstance(value, str) else _bad(key, source, "a string", value)
    raise ConfigError(f"{key}: unsupported config field type {tp!r} (a bug in the config class)")


def lookup_type(cls: type, dotted: str, source: str) -> Any:
    """The type of the field at `dotted` ("optim.lr") inside dataclass `cls`."""
    tp: Any = cls
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"unknown key '{dotted}' (from {source}): "
                              f"'{'.'.join(parts[:i])}' is a value, not a table")
        types_ = field_types(tp)
        if part not in types_:
            here = ".".join(parts[:i]) or "the top level"
            known = ", ".join(sorted(types_))
            raise ConfigError(f"unknown key '{dotted}' (from {source}); known keys in {here}: "
                              f"{known}")
        tp = types_[part]
    return tp


def parse_text(tp: Any, raw: str, key: str, source: str) -> Any:
    """A command-line string converted to type `tp` ("3e-4" -> 0.0003, "true" -> True)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    text = raw.strip()
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:  # the first type that reads it: int | Literal["auto"] takes 4 and auto
            try:
                return parse_text(a, raw, key, source)
            except ConfigError as err:
                errors.append(err)
        if len(inner) > 1:
            return _bad(key, source, _either(tp), raw)
        raise errors[0]
    if origin is Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        return _bad(key, source, "one of " + ", ".join(map(str, args)), raw)
    if origin in (list, tuple):
        body = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        item = args[0] if args else str
        parts = [p for p in body.split(",") if p.strip()]
        values = [parse_text(item, p, f"{key}[{i}]", source) for i, p in enumerate(parts)]
        return tuple(values) if origin is tuple else values
    if origin is dict or tp is Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if tp is Any:
                return raw
            return _bad(key, source, "a JSON object", raw)
    if tp is bool:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        return _bad(key, source, "true or false", raw)
    if tp is int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            return _bad(key, source, "an integer", raw)
    if tp is float:
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return _bad(key, source, "a number", raw)
    if tp is str:
        return raw
    if dataclasses.is_dataclass(tp):
        raise ConfigError(f"{key} (from {source}) is a table: set its keys, e.g. --{key}.NAME=...")
    raise ConfigError(f"{key}: unsupported config field type {tp!r} (a bug in the config class)")


def split_overrides(argv: list[str]) -> list[tuple[str, str, str]]:
    """`["--optim.lr=3e-4", "--model.layers", "2"]` -> [(dotted key, raw value, the argument)].

    Both `--key=value` and `--key value` are accepted; anything else raises ConfigError.
    """
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise ConfigError(f"unexpected argument {arg!r}: overrides look like "
                              "--section.key=value")
        if "=" in arg:
            key, raw = arg[2:].split("=", 1)
            i += 1
        elif i + 1 < len(argv):
            key, raw = arg[2:], argv[i + 1]
            arg = f"{arg} {raw}"
            i += 2
        else:
            raise ConfigError(f"{arg}: missing value, write {arg}=VALUE")
        out.append((key, raw, arg))
    return out


def nest(dotted: str, value: Any) -> dict:
    """`nest("optim.lr", 1e-3)` -> {"optim": {"lr": 0.001}}."""
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value


def _deep_merge(base: dict, new: dict) -> dict:
    out = dict(base)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _either(tp: Any) -> str:
    """What a union of several types expects: 'an int or auto'."""
    return " or ".join(f"an {type_label(a)}" if a is int else type_label(a)
                       for a in typing.get_args(tp) if a is not type(None))


def _bad(key: str, source: str, expected: str, got: Any):
    raise ConfigError(f"{key} (from {source}): expected {expected}, got {got!r}")


def _name(prefix: str) -> str:
    return prefix.rstrip(".") or "config"


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


@dataclasses.dataclass(frozen=True)
class FieldDoc:
    """One setting as `--help` lists it: its dotted key, type, default and meaning."""

    key: str
    type: str
    default: Any
    meaning: str


def describe(cls: type, prefix: str = "", values: Any = None) -> list[FieldDoc]:
    """Every leaf field of dataclass `cls` (nested sections flattened to dotted keys), its type,
    its value in `values` (an instance; default: the dataclass defaults) and its meaning: the
    comment at the end of the field's line, or the comment lines just above it."""
    values = cls() if values is None else values
    comments = _field_comments(cls)
    out = []
    for name, tp in field_types(cls).items():
        value = getattr(values, name)
        if dataclasses.is_dataclass(tp):
            out += describe(tp, f"{prefix}{name}.", value)
        else:
            out.append(FieldDoc(prefix + name, type_label(tp), value, comments.get(name, "")))
    return out


def type_label(tp: Any) -> str:
    """A short name for a field type: int, float, list[float], lstm|gru, str|None."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "|".join(map(str, args))
    if origin in (typing.Union, types.UnionType):
        return "|".join("None" if a is type(None) else type_label(a) for a in args)
    if origin in (list, tuple):
        return f"list[{type_label(args[0]) if args else 'any'}]"
    if origin is dict:
        return "table"
    return "any" if tp is Any else getattr(tp, "__name__", str(tp))


def _field_comments(cls: type) -> dict[str, str]:
    """{field name: its comment} from the source of dataclass `cls` (empty where none)."""
    try:
        lines, _ = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return {}
    source = textwrap.dedent("".join(lines))
    comment_at = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comment_at[tok.start[0]] = (tok.start[1], tok.string.lstrip("#").strip())
    found = {}
    for node in ast.parse(source).body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        line = node.end_lineno
        if line in comment_at and comment_at[line][0] > 0:  # a comment after the code
            found[node.target.id] = comment_at[line][1]
            continue
        above, k = [], node.lineno - 1
        while k in comment_at and source.splitlines()[k - 1].lstrip().startswith("#"):
            above.insert(0, comment_at[k][1])
            k -= 1
        found[node.target.id] = " ".join(above)
    return found
