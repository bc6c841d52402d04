"""Resume equals never stopping: the run stopped at step k and resumed ends equal to the run
that went straight to step n (CPU, same threads: 1e-6)."""

from safetensors.torch import load_file
from toyrun import records, run_toy

from rnnkit.training.run import train_task


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def test_resume_equals_never_stopping(tmp_path):
    # dropout draws from the RNG; 7 chunks per epoch, so k=20 stops mid-epoch with a carried
    # state, and both runs cross epoch boundaries; cosine with a fixed length, SGD momentum
    common = ["--model.dropout=0.3", "--sched.name=cosine", "--sched.total_steps=30",
              "--sched.warmup_steps=4", "--optim.name=sgd", "--optim.lr=0.5"]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    run_toy(straight, *common, "--train.steps=30")
    run_toy(stopped, *common, "--train.steps=20")
    assert load_file(stopped / "last" / "carry.safetensors"), "k=20 should carry a state"
    train_task(None, resume=str(stopped), overrides=["--train.steps=30"], progress="off")

    a = load_file(straight / "last" / "model.safetensors")
    b = load_file(stopped / "last" / "model.safetensors")
    assert _max_diff(a, b) < 1e-6
    oa = load_file(straight / "last" / "optimizer.safetensors")
    ob = load_file(stopped / "last" / "optimizer.safetensors")
    assert _max_diff(oa, ob) < 1e-6
    # the resumed run saw the same batches: the same losses step by step, and its
    # metrics.jsonl reads as one run
    la = [(r["step"], r["loss"]) for r in records(straight, "train")]
    lb = [(r["step"], r["loss"]) for r in records(stopped, "train")]
    assert [s for s, _ in lb] == list(range(1, 31))
    assert max(abs(x[1] - y[1]) for x, y in zip(la, lb, strict=True)) < 1e-6


def test_resume_without_replaying_data_would_differ(tmp_path):
    """The check above can fail: the same resume that restarts the epoch at its first batch
    (what a loop that forgets the data position does) ends elsewhere."""
    import json

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    run_toy(straight, "--train.steps=30")
    run_toy(stopped, "--train.steps=20")
    state_path = stopped / "last" / "state.json"
    state = json.loads(state_path.read_text())
    state["batch_index"] = 0
    state_path.write_text(json.dumps(state))
    train_task(None, resume=str(stopped), overrides=["--train.steps=30"], progress="off")
    a = load_file(straight / "last" / "model.safetensors")
    b = load_file(stopped / "last" / "model.safetensors")
    assert _max_diff(a, b) > 1e-4
