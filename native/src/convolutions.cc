// The three convolutions of training (forward, input gradient, filter gradient) on
// oneDNN, the library PyTorch's CPU convolutions run on, working in place on
// Float32Arrays (the wasm backend's heap) in TensorFlow.js's layouts: activations
// NHWC, filters HWIO. Primitives are created once per shape and thread count.
#include "convolutions.h"

#include <omp.h>

#include <algorithm>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "threads.h"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

memory::desc image(const Geometry& g) { return {{g.n, g.ci, g.h, g.w}, f32, tag::nhwc}; }
memory::desc output(const Geometry& g) { return {{g.n, g.co, g.oh, g.ow}, f32, tag::nhwc}; }
memory::desc filter(const Geometry& g, tag format = tag::hwio) { return {{g.co, g.ci, g.kh, g.kw}, f32, format}; }

dnnl::convolution_forward::desc forwardDesc(const Geometry& g) {
  return {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, image(g), filter(g, tag::any), output(g),
          {g.sh, g.sw}, {g.top, g.left}, {g.bottom, g.right}};
}

dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpu());
  return stream;
}

// A primitive for one shape, pass and thread count, with the filter in the layout
// its kernel wants (blocked for the JIT kernels) and the reorder to or from HWIO, and
// the threads each runs on.
struct Plan {
  dnnl::primitive primitive;
  memory kernelFilter;
  dnnl::reorder filterReorder;  // HWIO -> kernelFilter, or back for the filter gradient
  bool reorders = false;
  std::string implementation;
  int threads = 1;
  int reorderThreads = 1;
};

template <typename PrimitiveDesc>
void prepareFilter(Plan& plan, const PrimitiveDesc& pd, const memory::desc& kernelDesc, const Geometry& g, bool toUser) {
  plan.implementation = pd.impl_info_str();
  plan.kernelFilter = memory(kernelDesc, cpu());
  plan.reorders = kernelDesc != filter(g);
  if (!plan.reorders) return;
  memory user(filter(g), cpu(), DNNL_MEMORY_NONE);
  ThreadLimit limit(plan.reorderThreads);
  plan.filterReorder = toUser ? dnnl::reorder(plan.kernelFilter, user) : dnnl::reorder(user, plan.kernelFilter);
}

// oneDNN reads the thread count when it creates a kernel (which splits the work for
// that many) and when it runs one: both happen under ThreadLimit(threads).
Plan makePlan(Pass pass, const Geometry& g, int threads) {
  ThreadLimit limit(threads);
  Plan plan;
  plan.threads = threads;
  plan.reorderThreads = std::min(threads, threadsFor(g.kh * g.kw * g.ci * g.co));
  const auto forward = dnnl::convolution_forward::primitive_desc(forwardDesc(g), cpu());
  if (pass == Pass::forward) {
    plan.primitive = dnnl::convolution_forward(forward);
    prepareFilter(plan, forward, forward.weights_desc(), g, false);
  } else if (pass == Pass::inputGradient) {
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, image(g), filter(g, tag::any), output(g),
                                               {g.sh, g.sw}, {g.top, g.left}, {g.bottom, g.right});
    dnnl::convolution_backward_data::primitive_desc pd(desc, cpu(), forward);
    plan.primitive = dnnl::convolution_backward_data(pd);
    prepareFilter(plan, pd, pd.weights_desc(), g, false);
  } else {
    dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, image(g), filter(g, tag::any), output(g),
                                                  {g.sh, g.sw}, {g.top, g.left}, {g.bottom, g.right});
    dnnl::convolution_backward_weights::primitive_desc pd(desc, cpu(), forward);
    plan.primitive = dnnl::convolution_backward_weights(pd);
    prepareFilter(plan, pd, pd.diff_weights_desc(), g, true);
  }
  return plan;
}

using PlanKey = std::vector<memory::dim>;
std::map<PlanKey, Plan> plans;

