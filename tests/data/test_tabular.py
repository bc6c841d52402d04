import pytest

from rnnkit.data.tabular import read_text_csv
from rnnkit.errors import DataError


def write(tmp_path, text, name="t.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_reads_named_columns_and_multiline_fields(tmp_path):
    path = write(tmp_path, 'id,review,stars\n1,"good, very good",pos\n2,"bad\nreally",neg\n\n')
    texts, labels = read_text_csv(path, text_column="review", label_column="stars")
    assert texts == ["good, very good", "bad\nreally"] and labels == ["pos", "neg"]


def test_prediction_input_needs_no_label_column(tmp_path):
    path = write(tmp_path, "text\nhello\nworld\n")
    assert read_text_csv(path, label_column=None) == (["hello", "world"], [])


@pytest.mark.parametrize("text,line,needle", [
    ("text,label\nok,a\nextra,b,c\n", 3, "expected 2 fields"),
    ('text,label\n"multi\nline",a\n,b\n', 4, "empty text"),
    ("text,label\nok,a\nno label,\n", 3, "empty label"),
    ("words,label\nok,a\n", 1, "no text column 'text'"),
])
def test_malformed_rows_name_file_and_line(tmp_path, text, line, needle):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_text_csv(path)
    assert str(err.value).startswith(f"{path}:{line}:") and needle in str(err.value)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = write(tmp_path, b"text,label\nok,a\ncaf\xe9,b\n")
    with pytest.raises(DataError, match=r"t\.csv:3: not valid utf-8"):
        read_text_csv(path)
    texts, _ = read_text_csv(path, encoding="latin-1")
    assert texts[1] == "café"


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="empty file"):
        read_text_csv(write(tmp_path, ""))
    with pytest.raises(DataError, match="no rows after the header"):
        read_text_csv(write(tmp_path, "text,label\n", "h.csv"))
    with pytest.raises(DataError, match="no such CSV file"):
        read_text_csv(tmp_path / "missing.csv")
