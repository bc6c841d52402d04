"""Parity with torch.nn over the product of settings: outputs, final states, and the gradients of
every parameter, the input and the initial state under a random upstream gradient (float32,
max abs difference <= 1e-5). Each impl is compared with torch.nn."""

import itertools
import zlib

import pytest
import torch
from helpers import as_tuple, max_diff, random_upstream, twin_layers, weighted_loss
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

T, B, I, H = 5, 3, 4, 5
LENGTHS = torch.tensor([3, 5, 1])  # unsorted on purpose
TOL = 1e-5

GRID = list(itertools.product(
    ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"],
    [True, False],  # bias
    [False, True],  # batch_first
    [False, True],  # bidirectional
    [1, 2],  # num_layers
    [False, True],  # hx given
    ["full", "padded", "packed"],  # variable lengths
    [False, True],  # non-contiguous input
))


def make_input(batch_first, noncontig, seed):
    gen = torch.Generator().manual_seed(seed)
    shape = (B, T, I) if batch_first else (T, B, I)
    if noncontig:  # the feature axis is not the innermost in memory
        x = torch.randn(I, *shape[:2], generator=gen).movedim(0, -1)
        assert not x.is_contiguous()
    else:
        x = torch.randn(*shape, generator=gen)
    return x.requires_grad_()


def run(layer, x, hx, lengths_mode, batch_first):
    if lengths_mode == "packed":
        seq = pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
        out, state = layer(seq, hx)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    elif lengths_mode == "padded":
        if isinstance(layer, torch.nn.RNNBase):  # torch.nn has no lengths=: pack it
            return run(layer, x, hx, "packed", batch_first)
        out, state = layer(x, hx, lengths=LENGTHS)
    else:
        out, state = layer(x, hx)
    return out, as_tuple(state)


@pytest.mark.parametrize("kind,bias,batch_first,bidir,layers,with_hx,lengths_mode,noncontig", GRID)
def test_parity_with_torch_nn(kind, bias, batch_first, bidir, layers, with_hx, lengths_mode,
                              noncontig):
    settings = (kind, bias, batch_first, bidir, layers, with_hx, lengths_mode)
    seed = zlib.crc32(repr(settings).encode()) % 1000
    torch.manual_seed(seed)
    kw = dict(bias=bias, batch_first=batch_first, bidirectional=bidir, num_layers=layers)
    results = {}
    for impl in ("fused", "reference", "native", "torch"):
        ours, theirs = twin_layers(kind, "auto", I, H, **kw)
        torch.manual_seed(seed)
        layer = theirs if impl == "torch" else ours
        if impl != "torch":
            layer.impl = impl
        D = 2 if bidir else 1
        H_out = 3 if kind == "lstm_proj" else H
        hx = None
        if with_hx:
            gen = torch.Generator().manual_seed(seed + 1)
            h0 = torch.randn(D * layers, B, H_out, generator=gen).requires_grad_()
            c0 = torch.randn(D * layers, B, H, generator=gen).requires_grad_()
            hx = (h0, c0) if kind.startswith("lstm") else h0
        x = make_input(batch_first, noncontig, seed)
        out, state = run(layer, x, hx, lengths_mode, batch_first)
        g_out, g_state = random_upstream(out, state, seed)
        if lengths_mode != "full":  # torch.nn's padding is not an output: no gradient there
            mask = torch.arange(T)[:, None] < LENGTHS[None, :]  # (T, B)
            mask = (mask.t() if batch_first else mask).unsqueeze(-1)
            g_out = g_out * mask
        wrt = [x, *layer.parameters(), *([] if hx is None else as_tuple(hx))]
        grads = torch.autograd.grad(weighted_loss(out, state, g_out, g_state), wrt)
        results[impl] = (out.detach(), [s.detach() for s in state], grads)
        if impl != "torch":
            assert layer.last_impl == impl
    ref_out, ref_state, ref_grads = results.pop("torch")
    for impl, (out, state, grads) in results.items():
        assert (out - ref_out).abs().max() <= TOL, f"{impl}: output"
        assert max_diff(state, ref_state) <= TOL, f"{impl}: final state"
        assert max_diff(grads, ref_grads) <= TOL, f"{impl}: gradients"
