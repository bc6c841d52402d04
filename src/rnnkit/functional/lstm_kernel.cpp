// rnnkit's compiled LSTM time loop: the per-step part of lstm_seq.py's forward and backward,
// one C++ loop per direction, so a step costs one matrix product and one pass over its
// elements instead of ~16 torch ops (each a dispatch and a pass over memory).
//
// The math is lstm_seq.py's (the specification it is tested equal to). Per step t:
//   forward:  P = h_{t-1} W_hh^T                                  one product (oneDNN, packed)
//             i, f, o = sigmoid(A[t] + P);  g = tanh(A[t] + P)    A[t] then holds i, f, g, o
//             C[t] = f c_{t-1} + i g;  TC[t] = tanh(C[t]);  out[t] = o TC[t]
//   backward: dh = dh_next + d_out[t];  dc = dc_next + dh o (1 - TC^2)
//             dA[t] = [dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dh TC o(1-o)]
//             dc_next = dc f;   dh_next = dA[t] W_hh                 one product
// The weight gradients of all steps stay whole-sequence GEMMs, in Python.
//
// Registered as torch ops (rnnkit::lstm_forward_loop, rnnkit::lstm_backward_loop); the
// tensors are checked in Python (lstm_compiled.py) and again, briefly, here.

#include "kernel_common.h"

#include <tuple>

namespace {

// One forward step over (B, H): pre-activations a (B, 4H) + the product p (B, 4H) -> in place
// activations in a; c, tc, h (B, H).
template <typename T>
void forward_step(T* a, const T* p, const T* c_prev, T* c, T* tc, T* h, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    T* __restrict__ ai = a + b * 4 * H;  // the four gates' rows, i f g o
    T* __restrict__ af = ai + H;
    T* __restrict__ ag = ai + 2 * H;
    T* __restrict__ ao = ai + 3 * H;
    const T* __restrict__ pi = p + b * 4 * H;
    const T* __restrict__ pf = pi + H;
    const T* __restrict__ pg = pi + 2 * H;
    const T* __restrict__ po = pi + 3 * H;
    const T* __restrict__ cpb = c_prev + b * H;
    T* __restrict__ cb = c + b * H;
    T* __restrict__ tcb = tc + b * H;
    T* __restrict__ hb = h + b * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid(ai[j] + pi[j]);
      const T f = sigmoid(af[j] + pf[j]);
      const T g = tanh_(ag[j] + pg[j]);
      const T o = sigmoid(ao[j] + po[j]);
      ai[j] = i;
      af[j] = f;
      ag[j] = g;
      ao[j] = o;
      const T cn = f * cpb[j] + i * g;
      const T t = tanh_(cn);
      cb[j] = cn;
      tcb[j] = t;
      hb[j] = o * t;
    }
  }
}

// One backward step: dh = base + d_out (written to dh_seen if given), dc updated in place to
// the gradient for c_{t-1}, da (B, 4H) the gradient of the pre-activations.
template <typename T>
void backward_step(const T* a, const T* tc, const T* c_prev, const T* base, const T* d_out,
                   T* dh_seen, T* dc, T* da, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ ab = a + b * 4 * H;
    const T* __restrict__ tcb = tc + b * H;
    const T* __restrict__ cpb = c_prev + b * H;
    const T* __restrict__ baseb = base + b * H;
    const T* __restrict__ dob = d_out + b * H;
    T* __restrict__ dcb = dc + b * H;
    T* __restrict__ dab = da + b * 4 * H;
    if (dh_seen != nullptr) {
      T* __restrict__ seenb = dh_seen + b * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) seenb[j] = baseb[j] + dob[j];
    }
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T i = ab[j], f = ab[H + j], g = ab[2 * H + j], o = ab[3 * H + j], t = tcb[j];
      const T dh = baseb[j] + dob[j];
      const T d = dcb[j] + dh * o * (T(1) - t * t);  // through h = o tanh(c)
      dab[j] = d * g * i * (T(1) - i);                 // through c = f c_prev + i g, sigmoid
      dab[H + j] = d * cpb[j] * f * (T(1) - f);
      dab[2 * H + j] = d * i * (T(1) - g * g);         // ... tanh
      dab[3 * H + j] = dh * t * o * (T(1) - o);
      dcb[j] = d * f;
    }
  }
}

