// rnnkit's compiled time loops for the Elman RNN and the GRU: bptt.py's general loops (forward,
// and the backward's per-step part), one C++ loop per direction, so a step costs one matrix
// product and one pass over its elements instead of ~6-12 torch ops (at batch 1 the dispatch
// of those ops is most of the time). The math is rnn.py's and gru.py's (the specification it
// is tested equal to). Per step t, with P = h_{t-1} W_hh^T and proj[t] the step's input
// projection (x_t W_ih^T + b_ih + b_hh for the Elman RNN, x_t W_ih^T + b_ih for the GRU):
//   Elman:  h_t = act(proj[t] + P)                                       act = tanh or relu
//   GRU:    r = sigmoid(proj_r + P_r + b_hr);  z = sigmoid(proj_z + P_z + b_hz);  hn = P_n + b_hn
//           n = tanh(proj_n + r hn);  h_t = n + z (h_{t-1} - n)
// (the GRU of torch.nn, reset gate after the product; gates in torch's order r, z, n).
// Backward, per step, dh = dh_next + d_out[t]:
//   Elman:  da = dh act'(h_t);  dgx[t] = da;  dh_next = da W_hh
//   GRU:    dz = dh (h_{t-1} - n);  da_n = dh (1 - z)(1 - n^2);  da_r = da_n hn r (1 - r)
//           da_z = dz z (1 - z);  dgx[t] = [da_r, da_z, da_n];  dgh[t] = [da_r, da_z, da_n r]
//           dh_next = dgh[t] W_hh + dh z
// These loops hold only the recurrence: the input projections of a chunk of steps are made
// before the forward loop, and dx and the weight gradients from each chunk's dgx and dgh after
// the backward loop has run that chunk, summed chunk by chunk (ChunkGrads in chunked.py;
// rnn_seq.py drives it). Registered as torch ops rnnkit::rnn_forward_loop / rnn_backward_loop
// (and transpose_into); compiled.py calls them.

#include "kernel_common.h"

#include <algorithm>

namespace {

enum Kind : int64_t { kTanh = 0, kRelu = 1, kGru = 2 };

template <typename T>
void elman_step(const T* a, const T* p, T* h, int64_t n, bool relu) {
  if (relu) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      const T v = a[j] + p[j];
      h[j] = v > T(0) ? v : T(0);
    }
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) h[j] = tanh_(a[j] + p[j]);
  }
}

// One GRU step over (B, H): a (B, 3H) input projections, p (B, 3H) the product, bh (3H) b_hh
// or nullptr, h_prev and h (B, H); gates (B, 4H) receives r, z, n, hn where not nullptr.
template <typename T>
void gru_step(const T* a, const T* p, const T* bh, const T* h_prev, T* h, T* gates, int64_t B,
              int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ ab = a + b * 3 * H;
    const T* __restrict__ pb = p + b * 3 * H;
    const T* __restrict__ hp = h_prev + b * H;
    T* __restrict__ hb = h + b * H;
    T* __restrict__ gb = gates ? gates + b * 4 * H : nullptr;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T br = bh ? bh[j] : T(0), bz = bh ? bh[H + j] : T(0), bn = bh ? bh[2 * H + j] : T(0);
      const T r = sigmoid(ab[j] + pb[j] + br);
      const T z = sigmoid(ab[H + j] + pb[H + j] + bz);
      const T hn = pb[2 * H + j] + bn;
      const T n = tanh_(ab[2 * H + j] + r * hn);
      hb[j] = n + z * (hp[j] - n);
      if (gb) {
        gb[j] = r;
        gb[H + j] = z;
        gb[2 * H + j] = n;
        gb[3 * H + j] = hn;
      }
    }
  }
}

