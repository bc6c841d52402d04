// rnnkit's compiled time loop for the LSTM variants: the LSTM of lstm_kernel.cpp with, each
// optional, peepholes (peephole_lstm.py), layer norms on the recurrent pre-activations and on
// the cell (ln_lstm.py), variational recurrent dropout on h entering the product, Semeniuta's
// dropout on the candidate, and zoneout on h and c (regularise.py). Those files and bptt.py's
// general loop are the specification it is tested equal to (tests/functional/
// test_lstm_variant_loop.py); lstm_variant_seq.py drives it.
//
// Per step t, with the optional parts in brackets (absent: peepholes 0, masks 1, zoneout 0):
//   forward:  P = (h_{t-1} [* drop]) W_hh^T                      one product
//             [LN: nh = LN(P) over 4H; P = nh * ln_hh]
//             i = sigmoid(A_i + P_i [+ w_ci c_{t-1}]);  f = sigmoid(A_f + P_f [+ w_cf c_{t-1}])
//             g = tanh(A_g + P_g);  cn = f c_{t-1} + i (g [* cand])
//             o = sigmoid(A_o + P_o [+ w_co cn])
//             th = tanh(cn)  [LN: nc = LN(cn) over H; th = tanh(nc * ln_c_gain + ln_c_bias)]
//             hn = o th;  h_t = hn [+ zh_t (h_{t-1} - hn)];  c_t = cn [+ zc_t (c_{t-1} - cn)]
//   where A[t] is the input part (x_t W_ih^T + biases, or LN(x_t W_ih^T) * ln_ih + biases:
//   whole-sequence work done before the loop), and c_t, h_t are the state the next step sees.
//   backward: dh = dh_state + d_out[t];  dhn = dh (1 - zh_t);  dcn = dc_state (1 - zc_t)
//             da_o = dhn th o (1 - o);  dth = dhn o (1 - th^2)
//             dc = dcn + dth [LN: LN'(dth * ln_c_gain)] [+ da_o w_co]
//             da_i = dc g cand i (1 - i);  da_f = dc c_{t-1} f (1 - f);  da_g = dc i cand (1 - g^2)
//             dc_state <- dc f [+ da_i w_ci + da_f w_cf] + dc_state zc_t
//             dgh = da [LN: LN'(da * ln_hh)]
//             dh_state <- (dgh W_hh) [* drop] + dh zh_t                 one product
// with LN'(d) = rstd (d - mean(d) - n mean(d n)) the layer norm's backward. The peephole and
// norms' parameter gradients are summed here (d_extra), and the input norm's backward
// (dgx = LN'(dA * ln_ih) of the whole-sequence norm before the loop) runs here, row by row;
// dx and the weight gradients are whole-sequence products made afterwards.

#include "kernel_common.h"

#include <tuple>
#include <vector>

