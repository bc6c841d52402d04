// rnnkit's compiled time loop for the layer-normalised GRU (ln_gru.py), with, each optional,
// variational recurrent dropout on h entering the product, Semeniuta's dropout on the candidate
// and zoneout on h (regularise.py). ln_gru.py, regularise.py and bptt.py's general loop are the
// specification it is tested equal to (tests/functional/test_lstm_variant_loop.py);
// gru_variant_seq.py drives it.
//
// Per step t, with the optional parts in brackets (absent: masks 1, zoneout 0):
//   forward:  P = (h_{t-1} [* drop]) W_hh^T                      one product (3H)
//             nh = LN(P) over 3H;  ah = nh * ln_hh + b_hh
//             r = sigmoid(A_r + ah_r);  z = sigmoid(A_z + ah_z);  n = tanh(A_n + r ah_n)
//             hn = (n [* cand]) + z (h_{t-1} - n [* cand]);  h_t = hn [+ zh_t (h_{t-1} - hn)]
//   where A[t] = LN(x_t W_ih^T) * ln_ih + b_ih (whole-sequence work done before the loop).
//   backward: dh = dh_state + d_out[t];  dhn = dh (1 - zh_t)
//             dz = dhn (h_{t-1} - n cand);  da_n = dhn (1 - z)(1 - n^2) cand
//             da_r = da_n ah_n r (1 - r);  da_z = dz z (1 - z)
//             dA = [da_r, da_z, da_n];  dah = [da_r, da_z, da_n r]
//             d ln_hh += dah nh;  d b_hh += dah;  dgh = LN'(dah * ln_hh)
//             dh_state <- (dgh W_hh) [* drop] + dhn z + dh zh_t          one product
// with LN'(d) = rstd (d - mean(d) - n mean(d n)). dx, the weight gradients, and the input norm's
// and b_ih's gradients are whole-sequence work made from d_gates and d_hh afterwards.

#include "kernel_common.h"

#include <tuple>
#include <vector>

namespace {

constexpr double kEps = 1e-5;  // as torch.nn.LayerNorm and ln_lstm.py

template <typename T>
std::pair<T, T> row_stats(const T* __restrict__ v, int64_t n) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += v[j];
  const T mean = sum / T(n);
  T sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int64_t j = 0; j < n; ++j) sq += (v[j] - mean) * (v[j] - mean);
  return {mean, T(1) / std::sqrt(sq / T(n) + T(kEps))};
}

// out = rstd (d - mean(d) - n mean(d n)) over n elements (out may be d itself).
template <typename T>
void norm_backward_row(const T* d, const T* __restrict__ nrm, T rstd, T* out, int64_t n) {
  T sd = 0, sdn = 0;
#pragma omp simd reduction(+ : sd, sdn)
  for (int64_t j = 0; j < n; ++j) {
    sd += d[j];
    sdn += d[j] * nrm[j];
  }
  const T md = sd / T(n), mdn = sdn / T(n);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = rstd * (d[j] - md - nrm[j] * mdn);
}

// The optional inputs as raw pointers, neutral stand-ins where absent (masks 1, zoneout 0, b_hh 0).
template <typename T>
struct GruVariant {
  const T* drop = nullptr;
  const T* cand;
  int64_t cand_stride;
  const T* zone;
  int64_t zone_step, zone_row;
  const T* ln_hh;  // (3H)
  const T* b_hh;   // (3H)
  std::vector<T> zeros, ones;
};

template <typename T>
GruVariant<T> make_variant(int64_t B, int64_t H, const std::optional<at::Tensor>& drop,
                           const std::optional<at::Tensor>& cand,
                           const std::optional<at::Tensor>& zone, const at::Tensor& ln_hh,
                           const std::optional<at::Tensor>& b_hh) {
  GruVariant<T> v;
  v.zeros.assign(3 * H, T(0));
  v.ones.assign(H, T(1));
  v.drop = drop.has_value() ? drop->const_data_ptr<T>() : nullptr;
  v.cand = cand.has_value() ? cand->const_data_ptr<T>() : v.ones.data();
  v.cand_stride = cand.has_value() ? H : 0;
  v.zone = zone.has_value() ? zone->const_data_ptr<T>() : v.zeros.data();
  v.zone_step = zone.has_value() ? B * H : 0;
  v.zone_row = zone.has_value() ? H : 0;
  v.ln_hh = ln_hh.const_data_ptr<T>();
  v.b_hh = b_hh.has_value() ? b_hh->const_data_ptr<T>() : v.zeros.data();
  return v;
}

