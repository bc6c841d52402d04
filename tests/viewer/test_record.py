"""What the viewer records is what the model computes: states, gates and predictions (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.errors import RnnkitError
from rnnkit.models.lm import LanguageModel
from rnnkit.viewer.record import is_sigmoid, kinds_of, record

V = 11


def _model(cell: str, layers: int = 2, seed: int = 0) -> LanguageModel:
    torch.manual_seed(seed)
    return LanguageModel(V, 5, 6, layers, cell=cell).double().eval()


def _ids(n: int = 23) -> np.ndarray:
    return np.random.default_rng(1).integers(0, V, n)


def _lstm_by_hand(model: LanguageModel, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Layer 0 of an LSTM step by step from its weights: i, f, g, o, c, h per step."""
    rnn, H = model.rnn, model.rnn.hidden_size
    x = model.embedding.weight[torch.as_tensor(ids)]  # (T, E)
    h, c, out = torch.zeros(H, dtype=torch.float64), torch.zeros(H, dtype=torch.float64), []
    for t in range(len(ids)):
        z = rnn.weight_ih_l0 @ x[t] + rnn.bias_ih_l0 + rnn.weight_hh_l0 @ h + rnn.bias_hh_l0
        i, f, g, o = z.split(H)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        out.append({"i": i, "f": f, "g": g, "o": o, "c": c, "h": h})
    return {k: torch.stack([s[k] for s in out]).detach().numpy() for k in out[0]}


def test_lstm_states_and_gates_equal_a_hand_written_step():
    model, ids = _model("lstm"), _ids()
    rec = record(model, ids, kinds_of("LSTM"))
    ref = _lstm_by_hand(model, ids)
    H = model.rnn.hidden_size
    for kind, values in ref.items():
        np.testing.assert_allclose(rec.acts[kind][:, :H], values, atol=1e-6, err_msg=kind)
    with torch.no_grad():
        top = model.rnn(model.embedding(torch.as_tensor(ids))[None])[0][0].numpy()
    np.testing.assert_allclose(rec.acts["h"][:, H:], top, atol=1e-6)  # layer 2 = the output


@pytest.mark.parametrize("cell", ["gru", "rnn_tanh"])
def test_other_cells_record_their_output_per_layer(cell):
    model, ids = _model(cell), _ids()
    rec = record(model, ids, kinds_of(model.rnn.mode))
    with torch.no_grad():
        top = model.rnn(model.embedding(torch.as_tensor(ids))[None])[0][0].numpy()
    np.testing.assert_allclose(rec.acts["h"][:, 6:], top, atol=1e-6)
    for kind, acts in rec.acts.items():
        if is_sigmoid(rec.mode, kind):
            assert acts.min() >= 0 and acts.max() <= 1
    assert set(rec.acts) == set(kinds_of(model.rnn.mode))


def test_chunks_carry_the_state():
    model, ids = _model("lstm"), _ids(40)
    whole = record(model, ids, ("h", "c", "f"), chunk=1000)
    pieces = record(model, ids, ("h", "c", "f"), chunk=7)
    for kind in whole.acts:
        np.testing.assert_allclose(pieces.acts[kind], whole.acts[kind], atol=1e-12)
    np.testing.assert_allclose(pieces.top_probs, whole.top_probs, atol=1e-7)


def test_predictions_are_the_models_top_k_and_the_next_tokens_probability():
    model, ids = _model("gru"), _ids()
    rec = record(model, ids, ("h",), top_k=3)
    with torch.no_grad():
        probs = torch.softmax(model(torch.as_tensor(ids)[None])[0][0], -1).numpy()
    order = np.argsort(-probs, axis=1)[:, :3]
    np.testing.assert_array_equal(rec.top_ids, order)
    np.testing.assert_allclose(rec.top_probs, np.take_along_axis(probs, order, 1), atol=1e-6)
    np.testing.assert_allclose(rec.next_prob[:-1], probs[np.arange(len(ids) - 1), ids[1:]],
                               atol=1e-6)
    assert np.isnan(rec.next_prob[-1])


def test_a_kind_the_cell_lacks_is_one_line():
    with pytest.raises(RnnkitError, match="a GRU layer shows h, r, z, n"):
        record(_model("gru"), _ids(), ("c",))


def test_the_replay_is_checked_against_the_model(monkeypatch):
    import rnnkit.viewer.record as rec_mod

    real = rec_mod.trace_layer

    def off_by_a_bit(layer, call, **kw):
        traces = real(layer, call, **kw)
        tr = traces[(0, 0)]
        tr.states[-1] = tuple(s + 1e-3 for s in tr.states[-1])
        return traces

    monkeypatch.setattr(rec_mod, "trace_layer", off_by_a_bit)
    with pytest.raises(RnnkitError, match="replay differs from the model"):
        record(_model("lstm"), _ids(), ("h",))
