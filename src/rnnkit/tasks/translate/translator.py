"""A trained Seq2Seq and its vocabularies as a translator: text in, text out, batched.

Sources are sorted by length and decoded in batches (the decoders in rnnkit.models.decode give
every sentence the output it would get alone, so the order changes only the speed), then put back
in their order. An empty (or blank) line translates to an empty line without running the model;
pieces the source vocabulary lacks are read as `<unk>` (`unknown()` lists them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rnnkit.data.pairs import make_batch
from rnnkit.data.seq_vocab import BOS_ID, EOS_ID, SeqVocab
from rnnkit.models.decode import beam_search, check_search, greedy


@dataclass
class Translation:
    text: str
    score: float  # what the search ranked by (log p / length^alpha; greedy: log p)
    log_prob: float
    attention: torch.Tensor | None = None  # (output steps, source tokens), when kept
    source_pieces: list[str] | None = None
    target_pieces: list[str] | None = None


class Translator:
    def __init__(self, model, src_vocab: SeqVocab, tgt_vocab: SeqVocab, max_len_ratio: float = 2.0,
                 max_len_extra: int = 10):
        self.model, self.src_vocab, self.tgt_vocab = model.eval(), src_vocab, tgt_vocab
        self.max_len_ratio, self.max_len_extra = max_len_ratio, max_len_extra
        self.device = next(model.parameters()).device

    def max_len(self, n_source: int) -> int:
        return max(1, math.ceil(self.max_len_ratio * n_source) + self.max_len_extra)

    def unknown(self, text: str) -> list[str]:
        return self.src_vocab.unknown(text)

    @torch.no_grad()
    def translate(self, sources: list[str], beam: int = 1, n_best: int = 1, alpha: float = 1.0,
                  batch_size: int = 64, keep_attention: bool = False) -> list[list[Translation]]:
        """The n_best translations of each source (beam 1 = greedy), best first."""
        check_search(beam, n_best, alpha)
        encoded = [self.src_vocab.encode(s) for s in sources]
        results: list[list[Translation]] = [[Translation("", 0.0, 0.0)] for _ in sources]
        order = sorted((i for i, ids in enumerate(encoded) if ids), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            src, lengths = make_batch([encoded[i] for i in idx])
            state = self.model.start(src.to(self.device), lengths.to(self.device))
            max_lens = [self.max_len(n) for n in lengths.tolist()]
            if beam == 1:
                hyps = [[h] for h in greedy(self.model.step, state, BOS_ID, EOS_ID, max_lens,
                                            keep_attention)]
            else:
                hyps = beam_search(self.model.step, state, BOS_ID, EOS_ID, max_lens, beam, n_best,
                                   alpha, keep_attention, static=self.model.STATIC)
            for i, n, hs in zip(idx, lengths.tolist(), hyps, strict=True):
                results[i] = [self._result(sources[i], n, h, keep_attention) for h in hs]
        return results

    def _result(self, source: str, n: int, hyp, keep_attention: bool) -> Translation:
        out = Translation(self.tgt_vocab.decode(hyp.tokens), hyp.score, hyp.log_prob)
        if keep_attention and hyp.attention is not None:
            out.attention = hyp.attention[:, :n].float().cpu()
            out.source_pieces = self.src_vocab.split(source)
            out.target_pieces = [self.tgt_vocab.pieces[t] for t in hyp.tokens]
            if len(out.target_pieces) < hyp.attention.shape[0]:
                out.target_pieces.append("</s>")
        return out
