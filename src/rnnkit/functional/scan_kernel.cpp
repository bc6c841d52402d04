// rnnkit's compiled loop for minGRU and minLSTM (mingru.py, minlstm.py): the gate math and the
// linear scan h_t = a_t h_{t-1} + b_t in one pass over the input projections, forward and
// backward. The products (proj = x W^T + b, and dx, dW from d_proj) are whole-sequence GEMMs
// outside; this loop is all the per-step work there is. The math, per element, with
// z = 1 - a the share of the candidate c:
//   minGRU  (proj [k, c]):       z = sigmoid(k)
//   minLSTM (proj [k_f, k_i, c]): z = i / (f + i) with f = sigmoid(k_f), i = sigmoid(k_i)
//   h_t = (1 - z) h_{t-1} + z c
// Backward, g = dL/dh_t in total (d_out[t] plus what step t+1 sends back):
//   dz = g (c - h_{t-1});  dc = g z;  g_{t-1} = g (1 - z) + d_out[t-1]
//   minGRU:  dk = dz z (1 - z)
//   minLSTM: du = dz z (1 - z);  dk_f = -du sigmoid(-k_f);  dk_i = du sigmoid(-k_i)
// (z = sigmoid(u), u = log i - log f: minlstm.py). Past a row's length (lengths given) a step
// keeps its state: out[t] = h_{t-1}, d_proj[t] = 0, g passes through unchanged.
//
// Stable in float32 (scan.py says more): the running h (and g) is held in double and its
// factor 1 - z formed there, so rounding does not build up over the steps where 1 - z is near
// 1 (a state kept for long).
// Work is split over (batch row, block of units): each block runs all T steps on its own.

#include "kernel_common.h"

#include <ATen/Parallel.h>

#include <algorithm>

// GCC (12 measured) does not if-convert exp_f32's clamps while float compares may trap, so
// without this no loop here was vectorised (2-3x slower); nothing here reads FP exceptions.
#pragma GCC optimize("no-trapping-math")

namespace {

enum ScanKind : int64_t { kMinGru = 0, kMinLstm = 1 };
constexpr int64_t kBlock = 64;  // units per work item: its h and g stay in registers / L1

RNNKIT_INLINE double exp_(double x) { return std::exp(x); }
RNNKIT_INLINE float exp_(float x) { return exp_f32(x); }

// z and y = 1 - z, each to a few roundings of its own size, for the gate's derivative z y
// (1 - z formed by a float32 subtraction would lose z's digits when z is near 1).
// minGRU: z = sigmoid(k), y = sigmoid(-k) = e^{-k} z.
// minLSTM: z = i / (f + i), y = f / (f + i), as (e^{k_i} + e^{k_i + k_f}) / D and
// (e^{k_f} + e^{k_i + k_f}) / D, D their sum, all scaled by e^{-m}, m the largest exponent: no
// term overflows and D is at least 1 (the sigmoids themselves may underflow to 0 / 0).
template <typename T, int64_t Kind>
RNNKIT_INLINE void gate(const T* p, int64_t j, int64_t H, T& z, T& y) {
  if constexpr (Kind == kMinGru) {
    const T e = exp_(-p[j]);
    z = T(1) / (T(1) + e);
    y = e * z;
  } else {
    const T kf = p[j], ki = p[H + j], s = kf + ki;
    const T m0 = kf > ki ? kf : ki, m = m0 > s ? m0 : s;  // (std::max is not inlined here)
    const T ef = exp_(kf - m), ei = exp_(ki - m), es = exp_(s - m);
    const T r = T(1) / (ef + ei + T(2) * es);
    z = (ei + es) * r;
    y = (ef + es) * r;
  }
}

// One block of units [j0, j1) of batch row b over all steps, forward.
template <typename T, int64_t Kind>
void forward_block(const T* proj, const T* h0, const int64_t* lengths, T* out, int64_t T_,
                   int64_t B, int64_t H, int64_t b, int64_t j0, int64_t j1) {
  constexpr int64_t G = Kind == kMinGru ? 2 : 3;
  double h[kBlock];
  const int64_t n = j1 - j0;
  for (int64_t j = 0; j < n; ++j) h[j] = h0[b * H + j0 + j];
  const int64_t len = lengths ? lengths[b] : T_;
  for (int64_t t = 0; t < T_; ++t) {
    T* __restrict__ o = out + (t * B + b) * H + j0;
    if (t >= len) {
      for (int64_t j = 0; j < n; ++j) o[j] = T(h[j]);
      continue;
    }
    const T* __restrict__ p = proj + (t * B + b) * G * H + j0;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      T z, y;  // y unused: the compiler drops it
      gate<T, Kind>(p, j, H, z, y);
      // h + z (c - h): 1 - z taken in double, exact, so a gate that keeps the state (z near
      // 0, a near 1) does not compound float32 roundings of 1 - z over the steps
      h[j] += double(z) * (double(p[(G - 1) * H + j]) - h[j]);
      o[j] = T(h[j]);
    }
  }
}

