"""The registered variants (ln_lstm, ln_gru, peephole_lstm): float64 gradcheck of the hand-written
backward, and parity with a plain-autograd reference of the same math written here from the
papers' equations (torch.nn.functional.layer_norm, sigmoid, tanh), on outputs, final states and
every gradient under a random upstream gradient."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.cells.function import fused_sequence
from rnnkit.functional import LayerWeights, registry

f64 = torch.float64


def ln(a: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return F.layer_norm(a, a.shape[-1:], gain, bias, eps=1e-5)


def ref_ln_lstm(x_t, state, p):
    """Ba et al. 2016 / haste: LN on x W_ih^T and h W_hh^T (separately, over 4H), then on c."""
    h, c = state
    a = ln(x_t @ p["W_ih"].t(), p["extra"][0]) + ln(h @ p["W_hh"].t(), p["extra"][1])
    if p["b_ih"] is not None:
        a = a + p["b_ih"] + p["b_hh"]
    i, f, g, o = a.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(ln(c, p["extra"][2], p["extra"][3]))
    return h, c


def ref_ln_gru(x_t, state, p):
    """haste's LayerNormGRU: LN on x W_ih^T and h W_hh^T (over 3H), then torch.nn.GRU's math."""
    (h,) = state
    ax = ln(x_t @ p["W_ih"].t(), p["extra"][0])
    ah = ln(h @ p["W_hh"].t(), p["extra"][1])
    if p["b_ih"] is not None:
        ax, ah = ax + p["b_ih"], ah + p["b_hh"]
    xr, xz, xn = ax.chunk(3, dim=1)
    hr, hz, hn = ah.chunk(3, dim=1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return ((1 - z) * n + z * h,)


def ref_peephole(x_t, state, p):
    """Gers & Schmidhuber 2000: i, f see c_{t-1}; o sees c_t; diagonal peephole weights."""
    h, c = state
    a = x_t @ p["W_ih"].t() + h @ p["W_hh"].t()
    if p["b_ih"] is not None:
        a = a + p["b_ih"] + p["b_hh"]
    ai, af, ag, ao = a.chunk(4, dim=1)
    w_ci, w_cf, w_co = p["extra"]
    i, f = torch.sigmoid(ai + w_ci * c), torch.sigmoid(af + w_cf * c)
    c = f * c + i * torch.tanh(ag)
    o = torch.sigmoid(ao + w_co * c)
    return o * torch.tanh(c), c


REFERENCES = {"ln_lstm": ref_ln_lstm, "ln_gru": ref_ln_gru, "peephole_lstm": ref_peephole}


def reference_sequence(step, x, state0, p, mask, reverse):
    """The plain loop under autograd, with lengths: a finished row holds its state, outputs 0."""
    T = x.shape[0]
    outs, state = [None] * T, state0
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        new = step(x[t], state, p)
        if mask is not None:
            new = tuple(torch.where(mask[t], n, s) for n, s in zip(new, state, strict=True))
            outs[t] = new[0] * mask[t]
        else:
            outs[t] = new[0]
        state = new
    return torch.stack(outs), state


def make(name, T=5, B=3, I=4, H=3, bias=True, seed=0):
    family = registry.get(name)
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape):
        return (0.5 * torch.randn(*shape, generator=g, dtype=f64)).requires_grad_()

    G = family.gates * H
    extra = tuple((1 + 0.3 * torch.randn(*s.shape(H), generator=g, dtype=f64)).requires_grad_()
                  for s in family.extra)
    w = LayerWeights(rnd(G, I), rnd(G, H), rnd(G) if bias else None, rnd(G) if bias else None,
                     None, extra)
    x = rnd(T, B, I)
    state0 = tuple(rnd(B, H) for _ in family.states)
    return family, x, state0, w


def params(w: LayerWeights) -> dict:
    return {"W_ih": w.W_ih, "W_hh": w.W_hh, "b_ih": w.b_ih, "b_hh": w.b_hh, "extra": w.extra}


CASES = [(name, bias, reverse, masked) for name in REFERENCES for bias in (True, False)
         for reverse in (False, True) for masked in (False, True)]


@pytest.mark.parametrize("name, bias, reverse, masked", CASES)
def test_hand_backward_equals_autograd_reference(name, bias, reverse, masked):
    family, x, state0, w = make(name, bias=bias)
    cell = family.math()
    mask = None
    if masked:
        lengths = torch.tensor([5, 2, 4])
        mask = (torch.arange(5)[:, None] < lengths[None, :]).unsqueeze(-1)
    out, state = fused_sequence(cell, x, state0, w, mask, reverse)
    ref_out, ref_state = reference_sequence(REFERENCES[name], x, state0, params(w), mask, reverse)
    torch.testing.assert_close(out, ref_out)
    for s, r in zip(state, ref_state, strict=True):
        torch.testing.assert_close(s, r)
    g = torch.Generator().manual_seed(1)
    ups = [torch.randn(t.shape, generator=g, dtype=f64) for t in (out, *state)]
    inputs = [t for t in (x, *state0, *w.tensors()) if t is not None]
    mine = torch.autograd.grad((out, *state), inputs, ups)
    theirs = torch.autograd.grad((ref_out, *ref_state), inputs, ups)
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_of_the_hand_backward(name, reverse):
    family, x, state0, w = make(name, T=3, B=2, I=2, H=2)
    cell = family.math()
    n_state = len(state0)

    def run(x, *rest):
        s0, flat = rest[:n_state], rest[n_state:]
        out, state = fused_sequence(cell, x, s0, LayerWeights.from_tensors(flat), None, reverse)
        return (out, *state)

    assert torch.autograd.gradcheck(run, (x, *state0, *w.tensors()))


def test_ln_placement_is_on_the_pre_activations_and_the_cell():
    """The norm acts on each pre-activation part as a whole: scaling W_ih or W_hh changes
    nothing once the variance dwarfs LN's eps (LN removes the scale), while scaling c's gain
    does."""
    family, x, state0, w = make("ln_lstm")
    cell = family.math()
    with torch.no_grad():
        out, _ = fused_sequence(cell, x, state0, LayerWeights(w.W_ih * 100, w.W_hh * 50, *w[2:]))
        w2 = LayerWeights(w.W_ih * 700, w.W_hh * 200, *w[2:])
        out2, _ = fused_sequence(cell, x, state0, w2)
        torch.testing.assert_close(out, out2, rtol=1e-6, atol=1e-6)
        w3 = LayerWeights(*w[:5], (*w.extra[:2], w.extra[2] * 3, w.extra[3]))
        assert not torch.allclose(out, fused_sequence(cell, x, state0, w3)[0])


def test_peephole_with_zero_peepholes_is_the_lstm():
    family, x, state0, w = make("peephole_lstm")
    zero = LayerWeights(*w[:5], tuple(torch.zeros_like(p) for p in w.extra))
    with torch.no_grad():
        out, state = fused_sequence(family.math(), x, state0, zero)
        ref, ref_state = fused_sequence(registry.get("lstm").math(), x, state0,
                                        LayerWeights(*w[:5]))
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(state[1], ref_state[1])


def test_norm_backward_is_the_layer_norm_derivative():
    """torch's layer-norm backward against the formula da = rstd (dn - mean(dn) - n mean(dn n))."""
    from rnnkit.functional.ln_lstm import norm, norm_backward

    g = torch.Generator().manual_seed(0)
    a, dn = (torch.randn(5, 12, generator=g, dtype=f64) * 3 for _ in range(2))
    ln = norm(a)
    var, mean = torch.var_mean(a, dim=-1, keepdim=True, correction=0)
    rstd = torch.rsqrt(var + 1e-5)
    n = (a - mean) * rstd
    torch.testing.assert_close(ln.n, n)
    expected = rstd * (dn - dn.mean(-1, keepdim=True) - n * (dn * n).mean(-1, keepdim=True))
    torch.testing.assert_close(norm_backward(dn, ln), expected)