// Where oneDNN has no direct kernel for a shape (here the input gradient of a layer
// with one or three input channels) it falls back on im2col/col2im around a GEMM. On
// two threads that took 1.9x as long as on one for (b)'s 17 MFLOP, and 0.77x for (a)'s
// 805 MFLOP; below this many FLOPs it runs on one thread.
constexpr double kParallelGemmFlops = 100e6;

double flops(const Geometry& g) { return 2.0 * g.n * g.oh * g.ow * g.co * g.ci * g.kh * g.kw; }

bool runsAlone(const Plan& plan, const Geometry& g) {
  return plan.implementation.find("gemm") != std::string::npos && flops(g) < kParallelGemmFlops;
}

Plan& planFor(Pass pass, const Geometry& g) {
  const int threads = omp_get_max_threads();
  const PlanKey key{static_cast<memory::dim>(pass), threads, g.n, g.ci, g.h, g.w, g.co, g.oh, g.ow, g.kh, g.kw,
                    g.sh, g.sw, g.top, g.left, g.bottom, g.right};
  auto found = plans.find(key);
  if (found == plans.end()) {
    Plan plan = makePlan(pass, g, threads);
    if (threads > 1 && runsAlone(plan, g)) plan = makePlan(pass, g, 1);
    found = plans.emplace(key, std::move(plan)).first;
  }
  return found->second;
}

}  // namespace

void convolution(Pass pass, const Geometry& g, float* a, float* b, float* out) {
  Plan& plan = planFor(pass, g);
  auto& stream = cpuStream();
  auto imageAt = [&](float* data) { return memory(image(g), cpu(), data); };
  auto outputAt = [&](float* data) { return memory(output(g), cpu(), data); };
  auto userFilter = [&](float* data) { return memory(filter(g), cpu(), data); };
  auto reorderFilter = [&](memory from, memory to) {
    ThreadLimit limit(plan.reorderThreads);
    plan.filterReorder.execute(stream, from, to);
    stream.wait();
  };
  ThreadLimit limit(plan.threads);
  if (pass == Pass::filterGradient) {
    memory gradient = plan.reorders ? plan.kernelFilter : userFilter(out);
    plan.primitive.execute(stream, {{DNNL_ARG_SRC, imageAt(a)}, {DNNL_ARG_DIFF_DST, outputAt(b)}, {DNNL_ARG_DIFF_WEIGHTS, gradient}});
    stream.wait();
    if (plan.reorders) reorderFilter(plan.kernelFilter, userFilter(out));
  } else {
    memory filter = userFilter(b);
    if (plan.reorders) {
      reorderFilter(filter, plan.kernelFilter);
      filter = plan.kernelFilter;
    }
    if (pass == Pass::forward) {
      plan.primitive.execute(stream, {{DNNL_ARG_SRC, imageAt(a)}, {DNNL_ARG_WEIGHTS, filter}, {DNNL_ARG_DST, outputAt(out)}});
    } else {
      plan.primitive.execute(stream, {{DNNL_ARG_DIFF_DST, outputAt(a)}, {DNNL_ARG_WEIGHTS, filter}, {DNNL_ARG_DIFF_SRC, imageAt(out)}});
    }
  }
  stream.wait();
}

std::string describeConvolutions() {
  const auto* version = dnnl_version();
  std::string text = std::to_string(version->major) + "." + std::to_string(version->minor) + "." + std::to_string(version->patch);
  const Geometry g{64, 32, 16, 16, 64, 8, 8, 4, 4, 2, 2, 1, 1, 1, 1};
  return text + " " + makePlan(Pass::forward, g, omp_get_max_threads()).implementation;
}

std::vector<PlanInfo> convolutionPlans() {
  std::vector<PlanInfo> out;
  for (const auto& [key, plan] : plans) {
    const Geometry g{key[2], key[3], key[4], key[5], key[6], key[7], key[8], key[9], key[10], key[11], key[12], key[13], key[14], key[15], key[16]};
    out.push_back({static_cast<Pass>(key[0]), g, static_cast<int>(key[1]), plan.implementation, plan.threads, plan.reorderThreads});
  }
  return out;
}