// The backward's tensors, as pointers (dh_final, lengths and bias_rows may be null).
template <typename T>
struct BackwardArgs {
  const T *d_out, *dh_final, *proj, *out, *h0;
  const int64_t* lengths;
  T *d_proj, *dh0;
  double* bias_rows;  // [B, GH]: row b's sum of d_proj over the steps, for d_bias
  int64_t T_, B, H;
};

// One block of units [j0, j1) of batch row b, backward over all steps: d_proj of every step,
// the block's dh0, and (bias_rows) its d_proj summed over the steps.
template <typename T, int64_t Kind>
void backward_block(const BackwardArgs<T>& a, int64_t b, int64_t j0, int64_t j1) {
  constexpr int64_t G = Kind == kMinGru ? 2 : 3;
  const int64_t n = j1 - j0, B = a.B, H = a.H;
  double g[kBlock], sum[G][kBlock];
  for (int64_t j = 0; j < n; ++j) {
    g[j] = a.dh_final ? double(a.dh_final[b * H + j0 + j]) : 0.0;
    for (int64_t q = 0; q < G; ++q) sum[q][j] = 0.0;
  }
  const int64_t len = a.lengths ? a.lengths[b] : a.T_;
  for (int64_t t = a.T_ - 1; t >= 0; --t) {
    const T* __restrict__ d = a.d_out + (t * B + b) * H + j0;
    T* __restrict__ dp = a.d_proj + (t * B + b) * G * H + j0;
    for (int64_t j = 0; j < n; ++j) g[j] += d[j];  // from output t
    if (t >= len) {  // a held step: identity for h, no gradient for its projection
      for (int64_t q = 0; q < G; ++q) std::fill(dp + q * H, dp + q * H + n, T(0));
      continue;
    }
    const T* __restrict__ p = a.proj + (t * B + b) * G * H + j0;
    const T* __restrict__ hp = t ? a.out + ((t - 1) * B + b) * H + j0 : a.h0 + b * H + j0;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      const T c = p[(G - 1) * H + j];
      T z, y;
      gate<T, Kind>(p, j, H, z, y);
      const T dz = T(g[j] * (double(c) - double(hp[j])));  // h_t = y h_{t-1} + z c, y = 1 - z
      if constexpr (Kind == kMinGru) {
        dp[j] = dz * z * y;  // dk, through the sigmoid
      } else {
        const T du = dz * z * y;  // z = sigmoid(u), u = log i - log f
        dp[j] = -du * sigmoid(-p[j]);         // dk_f: d log f / dk_f = sigmoid(-k_f)
        dp[H + j] = du * sigmoid(-p[H + j]);  // dk_i
        sum[1][j] += double(dp[H + j]);
      }
      sum[0][j] += double(dp[j]);
      dp[(G - 1) * H + j] = T(g[j]) * z;  // dc
      sum[G - 1][j] += double(dp[(G - 1) * H + j]);
      g[j] -= g[j] * double(z);  // to h_{t-1}: g (1 - z), as in the forward
    }
  }
  for (int64_t j = 0; j < n; ++j) a.dh0[b * H + j0 + j] = T(g[j]);
  if (a.bias_rows) {
    for (int64_t q = 0; q < G; ++q) {
      std::copy(sum[q], sum[q] + n, a.bias_rows + b * G * H + q * H + j0);
    }
  }
}

int64_t gates_of(int64_t kind) {
  TORCH_CHECK(kind == kMinGru || kind == kMinLstm,
              "rnnkit scan kernel: kind must be 0 (minGRU) or 1 (minLSTM), got ", kind);
  return kind == kMinGru ? 2 : 3;
}

const int64_t* lengths_ptr(const std::optional<at::Tensor>& lengths, int64_t B) {
  if (!lengths.has_value()) return nullptr;
  TORCH_CHECK(lengths->scalar_type() == at::kLong && lengths->is_contiguous() &&
                  lengths->device().is_cpu() && lengths->sizes() == at::IntArrayRef{B},
              "rnnkit scan kernel: lengths must be a contiguous int64 CPU tensor of shape (B,)");
  return lengths->const_data_ptr<int64_t>();
}

// Runs fn(b, j0, j1) over every (batch row, block of units), in parallel.
template <typename F>
void for_blocks(int64_t B, int64_t H, const F& fn) {
  const int64_t per_row = (H + kBlock - 1) / kBlock;
  at::parallel_for(0, B * per_row, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / per_row, j0 = (item % per_row) * kBlock;
      fn(b, j0, std::min(H, j0 + kBlock));
    }
  });
}