namespace {

constexpr double kEps = 1e-5;  // as torch.nn.LayerNorm and ln_lstm.py

// mean and 1 / sqrt(var + eps) of v (n), the biased variance, two passes.
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

// out = rstd (d - mean(d) - n mean(d n)) over n elements: the layer norm's backward (out may
// be d itself).
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

// The optional inputs as raw pointers, with neutral stand-ins where absent (peepholes and
// zoneout 0, masks 1), so the element loops have no branches; `ln` says whether the norms run.
template <typename T>
struct Variant {
  const T* drop = nullptr;  // (B, H) or nullptr: the product then takes h itself
  const T* cand;            // (B, H), or ones with row stride 0
  int64_t cand_stride;
  const T* zone_h;          // (T, B, H), or zeros with step and row stride 0
  const T* zone_c;
  int64_t zone_h_step, zone_h_row, zone_c_step, zone_c_row;
  const T *w_ci, *w_cf, *w_co;  // (H) each, or zeros
  bool peep;
  const T* ln_hh = nullptr;  // (4H) or nullptr: no norms
  const T *ln_c_gain = nullptr, *ln_c_bias = nullptr;  // (H)
  // the backward with the norms: the input norm's gain (4H), its input x W_ih^T (T, B, 4H) and
  // its mean and rstd (T, B), and dgx (T, B, 4H) out
  const T *ln_ih = nullptr, *x_in = nullptr, *x_mean = nullptr, *x_rstd = nullptr;
  T* d_x = nullptr;
  std::vector<T> zeros, ones;
};

template <typename T>
Variant<T> make_variant(int64_t H, const std::optional<at::Tensor>& drop,
                        const std::optional<at::Tensor>& cand,
                        const std::optional<at::Tensor>& zone_h,
                        const std::optional<at::Tensor>& zone_c,
                        const std::optional<at::Tensor>& peep,
                        const std::optional<at::Tensor>& ln_hh,
                        const std::optional<at::Tensor>& ln_c, int64_t B) {
  Variant<T> v;
  v.zeros.assign(H, T(0));
  v.ones.assign(H, T(1));
  v.drop = drop.has_value() ? drop->const_data_ptr<T>() : nullptr;
  v.cand = cand.has_value() ? cand->const_data_ptr<T>() : v.ones.data();
  v.cand_stride = cand.has_value() ? H : 0;
  v.zone_h = zone_h.has_value() ? zone_h->const_data_ptr<T>() : v.zeros.data();
  v.zone_h_step = zone_h.has_value() ? B * H : 0;
  v.zone_h_row = zone_h.has_value() ? H : 0;
  v.zone_c = zone_c.has_value() ? zone_c->const_data_ptr<T>() : v.zeros.data();
  v.zone_c_step = zone_c.has_value() ? B * H : 0;
  v.zone_c_row = zone_c.has_value() ? H : 0;
  v.peep = peep.has_value();
  const T* p = peep.has_value() ? peep->const_data_ptr<T>() : nullptr;
  v.w_ci = p ? p : v.zeros.data();
  v.w_cf = p ? p + H : v.zeros.data();
  v.w_co = p ? p + 2 * H : v.zeros.data();
  if (ln_hh.has_value()) {
    v.ln_hh = ln_hh->const_data_ptr<T>();
    v.ln_c_gain = ln_c->const_data_ptr<T>();
    v.ln_c_bias = v.ln_c_gain + H;
  }
  return v;
}

void check_optional(const std::optional<at::Tensor>& t, const char* name, const at::Tensor& like,
                    at::IntArrayRef shape) {
  if (t.has_value()) check(*t, name, like, shape);
}

// The forward of one step over (B, H). a (B, 4H): the input part in, the activated gates
// i, f, g, o out; p (B, 4H) the product (overwritten by nh * ln_hh with the norms);
// nh (B, 4H), nc (B, H), rstd (B, 2) the norms' caches (nullptr without them).
template <typename T>
void forward_step(const Variant<T>& v, int64_t t, T* a, T* p, const T* h_prev, const T* c_prev,
                  T* cn_out, T* th_out, T* h, T* c_state, T* nh, T* nc, T* rstd, int64_t B,
                  int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    T* __restrict__ pb = p + b * 4 * H;
    if (v.ln_hh != nullptr) {  // p <- LN(p) * ln_hh over the 4H units
      const auto [mean, rs] = row_stats(pb, 4 * H);
      T* __restrict__ nhb = nh + b * 4 * H;
#pragma omp simd
      for (int64_t j = 0; j < 4 * H; ++j) {
        nhb[j] = (pb[j] - mean) * rs;
        pb[j] = nhb[j] * v.ln_hh[j];
      }
      rstd[b * 2] = rs;
    }
    T* __restrict__ ai = a + b * 4 * H;
    const T* __restrict__ cp = c_prev + b * H;
    const T* __restrict__ m = v.cand + b * v.cand_stride;
    const T *__restrict__ wci = v.w_ci, *__restrict__ wcf = v.w_cf, *__restrict__ wco = v.w_co;
    T* __restrict__ cnb = cn_out + b * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid(ai[j] + pb[j] + wci[j] * cp[j]);
      const T f = sigmoid(ai[H + j] + pb[H + j] + wcf[j] * cp[j]);
      const T g = tanh_(ai[2 * H + j] + pb[2 * H + j]);
      const T cn = f * cp[j] + i * (g * m[j]);
      const T o = sigmoid(ai[3 * H + j] + pb[3 * H + j] + wco[j] * cn);
      ai[j] = i;
      ai[H + j] = f;
      ai[2 * H + j] = g;
      ai[3 * H + j] = o;
      cnb[j] = cn;
    }
    T* __restrict__ thb = th_out + b * H;
    if (v.ln_hh != nullptr) {  // th = tanh(LN(cn) * gain + bias)
      const auto [mean, rs] = row_stats(cnb, H);
      T* __restrict__ ncb = nc + b * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        ncb[j] = (cnb[j] - mean) * rs;
        thb[j] = tanh_(ncb[j] * v.ln_c_gain[j] + v.ln_c_bias[j]);
      }
      rstd[b * 2 + 1] = rs;
    } else {
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) thb[j] = tanh_(cnb[j]);
    }
    const T* __restrict__ hp = h_prev + b * H;
    const T* __restrict__ zh = v.zone_h + t * v.zone_h_step + b * v.zone_h_row;
    const T* __restrict__ zc = v.zone_c + t * v.zone_c_step + b * v.zone_c_row;
    T* __restrict__ hb = h + b * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T hn = ai[3 * H + j] * thb[j];
      hb[j] = hn + zh[j] * (hp[j] - hn);  // zoneout: d s_prev + (1 - d) s_new
    }
    if (c_state != cn_out) {  // zoneout on c; without it the state is cn itself
      T* __restrict__ csb = c_state + b * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) csb[j] = cnb[j] + zc[j] * (cp[j] - cnb[j]);
    }
  }
}

