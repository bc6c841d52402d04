import re

import numpy as np
import pytest

from rnnkit.data.datasets import _ucr_folders
from rnnkit.data.ts_format import read_ts
from rnnkit.errors import DataError

FOLDERS = _ucr_folders()


def shipped(name: str, part: str):
    folder = FOLDERS[name]
    return folder / f"{folder.name}_{part}.ts"


# (name, train cases, test cases, dims, classes, length or None for variable): published sizes.
KNOWN = [
    ("japanese-vowels", 270, 370, 12, 9, None),
    ("basic-motions", 40, 40, 6, 4, 100),
    ("gunpoint", 50, 150, 1, 2, 150),
    ("italy-power-demand", 67, 1029, 1, 2, 24),
    ("arrowhead", 36, 175, 1, 3, 251),
    ("osuleaf", 200, 242, 1, 6, 427),
]


@pytest.mark.parametrize("name,n_train,n_test,dims,n_classes,length", KNOWN)
def test_shipped_files_match_known_sizes(name, n_train, n_test, dims, n_classes, length):
    for part, n in (("TRAIN", n_train), ("TEST", n_test)):
        data = read_ts(shipped(name, part))
        assert len(data.series) == len(data.labels) == n
        assert len(data.class_labels) == n_classes
        assert set(data.labels) <= set(data.class_labels)
        assert all(s.ndim == 2 and s.shape[1] == dims for s in data.series)
        if length is not None:
            assert {s.shape[0] for s in data.series} == {length}


def simple_parse(path):
    """An independent reading: the lines after @data, split on ':' and ','."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data")
    cases = [line.strip() for line in lines[start + 1 :] if line.strip()]
    out = []
    for line in cases:
        *dims, label = line.split(":")
        out.append((np.array([[float(v) for v in d.split(",")] for d in dims]).T, label))
    return out


@pytest.mark.parametrize("name", ["japanese-vowels", "basic-motions", "plaid"])
def test_reader_agrees_with_simple_parse(name):
    path = shipped(name, "TRAIN")
    data = read_ts(path)
    expected = simple_parse(path)
    assert len(expected) == len(data.series)
    for (x, label), series, got_label in zip(expected, data.series, data.labels, strict=True):
        assert got_label == label
        np.testing.assert_array_equal(series, x)


def test_japanese_vowels_variable_lengths():
    lengths = [s.shape[0] for s in read_ts(shipped("japanese-vowels", "TRAIN")).series]
    assert min(lengths) >= 7 and max(lengths) <= 29 and len(set(lengths)) > 5


def test_arrowhead_agrees_with_shipped_tsv():
    folder = FOLDERS["arrowhead"]
    rows = [r.split("\t") for r in (folder / "ArrowHead_TRAIN.tsv").read_text().splitlines()]
    data = read_ts(shipped("arrowhead", "TRAIN"))
    assert [r[0] for r in rows] == data.labels
    for row, series in zip(rows, data.series, strict=True):
        np.testing.assert_allclose(series[:, 0], [float(v) for v in row[1:]], rtol=1e-6)


def test_regression_file_has_float_targets():
    data = read_ts(shipped("tecator", "TRAIN"))
    assert data.regression and data.class_labels is None
    assert len(data.labels) == 172 and all(isinstance(y, float) for y in data.labels)


HEADER = "@problemName toy\n@univariate false\n@dimensions 2\n@classLabel true a b\n@data\n"


def write(tmp_path, text, name="toy.ts"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_multivariate_missing_and_variable_length(tmp_path):
    path = write(tmp_path, "# comment\n" + HEADER + "1,2,3:4,?,6:a\n\n7,8:9,10:b\n")
    data = read_ts(path)
    assert [s.shape for s in data.series] == [(3, 2), (2, 2)]
    assert np.isnan(data.series[0][1, 1]) and data.series[0][2, 1] == 6
    assert data.labels == ["a", "b"] and data.problem_name == "toy"


def test_timestamped_values(tmp_path):
    text = "@timeStamps true\n@univariate true\n@classLabel true x\n@data\n(1,0.5),(2,1.5):x\n"
    data = read_ts(write(tmp_path, text))
    np.testing.assert_array_equal(data.series[0][:, 0], [0.5, 1.5])


@pytest.mark.parametrize("body,line,needle", [
    ("1,2:3,4\n", 6, "label"),  # missing label
    ("1,2:3,4:a\n1,2,3:4,5,6:b\n1,2:3:a\n", 8, "ragged"),
    ("1,2:3,4:a\n1,x:3,4:b\n", 7, "'x'"),  # non-numeric
    ("1,2:3,4:c\n", 6, "'c' is not one of @classLabel"),
    ("1,2:3,4:5,6:a\n", 6, "expected 2 dimension"),
])
def test_malformed_names_file_and_line(tmp_path, body, line, needle):
    path = write(tmp_path, HEADER + body)
    with pytest.raises(DataError) as err:
        read_ts(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}:") and needle in message
    assert "\n" not in message


@pytest.mark.parametrize("text,needle", [
    ("", "no @data"),
    ("@problemName x\n@classLabel true a\n@data\n", "no cases"),
    ("@univariate maybe\n@data\n1:a\n", "expected true or false"),
])
def test_empty_or_bad_header(tmp_path, text, needle):
    with pytest.raises(DataError, match=re.escape(needle)):
        read_ts(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such .ts file"):
        read_ts(tmp_path / "nope.ts")
