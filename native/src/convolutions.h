// The three convolutions of training on oneDNN, in TensorFlow.js's layouts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

enum class Pass { forward = 0, inputGradient = 1, filterGradient = 2 };

// Batch, input channels and size, output channels and size, kernel, strides, padding.
struct Geometry {
  int64_t n, ci, h, w, co, oh, ow, kh, kw, sh, sw, top, left, bottom, right;
};

// Runs one pass in place, on omp_get_max_threads() threads. Forward: a = image (NHWC),
// b = filter (HWIO), out = output; input gradient: a = output gradient, b = filter,
// out = image gradient; filter gradient: a = image, b = output gradient, out = filter gradient.
// Throws dnnl::error for shapes oneDNN refuses.
void convolution(Pass pass, const Geometry& g, float* a, float* b, float* out);

// oneDNN's version and the kernel it picks on this CPU, e.g. "2.6.3 jit:avx2".
std::string describeConvolutions();

// A convolution this process has run: its pass and shape, the threads it was called
// with, oneDNN's kernel for it, and the threads that kernel and the filter's reorder
// to or from it run on.
struct PlanInfo {
  Pass pass;
  Geometry geometry;
  int threads;
  std::string implementation;
  int kernelThreads;
  int reorderThreads;
};

std::vector<PlanInfo> convolutionPlans();
