import itertools

import pytest
import torch

from rnnkit.data.batching import pad_batch
from rnnkit.errors import ConfigError
from rnnkit.models.classifier import POOLINGS, ClassifierConfig, SequenceClassifier

LENGTHS = (3, 9, 1, 6)


def make(pooling, bidirectional, cell="lstm", kind="series", impl="auto", **kw):
    torch.manual_seed(0)
    cfg = ClassifierConfig(input_kind=kind, input_size=3, vocab_size=11, embed_dim=5,
                           hidden_size=4, num_layers=2, cell=cell, bidirectional=bidirectional,
                           pooling=pooling, n_outputs=3, impl=impl, **kw)
    return SequenceClassifier(cfg).eval()


def series(seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(t, 3, generator=g) for t in LENGTHS]


@pytest.mark.parametrize("pooling,bidirectional,cell,impl", list(itertools.product(
    POOLINGS, (False, True), ("lstm", "gru", "rnn"), ("native", "fused", "reference"))))
def test_padding_invariance(pooling, bidirectional, cell, impl):
    """A sequence's output is the same alone and batched with longer ones, whatever the
    padding holds, with every layer implementation."""
    model = make(pooling, bidirectional, cell, impl=impl)
    seqs = series()
    x, lengths = pad_batch(seqs)
    for i, n in enumerate(LENGTHS):
        x[i, n:] = 1e3  # garbage in the padding must not leak in
    batched = model(x, lengths)
    alone = torch.cat([model(s.unsqueeze(0), torch.tensor([len(s)])) for s in seqs])
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_token_padding_invariance(pooling):
    model = make(pooling, True, kind="tokens")
    g = torch.Generator().manual_seed(2)
    seqs = [torch.randint(1, 11, (t,), generator=g) for t in LENGTHS]
    x, lengths = pad_batch(seqs)
    alone = torch.cat([model(s.unsqueeze(0), torch.tensor([len(s)])) for s in seqs])
    torch.testing.assert_close(model(x, lengths), alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["native", "fused"])
def test_bidirectional_last_pooling_sees_the_true_last_step(impl):
    """With 'last' pooling the backward direction starts at each sequence's true last step:
    its final state equals a one-way LSTM with the reverse weights run over the real steps
    flipped, and changing the last real step changes the output."""
    torch.manual_seed(0)
    cfg = ClassifierConfig(input_kind="series", input_size=3, embed_dim=5, hidden_size=4,
                           bidirectional=True, pooling="last", n_outputs=3, impl=impl)
    model = SequenceClassifier(cfg).eval()
    reverse = torch.nn.LSTM(5, 4, batch_first=True)
    reverse.load_state_dict({k.replace("_reverse", ""): v
                             for k, v in model.rnn.state_dict().items() if k.endswith("_reverse")})
    seqs = series()
    x, lengths = pad_batch(seqs)
    with torch.no_grad():
        out, h_n = model.encode(x, lengths)  # h_n (2, B, 4): forward, backward
        for i, s in enumerate(seqs):
            _, (h_rev, _) = reverse(model.embed(s.flip(0)).unsqueeze(0))
            torch.testing.assert_close(h_n[1, i], h_rev[0, 0], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(out[i, 0, 4:], h_rev[0, 0], rtol=1e-5, atol=1e-6)
        base = model(x, lengths)
        x2 = x.clone()
        for i, n in enumerate(LENGTHS):
            x2[i, n - 1] += 1.0
        assert ((model(x2, lengths) - base).abs().amax(1) > 1e-4).all()


def test_regression_gives_one_number_per_sequence():
    model = make("mean", False, regression=True)
    x, lengths = pad_batch(series())
    assert model(x, lengths).shape == (len(LENGTHS),)


def test_bad_inputs_give_clear_errors():
    model = make("last", False)
    x, lengths = pad_batch(series())
    with pytest.raises(ConfigError, match="lengths: expected values in"):
        model(x, lengths + 100)
    with pytest.raises(ConfigError, match="expected a 3-D batch-first tensor"):
        model(x[..., 0], lengths)
    with pytest.raises(ConfigError, match="model.pooling: expected"):
        ClassifierConfig(input_kind="series", input_size=3, pooling="median")


def test_subword_padding_invariance():
    """Sub-word inputs (B, T, 1+G): padded steps and padded n-gram columns change nothing."""
    torch.manual_seed(0)
    model = SequenceClassifier(ClassifierConfig(vocab_size=11, embed_dim=5, hidden_size=4,
                                                subword_buckets=17, n_outputs=3,
                                                pooling="mean", bidirectional=True)).eval()
    g = torch.Generator().manual_seed(2)
    seqs = []
    for t, width in zip(LENGTHS, (2, 5, 1, 3), strict=True):
        s = torch.zeros(t, 1 + width, dtype=torch.int64)
        s[:, 0] = torch.randint(1, 11, (t,), generator=g)
        s[:, 1:] = torch.randint(1, 18, (t, width), generator=g)
        s[0, -1] = 0  # a word with fewer n-grams than the widest
        seqs.append(s)
    widest = max(s.shape[1] for s in seqs)
    x, lengths = pad_batch([torch.nn.functional.pad(s, (0, widest - s.shape[1])) for s in seqs])
    batched = model(x, lengths)
    alone = torch.cat([model(s.unsqueeze(0), torch.tensor([len(s)])) for s in seqs])
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="expected a 3-D batch-first tensor for sub-word"):
        model(x[..., 0], lengths)
    with pytest.raises(ConfigError, match="model.subword_buckets: expected 0"):
        ClassifierConfig(vocab_size=11, subword_buckets=-1)