// One GRU backward step over (B, H): dh (B, H) the total gradient reaching h_t, gates (B, 4H)
// its r, z, n, hn, h_prev (B, H); writes dgx and dgh (B, 3H) and direct (B, H) = dh z, the part
// of dh_{t-1} that does not go through the product.
template <typename T>
void gru_backward_step(const T* dh, const T* gates, const T* h_prev, T* dgx, T* dgh, T* direct,
                       int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ d = dh + b * H;
    const T* __restrict__ g = gates + b * 4 * H;
    const T* __restrict__ hp = h_prev + b * H;
    T* __restrict__ gx = dgx + b * 3 * H;
    T* __restrict__ gh = dgh + b * 3 * H;
    T* __restrict__ dd = direct + b * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T r = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
      const T da_n = d[j] * (T(1) - z) * (T(1) - n * n);  // through the interpolation, tanh
      const T da_r = da_n * hn * r * (T(1) - r);           // through r hn, then sigmoid
      const T da_z = d[j] * (hp[j] - n) * z * (T(1) - z);
      gx[j] = da_r;
      gx[H + j] = da_z;
      gx[2 * H + j] = da_n;
      gh[j] = da_r;
      gh[H + j] = da_z;
      gh[2 * H + j] = da_n * r;
      dd[j] = d[j] * z;
    }
  }
}

// out = x + y over n elements (out may be x).
template <typename T>
void add(const T* x, const T* y, T* out, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = x[j] + y[j];
}

template <typename T>
void elman_backward_step(const T* dh, const T* h, T* da, int64_t n, bool relu) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    da[j] = relu ? (h[j] > T(0) ? dh[j] : T(0)) : dh[j] * (T(1) - h[j] * h[j]);
  }
}

// The forward loop of one direction over T steps.
//
// Args (all contiguous, one dtype, on the CPU; G = 1 for the Elman RNN, 3 for the GRU):
//   proj:    [T,B,GH] the input projections of every step (see the top of the file).
//   weight:  the recurrent weight as matmul.loop_weight gives it: W_hh [GH,H] reordered by
//            oneDNN (packed), or W_hh^T [H,GH] contiguous for BLAS (not packed).
//   packed:  which of the two `weight` is.
//   b_hh:    [GH] optional, the GRU's recurrent bias (the Elman RNN's is folded into proj).
//   h0:      [B,H] the state before the first step in time.
//   reverse: run t = T-1 .. 0.
//   kind:    0 Elman tanh, 1 Elman relu, 2 GRU.
//   out:     [T,B,H] out: h_t of every step (the final state is out[last]).
//   gates:   [T,B,4H] out, optional (GRU, when a backward follows): r, z, n, hn of every step.
void rnn_forward_loop(const at::Tensor& proj, const at::Tensor& weight, bool packed,
                      const std::optional<at::Tensor>& b_hh, const at::Tensor& h0, bool reverse,
                      int64_t kind, const at::Tensor& out,
                      const std::optional<at::Tensor>& gates) {
  TORCH_CHECK(kind == kTanh || kind == kRelu || kind == kGru,
              "rnnkit rnn kernel: kind must be 0 (tanh), 1 (relu) or 2 (GRU), got ", kind);
  const int64_t G = kind == kGru ? 3 : 1;
  TORCH_CHECK(proj.dim() == 3 && proj.size(2) % G == 0,
              "rnnkit rnn kernel: proj must be (T, B, G H)");
  const int64_t T = proj.size(0), B = proj.size(1), H = proj.size(2) / G;
  check(proj, "proj", proj, {T, B, G * H});
  check(h0, "h0", proj, {B, H});
  check(out, "out", proj, {T, B, H});
  if (!packed) check(weight, "weight (W_hh^T)", proj, {H, G * H});
  const bool has_bias = b_hh.has_value() && b_hh->defined();
  TORCH_CHECK(!has_bias || kind == kGru, "rnnkit rnn kernel: b_hh is for the GRU only");
  if (has_bias) check(*b_hh, "b_hh", proj, {G * H});
  const bool keep = gates.has_value() && gates->defined();
  TORCH_CHECK(!keep || kind == kGru, "rnnkit rnn kernel: gates are kept for the GRU only");
  if (keep) check(*gates, "gates", proj, {T, B, 4 * H});
  at::NoGradGuard no_grad;
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "rnn_forward_loop", [&] {
    at::Tensor buffer = proj.new_empty({B, G * H});  // P of one step
    at::Tensor h = h0;
    const scalar_t* a = proj.const_data_ptr<scalar_t>();
    const scalar_t* bh = has_bias ? b_hh->const_data_ptr<scalar_t>() : nullptr;
    scalar_t* kept = keep ? gates->data_ptr<scalar_t>() : nullptr;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const at::Tensor p = product_into<scalar_t>(buffer, h, weight, packed);  // (B, G H)
      at::Tensor ht = out.select(0, t);
      const scalar_t* a_t = a + t * B * G * H;
      if (kind == kGru) {
        gru_step<scalar_t>(a_t, p.const_data_ptr<scalar_t>(), bh, h.const_data_ptr<scalar_t>(),
                           ht.data_ptr<scalar_t>(), kept ? kept + t * B * 4 * H : nullptr, B, H);
      } else {
        elman_step<scalar_t>(a_t, p.const_data_ptr<scalar_t>(), ht.data_ptr<scalar_t>(), B * H,
                             kind == kRelu);
      }
      h = ht;
    }
  });
}

