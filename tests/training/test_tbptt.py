"""Truncated BPTT: the carried state crosses chunks (the loss that needs the previous chunk
goes down only with it), gradients do not (the graph of a step does not grow with the stream)."""

import math

import torch
from toyrun import records, run_toy, toy_config

from rnnkit.data.sharding import stream_chunks
from rnnkit.tasks import toy
from rnnkit.training.tbptt import detach_state

TASK = ["--train.steps=100", "--train.eval_every=0", "--optim.lr=2e-2", "--data.chunk_len=6",
        "--data.delay=2", "--data.batch_size=32", "--model.hidden_size=32"]


def _late_boundary_loss(run_dir) -> float:
    late = [r["boundary_loss"] for r in records(run_dir, "train")[-30:] if "boundary_loss" in r]
    return sum(late) / len(late)


def test_loss_across_chunk_boundaries_falls_only_with_carried_state(tmp_path):
    chance = math.log(4)
    run_toy(tmp_path / "carry", *TASK, "--train.carry_state=true")
    run_toy(tmp_path / "reset", *TASK, "--train.carry_state=false")
    assert _late_boundary_loss(tmp_path / "carry") < 0.3 * chance
    assert _late_boundary_loss(tmp_path / "reset") > 0.9 * chance


def _graph_size(t: torch.Tensor) -> int:
    seen, todo = set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo.extend(f for f, _ in fn.next_functions)
    return len(seen)


class Measured:
    """The toy task, recording the autograd graph size of every step's loss."""

    def __init__(self, cfg):
        self.inner, self.sizes, self.states_in = toy.make_task(cfg), [], []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def step(self, model, batch, state):
        self.states_in.append(state)
        out = self.inner.step(model, batch, state)
        self.sizes.append(_graph_size(out.loss))
        return out


def test_gradients_stop_at_chunk_boundaries(tmp_path):
    cfg = toy_config("--data.chunks_per_epoch=12", "--train.steps=12")
    task = Measured(cfg.task)
    run_toy(tmp_path, "--data.chunks_per_epoch=12", "--train.steps=12", task=task)
    assert len(set(task.sizes)) == 1  # the same graph for chunk 1 and chunk 12: memory flat
    carried = [s for s in task.states_in if s is not None]
    assert len(carried) == 11 and all(t.grad_fn is None for s in carried for t in s)

    # the measure sees a growing graph when the state is not detached
    model, batches = task.build_model(), list(task.inner.train_batches(0))
    state, sizes = None, []
    for batch in batches[:3]:
        out = task.inner.step(model, batch, state)
        sizes.append(_graph_size(out.loss))
        state = out.state
    assert sizes[0] < sizes[1] < sizes[2]


def test_detach_state_structures():
    x = torch.ones(2, requires_grad=True) * 2
    tree = {"a": (x, [x, None]), "b": 3}
    out = detach_state(tree)
    assert out["a"][0].grad_fn is None and out["a"][1][0].grad_fn is None
    assert out["a"][1][1] is None and out["b"] == 3 and isinstance(out["a"], tuple)
    assert detach_state(None) is None


def test_stream_chunks_cover_the_stream():
    s = torch.arange(2 * 11).view(2, 11)
    chunks = list(stream_chunks(s, 4))
    assert [c.shape[1] for c in chunks] == [4, 4, 3]
    assert torch.equal(torch.cat(chunks, 1), s)


def test_to_device_keeps_structures():
    from collections import namedtuple

    from torch.nn.utils.rnn import pack_sequence

    from rnnkit.training.trainer import to_device

    Pair = namedtuple("Pair", "x y")
    packed = pack_sequence([torch.ones(3, 2), torch.ones(2, 2)])
    tree = {"a": Pair(torch.zeros(1), [packed, 3]), "b": None}
    out = to_device(tree, torch.device("cpu"))
    assert isinstance(out["a"], Pair) and out["a"].y[1] == 3 and out["b"] is None
    assert torch.equal(out["a"].y[0].data, packed.data)
