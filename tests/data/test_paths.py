"""Every reader of a user's file: a directory, a missing file or bytes that are not UTF-8 give one
DataError naming the path (and line), never a traceback from deep inside Python."""

import pytest

from rnnkit.data.audio import read_wav
from rnnkit.data.pairs import read_pairs
from rnnkit.data.recognition_files import (
    read_strokes_json,
    read_strokes_jsonl,
    read_transcript_dir,
)
from rnnkit.data.tabular import read_text_csv
from rnnkit.data.ts_format import read_ts
from rnnkit.errors import DataError

READERS = [read_wav, read_pairs, read_strokes_json, read_strokes_jsonl, read_text_csv, read_ts]


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
def test_a_directory_is_named_as_one(tmp_path, reader):
    with pytest.raises(DataError) as err:
        reader(tmp_path)
    assert str(err.value).startswith(str(tmp_path)) and "is a directory" in str(err.value)


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
def test_a_missing_file_is_named(tmp_path, reader):
    with pytest.raises(DataError, match="no such"):
        reader(tmp_path / "nope")


@pytest.mark.parametrize("reader", [read_pairs, read_strokes_json, read_strokes_jsonl],
                         ids=lambda r: r.__name__)
def test_bytes_that_are_not_utf8_name_the_line(tmp_path, reader):
    path = tmp_path / "x.txt"
    path.write_bytes(b'{"strokes": [[0, 0, 1]], "text": "a"}\n\xff\xfe\n')
    with pytest.raises(DataError) as err:
        reader(path)
    assert str(path) in str(err.value) and "2" in str(err.value) and "UTF-8" in str(err.value)


def test_a_transcript_that_is_not_utf8_names_the_line(tmp_path):
    (tmp_path / "transcript.txt").write_bytes(b"a.wav hello\nb.wav caf\xe9\n")
    with pytest.raises(DataError, match=r"transcript\.txt:2: not valid UTF-8"):
        read_transcript_dir(tmp_path)