// One forward step over (B, H): a (B, 3H) the input part A[t]; p (B, 3H) the product;
// gates (B, 4H) out: r, z, n, ah_n; nh (B, 3H), rstd (B) out: the recurrent norm's cache.
template <typename T>
void forward_step(const GruVariant<T>& v, int64_t t, const T* a, const T* p, const T* h_prev,
                  T* h, T* gates, T* nh, T* rstd, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ pb = p + b * 3 * H;
    T* __restrict__ nhb = nh + b * 3 * H;
    const auto [mean, rs] = row_stats(pb, 3 * H);
#pragma omp simd
    for (int64_t j = 0; j < 3 * H; ++j) nhb[j] = (pb[j] - mean) * rs;
    rstd[b] = rs;
    const T* __restrict__ ab = a + b * 3 * H;
    const T* __restrict__ hp = h_prev + b * H;
    const T* __restrict__ m = v.cand + b * v.cand_stride;
    const T* __restrict__ zh = v.zone + t * v.zone_step + b * v.zone_row;
    const T *__restrict__ g = v.ln_hh, *__restrict__ bh = v.b_hh;
    T* __restrict__ hb = h + b * H;
    T* __restrict__ gb = gates + b * 4 * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T r = sigmoid(ab[j] + nhb[j] * g[j] + bh[j]);
      const T z = sigmoid(ab[H + j] + nhb[H + j] * g[H + j] + bh[H + j]);
      const T hn = nhb[2 * H + j] * g[2 * H + j] + bh[2 * H + j];
      const T n = tanh_(ab[2 * H + j] + r * hn);
      const T nm = n * m[j];
      const T hnew = nm + z * (hp[j] - nm);
      hb[j] = hnew + zh[j] * (hp[j] - hnew);
      gb[j] = r;
      gb[H + j] = z;
      gb[2 * H + j] = n;
      gb[3 * H + j] = hn;
    }
  }
}

// One backward step over (B, H): dh_state (B, H) in: the gradient of h_t without d_out; out:
// the part of h_{t-1}'s that does not go through the product. da (B, 3H) out: dL/dA[t];
// dgh (B, 3H) out: dL/dP; d_extra (2, 3H) summed into: d ln_hh, d b_hh.
template <typename T>
void backward_step(const GruVariant<T>& v, int64_t t, const T* gates, const T* h_prev,
                   const T* d_out, T* seen, T* dh_state, T* da, T* dgh, const T* nh,
                   const T* rstd, T* d_extra, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ gb = gates + b * 4 * H;
    const T* __restrict__ hp = h_prev + b * H;
    const T* __restrict__ dob = d_out + b * H;
    const T* __restrict__ m = v.cand + b * v.cand_stride;
    const T* __restrict__ zh = v.zone + t * v.zone_step + b * v.zone_row;
    T* __restrict__ dhs = dh_state + b * H;
    T* __restrict__ dab = da + b * 3 * H;
    T* __restrict__ dgb = dgh + b * 3 * H;
    if (seen != nullptr) {
      T* __restrict__ sb = seen + b * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) sb[j] = dhs[j] + dob[j];
    }
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T r = gb[j], z = gb[H + j], n = gb[2 * H + j], hn = gb[3 * H + j];
      const T dh = dhs[j] + dob[j];
      const T dhn = dh * (T(1) - zh[j]);
      const T dz = dhn * (hp[j] - n * m[j]);  // through the interpolation
      const T da_n = dhn * (T(1) - z) * (T(1) - n * n) * m[j];  // ... and through tanh
      const T da_r = da_n * hn * r * (T(1) - r);  // through r * ah_n, then sigmoid
      const T da_z = dz * z * (T(1) - z);
      dab[j] = da_r;
      dab[H + j] = da_z;
      dab[2 * H + j] = da_n;
      dgb[j] = da_r;  // dah for now; the norm's backward below makes it dgh
      dgb[H + j] = da_z;
      dgb[2 * H + j] = da_n * r;
      dhs[j] = dhn * z + dh * zh[j];  // the direct path and zoneout's kept share
    }
    const T* __restrict__ nhb = nh + b * 3 * H;
    T* __restrict__ d_g = d_extra;
    T* __restrict__ d_b = d_extra + 3 * H;
#pragma omp simd
    for (int64_t j = 0; j < 3 * H; ++j) {
      d_g[j] += dgb[j] * nhb[j];
      d_b[j] += dgb[j];
      dgb[j] *= v.ln_hh[j];
    }
    norm_backward_row(dgb, nhb, rstd[b], dgb, 3 * H);
  }
}

template <typename T>
void mul_into(T* __restrict__ out, const T* __restrict__ a, const T* __restrict__ m, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = a[j] * m[j];
}

