// Shared by rnnkit's compiled time loops (lstm_kernel.cpp, rnn_kernel.cpp): a vectorisable
// exp / sigmoid / tanh, the per-step product h W^T and the tensor checks. Everything is inline
// in an anonymous namespace: each source file has its own copy, nothing is exported.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>

namespace {

// The activations must be inlined into the loops that call them, or those loops are not
// vectorised (with several tile shapes in lstm_infer_kernel.cpp GCC stopped inlining exp_f32,
// and the kernel ran at half speed).
#define RNNKIT_INLINE inline __attribute__((always_inline))

// exp(x) for float32 in a form the compiler vectorises: 2^n * e^r with |r| <= ln(2)/2 and a
// degree-6 Taylor polynomial for e^r (truncation error r^7/7! < 1.3e-7 relative).
RNNKIT_INLINE float exp_f32(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // round(x / ln 2) by adding and removing 1.5 * 2^23 (std::floor would block vectorising)
  const float n = (x * 1.44269504089f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;  // ln 2 in two parts
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n as a float's bits
  return p * __builtin_bit_cast(float, bits);
}

RNNKIT_INLINE float sigmoid(float x) { return 1.0f / (1.0f + exp_f32(-x)); }
RNNKIT_INLINE double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
template <typename T> RNNKIT_INLINE T tanh_(T x) { return T(2) * sigmoid(T(2) * x) - T(1); }

// BLAS's matrix-vector products, where the BLAS torch links exports them (MKL does on x86;
// weak, so a torch without them still loads this library and takes torch.mm instead).
extern "C" {
void sgemv_(const char* trans, const int* m, const int* n, const float* alpha, const float* a,
            const int* lda, const float* x, const int* incx, const float* beta, float* y,
            const int* incy) __attribute__((weak));
void dgemv_(const char* trans, const int* m, const int* n, const double* alpha, const double* a,
            const int* lda, const double* x, const int* incx, const double* beta, double* y,
            const int* incy) __attribute__((weak));
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc) __attribute__((weak));
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b,
            const int* ldb, const double* beta, double* c, const int* ldc) __attribute__((weak));
}

// y (N) = x (K) M for M (K, N) row-major, i.e. M read as column-major (N, K) times x: one
// BLAS call with no dispatch (at B = 1 the per-step product is so short that a few us of
// dispatch count: BENCHMARKS.md, "Kernel design measurements"). Returns false where the BLAS
// symbol is missing.
template <typename T> bool gemv(const T* M, const T* x, T* y, int K, int N);
template <> bool gemv<float>(const float* M, const float* x, float* y, int K, int N) {
  if (sgemv_ == nullptr) return false;
  const float one = 1.0f, zero = 0.0f;
  const int inc = 1;
  sgemv_("N", &N, &K, &one, M, &N, x, &inc, &zero, y, &inc);
  return true;
}
template <> bool gemv<double>(const double* M, const double* x, double* y, int K, int N) {
  if (dgemv_ == nullptr) return false;
  const double one = 1.0, zero = 0.0;
  const int inc = 1;
  dgemv_("N", &N, &K, &one, M, &N, x, &inc, &zero, y, &inc);
  return true;
}

// Y (B, N) = X (B, K) M for M (K, N), all row-major: one BLAS call, without torch.mm's
// dispatch and checks (a few us a step: BENCHMARKS.md, "Kernel design measurements").
// Row-major Y is column-major Y^T = M^T X^T, which BLAS computes from M and X as they lie.
// Returns false where the BLAS symbol is missing.
template <typename T> bool gemm(const T* M, const T* X, T* Y, int B, int K, int N);
template <> bool gemm<float>(const float* M, const float* X, float* Y, int B, int K, int N) {
  if (sgemm_ == nullptr) return false;
  const float one = 1.0f, zero = 0.0f;
  sgemm_("N", "N", &N, &B, &K, &one, M, &N, X, &K, &zero, Y, &N);
  return true;
}
template <> bool gemm<double>(const double* M, const double* X, double* Y, int B, int K, int N) {
  if (dgemm_ == nullptr) return false;
  const double one = 1.0, zero = 0.0;
  dgemm_("N", "N", &N, &B, &K, &one, M, &N, X, &K, &zero, Y, &N);
  return true;
}

// x (B, K) times the weight: packed, W (N, K) reordered by oneDNN once per sequence and x W^T by
// oneDNN's linear (faster from B = 2 on); otherwise M (K, N) contiguous and x M by torch.mm, which
// at B = 1 runs MKL's matrix-vector product (faster there than oneDNN's: BENCHMARKS.md, "Kernel
// design measurements").
at::Tensor product(const at::Tensor& x, const at::Tensor& weight, bool packed) {
  if (packed) {
    static auto op = c10::Dispatcher::singleton()
        .findSchemaOrThrow("mkldnn::_linear_pointwise", "")
        .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                          c10::string_view, c10::List<std::optional<at::Scalar>>,
                          std::optional<c10::string_view>)>();
    return op.call(x, weight, std::nullopt, "none", c10::List<std::optional<at::Scalar>>(),
                   c10::string_view(""));
  }
  return at::mm(x, weight);
}

void check(const at::Tensor& t, const char* name, const at::Tensor& like,
           at::IntArrayRef shape) {
  TORCH_CHECK(t.sizes() == shape, "rnnkit kernel: ", name, " has shape ", t.sizes(),
              ", expected ", shape);
  TORCH_CHECK(t.is_contiguous(), "rnnkit kernel: ", name, " must be contiguous");
  TORCH_CHECK(t.scalar_type() == like.scalar_type(), "rnnkit kernel: ", name,
              " has dtype ", t.scalar_type(), ", expected ", like.scalar_type());
  TORCH_CHECK(t.device().is_cpu(), "rnnkit kernel: ", name, " must be on the CPU");
}

// dst (K, N) = src (N, K)^T, both row-major, in 32 x 32 blocks (a block of each stays in L1):
// about twice as fast as torch's copy_ of the transposed view, and faster than 16 x 16 or
// 64 x 64 blocks (BENCHMARKS.md, "Kernel design measurements").
template <typename T>
void transpose_blocked(const T* __restrict__ src, T* __restrict__ dst, int64_t N, int64_t K) {
  constexpr int64_t kBlock = 32;
  for (int64_t n0 = 0; n0 < N; n0 += kBlock) {
    const int64_t n1 = std::min(N, n0 + kBlock);
    for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
      const int64_t k1 = std::min(K, k0 + kBlock);
      for (int64_t k = k0; k < k1; ++k) {
#pragma omp simd
        for (int64_t n = n0; n < n1; ++n) dst[k * N + n] = src[n * K + k];
      }
    }
  }
}

// The per-step product, into a buffer reused over the steps where BLAS or torch.mm writes it
// (oneDNN's linear returns a new tensor).
template <typename T>
at::Tensor product_into(at::Tensor& buffer, const at::Tensor& x, const at::Tensor& weight,
                        bool packed) {
  if (packed) return product(x, weight, true);
  const int B = x.size(0), K = weight.size(0), N = weight.size(1);
  if (B == 1 && gemv<T>(weight.const_data_ptr<T>(), x.const_data_ptr<T>(),
                        buffer.data_ptr<T>(), K, N)) {
    return buffer;
  }
  if (B > 1 && x.is_contiguous() &&
      gemm<T>(weight.const_data_ptr<T>(), x.const_data_ptr<T>(), buffer.data_ptr<T>(), B, K, N)) {
    return buffer;
  }
  return at::mm_out(buffer, x, weight);
}

}  // namespace
