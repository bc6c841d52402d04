"""The DNA alphabet: cleaning (IUPAC codes counted, never dropped), ids, reverse complement."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.dna import (
    COMPLEMENT_IDS,
    clean,
    decode,
    encode,
    reverse_complement,
    reverse_complement_ids,
)
from rnnkit.errors import DataError


def test_clean_maps_iupac_codes_to_n_and_counts_them():
    got = clean("acgtRYnU")
    assert got.sequence == "ACGTNNNT"
    assert dict(got.mapped) == {"R": 1, "Y": 1, "U": 1}  # lower-case n is N: nothing mapped


def test_clean_names_the_record_position_and_line_of_a_bad_letter():
    with pytest.raises(DataError, match=r"rec 1: position 6 \(line 6\): '-' is not a DNA letter"):
        clean("ACGTA-C", "rec 1", line_of=lambda pos: pos + 1)


def test_encode_decode_round_trip():
    ids = encode("ACGTN")
    assert ids.tolist() == [1, 2, 3, 4, 5]
    assert decode(np.array([1, 2, 0, 0])) == "AC"


def test_encode_refuses_an_uncleaned_letter():
    with pytest.raises(DataError, match="position 3"):
        encode("ACRT")


def test_reverse_complement_strings_and_ids_agree():
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGTN"), 37))
    rc = reverse_complement(seq)
    assert rc == "".join({"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}[b] for b in seq[::-1])
    assert decode(reverse_complement_ids(encode(seq))) == rc
    assert reverse_complement(rc) == seq
    assert COMPLEMENT_IDS[COMPLEMENT_IDS].tolist() == list(range(6))


def test_reverse_complement_against_biopython():
    from Bio.Seq import Seq

    seq = "ACGTTGCAAGGNCTTAAACCC"
    assert reverse_complement(seq) == str(Seq(seq).reverse_complement())
