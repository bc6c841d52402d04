"""The DNA front of the models: reverse complement of a padded batch, the embeddings, padding
invariance, and strand averaging."""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.data.batching import pad_batch
from rnnkit.data.dna import encode, reverse_complement_ids
from rnnkit.models.classifier import ClassifierConfig
from rnnkit.models.dna import (
    DnaClassifier,
    DnaEmbedding,
    DnaModelConfig,
    reverse_complement,
    reverse_steps,
)


def _batch(seqs):
    return pad_batch([torch.from_numpy(encode(s)) for s in seqs])


SEQS = ["ACGTTGCAN", "GGA", "TTTACGCGATCC"]


def test_reverse_complement_of_a_padded_batch():
    x, lengths = _batch(SEQS)
    rc = reverse_complement(x, lengths)
    for b, s in enumerate(SEQS):
        n = len(s)
        assert rc[b, :n].tolist() == reverse_complement_ids(encode(s)).tolist()
        assert (rc[b, n:] == 0).all()
    assert torch.equal(reverse_complement(rc, lengths), x)


def test_reverse_steps_keeps_padding_in_place():
    y = torch.arange(12.0).view(3, 4)
    out = reverse_steps(y, torch.tensor([4, 2, 1]))
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 6, 7], [8, 9, 10, 11]]


def test_kmer_ids_are_centred_and_ignore_padding():
    emb = DnaEmbedding("kmer", k=3, dim=5)
    with torch.no_grad():
        emb.table.weight.copy_(torch.arange(66.0).unsqueeze(1).expand(66, 5))
    x, lengths = _batch(["ACGT", "AC"])
    ids = emb(x, lengths)[..., 0].long()
    # step 1 of ACGT: ACG = 0*16 + 1*4 + 2 = 6; step 0 runs off the start -> 64; padding -> 65
    assert ids[0].tolist() == [64, 6, 27, 64]
    assert ids[1].tolist() == [64, 64, 65, 65]


def test_embeddings_are_the_same_alone_or_padded():
    torch.manual_seed(0)
    for kind in ("onehot", "kmer"):
        emb = DnaEmbedding(kind, k=4, dim=6)
        x, lengths = _batch(SEQS)
        together = emb(x, lengths)
        for b, s in enumerate(SEQS):
            xa, la = _batch([s])
            assert torch.equal(emb(xa, la)[0], together[b, :len(s)])


def _classifier(strands, embedding="kmer"):
    torch.manual_seed(1)
    head = ClassifierConfig(input_kind="series", input_size=1, embed_dim=0, hidden_size=8,
                            bidirectional=True, pooling="mean", n_outputs=3)
    return DnaClassifier(DnaModelConfig(embedding, 3, 6, strands), head).double().eval()


def test_strand_average_gives_both_strands_the_same_answer():
    x, lengths = _batch(SEQS)
    rc = reverse_complement(x, lengths)
    avg = _classifier("average")
    assert torch.allclose(avg(x, lengths), avg(rc, lengths), atol=1e-12)
    fwd = _classifier("forward")
    assert not torch.allclose(fwd(x, lengths), fwd(rc, lengths), atol=1e-6)


def test_classifier_prediction_is_padding_invariant():
    model = _classifier("average", "onehot")
    x, lengths = _batch(SEQS)
    together = model(x, lengths)
    for b, s in enumerate(SEQS):
        xa, la = _batch([s])
        assert torch.allclose(model(xa, la)[0], together[b], atol=1e-12)
    assert np.isfinite(together.detach().numpy()).all()


def test_bad_dna_settings_are_one_line_config_errors():
    import pytest

    from rnnkit.errors import ConfigError

    for kwargs, message in [({"k": 9, "embedding": "kmer"}, "dna.k: expected an integer in 1..8"),
                            ({"embed_dim": 0, "embedding": "kmer"}, "dna.embed_dim"),
                            ({"strands": "both"}, "dna.strands: expected forward or augment"),
                            ({"embedding": "bpe"}, "dna.embedding: expected onehot or kmer")]:
        with pytest.raises(ConfigError, match=message):
            DnaModelConfig(**kwargs)
