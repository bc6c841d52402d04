// rnnkit's compiled LSTM time loop: the per-step part of lstm_seq.py's forward and backward,
// one C++ loop per direction, so a step costs one matrix product and one pass over its
// elements instead of ~16 torch ops (each a dispatch and a pass over memory).
//
// The math is lstm_seq.py's (the specification it is tested equal to). Per step t, with the
// buffers named as in the functions below:
//   forward:  P = h_{t-1} W_hh^T                          one product (BLAS, or oneDNN packed)
//             i, f, o = sigmoid(gates[t] + P);  g = tanh(gates[t] + P)
//                                                         gates[t] then holds i, f, g, o
//             cell[t] = f c_{t-1} + i g;  tanh_cell[t] = tanh(cell[t]);  out[t] = o tanh_cell[t]
//   backward: dh = dh_next + d_out[t];  dc = dc_next + dh o (1 - tanh_cell[t]^2)
//             d_gates[t] = [dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dh tanh_cell o(1-o)]
//             dc_next = dc f;   dh_next = d_gates[t] W_hh   one product
// These loops hold only the recurrence. The products that do not depend on the previous step
// are not here: the input projections of a chunk of steps are made before the forward loop,
// and dx and the weight gradients are made from each chunk's d_gates after the backward loop
// has run that chunk, summed chunk by chunk (ChunkGrads in chunked.py; lstm_seq.py drives it).
//
// Registered as torch ops (rnnkit::lstm_forward_loop, rnnkit::lstm_backward_loop) and called
// through compiled.py, which with lstm_seq.py checks the tensors in Python; they are checked
// again, briefly, here.

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

