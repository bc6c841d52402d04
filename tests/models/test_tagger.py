"""The per-base tagger: one output per input base, padding invariance, and both strands."""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.data.batching import pad_batch
from rnnkit.data.dna import encode
from rnnkit.models.dna import DnaModelConfig, reverse_complement, reverse_steps
from rnnkit.models.tagger import DnaTagger, TaggerConfig
from rnnkit.tasks._dna import augment_strands

SEQS = ["ACGTTGCAAGT", "GGATC", "TTTACGCGATCCAGGT"]
SWAP = (0, 2, 1)


def _batch(seqs):
    return pad_batch([torch.from_numpy(encode(s)) for s in seqs])


def _tagger(strands="forward", embedding="kmer", cell="lstm"):
    torch.manual_seed(0)
    return DnaTagger(DnaModelConfig(embedding, 3, 5, strands),
                     TaggerConfig(n_tags=3, cell=cell, hidden_size=6, strand_swap=SWAP)
                     ).double().eval()


def test_one_output_per_base_and_the_same_alone_or_padded():
    for cell in ("lstm", "gru"):
        model = _tagger(cell=cell)
        x, lengths = _batch(SEQS)
        out = model(x, lengths)
        assert out.shape == (3, 16, 3)
        for b, s in enumerate(SEQS):
            alone = model(*_batch([s]))
            assert alone.shape == (1, len(s), 3)
            assert torch.allclose(alone[0], out[b, :len(s)], atol=1e-12)


def test_strand_average_tags_the_reverse_complement_consistently():
    model = _tagger("average", "onehot")
    x, lengths = _batch(SEQS)
    out = model(x, lengths)
    rc = model(reverse_complement(x, lengths), lengths)
    # the reverse complement's logits, reversed back and with + and - swapped, are the same
    back = reverse_steps(rc, lengths)[..., list(SWAP)]
    for b, s in enumerate(SEQS):
        assert torch.allclose(back[b, :len(s)], out[b, :len(s)], atol=1e-12)


def test_augmentation_reverses_and_swaps_the_tags_of_flipped_rows():
    x, lengths = _batch(SEQS)
    y, _ = pad_batch([torch.tensor([0, 1, 2] * 6)[:len(s)] for s in SEQS], pad_value=-100)
    out = augment_strands({"x": x, "lengths": lengths, "y": y}, np.random.default_rng(1),
                          swap=list(SWAP))
    flipped = [b for b in range(3) if not torch.equal(out["x"][b], x[b])]
    assert flipped and len(flipped) < 3
    for b in range(3):
        n = len(SEQS[b])
        want = y[b, :n].flip(0)[..., None].apply_(lambda t: SWAP[t]).squeeze(-1) \
            if b in flipped else y[b, :n]
        assert torch.equal(out["y"][b, :n], want)
        assert (out["y"][b, n:] == -100).all()


def test_the_tagger_takes_every_cell_of_the_registry_and_names_them_on_an_unknown_one():
    import pytest

    from rnnkit.errors import ConfigError
    from rnnkit.functional import registry

    x, lengths = _batch(SEQS)
    for cell in ("ln_lstm", "peephole_lstm", "rnn_relu", "mingru"):
        logits = _tagger(cell=cell)(x, lengths)
        assert logits.shape == (3, x.shape[1], 3) and torch.isfinite(logits).all()
    with pytest.raises(ConfigError, match="unknown cell 'tcn'; known cells: " +
                       ", ".join(registry.names())):
        TaggerConfig(cell="tcn")


def test_tag_task_config_lists_the_registrys_cells():
    import pytest

    from rnnkit.errors import ConfigError
    from rnnkit.tasks.tag.task import Config

    assert Config(model={"cell": "ln_gru"}).model.cell == "ln_gru"
    with pytest.raises(ConfigError, match="model.cell .*'ln_lstm'.*got 'tcn'"):
        Config(model={"cell": "tcn"})
