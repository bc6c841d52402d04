"""`rnnkit train video` -> `rnnkit evaluate --json` -> `rnnkit predict` (a .npy clip, a directory
of PNG frames), and the multi-label scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from rnnkit.cli import main
from rnnkit.data.moving_shapes import MOTIONS, OBJECT_TAGS, TAGS, generate
from rnnkit.tasks.video.metrics import average_precision, tag_report


def test_average_precision_matches_its_definition():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = np.array([1, 0, 1, 0, 0, 1])
    # positives ranked 1st, 3rd, 6th: precisions 1/1, 2/3, 3/6
    assert average_precision(scores, labels) == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    assert average_precision(scores, np.ones(6)) == 1.0
    assert np.isnan(average_precision(scores, np.zeros(6)))
    # ties count against: two items tied at the top, one positive -> precision 1/2
    assert average_precision(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5


def test_tag_report_counts_sets_and_splits_objects_from_motions():
    tags = ["a", "b", "left", "right"]
    true = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 1, 0]])
    probs = np.array([[0.9, 0.1, 0.8, 0.2],   # all right
                      [0.2, 0.7, 0.6, 0.4],   # motion wrong (left for right)
                      [0.8, 0.3, 0.9, 0.1]])  # object b missed
    r = tag_report(probs, true, tags, n_object=2)
    assert r["exact_set_accuracy"] == pytest.approx(1 / 3)
    assert r["motion_accuracy"] == pytest.approx(2 / 3)
    assert r["object_accuracy"] == pytest.approx(2 / 3)
    assert r["per_tag_f1"]["a"] == 1.0 and r["per_tag_f1"]["right"] == 0.0
    assert r["per_tag_f1"]["b"] == pytest.approx(2 / 3)  # TP 1, FN 1
    assert r["object_map"] == pytest.approx(np.mean([1.0, 1.0]))  # b ranks 0.7 > 0.3 > 0.1
    assert r["map"] == pytest.approx(np.mean([r["per_tag_ap"][t] for t in tags]))


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("video") / "run"
    code = main(["train", "video", "--data.train_clips=24", "--data.valid_clips=8",
                 "--data.test_clips=10", "--data.batch_size=8", "--data.min_frames=3",
                 "--data.max_frames=5", "--model.channels=[4,8]", "--model.feature_size=8",
                 "--model.hidden_size=8", "--train.threads=1", "--train.eval_every=3",
                 "--steps", "6", "--out", str(run_dir), "--plain"])
    assert code == 0
    return run_dir


def test_train_evaluate_reports_every_score(video_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(video_run), "--data", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_clips"] == 10 and report["data"] == "moving-shapes test"
    assert set(report["per_tag_f1"]) == set(TAGS)
    for key in ("map", "object_map", "motion_map", "exact_set_accuracy", "motion_accuracy",
                "object_accuracy", "loss"):
        assert 0.0 <= report[key] <= 1.0 or key == "loss", key
    assert main(["evaluate", str(video_run), "--data", "valid"]) == 0
    text = capsys.readouterr().out
    assert "moving-shapes valid (8 clips)" in text and "motion_accuracy" in text


def test_the_defaults_are_the_measured_ones(video_run):
    """The run of the plain command has what BENCHMARKS.md measured: max pool (what) plus spatial
    keypoints (where), the rnn reading the changes between frames, a cosine learning rate."""
    config = json.loads((video_run / "config.json").read_text())
    model = config["task"]["model"]
    assert model["pool"] == "max" and model["keypoints"] == 32 and model["deltas"] is True
    assert model["skip"] is True and model["frame_stride"] == 2
    assert config["sched"]["name"] == "cosine" and config["sched"]["min_lr"] == 1e-4
    assert config["optim"]["lr"] == 3e-3 and config["train"]["eval_every"] == 3  # given


def test_evaluate_other_data_is_one_line(video_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(video_run), "--data", "train.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert "expected test or valid" in err and len(err.splitlines()) == 1


def test_predict_a_npy_clip_and_a_frames_dir_agree(video_run, tmp_path, capsys):
    clip = generate("test", 1, seed=5, min_frames=4, max_frames=4)[0].frames  # (4, 32, 32, 3)
    np.save(tmp_path / "clip.npy", clip)
    frames = tmp_path / "frames"
    frames.mkdir()
    for k, f in enumerate(clip):
        Image.fromarray(f).save(frames / f"{k:03d}.png")
    capsys.readouterr()
    assert main(["predict", str(video_run), "--input", str(tmp_path / "clip.npy"),
                 "--json"]) == 0
    [from_npy] = json.loads(capsys.readouterr().out)
    assert main(["predict", str(video_run), "--input", str(frames), "--json"]) == 0
    [from_dir] = json.loads(capsys.readouterr().out)
    assert from_npy["probabilities"] == from_dir["probabilities"]
    assert list(from_npy["probabilities"]) == list(TAGS)
    shown = {t for t, p in from_npy["probabilities"].items() if p >= 0.5}
    assert set(from_npy["label"].split()) - {"-"} == shown
    assert main(["predict", str(video_run), "--input", str(frames)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "row,label," + ",".join(f"p_{t}" for t in TAGS) and len(rows) == 2


def test_predict_bad_clips_are_one_line(video_run, tmp_path, capsys):
    np.save(tmp_path / "empty.npy", np.zeros((0, 32, 32, 3), np.uint8))
    bad = np.zeros((4, 32, 32, 3), np.float32)
    bad[1, 2, 3, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "flat.npy", np.zeros((32, 32), np.uint8))
    for name, words in (("empty.npy", "0 frames"), ("nan.npy", "NaN"),
                        ("flat.npy", "expected a clip of shape")):
        capsys.readouterr()
        assert main(["predict", str(video_run), "--input", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, err


def test_tag_lists_cover_objects_and_motions():
    assert TAGS == OBJECT_TAGS + MOTIONS and len(OBJECT_TAGS) == 12 and len(MOTIONS) == 7
