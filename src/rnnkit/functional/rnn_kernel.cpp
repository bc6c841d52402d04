// rnnkit's compiled inference loop for the Elman RNN and the GRU: the forward of bptt.py's
// general loop without the cache a backward needs, one C++ loop per direction, so a step
// costs one matrix product and one pass over its elements instead of ~6-10 torch ops (at
// batch 1 the dispatch of those ops is most of the time). The math is rnn.py's and gru.py's
// (the specification it is tested equal to). Per step t, with P = h_{t-1} W_hh^T:
//   Elman:  h_t = act(A[t] + P)            A = x W_ih^T + b_ih + b_hh;  act = tanh or relu
//   GRU:    r = sigmoid(A_r + P_r + b_hr);  z = sigmoid(A_z + P_z + b_hz)
//           n = tanh(A_n + r (P_n + b_hn));  h_t = n + z (h_{t-1} - n)      A = x W_ih^T + b_ih
// (the GRU of torch.nn, reset gate after the product; gates in torch's order r, z, n).
// Registered as the torch op rnnkit::rnn_infer_loop; compiled.py calls it.

#include "kernel_common.h"

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
// or nullptr, h_prev and h (B, H).
template <typename T>
void gru_step(const T* a, const T* p, const T* bh, const T* h_prev, T* h, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ ab = a + b * 3 * H;
    const T* __restrict__ pb = p + b * 3 * H;
    const T* __restrict__ hp = h_prev + b * H;
    T* __restrict__ hb = h + b * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T br = bh ? bh[j] : T(0), bz = bh ? bh[H + j] : T(0), bn = bh ? bh[2 * H + j] : T(0);
      const T r = sigmoid(ab[j] + pb[j] + br);
      const T z = sigmoid(ab[H + j] + pb[H + j] + bz);
      const T n = tanh_(ab[2 * H + j] + r * (pb[2 * H + j] + bn));
      hb[j] = n + z * (hp[j] - n);
    }
  }
}

// A (T, B, G H): the input projections (G = 1 Elman, 3 GRU). weight: W_hh (G H, H) packed, or
// W_hh^T (H, G H) contiguous. b_hh (G H) for the GRU (the Elman's is folded into A). Writes
// out (T, B, H); h_T = out[last].
void rnn_infer_loop(const at::Tensor& A, const at::Tensor& weight, bool packed,
                    const std::optional<at::Tensor>& b_hh, const at::Tensor& h0, bool reverse,
                    int64_t kind, const at::Tensor& out) {
  TORCH_CHECK(kind == kTanh || kind == kRelu || kind == kGru,
              "rnnkit rnn kernel: kind must be 0 (tanh), 1 (relu) or 2 (GRU), got ", kind);
  const int64_t G = kind == kGru ? 3 : 1;
  TORCH_CHECK(A.dim() == 3 && A.size(2) % G == 0, "rnnkit rnn kernel: A must be (T, B, G H)");
  const int64_t T = A.size(0), B = A.size(1), H = A.size(2) / G;
  check(A, "A", A, {T, B, G * H});
  check(h0, "h0", A, {B, H});
  check(out, "out", A, {T, B, H});
  if (!packed) check(weight, "weight (W_hh^T)", A, {H, G * H});
  const bool has_bias = b_hh.has_value() && b_hh->defined();
  TORCH_CHECK(!has_bias || kind == kGru, "rnnkit rnn kernel: b_hh is for the GRU only");
  if (has_bias) check(*b_hh, "b_hh", A, {G * H});
  at::NoGradGuard no_grad;
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "rnn_infer_loop", [&] {
    at::Tensor buffer = A.new_empty({B, G * H});
    at::Tensor h = h0;
    const scalar_t* a = A.const_data_ptr<scalar_t>();
    const scalar_t* bh = has_bias ? b_hh->const_data_ptr<scalar_t>() : nullptr;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const at::Tensor p = product_into<scalar_t>(buffer, h, weight, packed);  // (B, G H)
      at::Tensor ht = out.select(0, t);
      const scalar_t* a_t = a + t * B * G * H;
      if (kind == kGru) {
        gru_step<scalar_t>(a_t, p.const_data_ptr<scalar_t>(), bh, h.const_data_ptr<scalar_t>(),
                           ht.data_ptr<scalar_t>(), B, H);
      } else {
        elman_step<scalar_t>(a_t, p.const_data_ptr<scalar_t>(), ht.data_ptr<scalar_t>(), B * H,
                             kind == kRelu);
      }
      h = ht;
    }
  });
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("rnn_infer_loop(Tensor A, Tensor weight, bool packed, Tensor? b_hh, Tensor h0, "
        "bool reverse, int kind, Tensor(a!) out) -> ()",
        &rnn_infer_loop);
}
