"""--data.path: a WAV directory with transcript.txt, or strokes in JSON lines; each bad input is
one clear error naming the file and line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rnnkit.data.recognition_files import read_strokes_json, read_transcript_dir
from rnnkit.errors import DataError
from rnnkit.tasks.recognize.own_data import load_own

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
from test_audio import tone, write_wav  # noqa: E402


def wav_dir(tmp_path, n=6, lines=None):
    folder = tmp_path / "wavs"
    folder.mkdir()
    for i in range(n):
        write_wav(folder / f"u{i}.wav", tone(16000, 0.2, 300 + 100 * i), 16000)
    texts = ["ab", "ba", "abba", "b", "a", "aab"]
    if lines is None:
        lines = [f"u{i}.wav {texts[i % len(texts)]}" for i in range(n)]
    (folder / "transcript.txt").write_text("\n".join(lines) + "\n")
    return folder


def settings(path, **kw):
    return SimpleNamespace(path=str(path), seed=0, valid_fraction=0.2, **kw)


def test_a_wav_directory_becomes_speech_items_split_three_ways(tmp_path):
    src = load_own(settings(wav_dir(tmp_path)))
    assert src.kind == "speech" and src.alphabet in ("ab", "a", "b")
    assert (len(src.train), len(src.valid), len(src.test)) == (4, 1, 1)
    assert all(x.shape[1] == 40 for x, _ in src.train + src.valid + src.test)


@pytest.mark.parametrize("lines, message", [
    (["u0.wav ab", "u1.wav"], "transcript.txt:2: expected 'NAME.wav TEXT'"),
    (["u0.wav ab", "u9.wav ba"], "transcript.txt:2: u9.wav is not a file"),
    (["u0.wav ab", "u0.wav ba"], "u0.wav is listed again (first on line 1)"),
    (["u0.wav ab"], "1 WAV file(s) have no line, e.g. u1.wav"),
    (["# nothing"], "WAV file(s) have no line"),
])
def test_transcript_lines_that_do_not_match_the_files(tmp_path, lines, message):
    folder = wav_dir(tmp_path, n=2, lines=lines)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_transcript_dir(folder)


def test_a_missing_transcript_and_a_bad_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no transcript.txt"):
        read_transcript_dir(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="neither a directory of WAV files nor a .jsonl"):
        load_own(settings(tmp_path / "notes.txt"))


def strokes(n=4):
    return np.random.default_rng(n).normal(size=(n, 3)).round(3).tolist()


def test_strokes_json_lines_become_stroke_items(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps({"strokes": strokes(4 + i), "text": t})
                              for i, t in enumerate(["hi", "ok", "no", "on", "ho"])) + "\n")
    src = load_own(settings(path))
    assert src.kind == "strokes" and len(src.train) == 3
    assert src.train[0][0].shape[1] == 3
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"strokes": strokes(5)}))
    assert read_strokes_json(one).shape == (5, 3)


@pytest.mark.parametrize("line, message", [
    ("{not json", "s.jsonl:2: not JSON"),
    ('{"strokes": [[1, 2]], "text": "a"}', "s.jsonl:2: \"strokes\" must be a non-empty list"),
    ('{"strokes": [[1, 2, 0]]}', "s.jsonl:2: no \"text\""),
    ('[1, 2, 3]', "s.jsonl:2: expected an object"),
])
def test_bad_stroke_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"strokes": strokes(), "text": "a"}) + "\n" + line + "\n")
    with pytest.raises(DataError, match=message):
        load_own(settings(path))