// A (T, B, 4H): input projections incl. both biases; overwritten with i, f, g, o.
// weight: W_hh (4H, H) packed, or W_hh^T (H, 4H) contiguous.
// C, TC, out (T, B, H) are written. Returns nothing: h_T = out[last], c_T = C[last].
void lstm_forward_loop(const at::Tensor& A, const at::Tensor& weight, bool packed,
                       const at::Tensor& h0, const at::Tensor& c0, bool reverse,
                       const at::Tensor& C, const at::Tensor& TC, const at::Tensor& out) {
  TORCH_CHECK(A.dim() == 3 && A.size(2) % 4 == 0, "rnnkit lstm kernel: A must be (T, B, 4H)");
  const int64_t T = A.size(0), B = A.size(1), H = A.size(2) / 4;
  check(A, "A", A, {T, B, 4 * H});
  check(h0, "h0", A, {B, H});
  check(c0, "c0", A, {B, H});
  for (const auto& [t, name] : {std::pair{&C, "C"}, {&TC, "TC"}, {&out, "out"}}) {
    check(*t, name, A, {T, B, H});
  }
  if (!packed) check(weight, "weight (W_hh^T)", A, {H, 4 * H});
  at::NoGradGuard no_grad;
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "lstm_forward_loop", [&] {
    at::Tensor buffer = A.new_empty({B, 4 * H});
    at::Tensor h = h0;
    const scalar_t* c_prev = c0.const_data_ptr<scalar_t>();
    scalar_t* a = A.data_ptr<scalar_t>();
    scalar_t *c = C.data_ptr<scalar_t>(), *tc = TC.data_ptr<scalar_t>();
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const at::Tensor p = product_into<scalar_t>(buffer, h, weight, packed);  // (B, 4H)
      at::Tensor ht = out.select(0, t);
      forward_step<scalar_t>(a + t * B * 4 * H, p.const_data_ptr<scalar_t>(), c_prev,
                             c + t * B * H, tc + t * B * H, ht.data_ptr<scalar_t>(), B, H);
      h = ht;
      c_prev = c + t * B * H;
    }
  });
}

// The mirror loop. d_out (T, B, H); dh_final, dc_final (B, H); A, C, TC, c0 from the forward;
// weight: W_hh^T (H, 4H) packed, or W_hh (4H, H) itself. Writes dA (T, B, 4H) and, if
// dh_seen is defined, dL/dh_t of every step. Returns (dh_0, dc_0).
std::tuple<at::Tensor, at::Tensor> lstm_backward_loop(
    const at::Tensor& d_out, const at::Tensor& dh_final, const at::Tensor& dc_final,
    const at::Tensor& A, const at::Tensor& C, const at::Tensor& TC, const at::Tensor& c0,
    const at::Tensor& weight, bool packed, bool reverse, const at::Tensor& dA,
    const std::optional<at::Tensor>& dh_seen) {
  TORCH_CHECK(A.dim() == 3 && A.size(2) % 4 == 0, "rnnkit lstm kernel: A must be (T, B, 4H)");
  const int64_t T = A.size(0), B = A.size(1), H = A.size(2) / 4;
  check(A, "A", A, {T, B, 4 * H});
  check(dA, "dA", A, {T, B, 4 * H});
  for (const auto& [t, name] : {std::pair{&d_out, "d_out"}, {&C, "C"}, {&TC, "TC"}}) {
    check(*t, name, A, {T, B, H});
  }
  for (const auto& [t, name] : {std::pair{&dh_final, "dh_final"}, {&dc_final, "dc_final"},
                                {&c0, "c0"}}) {
    check(*t, name, A, {B, H});
  }
  if (dh_seen.has_value()) check(*dh_seen, "dh_seen", A, {T, B, H});
  if (!packed) check(weight, "weight (W_hh)", A, {4 * H, H});
  at::NoGradGuard no_grad;
  at::Tensor dc = dc_final.clone();
  at::Tensor base = dh_final;
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "lstm_backward_loop", [&] {
    at::Tensor buffer = A.new_empty({B, H});  // base is read before the product overwrites it
    const scalar_t *a = A.const_data_ptr<scalar_t>(), *c = C.const_data_ptr<scalar_t>();
    const scalar_t *tc = TC.const_data_ptr<scalar_t>(), *d_o = d_out.const_data_ptr<scalar_t>();
    scalar_t* da = dA.data_ptr<scalar_t>();
    scalar_t* seen = dh_seen.has_value() ? dh_seen->data_ptr<scalar_t>() : nullptr;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? k : T - 1 - k;
      const bool first_in_time = reverse ? t == T - 1 : t == 0;
      const scalar_t* c_prev =
          first_in_time ? c0.const_data_ptr<scalar_t>() : c + (reverse ? t + 1 : t - 1) * B * H;
      backward_step<scalar_t>(a + t * B * 4 * H, tc + t * B * H, c_prev,
                              base.const_data_ptr<scalar_t>(), d_o + t * B * H,
                              seen == nullptr ? nullptr : seen + t * B * H,
                              dc.data_ptr<scalar_t>(), da + t * B * 4 * H, B, H);
      base = product_into<scalar_t>(buffer, dA.select(0, t), weight, packed);  // (B, H) through W_hh
    }
  });
  return {base, dc};
}

}  // namespace

// Registered for every backend (the packed weight is a oneDNN tensor, the rest plain CPU);
// they run outside autograd: lstm_seq.py calls them (through compiled.py) inside rnnkit's
// hand-written backward.
TORCH_LIBRARY(rnnkit, m) {
  m.def("lstm_forward_loop(Tensor(a!) A, Tensor weight, bool packed, Tensor h0, Tensor c0, "
        "bool reverse, Tensor(b!) C, Tensor(c!) TC, Tensor(d!) out) -> ()",
        &lstm_forward_loop);
  m.def("lstm_backward_loop(Tensor d_out, Tensor dh_final, Tensor dc_final, Tensor A, Tensor C, "
        "Tensor TC, Tensor c0, Tensor weight, bool packed, bool reverse, Tensor(a!) dA, "
        "Tensor(b!)? dh_seen) -> (Tensor, Tensor)",
        &lstm_backward_loop);
}
