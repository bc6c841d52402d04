"""onnxruntime against rnnkit for the exported translation and recognition models, one process.

    PYTHONPATH=src python benchmarks/onnx_seq_models.py [--repeats 5] [--threads 1]

The same weights in both (random, seeded; the files are checked by the export before timing):
  encoder      Seq2Seq.start vs the --onnx encoder, batch 1, a 20-token source
  decoder step Seq2Seq.step vs the --step model, batch 64, 20-token sources
  greedy       Translator.translate(beam=1) vs OnnxTranslator.translate, 64 sentences of 5-30
               characters in one batch (the outputs are compared: they must be equal)
  recognizer   CTCRecognizer.forward vs the exported recogniser, batch 32, 300 frames of 40
               features (spoken-digits' log-mel size), frame stacking by 3
Models: the translate defaults (LSTM, embedding 64, hidden 128, 1 layer, bidirectional encoder,
`general` attention, input feeding; vocabularies 80 / 40, a char `dates`-like size) and the
recognize defaults (bidirectional LSTM 2 x 128, subsample stack). rnnkit runs under
torch.inference_mode with `impl="auto"`; onnxruntime's CPU provider; both on --threads threads.
Each case is timed in process CPU time and wall time, best of --repeats rounds that interleave
the two paths (a busy moment of a shared machine hits both alike). Ratio = rnnkit time /
onnxruntime time (above 1: onnxruntime faster).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

import onnxruntime as ort
import torch

from rnnkit.data.seq_vocab import SPECIALS, SeqVocab
from rnnkit.export import recognizer_to_onnx, translate_to_onnx
from rnnkit.export.translate_runtime import OnnxTranslator
from rnnkit.models.ctc import CTCModelConfig, CTCRecognizer
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.tasks.translate import Translator


def timed(fn, n: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per call of fn, over n calls."""
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    return (time.process_time() - c0) / n, (time.perf_counter() - w0) / n


def session(path: str, threads: int):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = threads
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def vocab(n: int, offset: int) -> SeqVocab:
    return SeqVocab("char", [*SPECIALS, *(chr(offset + k) for k in range(n - len(SPECIALS)))])


def translation_cases(tmp: str, threads: int) -> dict:
    src_v, tgt_v = vocab(80, 0x30), vocab(40, 0x100)
    torch.manual_seed(0)
    model = Seq2Seq(src_v.size, tgt_v.size, embedding_size=64, hidden_size=128).eval()
    meta = {"task": "translate", "src_vocab": src_v.to_dict(), "tgt_vocab": tgt_v.to_dict(),
            "decode": {"max_len_ratio": 2.0, "max_len_extra": 10}}
    enc_path, step_path = os.path.join(tmp, "t.enc.onnx"), os.path.join(tmp, "t.step.onnx")
    for report in translate_to_onnx(model, enc_path, step_path, meta):
        print(f"  {report}")
    enc, step = session(enc_path, threads), session(step_path, threads)
    gen = torch.Generator().manual_seed(1)
    src1, len1 = torch.randint(4, 80, (1, 20), generator=gen), torch.tensor([20])
    src64, len64 = torch.randint(4, 80, (64, 20), generator=gen), torch.full((64,), 20)
    state64 = model.start(src64, len64)
    tokens = torch.randint(4, 40, (64,), generator=gen)
    ort_state = dict(zip([o.name for o in enc.get_outputs()],
                         enc.run(None, {"src": src64.numpy(), "src_lengths": len64.numpy()}),
                         strict=True))
    rng = random.Random(2)
    sentences = ["".join(rng.choice(src_v.pieces[4:]) for _ in range(rng.randint(5, 30)))
                 for _ in range(64)]
    ours = Translator(model, src_v, tgt_v)
    theirs = OnnxTranslator(enc_path, step_path, threads=threads)
    same = [t[0].text for t in ours.translate(sentences, beam=1)] == theirs.translate(sentences)
    print(f"  greedy translations of the 64 sentences equal: {same}")
    if not same:
        raise SystemExit("onnxruntime's greedy translations differ from rnnkit's: not timed")
    model.start(src1, len1)
    print(f"  rnnkit encoder impl (auto): {model.encoder.last_impl}; decoder cells: "
          f"{model.decoder[0].last_impl if model.step(tokens, state64) else ''}")
    return {
        "encoder (B 1, S 20)": (
            lambda: model.start(src1, len1),
            lambda: enc.run(None, {"src": src1.numpy(), "src_lengths": len1.numpy()}), 200),
        "decoder step (B 64)": (
            lambda: model.step(tokens, state64),
            lambda: step.run(None, {"tokens": tokens.numpy()} | ort_state), 200),
        "greedy, 64 sentences": (
            lambda: ours.translate(sentences, beam=1),
            lambda: theirs.translate(sentences), 3),
    }


def recognizer_case(tmp: str, threads: int) -> dict:
    torch.manual_seed(0)
    model = CTCRecognizer(CTCModelConfig(input_size=40, n_classes=12, hidden_size=128,
                                         num_layers=2, subsample="stack", factor=3)).eval()
    path = os.path.join(tmp, "rec.onnx")
    print(f"  {recognizer_to_onnx(model, path)}")
    sess = session(path, threads)
    x = torch.randn(32, 300, 40, generator=torch.Generator().manual_seed(3))
    lengths = torch.randint(150, 301, (32,), generator=torch.Generator().manual_seed(4))
    lengths[0] = 300
    model(x, lengths)
    print(f"  rnnkit recognizer impl (auto): {model.rnn.last_impl}")
    return {"recognizer (B 32, T 300)": (
        lambda: model(x, lengths),
        lambda: sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy()}), 5)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, {args.threads} thread(s); "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        cases = translation_cases(tmp, args.threads) | recognizer_case(tmp, args.threads)
        best = {name: {"rnnkit": [float("inf")] * 2, "onnxruntime": [float("inf")] * 2}
                for name in cases}
        for ours, theirs, _ in cases.values():  # warm up (and impl="auto"'s measurement)
            timed(ours, 2)
            timed(theirs, 2)
        for _ in range(args.repeats):
            for name, (ours, theirs, n) in cases.items():
                for who, fn in (("rnnkit", ours), ("onnxruntime", theirs)):
                    cpu, wall = timed(fn, n)
                    b = best[name][who]
                    b[0], b[1] = min(b[0], cpu), min(b[1], wall)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':<26} {'rnnkit ms':>10} {'ort ms':>9} {'ratio':>6}   "
          f"{'rnnkit ms':>10} {'ort ms':>9} {'ratio':>6}")
    print(f"{'':<26} {'(CPU time)':>27}   {'(wall time)':>27}")
    for name, b in best.items():
        r, o = b["rnnkit"], b["onnxruntime"]
        print(f"{name:<26} {r[0] * 1e3:>10.2f} {o[0] * 1e3:>9.2f} {r[0] / o[0]:>5.2f}x   "
              f"{r[1] * 1e3:>10.2f} {o[1] * 1e3:>9.2f} {r[1] / o[1]:>5.2f}x")


if __name__ == "__main__":
    main()
