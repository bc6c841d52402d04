"""Train -> checkpoint -> evaluate -> predict through the training engine and the CLI
(`rnnkit train`, `rnnkit evaluate`, `rnnkit predict`), with real run directories."""

import json

from rnnkit.cli import main


def test_train_evaluate_predict_end_to_end(tmp_path, capsys):
    train = tmp_path / "train.csv"
    rows = [f"{'good' if i % 2 else 'bad'} {'sun ' * (i % 4)}day,{'pos' if i % 2 else 'neg'}"
            for i in range(48)]
    train.write_text("text,label\n" + "\n".join(rows) + "\n")
    run_dir = tmp_path / "run"
    code = main(["train", "classify", f"--data.train_path={train}", "--data.min_freq=1",
                 "--data.batch_size=8", "--model.hidden_size=16", "--model.embed_dim=8",
                 "--train.threads=1", "--train.eval_every=40", "--optim.lr=0.03",
                 "--steps", "80", "--out", str(run_dir), "--plain"])
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--data", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == 1.0 and (run_dir / "confusion_matrix.png").is_file()
    assert report["macro_f1"] == 1.0 and report["n_items"] == 10
    new = tmp_path / "new.csv"
    new.write_text("text\ngood day\nbad sun day\n")
    assert main(["predict", str(run_dir), "--input", str(new), "--which", "last"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "row,label,p_neg,p_pos" and [r.split(",")[1] for r in out[1:]] == ["pos",
                                                                                      "neg"]