// The backward loop of one direction over T steps (or a chunk of them), the mirror of the
// forward.
//
// Args (all contiguous, one dtype, on the CPU; G = 1 for the Elman RNN, 3 for the GRU):
//   d_out:    [T,B,H] dL/dh_t from the layer's output, every step.
//   dh_final: [B,H] dL/dh of the state after the last step in time.
//   out:      [T,B,H] the forward's h_t.
//   h0:       [B,H] h before the first step in time of these T steps.
//   gates:    [T,B,4H] the GRU's r, z, n, hn from the forward (GRU only).
//   weight:   for d W_hh: W_hh^T [H,GH] reordered by oneDNN (packed), or W_hh [GH,H]
//             contiguous for BLAS (not packed).
//   packed:   which of the two `weight` is.
//   reverse:  the forward ran t = T-1 .. 0; this loop then runs t = 0 .. T-1.
//   kind:     0 Elman tanh, 1 Elman relu, 2 GRU.
//   dgx:      [T,B,GH] out: dL/dproj[t], the gradient of the input projections.
//   dgh:      [T,B,3H] out (GRU only): the gradient of the recurrent pre-activation P + b_hh
//             (its n part is dgx's times r: the reset gate applies after the product).
//   dh_seen:  [T,B,H] out, optional: dL/dh_t of every step (diagnostics).
// Returns dh_0 [B,H]: the gradient of the state before the first step in time.
at::Tensor rnn_backward_loop(const at::Tensor& d_out, const at::Tensor& dh_final,
                             const at::Tensor& out, const at::Tensor& h0,
                             const std::optional<at::Tensor>& gates, const at::Tensor& weight,
                             bool packed, bool reverse, int64_t kind, const at::Tensor& dgx,
                             const std::optional<at::Tensor>& dgh,
                             const std::optional<at::Tensor>& dh_seen) {
  TORCH_CHECK(kind == kTanh || kind == kRelu || kind == kGru,
              "rnnkit rnn kernel: kind must be 0 (tanh), 1 (relu) or 2 (GRU), got ", kind);
  const bool gru = kind == kGru;
  const int64_t G = gru ? 3 : 1;
  TORCH_CHECK(out.dim() == 3, "rnnkit rnn kernel: out must be (T, B, H)");
  const int64_t T = out.size(0), B = out.size(1), H = out.size(2);
  check(d_out, "d_out", out, {T, B, H});
  check(dh_final, "dh_final", out, {B, H});
  check(h0, "h0", out, {B, H});
  check(dgx, "dgx", out, {T, B, G * H});
  TORCH_CHECK(!gru || (gates.has_value() && dgh.has_value()),
              "rnnkit rnn kernel: the GRU's backward needs gates and dgh");
  if (gru) {
    check(*gates, "gates", out, {T, B, 4 * H});
    check(*dgh, "dgh", out, {T, B, 3 * H});
  }
  if (dh_seen.has_value()) check(*dh_seen, "dh_seen", out, {T, B, H});
  if (!packed) check(weight, "weight (W_hh)", out, {G * H, H});
  at::NoGradGuard no_grad;
  at::Tensor dh = out.new_empty({B, H});
  at::Tensor direct = out.new_empty({B, H});
  at::Tensor base = dh_final;
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "rnn_backward_loop", [&] {
    at::Tensor buffer = out.new_empty({B, H});
    const scalar_t* o = out.const_data_ptr<scalar_t>();
    const scalar_t* d_o = d_out.const_data_ptr<scalar_t>();
    scalar_t* seen = dh_seen.has_value() ? dh_seen->data_ptr<scalar_t>() : nullptr;
    scalar_t* gx = dgx.data_ptr<scalar_t>();
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? k : T - 1 - k;
      const bool first_in_time = reverse ? t == T - 1 : t == 0;
      scalar_t* d = dh.data_ptr<scalar_t>();
      const scalar_t* bp = base.const_data_ptr<scalar_t>();
      const scalar_t* dot = d_o + t * B * H;
      add(bp, dot, d, B * H);  // from step t+1 and from output t
      if (seen) std::copy(d, d + B * H, seen + t * B * H);
      at::Tensor grad_rec;  // what multiplies W_hh at step t: dgh[t] or da
      if (gru) {
        const scalar_t* h_prev =
            first_in_time ? h0.const_data_ptr<scalar_t>() : o + (reverse ? t + 1 : t - 1) * B * H;
        gru_backward_step<scalar_t>(d, gates->const_data_ptr<scalar_t>() + t * B * 4 * H, h_prev,
                                    gx + t * B * 3 * H, dgh->data_ptr<scalar_t>() + t * B * 3 * H,
                                    direct.data_ptr<scalar_t>(), B, H);
        grad_rec = dgh->select(0, t);
      } else {
        elman_backward_step<scalar_t>(d, o + t * B * H, gx + t * B * H, B * H, kind == kRelu);
        grad_rec = dgx.select(0, t);
      }
      at::Tensor p = product_into<scalar_t>(buffer, grad_rec, weight, packed);  // through W_hh
      if (gru) {
        scalar_t* pp = p.data_ptr<scalar_t>();
        add(pp, direct.const_data_ptr<scalar_t>(), pp, B * H);  // ... plus the path through z
      }
      base = p;
    }
  });
  return base.clone();
}

