"""rnnkit.files: whole files or nothing, never through a symbolic link, one line when refused."""

import os

import pytest

from rnnkit import files
from rnnkit.errors import RnnkitError


@pytest.fixture
def victim(tmp_path):
    """A file outside the run directory that a planted link points to."""
    path = tmp_path / "outside" / "precious.txt"
    path.parent.mkdir()
    path.write_text("keep me\n")
    return path


def _planted(run, name, target):
    run.mkdir(exist_ok=True)
    (run / name).symlink_to(target)
    return run / name


@pytest.mark.parametrize("write", [
    lambda p: files.write_bytes(p, b"x"),
    lambda p: files.write_text(p, "x"),
    lambda p: files.write_json(p, {"a": 1}),
    lambda p: files.open_append(p).close(),
])
def test_a_planted_link_is_refused_and_its_target_kept(tmp_path, victim, write):
    link = _planted(tmp_path / "run", "forecast.csv", victim)
    with pytest.raises(RnnkitError, match="symbolic link") as err:
        write(link)
    assert "\n" not in str(err.value) and str(link) in str(err.value)
    assert victim.read_text() == "keep me\n"
    assert link.is_symlink()  # refused, not removed: rnnkit deletes nothing it did not write


def test_a_dangling_link_is_refused_too(tmp_path):
    target = tmp_path / "would_be_created.txt"
    link = _planted(tmp_path / "run", "curves.png", target)
    with pytest.raises(RnnkitError, match="symbolic link"):
        files.write_bytes(link, b"png")
    assert not target.exists()


def test_make_dir_refuses_a_link_and_a_file(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    link = _planted(tmp_path / "run", "best", outside)
    with pytest.raises(RnnkitError, match="symbolic link"):
        files.make_dir(link)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(RnnkitError, match="is a file"):
        files.make_dir(tmp_path / "a_file")
    with pytest.raises(RnnkitError, match="part of this path is a file"):
        files.make_dir(tmp_path / "a_file" / "sub")
    assert files.make_dir(tmp_path / "new" / "deeper").is_dir()


def test_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("old")
    files.write_json(path, {"step": 3})
    assert path.read_text() == '{\n  "step": 3\n}\n'
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("old")
    with pytest.raises(ValueError):
        files.write_json(path, {"lr": float("nan")})  # JSON has no NaN: nothing written
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_a_directory_where_a_file_goes_is_one_line(tmp_path):
    (tmp_path / "forecast.csv").mkdir()
    with pytest.raises(RnnkitError, match="is a directory"):
        files.write_text(tmp_path / "forecast.csv", "x")
    with pytest.raises(RnnkitError, match="is a directory"):
        files.open_append(tmp_path / "forecast.csv")


def test_the_given_directory_may_itself_be_a_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    files.write_text(tmp_path / "alias" / "a.txt", "ok")
    assert (real / "a.txt").read_text() == "ok"


def test_save_figure_writes_a_png(tmp_path, victim):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1])
    assert files.save_figure(fig, tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    link = _planted(tmp_path / "run", "f.png", victim)
    with pytest.raises(RnnkitError, match="symbolic link"):
        files.save_figure(fig, link)
    assert victim.read_text() == "keep me\n"