// The input norm's backward for row r = t B + b of A = LN(x W_ih^T) * ln_ih + b: dgx (4H) into
// v.d_x, and d ln_ih, d b summed into d_extra's rows 2-5 and 10-13 (tmp: 4H of scratch). v.d_x
// may be d_gates itself (dab): each element is read before it is overwritten.
template <typename T>
void input_norm_backward(const Variant<T>& v, int64_t r, const T* dab, T* __restrict__ tmp,
                         T* d_extra, int64_t H) {
  const T* __restrict__ gx = v.x_in + r * 4 * H;
  const T mean = v.x_mean[r], rs = v.x_rstd[r];
  T* dx = v.d_x + r * 4 * H;
  T* __restrict__ d_gih = d_extra + 2 * H;
  T* __restrict__ d_b = d_extra + 10 * H;
#pragma omp simd
  for (int64_t j = 0; j < 4 * H; ++j) {
    const T n = (gx[j] - mean) * rs;
    tmp[j] = n;
    d_gih[j] += dab[j] * n;
    d_b[j] += dab[j];
    dx[j] = dab[j] * v.ln_ih[j];
  }
  norm_backward_row(dx, tmp, rs, dx, 4 * H);
}

// One backward step over (B, H). dh_state, dc_state (B, H): the gradients of the state after
// step t in, of the state before it out (dh_state without the product, added by the caller);
// da (B, 4H), dgh (B, 4H, the norms only) out; tmp (4H) scratch; d_extra the summed parameter
// gradients (peepholes: 3 rows of H; norms: 14 rows of H, see lstmv_backward_loop).
template <typename T>
void backward_step(const Variant<T>& v, int64_t t, const T* a, const T* cn, const T* th,
                   const T* c_prev, const T* d_out, T* seen, T* dh_state, T* dc_state, T* da,
                   T* dgh, const T* nh, const T* nc, const T* rstd, T* tmp, T* d_extra, int64_t B,
                   int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const T* __restrict__ ab = a + b * 4 * H;
    const T* __restrict__ cnb = cn + b * H;
    const T* __restrict__ thb = th + b * H;
    const T* __restrict__ cp = c_prev + b * H;
    const T* __restrict__ dob = d_out + b * H;
    const T* __restrict__ zh = v.zone_h + t * v.zone_h_step + b * v.zone_h_row;
    const T* __restrict__ zc = v.zone_c + t * v.zone_c_step + b * v.zone_c_row;
    const T* __restrict__ m = v.cand + b * v.cand_stride;
    T* __restrict__ dhs = dh_state + b * H;
    T* __restrict__ dcs = dc_state + b * H;
    T* __restrict__ dab = da + b * 4 * H;
    T* __restrict__ tb = tmp;
    if (seen != nullptr) {
      T* __restrict__ sb = seen + b * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) sb[j] = dhs[j] + dob[j];
    }
    // tb <- dL/dth (1 - th^2): the gradient reaching tanh's argument
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T dhn = (dhs[j] + dob[j]) * (T(1) - zh[j]);
      tb[j] = dhn * ab[3 * H + j] * (T(1) - thb[j] * thb[j]);
    }
    if (v.ln_hh != nullptr) {  // through tanh(LN(cn) * gain + bias), to cn
      const T* __restrict__ ncb = nc + b * H;
      T* __restrict__ dgain = d_extra;
      T* __restrict__ dbias = d_extra + H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        dgain[j] += tb[j] * ncb[j];
        dbias[j] += tb[j];
        tb[j] *= v.ln_c_gain[j];
      }
      norm_backward_row(tb, ncb, rstd[b * 2 + 1], tb, H);
    }
    const T *__restrict__ wci = v.w_ci, *__restrict__ wcf = v.w_cf, *__restrict__ wco = v.w_co;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T i = ab[j], f = ab[H + j], g = ab[2 * H + j], o = ab[3 * H + j];
      const T dh = dhs[j] + dob[j];
      const T dhn = dh * (T(1) - zh[j]);
      const T da_o = dhn * thb[j] * o * (T(1) - o);  // through h = o th, sigmoid
      const T dc = dcs[j] * (T(1) - zc[j]) + tb[j] + da_o * wco[j];
      const T da_i = dc * (g * m[j]) * i * (T(1) - i);  // through c = f c_prev + i g m
      const T da_f = dc * cp[j] * f * (T(1) - f);
      dab[j] = da_i;
      dab[H + j] = da_f;
      dab[2 * H + j] = dc * i * m[j] * (T(1) - g * g);  // ... and tanh
      dab[3 * H + j] = da_o;
      dcs[j] = dc * f + da_i * wci[j] + da_f * wcf[j] + dcs[j] * zc[j];
      dhs[j] = dh * zh[j];  // the kept share; the caller adds the product's
    }
    if (v.peep) {
      T* __restrict__ d_ci = d_extra;
      T* __restrict__ d_cf = d_extra + H;
      T* __restrict__ d_co = d_extra + 2 * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        d_ci[j] += dab[j] * cp[j];
        d_cf[j] += dab[H + j] * cp[j];
        d_co[j] += dab[3 * H + j] * cnb[j];
      }
    }
    if (v.ln_hh != nullptr) {  // dgh = LN'(da * ln_hh) through the recurrent norm
      T* __restrict__ dghb = dgh + b * 4 * H;
      const T* __restrict__ nhb = nh + b * 4 * H;
      T* __restrict__ d_ghh = d_extra + 6 * H;
#pragma omp simd
      for (int64_t j = 0; j < 4 * H; ++j) {
        d_ghh[j] += dab[j] * nhb[j];
        dghb[j] = dab[j] * v.ln_hh[j];
      }
      norm_backward_row(dghb, nhb, rstd[b * 2], dghb, 4 * H);
      input_norm_backward(v, t * B + b, dab, tmp, d_extra, H);
    }
  }
}