// The forward loop of one direction over T steps.
//
// Args (all contiguous, one dtype, on the CPU; T steps, B batch, H hidden units):
//   gates:     [T,B,4H] in: the input projections x_t W_ih^T + b_ih + b_hh of every step, gate
//              order i, f, g, o; out: the activated gates i, f, g, o (the backward's cache).
//   weight:    the recurrent weight as matmul.loop_weight gives it: W_hh [4H,H] reordered by
//              oneDNN (packed), or W_hh^T [H,4H] contiguous for BLAS (not packed).
//   packed:    which of the two `weight` is.
//   h0, c0:    [B,H] the state before the first step in time (the last index when reverse).
//   reverse:   run t = T-1 .. 0 (the reverse direction of a bidirectional layer).
//   cell:      [T,B,H] out: c_t of every step.
//   tanh_cell: [T,B,H] out: tanh(c_t) (the backward's cache).
//   out:       [T,B,H] out: h_t of every step.
// Returns nothing: the final state is out[last] and cell[last] (last = T-1, or 0 if reverse).
void lstm_forward_loop(const at::Tensor& gates, const at::Tensor& weight, bool packed,
                       const at::Tensor& h0, const at::Tensor& c0, bool reverse,
                       const at::Tensor& cell, const at::Tensor& tanh_cell,
                       const at::Tensor& out) {
  TORCH_CHECK(gates.dim() == 3 && gates.size(2) % 4 == 0,
              "rnnkit lstm kernel: gates must be (T, B, 4H)");
  const int64_t T = gates.size(0), B = gates.size(1), H = gates.size(2) / 4;
  check(gates, "gates", gates, {T, B, 4 * H});
  check(h0, "h0", gates, {B, H});
  check(c0, "c0", gates, {B, H});
  for (const auto& [t, name] :
       {std::pair{&cell, "cell"}, {&tanh_cell, "tanh_cell"}, {&out, "out"}}) {
    check(*t, name, gates, {T, B, H});
  }
  if (!packed) check(weight, "weight (W_hh^T)", gates, {H, 4 * H});
  at::NoGradGuard no_grad;
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_forward_loop", [&] {
    at::Tensor buffer = gates.new_empty({B, 4 * H});  // P of one step
    at::Tensor h = h0;
    const scalar_t* c_prev = c0.const_data_ptr<scalar_t>();
    scalar_t* a = gates.data_ptr<scalar_t>();
    scalar_t *c = cell.data_ptr<scalar_t>(), *tc = tanh_cell.data_ptr<scalar_t>();
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

// The backward loop of one direction over T steps (or over a chunk of them: the state
// gradients it returns start the chunk before it in time), the mirror of the forward.
//
// Args (all contiguous, one dtype, on the CPU):
//   d_out:     [T,B,H] dL/dh_t from the layer's output, every step.
//   dh_final,
//   dc_final:  [B,H] dL/dh and dL/dc of the state after the last step in time.
//   gates:     [T,B,4H] the forward's activated gates i, f, g, o.
//   cell:      [T,B,H] the forward's c_t.
//   tanh_cell: [T,B,H] the forward's tanh(c_t).
//   c0:        [B,H] c before the first step in time of these T steps.
//   weight:    for d_gates W_hh: W_hh^T [H,4H] reordered by oneDNN (packed), or W_hh [4H,H]
//              contiguous for BLAS (not packed).
//   packed:    which of the two `weight` is.
//   reverse:   the forward ran t = T-1 .. 0; this loop then runs t = 0 .. T-1.
//   d_gates:   [T,B,4H] out: dL/d(pre-activation) of the gates i, f, g, o, every step.
//   dh_seen:   [T,B,H] out, optional: dL/dh_t of every step (diagnostics).
// Returns (dh_0, dc_0) [B,H]: the gradients of the state before the first step in time.
std::tuple<at::Tensor, at::Tensor> lstm_backward_loop(
    const at::Tensor& d_out, const at::Tensor& dh_final, const at::Tensor& dc_final,
    const at::Tensor& gates, const at::Tensor& cell, const at::Tensor& tanh_cell,
    const at::Tensor& c0, const at::Tensor& weight, bool packed, bool reverse,
    const at::Tensor& d_gates, const std::optional<at::Tensor>& dh_seen) {
  TORCH_CHECK(gates.dim() == 3 && gates.size(2) % 4 == 0,
              "rnnkit lstm kernel: gates must be (T, B, 4H)");
  const int64_t T = gates.size(0), B = gates.size(1), H = gates.size(2) / 4;
  check(gates, "gates", gates, {T, B, 4 * H});
  check(d_gates, "d_gates", gates, {T, B, 4 * H});
  for (const auto& [t, name] :
       {std::pair{&d_out, "d_out"}, {&cell, "cell"}, {&tanh_cell, "tanh_cell"}}) {
    check(*t, name, gates, {T, B, H});
  }
  for (const auto& [t, name] : {std::pair{&dh_final, "dh_final"}, {&dc_final, "dc_final"},
                                {&c0, "c0"}}) {
    check(*t, name, gates, {B, H});
  }
  if (dh_seen.has_value()) check(*dh_seen, "dh_seen", gates, {T, B, H});
  if (!packed) check(weight, "weight (W_hh)", gates, {4 * H, H});
  at::NoGradGuard no_grad;
  at::Tensor dc = dc_final.clone();
  at::Tensor base = dh_final;
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_backward_loop", [&] {
    at::Tensor buffer = gates.new_empty({B, H});  // base is read before the product overwrites it
    const scalar_t *a = gates.const_data_ptr<scalar_t>(), *c = cell.const_data_ptr<scalar_t>();
    const scalar_t* tc = tanh_cell.const_data_ptr<scalar_t>();
    const scalar_t* d_o = d_out.const_data_ptr<scalar_t>();
    scalar_t* da = d_gates.data_ptr<scalar_t>();
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
      base = product_into<scalar_t>(buffer, d_gates.select(0, t), weight, packed);  // through W_hh
    }
  });
  return {base, dc};
}

}  // namespace

// Registered for every backend (the packed weight is a oneDNN tensor, the rest plain CPU);
// they run outside autograd: lstm_seq.py calls them (through compiled.py) inside rnnkit's
// hand-written backward.
TORCH_LIBRARY(rnnkit, m) {
  m.def("lstm_forward_loop(Tensor(a!) gates, Tensor weight, bool packed, Tensor h0, Tensor c0, "
        "bool reverse, Tensor(b!) cell, Tensor(c!) tanh_cell, Tensor(d!) out) -> ()",
        &lstm_forward_loop);
  m.def("lstm_backward_loop(Tensor d_out, Tensor dh_final, Tensor dc_final, Tensor gates, "
        "Tensor cell, Tensor tanh_cell, Tensor c0, Tensor weight, bool packed, bool reverse, "
        "Tensor(a!) d_gates, Tensor(b!)? dh_seen) -> (Tensor, Tensor)",
        &lstm_backward_loop);
}
