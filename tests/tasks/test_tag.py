"""`rnnkit train tag` -> `rnnkit evaluate` -> `rnnkit predict` on a real GenBank file (the
Yersinia plasmid pPCP1, 9.6 kb), and the coding-tags data split by region."""

from __future__ import annotations

import json

import numpy as np

from rnnkit.cli import main
from rnnkit.data.genome_files import pinned_path
from rnnkit.data.genome_regions import chloroplast
from rnnkit.data.tag_sets import load_tag_data


def test_coding_tags_splits_share_no_base_and_keep_the_annotation():
    data = load_tag_data("coding-tags", 0.2, 0.1, seed=0)
    seq, tags = chloroplast()
    covered = {}
    for split in ("train", "valid", "test"):
        mask = np.zeros(len(seq), dtype=bool)
        for s in getattr(data, split):
            mask[s.start:s.start + len(s.sequence)] = True
            assert s.sequence == seq[s.start:s.start + len(s.sequence)]
            assert np.array_equal(s.tags, tags[s.start:s.start + len(s.sequence)])
        covered[split] = mask
    assert not (covered["train"] & covered["test"]).any()
    assert not (covered["valid"] & (covered["train"] | covered["test"])).any()
    assert (covered["train"] | covered["valid"] | covered["test"]).all()  # every base used


def test_train_evaluate_predict_on_a_genbank_file(tmp_path, capsys):
    gb = pinned_path("plasmid-gb")
    run_dir = tmp_path / "run"
    code = main(["train", "tag", "--data", str(gb), "--data.block=1000", "--data.chunk=300",
                 "--data.stride=150", "--data.batch_size=8", "--model.hidden_size=8",
                 "--dna.strands=augment", "--train.threads=1", "--train.eval_every=10",
                 "--steps", "20", "--out", str(run_dir), "--plain"])
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_bases"] > 1000 and 0.0 <= report["segment_f1"] <= 1.0
    assert set(report["per_tag_f1"]) == {"noncoding", "plus", "minus"}
    assert report["kmer_baseline"]["half_window"] in (25, 50, 100)
    assert (run_dir / "tags.png").stat().st_size > 1000
    assert main(["evaluate", str(run_dir), "--data", str(gb)]) == 0
    assert "(9609 bases)" in capsys.readouterr().out  # the whole record
    assert main(["predict", str(run_dir), "--input", str(pinned_path("plasmid-cds"))]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "row,label,p_noncoding,p_plus,p_minus" and len(rows) == 11
    first = rows[1].split(",")[1]
    assert set(first) <= set(".+-") and len(first) == 1023  # one tag per base of the first CDS


def test_a_genbank_file_without_cds_is_one_line(tmp_path, capsys):
    gb = tmp_path / "x.gb"
    gb.write_text("LOCUS       X1          12 bp    DNA     linear   PRI 01-JAN-2000\n"
                  "DEFINITION  nothing.\nACCESSION   X1\nVERSION     X1.1\n"
                  "FEATURES             Location/Qualifiers\n     source          1..12\n"
                  "ORIGIN\n        1 acgtacgtac gt\n//\n")
    assert main(["train", "tag", "--data", str(gb), "--steps", "1", "--out",
                 str(tmp_path / "r"), "--plain"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no CDS features" in err and len(err.splitlines()) == 1
