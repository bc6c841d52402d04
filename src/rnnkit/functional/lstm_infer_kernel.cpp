// rnnkit's compiled LSTM forward without grad (float32): the input projection, the recurrent
// product and the gate arithmetic of a step in one pass, with the state kept transposed.
//
// Per step t, for every unit j and batch element b (gate order i, f, g, o):
//   a_q = bias_q + sum_k W_ih[q, k] x_t[b, k] + sum_k W_hh[q, k] h_{t-1}[b, k],  q = gH + j
//   c_t = sigmoid(a_f) c_{t-1} + sigmoid(a_i) tanh(a_g);   h_t = sigmoid(a_o) tanh(c_t)
// which is lstm_seq.py's forward (tested equal to it, tests/functional/test_lstm_one_pass.py).
//
// Why a kernel of its own. The general loop (lstm_kernel.cpp) calls BLAS for h W_hh^T and then
// makes one pass over the (B, 4H) product; at B = 16-64, H = 256-512 that product alone takes
// as long as torch's whole oneDNN LSTM step, and the pass and the separate input projection
// come on top (BENCHMARKS.md, "Layers"). Here the state is kept as h^T (H, Bp), Bp = B rounded
// up to a vector: a vector holds one unit's value for VL batch elements, so a register tile of
// 4 gates x U units x NV vectors accumulates rank-1 updates (one weight broadcast times one
// state vector, FMA) over k = the inputs and then the previous state, and the gates of those U
// units are computed while the tile is still in registers: the pre-activations never go to
// memory, and x W_ih^T is not a separate GEMM. The weights are packed once per call so that a
// tile reads its 4U weights of one k as one contiguous run (one pointer, fixed offsets).

#include <ATen/Parallel.h>

#include <algorithm>

#include "kernel_common.h"

