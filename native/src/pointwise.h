// Training's memory-bound layers in one pass each over NHWC data, on omp_get_max_threads()
// threads: `rows` is N*H*W, `channels` the innermost dimension.
#pragma once
#include <cstdint>

// Training-mode BatchNorm: the batch's mean and biased variance per channel, and
// y = (x - mean) / sqrt(variance + epsilon) * gamma + beta, then LeakyReLU with `slope`
// below zero (0: ReLU; 1: none) in the same pass.
void batchNormForward(const float* x, int64_t rows, int64_t channels, const float* gamma, const float* beta, float epsilon,
                      float slope, float* y, float* mean, float* variance);

// Its gradients, as PyTorch computes them, with m = rows, xhat the normalised input, and
// dy first taken back through the activation (whose side of zero is recomputed from x):
// dbeta = sum(dy), dgamma = sum(dy * xhat), dx = gamma / sqrt(variance + epsilon) / m * (m * dy - dbeta - xhat * dgamma).
void batchNormBackward(const float* dy, const float* x, int64_t rows, int64_t channels, const float* gamma, const float* beta,
                       const float* mean, const float* variance, float epsilon, float slope, float* dx, float* dgamma, float* dbeta);

// y = x > 0 ? x : alpha * x
void leakyRelu(const float* x, int64_t size, float alpha, float* y);

// torch.optim.Adam's step for one parameter, into new arrays, in the order of the
// composite ops it replaces: m1 = beta1 m + (1 - beta1) g, v1 = beta2 v + (1 - beta2) g^2,
// p1 = p - m1 / (sqrt(v1) / bias2Sqrt + eps) * stepSize.
void adam(const float* p, const float* g, const float* m, const float* v, int64_t size, float beta1, float beta2, float eps,
          float stepSize, float bias2Sqrt, float* p1, float* m1, float* v1);

// dx = x > 0 ? dy : alpha * dy
void leakyReluGradient(const float* dy, const float* x, int64_t size, float alpha, float* dx);

// y = tanh(x)
void tanhForward(const float* x, int64_t size, float* y);

// dx = dy * (1 - y^2), from tanh's output y
void tanhGradient(const float* dy, const float* y, int64_t size, float* dx);

// BatchNorm's running statistics after one training-mode pass over `count` values per
// channel, in float and in the order of the composite ops they replace:
// running = running * (1 - momentum) + batch * momentum, the batch variance unbiased
// (variance * (count / (count - 1))). One thread: a few hundred channels.
void runningStatistics(const float* runningMean, const float* runningVariance, const float* mean, const float* variance,
                       int64_t channels, float momentum, int64_t count, float* newMean, float* newVariance);
