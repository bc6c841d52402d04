"""The seed ensemble: mean of the members' probabilities, as logits."""

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.models.ensemble import Ensemble, count_members


def members(n, regression=False):
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        cfg = ClassifierConfig(vocab_size=13, embed_dim=4, hidden_size=5, n_outputs=1 if
                               regression else 3, regression=regression, pooling="mean")
        out.append(SequenceClassifier(cfg).eval())
    return out


def batch():
    g = torch.Generator().manual_seed(7)
    return torch.randint(1, 13, (4, 6), generator=g), torch.tensor([6, 2, 4, 1])


def test_softmax_of_the_output_is_the_mean_of_the_members_probabilities():
    models = members(3)
    x, lengths = batch()
    probs = torch.stack([torch.softmax(m(x, lengths), -1) for m in models]).mean(0)
    out = Ensemble(models)(x, lengths)
    torch.testing.assert_close(torch.softmax(out, -1), probs)
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(4))  # already log-probabilities
    one = Ensemble(models[:1])(x, lengths)
    torch.testing.assert_close(one, torch.log_softmax(models[0](x, lengths), -1))


def test_regression_averages_the_values():
    models = members(2, regression=True)
    x, lengths = batch()
    want = (models[0](x, lengths) + models[1](x, lengths)) / 2
    torch.testing.assert_close(Ensemble(models, regression=True)(x, lengths), want)


def test_state_dict_round_trip_and_member_count():
    models = members(2)
    sd = Ensemble(models).state_dict()
    assert count_members(sd) == 2 and count_members(models[0].state_dict()) == 0
    fresh = Ensemble(members(2)[::-1])
    fresh.load_state_dict(sd)
    x, lengths = batch()
    torch.testing.assert_close(fresh(x, lengths), Ensemble(models)(x, lengths))
    with pytest.raises(ConfigError, match="expected members 0..1"):
        count_members({k.replace("members.1.", "members.2."): v for k, v in sd.items()})
    with pytest.raises(ConfigError, match="expected at least 1 member, got 0"):
        Ensemble([])
