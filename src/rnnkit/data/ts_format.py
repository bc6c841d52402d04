"""A reader for the UCR/UEA time-series archive's `.ts` text format.

A `.ts` file is a header of `@tag value` lines, then `@data`, then one case per line:

    @problemName JapaneseVowels
    @univariate false          # several dimensions per case, separated by ':'
    @dimensions 12
    @equalLength false         # cases may differ in length
    @missing false             # '?' (or NaN) marks a missing value, read as NaN
    @timeStamps false          # true: each dimension is '(t,v),(t,v),...'; the values are kept
    @classLabel true 1 2 3     # the last ':' field of a case is its label, one of these
    @targetLabel true          # (instead of @classLabel) the last field is a number to regress
    @data
    1.86,1.89,1.93:-0.20,-0.19,-0.23:...:1

Tags are matched without regard to case (the archive writes both `@problemName` and
`@problemname`); lines starting with '#' (or '%' in the header) are comments. Each case
becomes a float64 array (T_i, C) -- time first, dimensions last, the layout a batch-first RNN
wants. Any defect raises `DataError` naming the file, the line and what was expected; so does an
infinite value (`inf`, or a number beyond float64 such as `1e999`), a dimension of a case with no
value at all, and a regression target that is not a finite number. A few missing values are kept
as NaN (whatever `@missing` says); the classify task's scaler imputes them (rnnkit.data.scaling).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.errors import DataError

_BOOL_TAGS = ("timestamps", "missing", "univariate", "equallength")
_TIMESTAMPED = re.compile(r"\(([^,()]*),([^()]*)\)")


@dataclass
class TsData:
    """What a `.ts` file holds. `labels` are strings (classification) or floats (regression)."""

    path: str
    problem_name: str
    series: list[np.ndarray]  # each (T_i, C)
    labels: list = field(default_factory=list)
    class_labels: list[str] | None = None  # from @classLabel; None for regression / unlabelled
    regression: bool = False
    header: dict = field(default_factory=dict)

    @property
    def n_dims(self) -> int:
        return self.series[0].shape[1]


def _fail(path, line_no: int, msg: str) -> DataError:
    return DataError(f"{path}:{line_no}: {msg}")


def _parse_bool(path, line_no: int, tag: str, value: str) -> bool:
    low = value.strip().lower()
    if low not in ("true", "false"):
        raise _fail(path, line_no, f"@{tag}: expected true or false, got {value.strip()!r}")
    return low == "true"


def _parse_header_line(path, line_no: int, line: str, header: dict) -> None:
    tag, _, rest = line[1:].partition(" ")
    tag = tag.strip().lower()
    rest = rest.strip()
    if tag in _BOOL_TAGS:
        header[tag] = _parse_bool(path, line_no, tag, rest)
    elif tag in ("dimensions", "serieslength"):
        if not rest.isdigit() or int(rest) < 1:
            raise _fail(path, line_no, f"@{tag}: expected a positive integer, got {rest!r}")
        header[tag] = int(rest)
    elif tag == "classlabel":
        flag, *names = rest.split()
        header["classlabel"] = _parse_bool(path, line_no, tag, flag or "")
        if header["classlabel"] and not names:
            raise _fail(path, line_no, "@classLabel true: expected the class names after 'true'")
        header["classes"] = names
    elif tag == "targetlabel":
        header["targetlabel"] = _parse_bool(path, line_no, tag, rest)
    elif tag == "problemname":
        header.setdefault("problemname", rest)  # a second @problemName is ignored
    else:
        header[tag] = rest  # unknown tags are kept, not interpreted


def _parse_values(path, line_no: int, text: str, dim: int, timestamped: bool) -> np.ndarray:
    """One dimension's comma-separated values ('?' = missing) as a float64 vector."""
    text = text.strip()
    if timestamped:
        pairs = _TIMESTAMPED.findall(text)
        if not pairs:
            raise _fail(path, line_no, f"dimension {dim}: expected '(time,value),...', "
                        f"got {text[:40]!r}")
        tokens = [v.strip() for _, v in pairs]
    else:
        tokens = [t.strip() for t in text.split(",")]
    if tokens and tokens[-1] == "" and len(tokens) > 1:
        tokens.pop()  # a trailing comma
    try:
        values = np.array(tokens, dtype=np.float64)  # fast path: all numeric
    except ValueError:  # missing values or a bad token: the loop tells which
        values = np.array([_token(path, line_no, dim, i, t) for i, t in enumerate(tokens)],
                          dtype=np.float64)
    return _checked(path, line_no, dim, values, tokens)


