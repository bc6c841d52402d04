"""`rnnkit evaluate RUN_DIR --data test` for translate runs: BLEU, chrF and exact match of greedy
and beam decoding, beside a copy-the-source baseline, the decoding speed, and an attention
heat-map of the first test sentences (RUN_DIR/attention.png)."""

from __future__ import annotations

import time
from pathlib import Path

from rnnkit import config as C
from rnnkit.data.pairs import read_tsv
from rnnkit.errors import RnnkitError
from rnnkit.tasks.translate.config import Config
from rnnkit.tasks.translate.metrics import plot_attention, scores
from rnnkit.tasks.translate.task import load_split, model_from_run
from rnnkit.tasks.translate.translator import Translator

SPLITS = ("test", "valid", "train", "test_locales")
HEATMAP_SENTENCES = 4


def pairs_of(cfg: Config, data: str | None) -> tuple[str, list[tuple[str, str]]]:
    """(name, pairs): a split of the run's data (default test) or a TSV file."""
    name = data or "test"
    if name in SPLITS:
        return name, load_split(cfg, name)
    if Path(name).is_file():
        return name, read_tsv(name)
    raise RnnkitError(f"--data: expected one of {', '.join(SPLITS)} or a TSV file, got {name!r}")


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data: str | None,
                    batch_size: int = 64, device: str = "cpu", run_dir=None) -> dict:
    cfg = C.build(Config, config["task"], source=f"{run_dir}/config.json")
    name, pairs = pairs_of(cfg, data)
    model, src_v, tgt_v = model_from_run(metadata, state_dict, device)
    dec = cfg.decode
    translator = Translator(model, src_v, tgt_v, dec.max_len_ratio, dec.max_len_extra)
    sources, refs = [s for s, _ in pairs], [t for _, t in pairs]
    result: dict = {"data": name, "pairs": len(pairs),
                    "unknown_sources": sum(bool(translator.unknown(s)) for s in sources)}
    for label, beam in [("greedy", 1)] + ([(f"beam{dec.beam}", dec.beam)] if dec.beam > 1 else []):
        start = time.perf_counter()
        out = translator.translate(sources, beam=beam, alpha=dec.alpha, batch_size=batch_size)
        seconds = time.perf_counter() - start
        result[label] = scores([t[0].text for t in out], refs)
        result[label]["sentences_per_s"] = len(pairs) / max(seconds, 1e-9)
    result["copy_source"] = {k: v for k, v in scores(sources, refs).items()
                             if not k.endswith("signature")}
    if run_dir is not None and model.attention is not None:
        shown = translator.translate(sources[:HEATMAP_SENTENCES], keep_attention=True)
        result["attention_png"] = str(plot_attention([t[0] for t in shown],
                                                     Path(run_dir) / "attention.png"))
    return result


def format_report(metrics: dict) -> str:
    lines = [f"{metrics['data']}: {metrics['pairs']} pairs "
             f"({metrics['unknown_sources']} with pieces the vocabulary lacks)"]
    lines.append(f"{'':<12} {'BLEU':>7} {'chrF':>7} {'exact %':>8} {'sent/s':>8}")
    for key, m in metrics.items():
        if isinstance(m, dict):
            speed = f"{m['sentences_per_s']:8.1f}" if "sentences_per_s" in m else f"{'':>8}"
            lines.append(f"{key:<12} {m['bleu']:7.2f} {m['chrf']:7.2f} {m['exact']:8.2f} {speed}")
    if "greedy" in metrics:
        lines.append(f"BLEU: {metrics['greedy']['bleu_signature']}")
        lines.append(f"chrF: {metrics['greedy']['chrf_signature']}")
    if "attention_png" in metrics:
        lines.append(f"attention heat-map: {metrics['attention_png']}")
    return "\n".join(lines)
