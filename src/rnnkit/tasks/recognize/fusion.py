"""A character language model (an `rnnkit train lm` run with a char tokenizer) as the `lm` of
rnnkit.models.ctc_decode.beam_search: log-probabilities of the next label given a prefix.

The LM's distribution is restricted to the recogniser's alphabet (renormalised over those
characters); a character the LM never saw gets log(1e-6). Each prefix is the previous prefix
plus one label, so the LM's recurrent state is cached per prefix and advanced one step.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnkit.errors import DataError

UNSEEN = math.log(1e-6)


class CharLM:
    def __init__(self, metadata: dict, state_dict: dict, alphabet: str, context: str = " "):
        from rnnkit.tasks.lm import model_from_run

        self.model, tok = model_from_run(metadata, state_dict)
        chars = getattr(tok, "chars", None)
        if chars is None:
            raise DataError("lm fusion: the language model must use a char tokenizer "
                            "(rnnkit train lm --data.tokenizer=char)")
        vocab = {c: i for i, c in enumerate(chars)}
        self.ids = [vocab.get(c) for c in alphabet]  # LM id of label k + 1, or None
        self.start = [vocab[c] for c in context if c in vocab] or [0]
        self.cache: dict[tuple[int, ...], tuple[object, np.ndarray]] = {}
        self.cache[()] = self._advance(None, self.start)

    @torch.no_grad()
    def _advance(self, state, ids: list[int]) -> tuple[object, np.ndarray]:
        logits, state = self.model(torch.tensor([ids]), state)
        last = logits[0, -1].double()
        seen = [i for i in self.ids if i is not None]
        restricted = torch.log_softmax(last[seen], 0).numpy()
        out = np.full(len(self.ids) + 1, UNSEEN)  # index 0: the blank, unused
        j = 0
        for k, i in enumerate(self.ids):
            if i is not None:
                out[k + 1] = restricted[j]
                j += 1
        return state, out

    def __call__(self, prefix: tuple[int, ...]) -> np.ndarray:
        return self._entry(prefix)[1]

    def _entry(self, prefix: tuple[int, ...]) -> tuple[object, np.ndarray]:
        """(LM state after the prefix, next-label log-probabilities), from the parent's state."""
        if prefix not in self.cache:
            state, scores = self._entry(prefix[:-1])
            i = self.ids[prefix[-1] - 1]
            # a character the LM never saw: its state stays, and so does its guess
            self.cache[prefix] = (state, scores) if i is None else self._advance(state, [i])
        return self.cache[prefix]
