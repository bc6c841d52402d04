"""Damaged run directories: each damage is one line naming the file, never a traceback, and a
crafted size is refused before anything is allocated."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from rnnkit.cli import main
from rnnkit.errors import RnnkitError
from rnnkit.training.loading import load_trained

TINY = ["--steps", "2", "--train.eval_every=2", "--data.batch_size=4", "--model.hidden_size=8",
        "--data.chunks_per_epoch=3", "--plain"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    run = tmp_path_factory.mktemp("damaged") / "run"
    assert main(["train", "toy", "--out", str(run), *TINY]) == 0
    return run


@pytest.fixture
def run(pristine, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(pristine, copy)
    capsys.readouterr()
    return copy


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _random(path):
    path.write_bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0),
                                   dtype=torch.uint8).numpy().tobytes())


def _reshape(path):
    tensors = load_file(path)
    key = next(k for k in tensors if k.endswith("weight_hh_l0"))
    tensors[key] = torch.zeros(tensors[key].shape[0] + 4, tensors[key].shape[1])
    save_file(tensors, path)


def _edit_json(path, change):
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj))


DAMAGE = {  # name -> (file under the run, damage, words the one line holds)
    "truncated weights": ("model.safetensors", _truncate, "not a readable safetensors file"),
    "random weights": ("model.safetensors", _random, "not a readable safetensors file"),
    "wrong-shape weights": ("model.safetensors", _reshape, "has shape"),
    "invalid state.json": ("state.json", lambda p: p.write_text('{"step": 2,'),
                           "not valid JSON (line 1"),
    "state.json not an object": ("state.json", lambda p: p.write_text("[1, 2]"),
                                 "expected a JSON object"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_checkpoint_is_one_line_when_loaded(run, damage):
    name, spoil, words = DAMAGE[damage]
    spoil(run / "best" / name)
    with pytest.raises(RnnkitError) as err:
        load_trained(run, "best")
    assert words in str(err.value) and "\n" not in str(err.value)
    assert str(run / "best") in str(err.value)  # names the file


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_checkpoint_is_one_line_on_resume(run, capsys, damage):
    name, spoil, words = DAMAGE[damage]
    spoil(run / "last" / name)
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and str(run / "last" / name) in err, err


@pytest.mark.parametrize("change, words", [
    (lambda s: s.pop("epoch"), "KeyError"),
    (lambda s: s.update(step="abc"), "step = 'abc', expected an integer"),
    (lambda s: s.update(rng="none"), "state.json: damaged"),
    (lambda s: s["optimizer"]["param_groups"].clear(), "state.json: damaged"),
])
def test_a_state_json_without_rnnkit_s_layout_is_one_line_on_resume(run, capsys, change, words):
    _edit_json(run / "last" / "state.json", change)
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "last/state.json" in err, err


def test_wrong_shape_optimizer_state_is_one_line_on_resume(run, capsys):
    tensors = load_file(run / "last" / "optimizer.safetensors")
    key = next(k for k in tensors if tensors[k].ndim == 2)
    tensors[key] = torch.zeros(3, 3)
    save_file(tensors, run / "last" / "optimizer.safetensors")
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"optimizer state {key[6:]} has shape [3, 3]" in err, err


def test_invalid_config_and_calibration_json_are_one_line(run, capsys):
    (run / "calibration.json").write_text("{oops")
    with pytest.raises(RnnkitError, match=r"calibration.json: not valid JSON \(line 1"):
        load_trained(run, "best")
    (run / "config.json").write_text("")
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.json: not valid JSON" in err, err


@pytest.mark.parametrize("change", [lambda c: c.pop("task_name"), lambda c: c.update(task=3)])
def test_a_config_json_without_its_task_is_one_line(run, capsys, change):
    _edit_json(run / "config.json", change)
    with pytest.raises(RnnkitError, match="config.json: damaged"):
        load_trained(run, "best")
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.json: damaged" in err, err


def test_a_crafted_size_is_refused_before_allocating(run):
    # 10**7 hidden units: the LSTM's weights alone would take petabytes
    _edit_json(run / "config.json", lambda c: c["task"]["model"].update(hidden_size=10**7))
    with pytest.raises(RnnkitError, match=r"has shape \[.*\], the run's settings"):
        load_trained(run, "best")


def test_a_crafted_size_is_refused_on_resume(run, capsys):
    _edit_json(run / "config.json", lambda c: c["task"]["model"].update(hidden_size=10**7))
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "last/model.safetensors" in err and "has shape" in err


def test_a_damaged_metrics_line_is_named_and_a_torn_last_line_skipped(run, capsys):
    metrics = run / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{metrics}, line 2: not a JSON record" in err, err
    metrics.write_text("\n".join(lines) + '\n{"kind": "train", "st')  # torn by a crash
    assert main(["train", "--resume", str(run), "--steps", "4", "--plain"]) == 0
    steps = [json.loads(x)["step"] for x in metrics.read_text().splitlines() if '"train"' in x]
    assert steps == [1, 2, 3, 4]


def test_a_crafted_lm_state_json_is_refused_before_allocating(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 30)
    run = tmp_path / "lm"
    assert main(["train", "lm", "--out", str(run), f"--data.corpus={corpus}", "--steps", "2",
                 "--train.eval_every=2", "--data.batch_size=2", "--data.seq_len=8",
                 "--data.eval_batch_size=1", "--model.embedding_size=4",
                 "--model.hidden_size=8", "--model.num_layers=1", "--plain"]) == 0
    state = run / "best" / "state.json"
    _edit_json(state, lambda s: s["metadata"]["model"].update(hidden_size=10**7))
    capsys.readouterr()
    assert main(["generate", str(run), "--length", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "best/model.safetensors" in err and "has shape" in err, err
    _edit_json(state, lambda s: s["metadata"]["model"].update(colour="red"))
    assert main(["generate", str(run), "--length", "5"]) == 2
    assert "its model settings are damaged" in capsys.readouterr().err