void check_variant(const at::Tensor& gates, int64_t T, int64_t B, int64_t H,
                   const std::optional<at::Tensor>& drop, const std::optional<at::Tensor>& cand,
                   const std::optional<at::Tensor>& zone_h,
                   const std::optional<at::Tensor>& zone_c,
                   const std::optional<at::Tensor>& peep, const std::optional<at::Tensor>& ln_hh,
                   const std::optional<at::Tensor>& ln_c,
                   const std::optional<at::Tensor>& norm_h,
                   const std::optional<at::Tensor>& norm_c,
                   const std::optional<at::Tensor>& rstd) {
  check_optional(drop, "drop", gates, {B, H});
  check_optional(cand, "cand", gates, {B, H});
  check_optional(zone_h, "zone_h", gates, {T, B, H});
  check_optional(zone_c, "zone_c", gates, {T, B, H});
  check_optional(peep, "peep", gates, {3, H});
  const bool ln = ln_hh.has_value();
  TORCH_CHECK(ln == ln_c.has_value() && ln == norm_h.has_value() && ln == norm_c.has_value() &&
                  ln == rstd.has_value(),
              "rnnkit lstm variant kernel: the norms take ln_hh, ln_c, norm_h, norm_c and rstd");
  check_optional(ln_hh, "ln_hh", gates, {4 * H});
  check_optional(ln_c, "ln_c", gates, {2, H});
  check_optional(norm_h, "norm_h", gates, {T, B, 4 * H});
  check_optional(norm_c, "norm_c", gates, {T, B, H});
  check_optional(rstd, "rstd", gates, {T, B, 2});
}

