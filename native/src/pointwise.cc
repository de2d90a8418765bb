#include "pointwise.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "threads.h"

namespace {

// Per-channel sums of f(row, channel) over all rows, in double. Each thread sums a fixed
// block of rows and the blocks are added in thread order, so a given thread count always
// gives the same result.
template <typename Term>
void channelSums(int64_t rows, int64_t channels, int sums, Term term, std::vector<double>& out) {
  const int threads = threadsFor(rows * channels);
  std::vector<double> partial(static_cast<size_t>(threads) * sums * channels, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t begin = rows * t / threads, end = rows * (t + 1) / threads;
    double* mine = partial.data() + static_cast<size_t>(t) * sums * channels;
    for (int64_t r = begin; r < end; r++) term(r, mine);
  }
  out.assign(static_cast<size_t>(sums) * channels, 0.0);
  for (int t = 0; t < threads; t++) {
    for (size_t i = 0; i < out.size(); i++) out[i] += partial[static_cast<size_t>(t) * sums * channels + i];
  }
}

// The arrays of one Adam step do not overlap: __restrict lets the compiler vectorise
// without checking every pair of them.
void adamChunk(const float* __restrict p, const float* __restrict g, const float* __restrict m, const float* __restrict v, int64_t size,
               float beta1, float beta2, float eps, float stepSize, float bias2Sqrt, float* __restrict p1, float* __restrict m1,
               float* __restrict v1) {
  for (int64_t i = 0; i < size; i++) {
    const float moment = m[i] * beta1 + g[i] * (1.0f - beta1);
    const float variance = v[i] * beta2 + g[i] * g[i] * (1.0f - beta2);
    m1[i] = moment;
    v1[i] = variance;
    p1[i] = p[i] - moment / (std::sqrt(variance) / bias2Sqrt + eps) * stepSize;
  }
}

// BatchNorm's output before its activation, from the per-channel scale and shift: one
// function for the forward pass and for the gradient's recomputation, so that both
// decide the activation's side of zero on the same float.
inline float normalised(float x, float scale, float shift) { return x * scale + shift; }

// LeakyReLU with `slope` below zero (0: ReLU); min/max rather than a branch, which the
// compiler would not vectorise.
inline float activated(float z, float slope) { return std::max(z, 0.0f) + slope * std::min(z, 0.0f); }

// LeakyReLU's derivative at z: a select of constants, which GCC vectorises when floating
// point does not trap (-fno-trapping-math in binding.gyp). With slope 1 (no activation), 1.
inline float activationSlope(float z, float slope) { return z > 0.0f ? 1.0f : slope; }

// BatchNorm's per-channel scale and shift, y = x * scale + shift: for the forward pass and
// again for the gradient, which must find the same outputs' side of zero.
void scaleAndShift(const float* gamma, const float* beta, const float* mean, const float* variance, float epsilon, int64_t channels,
                   std::vector<float>& scale, std::vector<float>& shift) {
  scale.resize(channels);
  shift.resize(channels);
  for (int64_t c = 0; c < channels; c++) {
    scale[c] = gamma[c] / std::sqrt(variance[c] + epsilon);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
}

// One row's terms of dbeta and dgamma, acc[c] += d and acc[channels + c] += d * xhat, with
// d the gradient at BatchNorm's output (through the activation). A function of its own:
// inside channelSums' lambda GCC does not vectorise the loop.
void gradientSums(const float* g, const float* in, const float* scales, const float* shifts, const float* mean,
                  const float* invStd, float slope, int64_t channels, double* acc) {
  for (int64_t c = 0; c < channels; c++) {
    const float d = g[c] * activationSlope(normalised(in[c], scales[c], shifts[c]), slope);
    acc[c] += d;
    acc[channels + c] += d * ((in[c] - mean[c]) * invStd[c]);
  }
}

}  // namespace

void batchNormForward(const float* x, int64_t rows, int64_t channels, const float* gamma, const float* beta, float epsilon,
                      float slope, float* y, float* mean, float* variance) {
  std::vector<double> sums;
  channelSums(rows, channels, 1, [&](int64_t r, double* acc) {
    const float* row = x + r * channels;
    for (int64_t c = 0; c < channels; c++) acc[c] += row[c];
  }, sums);
  for (int64_t c = 0; c < channels; c++) mean[c] = static_cast<float>(sums[c] / rows);
  // Two passes, as tf.moments: the variance of the centred values.
  channelSums(rows, channels, 1, [&](int64_t r, double* acc) {
    const float* row = x + r * channels;
    for (int64_t c = 0; c < channels; c++) {
      const float d = row[c] - mean[c];
      acc[c] += d * d;
    }
  }, sums);
  for (int64_t c = 0; c < channels; c++) variance[c] = static_cast<float>(sums[c] / rows);
  std::vector<float> scale, shift;
  scaleAndShift(gamma, beta, mean, variance, epsilon, channels, scale, shift);
  const bool activation = slope != 1.0f;
#pragma omp parallel for schedule(static) num_threads(threadsFor(rows * channels))
  for (int64_t r = 0; r < rows; r++) {
    const float* in = x + r * channels;
    float* out = y + r * channels;
    if (activation) {
      for (int64_t c = 0; c < channels; c++) out[c] = activated(normalised(in[c], scale[c], shift[c]), slope);
    } else {
      for (int64_t c = 0; c < channels; c++) out[c] = normalised(in[c], scale[c], shift[c]);
    }
  }
}

void batchNormBackward(const float* dy, const float* x, int64_t rows, int64_t channels, const float* gamma, const float* beta,
                       const float* mean, const float* variance, float epsilon, float slope, float* dx, float* dgamma, float* dbeta) {
  std::vector<float> invStd(channels);
  for (int64_t c = 0; c < channels; c++) invStd[c] = 1.0f / std::sqrt(variance[c] + epsilon);
  // dy is taken back through the activation, at the outputs the forward pass computed.
  std::vector<float> scale, shift;
  scaleAndShift(gamma, beta, mean, variance, epsilon, channels, scale, shift);
  std::vector<double> sums;  // [dbeta | dgamma]
  channelSums(rows, channels, 2, [&](int64_t r, double* acc) {
    gradientSums(dy + r * channels, x + r * channels, scale.data(), shift.data(), mean, invStd.data(), slope, channels, acc);
  }, sums);
  std::vector<float> gammaInvStd(channels);
  for (int64_t c = 0; c < channels; c++) {
    dbeta[c] = static_cast<float>(sums[c]);
    dgamma[c] = static_cast<float>(sums[channels + c]);
    // dx = gamma * invStd / m * (m * dy - dbeta - xhat * dgamma)
    gammaInvStd[c] = gamma[c] * invStd[c];
  }
  const float m = static_cast<float>(rows);
#pragma omp parallel for schedule(static) num_threads(threadsFor(rows * channels))
  for (int64_t r = 0; r < rows; r++) {
    const float* g = dy + r * channels;
    const float* in = x + r * channels;
    float* out = dx + r * channels;
    for (int64_t c = 0; c < channels; c++) {
      const float xhat = (in[c] - mean[c]) * invStd[c];
      const float d = g[c] * activationSlope(normalised(in[c], scale[c], shift[c]), slope);
      out[c] = gammaInvStd[c] / m * (m * d - dbeta[c] - xhat * dgamma[c]);
    }
  }
}

void leakyRelu(const float* x, int64_t size, float alpha, float* y) {
#pragma omp parallel for schedule(static) num_threads(threadsFor(size))
  for (int64_t i = 0; i < size; i++) y[i] = activated(x[i], alpha);
}

void leakyReluGradient(const float* dy, const float* x, int64_t size, float alpha, float* dx) {
#pragma omp parallel for schedule(static) num_threads(threadsFor(size))
  for (int64_t i = 0; i < size; i++) dx[i] = dy[i] * activationSlope(x[i], alpha);
}

void adam(const float* p, const float* g, const float* m, const float* v, int64_t size, float beta1, float beta2, float eps,
          float stepSize, float bias2Sqrt, float* p1, float* m1, float* v1) {
  // Chunks of a few thousand: vectorised loops over arrays the compiler knows apart.
  constexpr int64_t chunk = 4096;
#pragma omp parallel for schedule(static) num_threads(threadsFor(size))
  for (int64_t begin = 0; begin < size; begin += chunk) {
    adamChunk(p + begin, g + begin, m + begin, v + begin, std::min(chunk, size - begin), beta1, beta2, eps, stepSize, bias2Sqrt,
              p1 + begin, m1 + begin, v1 + begin);
  }
}

void tanhForward(const float* x, int64_t size, float* y) {
#pragma omp parallel for schedule(static) num_threads(threadsFor(size))
  for (int64_t i = 0; i < size; i++) y[i] = std::tanh(x[i]);
}

void tanhGradient(const float* dy, const float* y, int64_t size, float* dx) {
#pragma omp parallel for schedule(static) num_threads(threadsFor(size))
  for (int64_t i = 0; i < size; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void runningStatistics(const float* runningMean, const float* runningVariance, const float* mean, const float* variance,
                       int64_t channels, float momentum, int64_t count, float* newMean, float* newVariance) {
  const float keep = 1.0f - momentum;
  const float unbias = static_cast<float>(static_cast<double>(count) / static_cast<double>(count - 1));
  for (int64_t c = 0; c < channels; c++) {
    newMean[c] = runningMean[c] * keep + mean[c] * momentum;
    newVariance[c] = runningVariance[c] * keep + (variance[c] * unbias) * momentum;
  }
}