// Args:
//   proj:    [T,B,GH] the input projections x W^T + b, G = 2 (minGRU) or 3 (minLSTM).
//   h0:      [B,H] the state before step 0.
//   lengths: [B] int64, optional: steps past a row's length keep its state.
//   kind:    0 minGRU, 1 minLSTM.
//   out:     [T,B,H] out: h_t (past a length: the state at the length).
void scan_forward_loop(const at::Tensor& proj, const at::Tensor& h0,
                       const std::optional<at::Tensor>& lengths, int64_t kind,
                       const at::Tensor& out) {
  const int64_t G = gates_of(kind);
  TORCH_CHECK(out.dim() == 3, "rnnkit scan kernel: out must be (T, B, H)");
  const int64_t T_ = out.size(0), B = out.size(1), H = out.size(2);
  check(proj, "proj", out, {T_, B, G * H});
  check(h0, "h0", out, {B, H});
  const int64_t* len = lengths_ptr(lengths, B);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "scan_forward_loop", [&] {
    const scalar_t* p = proj.const_data_ptr<scalar_t>();
    const scalar_t* s = h0.const_data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    for_blocks(B, H, [&](int64_t b, int64_t j0, int64_t j1) {
      if (kind == kMinGru) forward_block<scalar_t, kMinGru>(p, s, len, o, T_, B, H, b, j0, j1);
      else forward_block<scalar_t, kMinLstm>(p, s, len, o, T_, B, H, b, j0, j1);
    });
  });
}

// Args as scan_forward_loop's, plus:
//   d_out:    [T,B,H] dL/dout.
//   dh_final: [B,H], optional: dL/dh_n, the gradient of the state after the last step (with
//             lengths: after each row's last real step, which the held steps carry to T-1).
//   out:      [T,B,H] the forward's output.
//   d_proj:   [T,B,GH] out: dL/dproj.
//   d_bias:   [GH] out, optional: d_proj summed over steps and batch (the bias's gradient,
//             without a second pass over d_proj).
// Returns dh0 [B,H].
at::Tensor scan_backward_loop(const at::Tensor& d_out, const std::optional<at::Tensor>& dh_final,
                              const at::Tensor& proj, const at::Tensor& out, const at::Tensor& h0,
                              const std::optional<at::Tensor>& lengths, int64_t kind,
                              const at::Tensor& d_proj, const std::optional<at::Tensor>& d_bias) {
  const int64_t G = gates_of(kind);
  TORCH_CHECK(out.dim() == 3, "rnnkit scan kernel: out must be (T, B, H)");
  const int64_t T_ = out.size(0), B = out.size(1), H = out.size(2);
  check(d_out, "d_out", out, {T_, B, H});
  if (dh_final.has_value()) check(*dh_final, "dh_final", out, {B, H});
  check(proj, "proj", out, {T_, B, G * H});
  check(h0, "h0", out, {B, H});
  check(d_proj, "d_proj", out, {T_, B, G * H});
  if (d_bias.has_value()) check(*d_bias, "d_bias", out, {G * H});
  at::Tensor dh0 = out.new_empty({B, H});
  at::Tensor bias_rows;
  if (d_bias.has_value()) bias_rows = at::empty({B, G * H}, out.options().dtype(at::kDouble));
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "scan_backward_loop", [&] {
    const BackwardArgs<scalar_t> args{
        d_out.const_data_ptr<scalar_t>(),
        dh_final.has_value() ? dh_final->const_data_ptr<scalar_t>() : nullptr,
        proj.const_data_ptr<scalar_t>(), out.const_data_ptr<scalar_t>(),
        h0.const_data_ptr<scalar_t>(), lengths_ptr(lengths, B), d_proj.data_ptr<scalar_t>(),
        dh0.data_ptr<scalar_t>(), d_bias.has_value() ? bias_rows.data_ptr<double>() : nullptr,
        T_, B, H};
    for_blocks(B, H, [&](int64_t b, int64_t j0, int64_t j1) {
      if (kind == kMinGru) backward_block<scalar_t, kMinGru>(args, b, j0, j1);
      else backward_block<scalar_t, kMinLstm>(args, b, j0, j1);
    });
  });
  if (d_bias.has_value()) d_bias->copy_(bias_rows.sum(0));  // over the batch rows, in double
  return dh0;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("scan_forward_loop(Tensor proj, Tensor h0, Tensor? lengths, int kind, Tensor(a!) out) "
        "-> ()",
        &scan_forward_loop);
  m.def("scan_backward_loop(Tensor d_out, Tensor? dh_final, Tensor proj, Tensor out, Tensor h0, "
        "Tensor? lengths, int kind, Tensor(a!) d_proj, Tensor(b!)? d_bias) -> Tensor",
        &scan_backward_loop);
}