// out = a * m over n elements (no pragmas inside AT_DISPATCH's lambda, a macro argument).
template <typename T>
void mul_into(T* __restrict__ out, const T* __restrict__ a, const T* __restrict__ m, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = a[j] * m[j];
}

// acc += p [* m] over n elements.
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

template <typename T>
T* ptr_or_null(const std::optional<at::Tensor>& t) {
  return t.has_value() ? t->data_ptr<T>() : nullptr;
}

// The forward loop of one direction over T steps.
//
// Args (all contiguous, one dtype, on the CPU; T steps, B batch, H hidden units):
//   gates:     [T,B,4H] in: the input part A of every step (see the top); out: i, f, g, o.
//   weight, packed: W_hh as matmul.loop_weight gives it (lstm_kernel.cpp's forward loop).
//   h0, c0:    [B,H] the state before the first step in time (the last index when reverse).
//   reverse:   run t = T-1 .. 0.
//   drop:      [B,H] optional: the variational dropout mask on h entering the product.
//   cand:      [B,H] optional: Semeniuta's dropout mask on g.
//   zone_h, zone_c: [T,B,H] optional: zoneout's keep masks of step t (in eval, p everywhere).
//   peep:      [3,H] optional: the peephole weights w_ci, w_cf, w_co.
//   ln_hh:     [4H] optional: the recurrent norm's gain; given, the norms run, with
//   ln_c:      [2,H] the cell norm's gain and bias.
//   cell:      [T,B,H] out: cn of every step (before zoneout).
//   tanh_cell: [T,B,H] out: th of every step.
//   out:       [T,B,H] out: h_t of every step (after zoneout).
//   state_c:   [T,B,H] out: c_t of every step after zoneout; `cell` itself without zone_c.
//   norm_h, norm_c, rstd: [T,B,4H], [T,B,H], [T,B,2] out with the norms: the normalised
//              product, the normalised cell, and the two norms' 1 / sqrt(var + eps).
void lstmv_forward_loop(const at::Tensor& gates, const at::Tensor& weight, bool packed,
                        const at::Tensor& h0, const at::Tensor& c0, bool reverse,
                        const std::optional<at::Tensor>& drop,
                        const std::optional<at::Tensor>& cand,
                        const std::optional<at::Tensor>& zone_h,
                        const std::optional<at::Tensor>& zone_c,
                        const std::optional<at::Tensor>& peep,
                        const std::optional<at::Tensor>& ln_hh,
                        const std::optional<at::Tensor>& ln_c, const at::Tensor& cell,
                        const at::Tensor& tanh_cell, const at::Tensor& out,
                        const at::Tensor& state_c, const std::optional<at::Tensor>& norm_h,
                        const std::optional<at::Tensor>& norm_c,
                        const std::optional<at::Tensor>& rstd) {
  TORCH_CHECK(gates.dim() == 3 && gates.size(2) % 4 == 0,
              "rnnkit lstm variant kernel: gates must be (T, B, 4H)");
  const int64_t T = gates.size(0), B = gates.size(1), H = gates.size(2) / 4;
  check(gates, "gates", gates, {T, B, 4 * H});
  check(h0, "h0", gates, {B, H});
  check(c0, "c0", gates, {B, H});
  for (const auto& [t, name] : {std::pair{&cell, "cell"}, {&tanh_cell, "tanh_cell"},
                                {&out, "out"}, {&state_c, "state_c"}}) {
    check(*t, name, gates, {T, B, H});
  }
  check_variant(gates, T, B, H, drop, cand, zone_h, zone_c, peep, ln_hh, ln_c, norm_h, norm_c,
                rstd);
  TORCH_CHECK(zone_c.has_value() != state_c.is_same(cell),
              "rnnkit lstm variant kernel: state_c is its own tensor with zone_c, else cell");
  if (!packed) check(weight, "weight (W_hh^T)", gates, {H, 4 * H});
  at::NoGradGuard no_grad;
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstmv_forward_loop", [&] {
    using S = scalar_t;
    const Variant<S> v = make_variant<S>(H, drop, cand, zone_h, zone_c, peep, ln_hh, ln_c, B);
    at::Tensor buffer = gates.new_empty({B, 4 * H});  // P of one step
    at::Tensor hin = gates.new_empty({B, H});         // h_{t-1} * drop
    at::Tensor h = h0;
    const S* c_prev = c0.const_data_ptr<S>();
    S* a = gates.data_ptr<S>();
    S *cn = cell.data_ptr<S>(), *th = tanh_cell.data_ptr<S>(), *cs = state_c.data_ptr<S>();
    S *nh = ptr_or_null<S>(norm_h), *nc = ptr_or_null<S>(norm_c), *rs = ptr_or_null<S>(rstd);
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const S* hp = h.const_data_ptr<S>();
      if (v.drop != nullptr) mul_into<S>(hin.data_ptr<S>(), hp, v.drop, B * H);
      at::Tensor p = product_into<S>(buffer, v.drop != nullptr ? hin : h, weight, packed);
      at::Tensor ht = out.select(0, t);
      forward_step<S>(v, t, a + t * B * 4 * H, p.data_ptr<S>(), hp, c_prev, cn + t * B * H,
                      th + t * B * H, ht.data_ptr<S>(), cs + t * B * H,
                      nh ? nh + t * B * 4 * H : nullptr, nc ? nc + t * B * H : nullptr,
                      rs ? rs + t * B * 2 : nullptr, B, H);
      h = ht;
      c_prev = cs + t * B * H;
    }
  });
}