namespace {

#if defined(__AVX512F__)
constexpr int VL = 16;  // floats per vector
#else
constexpr int VL = 8;
#endif
typedef float vf __attribute__((vector_size(VL * sizeof(float))));

inline vf vload(const float* p) {
  vf v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

inline void vstore(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }

// P: for each tile of u units starting at unit j0, at offset j0 * 4 * K, K = I + H rows of 4u
// floats: row k holds W[gH + j0 + uu, k] at g * u + uu, the inputs' columns first (W_ih), then
// the state's (W_hh). The last tile may have u < U.
void pack(const float* W_ih, const float* W_hh, int64_t I, int64_t H, int U, float* P) {
  const int64_t K = I + H;
  for (int64_t j0 = 0; j0 < H; j0 += U) {
    const int64_t u = std::min<int64_t>(U, H - j0);
    float* p = P + j0 * 4 * K;
    for (int64_t g = 0; g < 4; ++g) {
      for (int64_t uu = 0; uu < u; ++uu) {
        const int64_t row = g * H + j0 + uu, q = g * u + uu;
        const float* wi = W_ih + row * I;
        const float* wh = W_hh + row * H;
        for (int64_t k = 0; k < I; ++k) p[k * 4 * u + q] = wi[k];
        for (int64_t k = 0; k < H; ++k) p[(I + k) * 4 * u + q] = wh[k];
      }
    }
  }
}

struct Step {
  const float* P;     // packed weights
  const float* bias;  // (4H) b_ih + b_hh, or nullptr
  const float* xT;    // (nvec, I, VL) this step's input, transposed
  const float* hT;    // (nvec, H, VL) h_{t-1}, transposed
  float* cT;          // (nvec, H, VL) c_{t-1} in, c_t out
  float* hT_next;     // (nvec, H, VL) h_t
  int64_t I, H;
};

// acc += sum over k < n of the packed weights' row k (4U floats) times the rows k of NV
// (n, VL) slabs of src; returns p past those n rows.
template <int U, int NV>
inline __attribute__((always_inline)) const float* rank1(vf (&acc)[4][U][NV],
                                                         const float* __restrict__ p,
                                                         const float* __restrict__ src,
                                                         int64_t n) {
  for (int64_t k = 0; k < n; ++k, p += 4 * U) {
    vf z[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) z[v] = vload(src + (v * n + k) * VL);
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
#pragma GCC unroll 6
      for (int uu = 0; uu < U; ++uu) {
        const float w = p[g * U + uu];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[g][uu][v] += w * z[v];
      }
    }
  }
  return p;
}

// One tile: units j0 .. j0 + U - 1, batch vectors v0 .. v0 + NV - 1.
template <int U, int NV>
void tile(const Step& s, int64_t j0, int64_t v0) {
  const int64_t K = s.I + s.H;
  const float* p = s.P + j0 * 4 * K;
  vf acc[4][U][NV];
  for (int g = 0; g < 4; ++g) {
    for (int uu = 0; uu < U; ++uu) {
      const float b = s.bias == nullptr ? 0.0f : s.bias[g * s.H + j0 + uu];
      for (int v = 0; v < NV; ++v) acc[g][uu][v] = vf{} + b;
    }
  }
  // rank-1 updates: k over the inputs (rows of xT), then over the previous state (rows of hT)
  p = rank1<U, NV>(acc, p, s.xT + v0 * s.I * VL, s.I);
  rank1<U, NV>(acc, p, s.hT + v0 * s.H * VL, s.H);
  // the gates of these U units, from the tile just computed (in L1)
  alignas(64) float a[4][U][NV * VL];
  for (int g = 0; g < 4; ++g) {
    for (int uu = 0; uu < U; ++uu) {
      for (int v = 0; v < NV; ++v) vstore(&a[g][uu][v * VL], acc[g][uu][v]);
    }
  }
  for (int uu = 0; uu < U; ++uu) {
    for (int v = 0; v < NV; ++v) {
      float* __restrict__ c = s.cT + ((v0 + v) * s.H + j0 + uu) * VL;
      float* __restrict__ h = s.hT_next + ((v0 + v) * s.H + j0 + uu) * VL;
#pragma omp simd
      for (int l = 0; l < VL; ++l) {
        const float i = sigmoid(a[0][uu][v * VL + l]), f = sigmoid(a[1][uu][v * VL + l]);
        const float g = tanh_(a[2][uu][v * VL + l]), o = sigmoid(a[3][uu][v * VL + l]);
        const float cn = f * c[l] + i * g;
        c[l] = cn;
        h[l] = o * tanh_(cn);
      }
    }
  }
}

using TileFn = void (*)(const Step&, int64_t, int64_t);

template <int U>
constexpr TileFn tile_for(int nv) {
  return nv == 1 ? &tile<U, 1> : &tile<U, 2>;
}

TileFn tile_fn(int u, int nv) {
  switch (u) {
    case 1: return tile_for<1>(nv);
    case 2: return tile_for<2>(nv);
    case 3: return tile_for<3>(nv);
    case 4: return tile_for<4>(nv);
    case 5: return tile_for<5>(nv);
    default: return tile_for<6>(nv);
  }
}

// The tile shape for a batch of nvec vectors: NV vectors x U units, with 4 U NV accumulators
// within the register file (32 vector registers with AVX-512, 16 otherwise) and room for the
// state vectors and a broadcast. NV = 2 ran fastest of NV = 1-4 at B = 64, H = 256 and 512
// (BENCHMARKS.md, "Kernel design measurements").
struct Shape {
  int NV, U;
};
Shape shape_for(int64_t nvec) {
#if defined(__AVX512F__)
  constexpr int accumulators = 24;
#else
  constexpr int accumulators = 12;
#endif
  const int NV = static_cast<int>(std::min<int64_t>(nvec, 2));
  return {NV, std::max(1, std::min(6, accumulators / (4 * NV)))};
}

// Floats of workspace lstm_infer_loop needs: the packed weights, x_t^T, h^T twice and c^T.
int64_t workspace_size(int64_t B, int64_t I, int64_t H) {
  const int64_t Bp = (B + VL - 1) / VL * VL;
  return 4 * H * (I + H) + Bp * (I + 3 * H);
}

// rows (B, n), row b at rows + b * stride -> slabs (nvec, n, VL), batch element b = v VL + lane;
// the padding lanes are left as they are
void to_vectors(const float* rows, int64_t B, int64_t n, int64_t stride, float* slabs) {
  for (int64_t b = 0; b < B; ++b) {
    float* dst = slabs + (b / VL) * n * VL + b % VL;
    const float* src = rows + b * stride;
    for (int64_t k = 0; k < n; ++k) dst[k * VL] = src[k];
  }
}

void from_vectors(const float* slabs, int64_t B, int64_t n, float* rows) {
  for (int64_t b = 0; b < B; ++b) {
    const float* src = slabs + (b / VL) * n * VL + b % VL;
    float* dst = rows + b * n;
    for (int64_t k = 0; k < n; ++k) dst[k] = src[k * VL];
  }
}

// The LSTM's forward without grad, one direction over T steps.
//
// Args (float32, on the CPU; all contiguous but x):
//   x:       [T,B,I] the inputs, with unit stride over I (a batch-first input's view is fine).
//   W_ih:    [4H,I] the input weight, gate order i, f, g, o.
//   W_hh:    [4H,H] the recurrent weight.
//   bias:    [4H] optional, b_ih + b_hh.
//   h0, c0:  [B,H] the state before the first step in time.
//   reverse: run t = T-1 .. 0.
//   work:    at least lstm_infer_workspace(B, I, H) floats of scratch (overwritten): the packed
//            weights P (see pack), then x, h (two copies: read and written) and c transposed
//            into vectors of VL batch elements.
//   out:     [T,B,H] out: h_t of every step (the final h is out at the last step taken).
//   c_n:     [B,H] out: the final c.
void lstm_infer_loop(const at::Tensor& x, const at::Tensor& W_ih, const at::Tensor& W_hh,
                     const std::optional<at::Tensor>& bias, const at::Tensor& h0,
                     const at::Tensor& c0, bool reverse, const at::Tensor& work,
                     const at::Tensor& out, const at::Tensor& c_n) {
  TORCH_CHECK(x.dim() == 3 && x.scalar_type() == at::kFloat && W_hh.dim() == 2,
              "rnnkit lstm_infer_loop: x must be (T, B, I) float32 and W_hh 2-d");
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = W_hh.size(1);
  TORCH_CHECK(x.stride(2) == 1 && x.device().is_cpu(),
              "rnnkit lstm_infer_loop: x must be on the CPU with unit stride over features");
  check(W_ih, "W_ih", x, {4 * H, I});
  check(W_hh, "W_hh", x, {4 * H, H});
  if (bias.has_value()) check(*bias, "bias", x, {4 * H});
  check(h0, "h0", x, {B, H});
  check(c0, "c0", x, {B, H});
  check(out, "out", x, {T, B, H});
  check(c_n, "c_n", x, {B, H});
  check(work, "work", x, {work.numel()});
  TORCH_CHECK(work.numel() >= workspace_size(B, I, H), "rnnkit lstm_infer_loop: work has ",
              work.numel(), " elements, needs ", workspace_size(B, I, H));
  if (T == 0 || B == 0) return;
  const int64_t nvec = (B + VL - 1) / VL, Bp = nvec * VL, K = I + H;
  const auto [NV, U] = shape_for(nvec);
  float* P = work.data_ptr<float>();
  float* xT = P + 4 * H * K;  // (nvec, I, VL)
  float* hT = xT + Bp * I;    // (2, nvec, H, VL)
  float* cT = hT + 2 * Bp * H;  // (nvec, H, VL)
  pack(W_ih.const_data_ptr<float>(), W_hh.const_data_ptr<float>(), I, H, U, P);
  std::fill(xT, cT + Bp * H, 0.0f);  // the padding lanes stay 0
  to_vectors(h0.const_data_ptr<float>(), B, H, H, hT);
  to_vectors(c0.const_data_ptr<float>(), B, H, H, cT);
  const int64_t unit_tiles = (H + U - 1) / U, batch_groups = (nvec + NV - 1) / NV;
  const int64_t tiles = unit_tiles * batch_groups;
  // threads only where a share is worth a fork/join per step (~2^18 multiply-adds)
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 18) / (4 * U * NV * VL * K));
  Step s{P, bias.has_value() ? bias->const_data_ptr<float>() : nullptr, xT, nullptr, cT,
         nullptr, I, H};
  const float* xs = x.const_data_ptr<float>();
  float* o = out.data_ptr<float>();
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = reverse ? T - 1 - step : step;
    to_vectors(xs + t * x.stride(0), B, I, x.stride(1), xT);
    s.hT = hT + (step % 2) * Bp * H;
    s.hT_next = hT + ((step + 1) % 2) * Bp * H;
    at::parallel_for(0, tiles, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t n = lo; n < hi; ++n) {  // batch group n / unit_tiles, unit tile n % unit_tiles
        const int64_t j0 = (n % unit_tiles) * U, v0 = (n / unit_tiles) * NV;
        const int u = static_cast<int>(std::min<int64_t>(U, H - j0));
        const int nv = static_cast<int>(std::min<int64_t>(NV, nvec - v0));
        tile_fn(u, nv)(s, j0, v0);
      }
    });
    from_vectors(s.hT_next, B, H, o + t * B * H);
  }
  from_vectors(cT, B, H, c_n.data_ptr<float>());
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("lstm_infer_loop(Tensor x, Tensor W_ih, Tensor W_hh, Tensor? bias, Tensor h0, "
        "Tensor c0, bool reverse, Tensor(a!) work, Tensor(b!) out, Tensor(c!) c_n) -> ()",
        &lstm_infer_loop);
  m.def("lstm_infer_workspace(int B, int I, int H) -> int", &workspace_size);
  m.def("lstm_infer_lanes() -> int", []() -> int64_t { return VL; });
}