// A loop's weight transposed for BLAS (matmul.loop_weight), or a weight gradient turned round
// (ChunkGrads).
//
// Args: src [N,K] contiguous; out [K,N] contiguous, out: src^T.
void transpose_into(const at::Tensor& src, const at::Tensor& out) {
  TORCH_CHECK(src.dim() == 2, "rnnkit transpose_into: src must be 2-D, got ", src.dim(), "-D");
  check(src, "src", src, {src.size(0), src.size(1)});
  check(out, "out", src, {src.size(1), src.size(0)});
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "transpose_into", [&] {
    transpose_blocked<scalar_t>(src.const_data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                                src.size(0), src.size(1));
  });
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("transpose_into(Tensor src, Tensor(a!) out) -> ()", &transpose_into);
  m.def("rnn_forward_loop(Tensor proj, Tensor weight, bool packed, Tensor? b_hh, Tensor h0, "
        "bool reverse, int kind, Tensor(a!) out, Tensor(b!)? gates) -> ()",
        &rnn_forward_loop);
  m.def("rnn_backward_loop(Tensor d_out, Tensor dh_final, Tensor out, Tensor h0, Tensor? gates, "
        "Tensor weight, bool packed, bool reverse, int kind, Tensor(a!) dgx, Tensor(b!)? dgh, "
        "Tensor(c!)? dh_seen) -> Tensor",
        &rnn_backward_loop);
}