// The backward loop of one direction over T steps, the mirror of the forward.
//
// Args (all contiguous, one dtype, on the CPU), beyond the forward's inputs and caches:
//   d_out:     [T,B,H] dL/dh_t from the layer's output, every step.
//   dh_final, dc_final: [B,H] dL/dh and dL/dc of the state after the last step in time.
//   c0:        [B,H] c before the first step in time.
//   weight, packed: W_hh for dgh W_hh (lstm_kernel.cpp's backward loop).
//   d_gates:   [T,B,4H] out: dL/d(gate pre-activation) i, f, g, o of every step.
//   d_hh:      [T,B,4H] out, with the norms: dL/d(h_{t-1} W_hh^T) of every step.
//   d_extra:   [K,H] in/out, summed into: the peepholes' gradients (K = 3, w_ci, w_cf, w_co)
//              or the norms' (K = 14: ln_c gain and bias, then ln_ih (4 rows), ln_hh (4 rows)
//              and the bias b_ih = b_hh (4 rows)); [0,H] with neither.
//   ln_ih, x_in, x_mean, x_rstd, d_x: with the norms: the input norm's gain [4H], its input
//              x W_ih^T [T,B,4H], mean and rstd [T,B], and out dL/d(x W_ih^T) [T,B,4H]
//              (may be d_gates itself, which then holds dL/d(x W_ih^T) at the end).
//   dh_seen:   [T,B,H] out, optional: dL/dh_t of every step (diagnostics).
// Returns (dh_0, dc_0) [B,H]: the gradients of the state before the first step in time.
std::tuple<at::Tensor, at::Tensor> lstmv_backward_loop(
    const at::Tensor& d_out, const at::Tensor& dh_final, const at::Tensor& dc_final,
    const at::Tensor& gates, const at::Tensor& cell, const at::Tensor& tanh_cell,
    const at::Tensor& state_c, const at::Tensor& c0, const at::Tensor& weight, bool packed,
    bool reverse, const std::optional<at::Tensor>& drop, const std::optional<at::Tensor>& cand,
    const std::optional<at::Tensor>& zone_h, const std::optional<at::Tensor>& zone_c,
    const std::optional<at::Tensor>& peep, const std::optional<at::Tensor>& ln_hh,
    const std::optional<at::Tensor>& ln_c, const std::optional<at::Tensor>& norm_h,
    const std::optional<at::Tensor>& norm_c, const std::optional<at::Tensor>& rstd,
    const at::Tensor& d_gates, const std::optional<at::Tensor>& d_hh, const at::Tensor& d_extra,
    const std::optional<at::Tensor>& ln_ih, const std::optional<at::Tensor>& x_in,
    const std::optional<at::Tensor>& x_mean, const std::optional<at::Tensor>& x_rstd,
    const std::optional<at::Tensor>& d_x, const std::optional<at::Tensor>& dh_seen) {
  TORCH_CHECK(gates.dim() == 3 && gates.size(2) % 4 == 0,
              "rnnkit lstm variant kernel: gates must be (T, B, 4H)");
  const int64_t T = gates.size(0), B = gates.size(1), H = gates.size(2) / 4;
  check(gates, "gates", gates, {T, B, 4 * H});
  check(d_gates, "d_gates", gates, {T, B, 4 * H});
  for (const auto& [t, name] : {std::pair{&d_out, "d_out"}, {&cell, "cell"},
                                {&tanh_cell, "tanh_cell"}, {&state_c, "state_c"}}) {
    check(*t, name, gates, {T, B, H});
  }
  for (const auto& [t, name] : {std::pair{&dh_final, "dh_final"}, {&dc_final, "dc_final"},
                                {&c0, "c0"}}) {
    check(*t, name, gates, {B, H});
  }
  check_variant(gates, T, B, H, drop, cand, zone_h, zone_c, peep, ln_hh, ln_c, norm_h, norm_c,
                rstd);
  TORCH_CHECK(d_hh.has_value() == ln_hh.has_value(),
              "rnnkit lstm variant kernel: d_hh is given exactly with the norms");
  check_optional(d_hh, "d_hh", gates, {T, B, 4 * H});
  const int64_t K = peep.has_value() ? 3 : (ln_hh.has_value() ? 14 : 0);
  for (const auto* t : {&ln_ih, &x_in, &x_mean, &x_rstd, &d_x}) {
    TORCH_CHECK(t->has_value() == ln_hh.has_value(),
                "rnnkit lstm variant kernel: the norms' backward takes ln_ih, x_in, x_mean, "
                "x_rstd and d_x");
  }
  check_optional(ln_ih, "ln_ih", gates, {4 * H});
  check_optional(x_in, "x_in", gates, {T, B, 4 * H});
  check_optional(x_mean, "x_mean", gates, {T, B});
  check_optional(x_rstd, "x_rstd", gates, {T, B});
  check_optional(d_x, "d_x", gates, {T, B, 4 * H});
  TORCH_CHECK(!(peep.has_value() && ln_hh.has_value()),
              "rnnkit lstm variant kernel: peepholes and norms together are not a cell");
  check(d_extra, "d_extra", gates, {K, H});
  check_optional(dh_seen, "dh_seen", gates, {T, B, H});
  if (!packed) check(weight, "weight (W_hh)", gates, {4 * H, H});
  at::NoGradGuard no_grad;
  at::Tensor dh = dh_final.clone(), dc = dc_final.clone();
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstmv_backward_loop", [&] {
    using S = scalar_t;
    Variant<S> v = make_variant<S>(H, drop, cand, zone_h, zone_c, peep, ln_hh, ln_c, B);
    if (ln_hh.has_value()) {
      v.ln_ih = ln_ih->const_data_ptr<S>();
      v.x_in = x_in->const_data_ptr<S>();
      v.x_mean = x_mean->const_data_ptr<S>();
      v.x_rstd = x_rstd->const_data_ptr<S>();
      v.d_x = d_x->data_ptr<S>();
    }
    at::Tensor buffer = gates.new_empty({B, H});
    std::vector<S> tmp(4 * H);
    const S *a = gates.const_data_ptr<S>(), *cn = cell.const_data_ptr<S>();
    const S *th = tanh_cell.const_data_ptr<S>(), *cs = state_c.const_data_ptr<S>();
    const S* d_o = d_out.const_data_ptr<S>();
    const S *nh = ptr_or_null<S>(norm_h), *nc = ptr_or_null<S>(norm_c);
    const S* rs = ptr_or_null<S>(rstd);
    S *da = d_gates.data_ptr<S>(), *dg = ptr_or_null<S>(d_hh);
    S* seen = ptr_or_null<S>(dh_seen);
    S *dhp = dh.data_ptr<S>(), *dcp = dc.data_ptr<S>();
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? k : T - 1 - k;
      const bool first_in_time = reverse ? t == T - 1 : t == 0;
      const S* c_prev = first_in_time ? c0.const_data_ptr<S>()
                                      : cs + (reverse ? t + 1 : t - 1) * B * H;
      backward_step<S>(v, t, a + t * B * 4 * H, cn + t * B * H, th + t * B * H, c_prev,
                       d_o + t * B * H, seen ? seen + t * B * H : nullptr, dhp, dcp,
                       da + t * B * 4 * H, dg ? dg + t * B * 4 * H : nullptr,
                       nh ? nh + t * B * 4 * H : nullptr, nc ? nc + t * B * H : nullptr,
                       rs ? rs + t * B * 2 : nullptr, tmp.data(), d_extra.data_ptr<S>(), B, H);
      const at::Tensor dgh_t = (dg ? *d_hh : d_gates).select(0, t);
      const at::Tensor p = product_into<S>(buffer, dgh_t, weight, packed);  // through W_hh
      add_product<S>(dhp, p.const_data_ptr<S>(), v.drop, B * H);
    }
  });
  return {dh, dc};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("lstmv_forward_loop(Tensor(a!) gates, Tensor weight, bool packed, Tensor h0, Tensor c0, "
        "bool reverse, Tensor? drop, Tensor? cand, Tensor? zone_h, Tensor? zone_c, "
        "Tensor? peep, Tensor? ln_hh, Tensor? ln_c, Tensor(b!) cell, Tensor(c!) tanh_cell, "
        "Tensor(d!) out, Tensor(e!) state_c, Tensor(f!)? norm_h, Tensor(g!)? norm_c, "
        "Tensor(h!)? rstd) -> ()",
        &lstmv_forward_loop);
  m.def("lstmv_backward_loop(Tensor d_out, Tensor dh_final, Tensor dc_final, Tensor gates, "
        "Tensor cell, Tensor tanh_cell, Tensor state_c, Tensor c0, Tensor weight, bool packed, "
        "bool reverse, Tensor? drop, Tensor? cand, Tensor? zone_h, Tensor? zone_c, "
        "Tensor? peep, Tensor? ln_hh, Tensor? ln_c, Tensor? norm_h, Tensor? norm_c, "
        "Tensor? rstd, Tensor(a!) d_gates, Tensor(b!)? d_hh, Tensor(c!) d_extra, "
        "Tensor? ln_ih, Tensor? x_in, Tensor? x_mean, Tensor? x_rstd, Tensor(d!)? d_x, "
        "Tensor(e!)? dh_seen) -> (Tensor, Tensor)",
        &lstmv_backward_loop);
}
