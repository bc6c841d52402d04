"""The captioner: shapes, attention over the grid, the decoder's length limit and end token,
beam 1 == greedy, batch independence, gradients into the CNN, bad settings."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.captioner import Captioner, decode_ids
from rnnkit.models.decode import greedy

BOS, EOS, V = 2, 3, 12


def small(attention: str = "bahdanau", seed: int = 0) -> Captioner:
    torch.manual_seed(seed)
    return Captioner(V, channels=(4, 8), feature_size=8, embedding_size=6, hidden_size=10,
                     attention=attention).eval()


def pictures(n: int = 3, size: int = 24) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_teacher_forcing_shapes_and_attention_over_the_grid():
    model = small()
    logits = model(pictures(), torch.randint(4, V, (3, 5)))
    assert logits.shape == (3, 5, V)
    state = model.start(pictures())
    assert state["memory"].shape == (3, 36, 8)  # 24 / 4 = a 6 x 6 grid
    _, _, weights = model.step(torch.full((3,), BOS), state)
    assert weights.shape == (3, 36)
    torch.testing.assert_close(weights.sum(1), torch.ones(3))


@pytest.mark.parametrize("beam", [1, 3])
def test_no_caption_runs_past_max_len_and_every_one_ends(beam):
    """A model that never wants to stop (EOS bias -50): still at most max_len - 1 words, then
    the end token (its step is the one more attention row than words)."""
    model = small()
    with torch.no_grad():
        model.out.bias[EOS] = -50.0
    for max_len in (2, 5):
        hyps = decode_ids(model, pictures(), BOS, EOS, max_len, beam=beam, keep_attention=True)
        for h in hyps:
            assert len(h.tokens) == max_len - 1 and EOS not in h.tokens
            assert h.attention.shape[0] == len(h.tokens) + 1  # the EOS step
            assert torch.isfinite(torch.tensor(h.log_prob))


def test_without_the_ending_step_the_plain_search_stops_without_an_end_token():
    """What the test above guards against: the shared search alone stops at the limit, EOS-less."""
    model = small()
    with torch.no_grad():
        model.out.bias[EOS] = -50.0
    hyps = greedy(model.step, model.start(pictures()), BOS, EOS, [5] * 3, keep_attention=True)
    assert all(len(h.tokens) == 5 and h.attention.shape[0] == 5 for h in hyps)


def test_a_model_that_wants_to_stop_stops_early():
    model = small()
    with torch.no_grad():
        model.out.bias[EOS] = 50.0
    assert all(h.tokens == [] for h in decode_ids(model, pictures(), BOS, EOS, 10))


def test_beam_one_is_greedy_and_beam_is_never_worse_in_log_prob():
    model = small(seed=3)
    g = decode_ids(model, pictures(4), BOS, EOS, 8)
    b1 = decode_ids(model, pictures(4), BOS, EOS, 8, beam=1)
    assert [h.tokens for h in g] == [h.tokens for h in b1]
    b4 = decode_ids(model, pictures(4), BOS, EOS, 8, beam=4, alpha=0.0)
    assert all(b.log_prob >= h.log_prob - 1e-6 for b, h in zip(b4, g, strict=True))


def test_a_picture_alone_decodes_as_in_a_batch():
    model = small(seed=5)
    batch = decode_ids(model, pictures(4), BOS, EOS, 8, beam=3)
    alone = decode_ids(model, pictures(4)[2:3], BOS, EOS, 8, beam=3)
    assert batch[2].tokens == alone[0].tokens
    assert batch[2].score == pytest.approx(alone[0].score, abs=1e-5)


@pytest.mark.parametrize("attention", ["bahdanau", "general", "none"])
def test_the_loss_reaches_the_cnn(attention):
    model = small(attention).train()
    logits = model(pictures(), torch.randint(4, V, (3, 4)))
    torch.nn.functional.cross_entropy(logits.reshape(-1, V), torch.randint(4, V, (12,))).backward()
    first_conv = model.encoder.stages[0][0].weight
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0


def test_bad_settings_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="model.attention"):
        Captioner(V, attention="luong")
    with pytest.raises(ConfigError, match="step cell"):
        Captioner(V, cell="mingru")
    with pytest.raises(ConfigError, match="model.hidden_size"):
        Captioner(V, hidden_size=0)
    with pytest.raises(ConfigError, match="decode.max_len"):
        decode_ids(small(), pictures(), BOS, EOS, 0)


def test_a_decoder_that_reads_no_words_ignores_the_tokens():
    torch.manual_seed(0)
    model = Captioner(V, channels=(4, 8), feature_size=8, embedding_size=6, hidden_size=10,
                      read_words=False).eval()
    state = model.start(pictures())
    a = model.step(torch.full((3,), BOS), state)[0]
    b = model.step(torch.tensor([5, 7, 9]), state)[0]
    torch.testing.assert_close(a, b)
    reads = small()
    reads.load_state_dict(model.state_dict())  # the same weights, reading words
    assert not torch.allclose(reads.step(torch.tensor([5, 7, 9]), reads.start(pictures()))[0], b)
    with pytest.raises(ConfigError, match="read_words"):
        Captioner(V, attention="none", read_words=False)
    with pytest.raises(ConfigError, match="read_words"):
        Captioner(V, input_feed=False, read_words=False)
