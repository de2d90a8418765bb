#include "peak.h"

#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <vector>

namespace {

// Twelve independent chains: more than the FMA units' latency x throughput (2 units x 4
// or 5 cycles on current x86 cores), so the loop runs at the units' throughput.
// Returns FLOPs done; `sink` keeps the compiler from dropping the work.
__attribute__((target("avx2,fma"))) double fmaChains(double seconds, float* sink) {
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  // Separate variables, not an array, so that all twelve stay in registers; each starts
  // from its own value, or the compiler sees twelve copies of one chain and runs one.
  const __m256 step = _mm256_set1_ps(0.001f);
  __m256 a0 = _mm256_set1_ps(1.0f), a1 = _mm256_add_ps(a0, step), a2 = _mm256_add_ps(a1, step), a3 = _mm256_add_ps(a2, step),
         a4 = _mm256_add_ps(a3, step), a5 = _mm256_add_ps(a4, step), a6 = _mm256_add_ps(a5, step), a7 = _mm256_add_ps(a6, step),
         a8 = _mm256_add_ps(a7, step), a9 = _mm256_add_ps(a8, step), a10 = _mm256_add_ps(a9, step), a11 = _mm256_add_ps(a10, step);
  constexpr long kRound = 1 << 20;
  long rounds = 0;
  const auto begin = std::chrono::steady_clock::now();
  do {
    for (long k = 0; k < kRound; k++) {
      a0 = _mm256_fmadd_ps(a0, b, c), a1 = _mm256_fmadd_ps(a1, b, c), a2 = _mm256_fmadd_ps(a2, b, c), a3 = _mm256_fmadd_ps(a3, b, c);
      a4 = _mm256_fmadd_ps(a4, b, c), a5 = _mm256_fmadd_ps(a5, b, c), a6 = _mm256_fmadd_ps(a6, b, c), a7 = _mm256_fmadd_ps(a7, b, c);
      a8 = _mm256_fmadd_ps(a8, b, c), a9 = _mm256_fmadd_ps(a9, b, c), a10 = _mm256_fmadd_ps(a10, b, c), a11 = _mm256_fmadd_ps(a11, b, c);
    }
    rounds++;
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < seconds);
  const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                   _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)),
                                                 _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11))));
  *sink = _mm256_cvtss_f32(sum);
  return static_cast<double>(rounds) * kRound * 12 * 8 * 2;
}

}  // namespace

double fmaPeakGflops(double seconds) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
  double flops = 0, elapsed = 0;
  float sink = 0;
#pragma omp parallel reduction(+ : flops) reduction(max : elapsed)
  {
    const auto start = std::chrono::steady_clock::now();
    flops += fmaChains(seconds, &sink);
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return flops / elapsed / 1e9;
}

double triadGBps(double seconds) {
  constexpr int64_t kElements = int64_t{8} << 20;
  static std::vector<float> a(kElements), b(kElements, 1.0f), c(kElements, 2.0f);
  int64_t passes = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    float* __restrict out = a.data();
    const float* __restrict x = b.data();
    const float* __restrict y = c.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < kElements; i++) out[i] = x[i] + 1.5f * y[i];
    passes++;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(passes) * kElements * 3 * sizeof(float) / elapsed / 1e9;
}