template <typename T>
void add_product(T* __restrict__ acc, const T* __restrict__ p, const T* __restrict__ m,
                 int64_t n) {
  if (m != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) acc[j] += p[j] * m[j];
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) acc[j] += p[j];
  }
}

void check_options(const at::Tensor& like, int64_t T, int64_t B, int64_t H,
                   const std::optional<at::Tensor>& drop, const std::optional<at::Tensor>& cand,
                   const std::optional<at::Tensor>& zone, const at::Tensor& ln_hh,
                   const std::optional<at::Tensor>& b_hh) {
  if (drop.has_value()) check(*drop, "drop", like, {B, H});
  if (cand.has_value()) check(*cand, "cand", like, {B, H});
  if (zone.has_value()) check(*zone, "zone", like, {T, B, H});
  check(ln_hh, "ln_hh", like, {3 * H});
  if (b_hh.has_value()) check(*b_hh, "b_hh", like, {3 * H});
}

// The forward loop of one direction over T steps.
//
// Args (all contiguous, one dtype, on the CPU; T steps, B batch, H hidden units):
//   proj:    [T,B,3H] the input part A of every step (see the top).
//   weight, packed: W_hh as matmul.loop_weight gives it (rnn_kernel.cpp's forward loop).
//   h0:      [B,H] the state before the first step in time (the last index when reverse).
//   reverse: run t = T-1 .. 0.
//   drop, cand: [B,H] optional: the variational mask on h entering the product, Semeniuta's
//            mask on n.   zone: [T,B,H] optional: zoneout's keep masks of step t.
//   ln_hh:   [3H] the recurrent norm's gain.   b_hh: [3H] optional.
//   out:     [T,B,H] out: h_t.   gates: [T,B,4H] out: r, z, n, ah_n.
//   norm_h:  [T,B,3H] out: LN(P).   rstd: [T,B] out: the recurrent norm's 1 / sqrt(var + eps).
void lngru_forward_loop(const at::Tensor& proj, const at::Tensor& weight, bool packed,
                        const at::Tensor& h0, bool reverse, const std::optional<at::Tensor>& drop,
                        const std::optional<at::Tensor>& cand,
                        const std::optional<at::Tensor>& zone, const at::Tensor& ln_hh,
                        const std::optional<at::Tensor>& b_hh, const at::Tensor& out,
                        const at::Tensor& gates, const at::Tensor& norm_h,
                        const at::Tensor& rstd) {
  TORCH_CHECK(proj.dim() == 3 && proj.size(2) % 3 == 0,
              "rnnkit ln_gru kernel: proj must be (T, B, 3H)");
  const int64_t T = proj.size(0), B = proj.size(1), H = proj.size(2) / 3;
  check(proj, "proj", proj, {T, B, 3 * H});
  check(h0, "h0", proj, {B, H});
  check(out, "out", proj, {T, B, H});
  check(gates, "gates", proj, {T, B, 4 * H});
  check(norm_h, "norm_h", proj, {T, B, 3 * H});
  check(rstd, "rstd", proj, {T, B});
  check_options(proj, T, B, H, drop, cand, zone, ln_hh, b_hh);
  if (!packed) check(weight, "weight (W_hh^T)", proj, {H, 3 * H});
  at::NoGradGuard no_grad;
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "lngru_forward_loop", [&] {
    using S = scalar_t;
    const GruVariant<S> v = make_variant<S>(B, H, drop, cand, zone, ln_hh, b_hh);
    at::Tensor buffer = proj.new_empty({B, 3 * H});
    at::Tensor hin = proj.new_empty({B, H});
    at::Tensor h = h0;
    const S* a = proj.const_data_ptr<S>();
    S *g = gates.data_ptr<S>(), *nh = norm_h.data_ptr<S>(), *rs = rstd.data_ptr<S>();
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const S* hp = h.const_data_ptr<S>();
      if (v.drop != nullptr) mul_into<S>(hin.data_ptr<S>(), hp, v.drop, B * H);
      const at::Tensor p = product_into<S>(buffer, v.drop != nullptr ? hin : h, weight, packed);
      at::Tensor ht = out.select(0, t);
      forward_step<S>(v, t, a + t * B * 3 * H, p.const_data_ptr<S>(), hp, ht.data_ptr<S>(),
                      g + t * B * 4 * H, nh + t * B * 3 * H, rs + t * B, B, H);
      h = ht;
    }
  });
}

