"""`rnnkit evaluate RUN_DIR --data test|test-comp|valid|valid-comp` for caption runs: BLEU-4,
attribute precision / recall / F1, thing F1 and exact match of greedy and beam captions, and
attention maps of the first pictures (RUN_DIR/attention-SPLIT-N.png: the picture, then where the
decoder looked for each word)."""

from __future__ import annotations

import time
from pathlib import Path

from rnnkit import config as C
from rnnkit.data.shapes import SPLITS
from rnnkit.errors import RnnkitError
from rnnkit.files import save_figure
from rnnkit.tasks.caption.config import Config
from rnnkit.tasks.caption.metrics import caption_scores
from rnnkit.tasks.caption.task import describe, load_split, model_from_run

MAPS = 4  # pictures whose attention maps are drawn


def evaluate_loaded(config: dict, metadata: dict, state_dict: dict, data: str | None,
                    batch_size: int = 64, device: str = "cpu", run_dir=None) -> dict:
    cfg = C.build(Config, config["task"], source=f"{run_dir}/config.json")
    name = data or "test"
    if name not in SPLITS:
        raise RnnkitError(f"--data: expected one of {', '.join(SPLITS)} for a caption run, "
                          f"got {name!r}")
    model, vocab = model_from_run(metadata, state_dict, device)
    pictures, refs = load_split(cfg.data, name)
    dec = cfg.decode
    result: dict = {"data": name, "pictures": len(refs)}
    runs = [("greedy", 1)] + ([(f"beam{dec.beam}", dec.beam)] if dec.beam > 1 else [])
    for label, beam in runs:
        start = time.perf_counter()
        hyps, _ = describe(model, vocab, pictures, dec.max_len, beam, dec.alpha,
                           max(batch_size, 1))
        seconds = time.perf_counter() - start
        result[label] = caption_scores(hyps, refs)
        result[label]["pictures_per_s"] = len(refs) / max(seconds, 1e-9)
        result[label]["examples"] = [{"reference": r, "caption": h}
                                     for h, r in list(zip(hyps, refs, strict=True))[:3]]
    if run_dir is not None and model.attention is not None:
        n = min(MAPS, len(refs))
        captions, hyps = describe(model, vocab, pictures[:n], dec.max_len, keep_attention=True)
        result["attention_png"] = [
            str(plot_attention(pictures[i], captions[i], hyps[i].attention,
                               Path(run_dir) / f"attention-{name}-{i}.png")) for i in range(n)]
    return result


def plot_attention(picture, caption: str, attention, path: Path) -> Path:
    """The picture (3, S, S), then one panel per output word (and the end token) with its
    attention weights (steps, h*w) upsampled onto the picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    words = caption.split() + ["</s>"]
    steps, positions = attention.shape
    side = int(round(positions ** 0.5))  # the grid is square for square pictures
    size = picture.shape[-1]
    maps = torch.nn.functional.interpolate(attention.float().view(steps, 1, side, side),
                                           size=(size, size), mode="bilinear")[:, 0]
    image = picture.permute(1, 2, 0).numpy()
    fig, axes = plt.subplots(1, steps + 1, figsize=(1.5 * (steps + 1), 1.9), squeeze=False)
    axes[0, 0].imshow(image)
    axes[0, 0].set_title("picture", fontsize=7)
    for k in range(steps):
        ax = axes[0, k + 1]
        ax.imshow(image)
        ax.imshow(maps[k].numpy(), cmap="gray", alpha=0.7, vmin=0,
                  vmax=float(maps[k].max()) or 1.0)
        ax.set_title(words[k] if k < len(words) else "?", fontsize=7)
    for ax in axes[0]:
        ax.axis("off")
    fig.suptitle(caption, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=80)  # never through a link in the run directory
    plt.close(fig)
    return path


def format_report(metrics: dict) -> str:
    lines = [f"{metrics['data']}: {metrics['pictures']} pictures",
             f"{'':<8} {'BLEU-4':>7} {'attr P':>7} {'attr R':>7} {'attr F1':>7} "
             f"{'thing F1':>8} {'exact':>7} {'pic/s':>7}"]
    for key, m in metrics.items():
        if isinstance(m, dict):
            lines.append(f"{key:<8} {m['bleu4']:7.4f} {m['attr_precision']:7.4f} "
                         f"{m['attr_recall']:7.4f} {m['attr_f1']:7.4f} {m['thing_f1']:8.4f} "
                         f"{m['exact']:7.4f} {m['pictures_per_s']:7.1f}")
    if "greedy" in metrics:
        for ex in metrics["greedy"]["examples"]:
            lines.append(f"  ref: {ex['reference']}\n  out: {ex['caption']}")
        lines.append(f"BLEU: {metrics['greedy']['bleu_signature']}")
    for path in metrics.get("attention_png", []):
        lines.append(f"attention map: {path}")
    return "\n".join(lines)
