"""minGRU / minLSTM math (functional/mingru.py, minlstm.py, scan.py, scan_seq.py): the
whole-sequence form against the step form (start state included), the hand-written backward
(float64 gradcheck, parity with the paper's equations under autograd), every scan method
against the others, and the float32 scan against float64 at T = 4096."""

import pytest
import torch
import torch.nn.functional as F

from rnnkit.cells.scan_function import ScanLayer, scan_layer
from rnnkit.functional import compiled, mingru, minlstm, scan_seq

FAMILIES = {"mingru": mingru, "minlstm": minlstm}
METHODS = ["compiled", "sequential", "parallel"]  # parallel runs on the CPU too, for the tests


def family_of(name):
    return FAMILIES[name].MINGRU if name == "mingru" else FAMILIES[name].MINLSTM


def make(name, T=9, B=3, I=5, H=6, dtype=torch.float64, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    G = family_of(name).gates
    rnd = lambda *s: (torch.randn(*s, generator=g, dtype=dtype) * scale)  # noqa: E731
    return rnd(T, B, I), rnd(B, H), rnd(G * H, I) * 0.5, rnd(G * H) * 0.5


@pytest.fixture(params=METHODS)
def method(request):
    if request.param == "compiled" and not compiled.available(torch.zeros(1))[0]:
        pytest.fail("the compiled loops did not build: " + compiled.available(torch.zeros(1))[1])
    return request.param


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_whole_sequence_equals_step_form_from_a_nonzero_start(name, method, dtype):
    """The defect minGRU implementations had: their parallel form ignored (or mis-placed) the
    start state, so it disagreed with the step form used for generation."""
    fam = family_of(name)
    x, h0, W, b = make(name, dtype=dtype)
    h0 = h0 * 3  # a start state far from zero
    out, h_n = scan_layer(fam, x, W, b, h0, None, method)
    h, steps = h0, []
    for x_t in x:
        h = fam.step(x_t, h, W, b)
        steps.append(h)
    torch.testing.assert_close(out, torch.stack(steps), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h_n, h, rtol=1e-5, atol=1e-5)
    # and in two chunks, the state carried across
    first, h_mid = scan_layer(fam, x[:4], W, b, h0, None, method)
    second, _ = scan_layer(fam, x[4:], W, b, h_mid, None, method)
    torch.testing.assert_close(torch.cat([first, second]), out, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", FAMILIES)
def test_stable_coefficients_equal_the_papers_form(name):
    fam = family_of(name)
    x, h0, W, b = make(name)
    out = scan_seq.forward(fam, F.linear(x, W, b), h0, None, "sequential")
    torch.testing.assert_close(out, FAMILIES[name].reference(x, h0, W, b), rtol=1e-12,
                               atol=1e-12)


def test_minlstm_is_finite_where_the_literal_form_is_not():
    """Both sigmoids underflow to 0 in float32 below about -88: f / (f + i) is 0 / 0 there."""
    proj = torch.tensor([[[-200.0, -190.0, 1.0]]])  # k_f, k_i, c with H = 1
    f, i = torch.sigmoid(proj[..., 0]), torch.sigmoid(proj[..., 1])
    assert torch.isnan(f / (f + i)).all()
    a, b = minlstm.coefficients(proj)
    exact = torch.sigmoid(torch.tensor(10.0))  # i / (f + i) ~ 1 / (1 + e^{k_f - k_i})
    torch.testing.assert_close(b[..., 0], exact.reshape(1, 1))
    torch.testing.assert_close(a[..., 0], 1 - exact.reshape(1, 1))
    if compiled.available(proj)[0]:
        out = scan_seq.forward(minlstm.MINLSTM, proj, torch.zeros(1, 1), None, "compiled")
        torch.testing.assert_close(out[0], exact.reshape(1, 1))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_hand_written_backward_gradcheck(name, method, masked, bias):
    fam = family_of(name)
    x, h0, W, b = (t.requires_grad_() for t in make(name, T=5, B=3, H=4))
    lengths = torch.tensor([5, 2, 1]) if masked else None
    fn = lambda *t: ScanLayer.apply(fam, lengths, method, *t)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, W, b if bias else None, h0))


