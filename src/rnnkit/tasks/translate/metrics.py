"""Scores of translations against references: BLEU and chrF by sacrebleu (its standard settings,
whose signatures are reported with the scores), and exact match; an attention heat-map."""

from __future__ import annotations

import warnings
from pathlib import Path

from rnnkit.errors import RnnkitError
from rnnkit.files import save_figure


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError:
        raise RnnkitError("BLEU and chrF need sacrebleu: pip install sacrebleu "
                          "(or pip install 'rnnkit[data]')") from None
    return sacrebleu


def scores(hypotheses: list[str], references: list[str]) -> dict:
    """{"bleu", "chrf", "exact"} in percent, with sacrebleu's signatures."""
    if len(hypotheses) != len(references) or not references:
        raise RnnkitError(f"scores: expected as many hypotheses as references (>= 1), got "
                          f"{len(hypotheses)} and {len(references)}")
    sb = _sacrebleu()
    bleu, chrf = sb.metrics.BLEU(), sb.metrics.CHRF()
    b = bleu.corpus_score(hypotheses, [references])
    c = chrf.corpus_score(hypotheses, [references])
    exact = sum(h == r for h, r in zip(hypotheses, references, strict=True))
    return {"bleu": b.score, "chrf": c.score, "exact": 100.0 * exact / len(references),
            "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}


def chrf(hypotheses: list[str], references: list[str]) -> float:
    return _sacrebleu().metrics.CHRF().corpus_score(hypotheses, [references]).score


def plot_attention(items, path: str | Path) -> Path:
    """One heat-map per Translation (with attention kept): output pieces down, source across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [t for t in items if t.attention is not None]
    if not items:
        raise RnnkitError("attention heat-map: no translation kept attention weights (a model "
                          "with attention=none has none)")
    fig, axes = plt.subplots(len(items), 1, figsize=(10, 2.6 * len(items)), squeeze=False)
    for ax, t in zip(axes[:, 0], items, strict=True):
        ax.imshow(t.attention.numpy(), cmap="viridis", aspect="auto", vmin=0, vmax=1)
        ax.set_xticks(range(len(t.source_pieces)), [repr(p)[1:-1] for p in t.source_pieces],
                      fontsize=7)
        ax.set_yticks(range(len(t.target_pieces)), t.target_pieces, fontsize=7)
        ax.set_title(t.text, fontsize=9)
    path = Path(path)
    with warnings.catch_warnings():  # scripts the default font lacks are drawn as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout()
        save_figure(fig, path, dpi=80)  # never through a link in the run directory
    plt.close(fig)
    return path