def _token(path, line_no: int, dim: int, i: int, token: str) -> float:
    if token in ("?", "NaN", "nan"):
        return np.nan
    try:
        return float(token)
    except ValueError:
        raise _fail(path, line_no, f"dimension {dim}, value {i + 1}: expected a number "
                    f"or '?', got {token[:40]!r}") from None


def _checked(path, line_no: int, dim: int, values: np.ndarray, tokens: list[str]) -> np.ndarray:
    """`values` unless one is infinite (an error) or all are missing (an error: nothing to
    impute from); a few missing values (NaN) are kept for the scaler to impute."""
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        i = int(infinite[0])
        raise _fail(path, line_no, f"dimension {dim}, value {i + 1}: {tokens[i][:40]!r} is not "
                    f"finite ({infinite.size} such value(s) on this line); write '?' for a "
                    "missing value")
    if values.size and np.isnan(values).all():
        raise _fail(path, line_no, f"dimension {dim} has no values (all {values.size} missing); "
                    "remove the case or fill the values")
    return values


def _parse_case(path, line_no: int, line: str, header: dict, n_dims: int | None):
    """(array (T, C), label or None) from one data line."""
    labelled = header.get("classlabel", False) or header.get("targetlabel", False)
    fields = line.split(":")
    if labelled:
        if n_dims is not None and len(fields) != n_dims + 1:
            got = len(fields)
            hint = " (is the label missing?)" if got == n_dims else ""
            raise _fail(path, line_no, f"expected {n_dims} dimension(s) and a label "
                        f"({n_dims + 1} ':'-separated fields), got {got}{hint}")
        *dims, label = fields
        label = label.strip()
        if not dims or not label or "," in label:
            raise _fail(path, line_no, "missing label: expected 'values:...:label'")
    else:
        dims, label = fields, None
        if n_dims is not None and len(dims) != n_dims:
            raise _fail(path, line_no, f"expected {n_dims} dimension(s), got {len(dims)}")
    timestamped = header.get("timestamps", False)
    columns = [_parse_values(path, line_no, d, k + 1, timestamped) for k, d in enumerate(dims)]
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        shown = ", ".join(str(len(c)) for c in columns)
        raise _fail(path, line_no, f"ragged case: its dimensions have different lengths ({shown})")
    return np.stack(columns, axis=1), label


def _check_label(path, line_no: int, label: str, header: dict):
    if header.get("targetlabel", False):
        try:
            value = float(label)
        except ValueError:
            raise _fail(path, line_no, f"target label: expected a number, got {label!r}") from None
        if not np.isfinite(value):
            raise _fail(path, line_no, f"target label: expected a finite number, got {label!r}")
        return value
    classes = header.get("classes", [])
    if label not in classes:
        raise _fail(path, line_no, f"label {label!r} is not one of @classLabel "
                    f"({' '.join(classes)})")
    return label


def read_ts(path: str | Path) -> TsData:
    """Read a `.ts` file into a `TsData` (see the module docstring for the format)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise DataError(f"{path}: no such .ts file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory; expected a .ts file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read the .ts file ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        line_no = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line_no}: not valid UTF-8 text") from None
    header: dict = {}
    series, labels = [], []
    in_data, n_dims = False, None
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#") or (not in_data and line.startswith("%")):
            continue  # comments: '#' anywhere, '%' (ARFF style) in the header
        if not in_data:
            if not line.startswith("@"):
                raise _fail(path, line_no, f"expected a '@tag' header line or @data, "
                            f"got {line[:40]!r}")
            if line.lower() == "@data":
                in_data = True
                n_dims = 1 if header.get("univariate") else header.get("dimensions")
            else:
                _parse_header_line(path, line_no, line, header)
            continue
        case, label = _parse_case(path, line_no, line, header, n_dims)
        n_dims = case.shape[1]
        want = header.get("serieslength") if header.get("equallength") else None
        if want is not None and case.shape[0] != want:
            raise _fail(path, line_no, f"@seriesLength {want}: case has {case.shape[0]} values")
        series.append(case)
        if label is not None:
            labels.append(_check_label(path, line_no, label, header))
    if not in_data:
        raise DataError(f"{path}: no @data line (empty or not a .ts file)")
    if not series:
        raise DataError(f"{path}: no cases after @data")
    return TsData(
        path=str(path),
        problem_name=header.get("problemname", path.stem),
        series=series,
        labels=labels,
        class_labels=list(header["classes"]) if header.get("classlabel") else None,
        regression=bool(header.get("targetlabel", False)),
        header=header,
    )