@pytest.mark.parametrize("name", FAMILIES)
def test_parity_with_the_papers_equations_under_autograd(name, method):
    fam = family_of(name)
    g = torch.Generator().manual_seed(1)
    leaves = [t.requires_grad_() for t in make(name, T=12, B=2, I=4, H=5, seed=1)]
    x, h0, W, b = leaves
    d_out = torch.randn(12, 2, 5, generator=g, dtype=torch.float64)
    want = FAMILIES[name].reference(x, h0, W, b)
    want_grads = torch.autograd.grad(want, leaves, d_out)
    got, _ = scan_layer(fam, x, W, b, h0, None, method)
    got_grads = torch.autograd.grad(got, leaves, d_out)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    for g_got, g_want in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(g_got, g_want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", FAMILIES)
def test_second_order_gradients_are_exact(name, method):
    fam = family_of(name)
    x, h0, W, b = (t.requires_grad_() for t in make(name, T=4, B=2, H=3))
    fn = lambda x, h0, W: scan_layer(fam, x, W, b, h0, None, method)  # noqa: E731
    assert torch.autograd.gradgradcheck(fn, (x, h0, W))


@pytest.mark.parametrize("name", FAMILIES)
def test_torch_func_and_forward_mode_run_the_traceable_form(name):
    fam = family_of(name)
    x, h0, W, b = make(name, T=6, B=2, H=3)
    loss = lambda W: scan_layer(fam, x, W, b, h0, None, "compiled")[0].square().sum()  # noqa: E731
    W_req = W.clone().requires_grad_()
    want = torch.autograd.grad(loss(W_req), W_req)[0]
    torch.testing.assert_close(torch.func.grad(loss)(W), want)
    tangent = torch.randn_like(W)
    _, jvp = torch.func.jvp(loss, (W,), (tangent,))
    torch.testing.assert_close(jvp, (want * tangent).sum())


def relative_error(got, want):
    return ((got.double() - want).abs().max() / want.abs().max()).item()


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("gate_bias", [0.0, 9.0, 15.0])
def test_float32_scan_within_1e6_of_float64_at_4096_steps(name, gate_bias):
    """The issue asks for 1e-5; this asks 1e-6. gate_bias 9: a = 1 - 1e-4, a state kept for
    ~10^4 steps, where float32 sums, or 1 - z formed in float32, were measured 1.4e-5 off
    (scan.py); summed in float64 with 1 - z formed there, float32 is ~1e-7 off."""
    fam = family_of(name)
    T, B, H = 4096, 2, 16
    g = torch.Generator().manual_seed(2)
    proj = torch.randn(T, B, fam.gates * H, generator=g)
    if name == "mingru":
        proj[..., :H] -= gate_bias  # z = sigmoid(k) small: a = 1 - z near 1
    else:
        proj[..., :H] += gate_bias  # f large against i
    h0, d_out = torch.randn(B, H, generator=g), torch.randn(T, B, H, generator=g)
    methods = ["sequential", "parallel"] + (["compiled"] if compiled.available(proj)[0] else [])
    p64, h64, d64 = proj.double(), h0.double(), d_out.double()
    want = scan_seq.forward(fam, p64, h64, None, "sequential")
    want_grads = scan_seq.backward(fam, d64, p64, want, h64, None, "sequential")[:2]
    for m in methods:
        out = scan_seq.forward(fam, proj, h0, None, m)
        assert relative_error(out, want) < 1e-6, m
        for got, exp in zip(scan_seq.backward(fam, d_out, proj, out, h0, None, m)[:2],
                            want_grads, strict=True):
            assert relative_error(got, exp) < 1e-6, m


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_scan_equals_the_python_loop_with_lengths(name, dtype):
    if not compiled.available(torch.zeros(1))[0]:
        pytest.fail("the compiled loops did not build")
    fam = family_of(name)
    T, B, H = 23, 4, 70  # H spans two blocks of the kernel's 64 units
    g = torch.Generator().manual_seed(3)
    proj = torch.randn(T, B, fam.gates * H, generator=g, dtype=dtype) * 3
    h0, d_out = torch.randn(B, H, generator=g, dtype=dtype), torch.randn(T, B, H, generator=g,
                                                                         dtype=dtype)
    lengths = torch.tensor([23, 7, 1, 16])
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {}
    outs = [scan_seq.forward(fam, proj, h0, lengths, m) for m in ("compiled", "sequential")]
    torch.testing.assert_close(*outs, **tol)
    dh_final = torch.randn(B, H, generator=g, dtype=dtype)
    grads = [scan_seq.backward(fam, d_out, proj, outs[0], h0, lengths, m, dh_final, True)
             for m in ("compiled", "sequential")]
    for got, want in zip(*grads, strict=True):
        torch.testing.assert_close(got, want, **tol)
    # held steps: the state at the length, and no gradient into their projections
    torch.testing.assert_close(outs[0][7:, 1], outs[0][6, 1].expand(T - 7, H))
    assert (grads[0][0][7:, 1] == 0).all()