// The backward loop, the mirror of the forward. Beyond the forward's arguments and outputs:
//   d_out:    [T,B,H] dL/dh_t from the layer's output.   dh_final: [B,H].
//   weight, packed: W_hh for dgh W_hh (rnn_kernel.cpp's backward loop).
//   d_gates:  [T,B,3H] out: dL/dA[t].   d_hh: [T,B,3H] out: dL/dP_t.
//   d_extra:  [2,3H] summed into: d ln_hh and d b_hh.
//   dh_seen:  [T,B,H] out, optional: dL/dh_t of every step.
// Returns dh_0 [B,H].
at::Tensor lngru_backward_loop(const at::Tensor& d_out, const at::Tensor& dh_final,
                               const at::Tensor& out, const at::Tensor& h0,
                               const at::Tensor& gates, const at::Tensor& norm_h,
                               const at::Tensor& rstd, const at::Tensor& weight, bool packed,
                               bool reverse, const std::optional<at::Tensor>& drop,
                               const std::optional<at::Tensor>& cand,
                               const std::optional<at::Tensor>& zone, const at::Tensor& ln_hh,
                               const at::Tensor& d_gates, const at::Tensor& d_hh,
                               const at::Tensor& d_extra,
                               const std::optional<at::Tensor>& dh_seen) {
  TORCH_CHECK(gates.dim() == 3 && gates.size(2) % 4 == 0,
              "rnnkit ln_gru kernel: gates must be (T, B, 4H)");
  const int64_t T = gates.size(0), B = gates.size(1), H = gates.size(2) / 4;
  check(d_out, "d_out", gates, {T, B, H});
  check(out, "out", gates, {T, B, H});
  check(dh_final, "dh_final", gates, {B, H});
  check(h0, "h0", gates, {B, H});
  check(norm_h, "norm_h", gates, {T, B, 3 * H});
  check(rstd, "rstd", gates, {T, B});
  check(d_gates, "d_gates", gates, {T, B, 3 * H});
  check(d_hh, "d_hh", gates, {T, B, 3 * H});
  check(d_extra, "d_extra", gates, {2, 3 * H});
  if (dh_seen.has_value()) check(*dh_seen, "dh_seen", gates, {T, B, H});
  check_options(gates, T, B, H, drop, cand, zone, ln_hh, std::nullopt);
  if (!packed) check(weight, "weight (W_hh)", gates, {3 * H, H});
  at::NoGradGuard no_grad;
  at::Tensor dh = dh_final.clone();
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lngru_backward_loop", [&] {
    using S = scalar_t;
    const GruVariant<S> v = make_variant<S>(B, H, drop, cand, zone, ln_hh, std::nullopt);
    at::Tensor buffer = gates.new_empty({B, H});
    const S *g = gates.const_data_ptr<S>(), *o = out.const_data_ptr<S>();
    const S *nh = norm_h.const_data_ptr<S>(), *rs = rstd.const_data_ptr<S>();
    const S* d_o = d_out.const_data_ptr<S>();
    S *da = d_gates.data_ptr<S>(), *dg = d_hh.data_ptr<S>();
    S* seen = dh_seen.has_value() ? dh_seen->data_ptr<S>() : nullptr;
    S* dhp = dh.data_ptr<S>();
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? k : T - 1 - k;
      const bool first_in_time = reverse ? t == T - 1 : t == 0;
      const S* h_prev = first_in_time ? h0.const_data_ptr<S>() : o + (reverse ? t + 1 : t - 1) * B * H;
      backward_step<S>(v, t, g + t * B * 4 * H, h_prev, d_o + t * B * H,
                       seen ? seen + t * B * H : nullptr, dhp, da + t * B * 3 * H,
                       dg + t * B * 3 * H, nh + t * B * 3 * H, rs + t * B,
                       d_extra.data_ptr<S>(), B, H);
      const at::Tensor p = product_into<S>(buffer, d_hh.select(0, t), weight, packed);
      add_product<S>(dhp, p.const_data_ptr<S>(), v.drop, B * H);
    }
  });
  return dh;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("lngru_forward_loop(Tensor proj, Tensor weight, bool packed, Tensor h0, bool reverse, "
        "Tensor? drop, Tensor? cand, Tensor? zone, Tensor ln_hh, Tensor? b_hh, Tensor(a!) out, "
        "Tensor(b!) gates, Tensor(c!) norm_h, Tensor(d!) rstd) -> ()",
        &lngru_forward_loop);
  m.def("lngru_backward_loop(Tensor d_out, Tensor dh_final, Tensor out, Tensor h0, "
        "Tensor gates, Tensor norm_h, Tensor rstd, Tensor weight, bool packed, bool reverse, "
        "Tensor? drop, Tensor? cand, Tensor? zone, Tensor ln_hh, Tensor(a!) d_gates, "
        "Tensor(b!) d_hh, Tensor(c!) d_extra, Tensor(d!)? dh_seen) -> Tensor",
        &lngru_backward_loop);
}
