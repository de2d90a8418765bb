// Node-API bindings: each function takes Float32Arrays (views of the wasm backend's heap)
// and numbers, checks every length against the shape it is given, and works in place.
#include <node_api.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "convolutions.h"
#include "peak.h"
#include "pointwise.h"

namespace {

// A JavaScript argument that is not what the binding expects: thrown as a TypeError.
struct BadArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class Args {
 public:
  Args(napi_env env, napi_callback_info info) : env_(env) {
    size_t argc = values_.size();
    if (napi_get_cb_info(env, info, &argc, values_.data(), nullptr, nullptr) != napi_ok) throw BadArgument("no arguments");
    count_ = argc;
  }

  int64_t integer(size_t i) const {
    int64_t value = 0;
    if (napi_get_value_int64(env_, at(i), &value) != napi_ok) throw BadArgument("argument " + std::to_string(i) + ": expected a number");
    return value;
  }

  double number(size_t i) const {
    double value = 0;
    if (napi_get_value_double(env_, at(i), &value) != napi_ok) throw BadArgument("argument " + std::to_string(i) + ": expected a number");
    return value;
  }

  std::vector<int64_t> integers(size_t i, uint32_t length) const {
    std::vector<int64_t> values(length);
    for (uint32_t k = 0; k < length; k++) {
      napi_value element;
      if (napi_get_element(env_, at(i), k, &element) != napi_ok || napi_get_value_int64(env_, element, &values[k]) != napi_ok) {
        throw BadArgument("argument " + std::to_string(i) + ": expected " + std::to_string(length) + " numbers");
      }
    }
    return values;
  }

  // The data of a Float32Array of exactly `length` elements.
  float* floats(size_t i, int64_t length) const {
    bool isTypedArray = false;
    napi_typedarray_type type;
    size_t actual = 0;
    void* data = nullptr;
    if (napi_is_typedarray(env_, at(i), &isTypedArray) != napi_ok || !isTypedArray ||
        napi_get_typedarray_info(env_, at(i), &type, &actual, &data, nullptr, nullptr) != napi_ok || type != napi_float32_array ||
        static_cast<int64_t>(actual) != length) {
      throw BadArgument("argument " + std::to_string(i) + ": expected a Float32Array of " + std::to_string(length) + " elements");
    }
    return static_cast<float*>(data);
  }

 private:
  napi_value at(size_t i) const {
    if (i >= count_) throw BadArgument("missing argument " + std::to_string(i));
    return values_[i];
  }

  napi_env env_;
  std::array<napi_value, 16> values_{};
  size_t count_ = 0;
};

// Runs a binding's body, turning C++ exceptions into JavaScript ones.
template <typename Body>
napi_value guarded(napi_env env, napi_callback_info info, Body body) {
  try {
    Args args(env, info);
    return body(args);
  } catch (const BadArgument& e) {
    napi_throw_type_error(env, nullptr, (std::string("dcgan-native-kernels: ") + e.what()).c_str());
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// convolution(pass, geometry: 15 numbers, a, b, out): see convolution() in convolutions.h.
napi_value Convolution(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t pass = args.integer(0);
    if (pass < 0 || pass > 2) throw BadArgument("pass must be 0, 1 or 2");
    const auto d = args.integers(1, 15);
    const Geometry g{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
    const int64_t image = g.n * g.h * g.w * g.ci, output = g.n * g.oh * g.ow * g.co, filter = g.kh * g.kw * g.ci * g.co;
    const int64_t sizes[3][3] = {{image, filter, output}, {output, filter, image}, {image, output, filter}};
    convolution(static_cast<Pass>(pass), g, args.floats(2, sizes[pass][0]), args.floats(3, sizes[pass][1]), args.floats(4, sizes[pass][2]));
    return nullptr;
  });
}

// batchNormForward(x, rows, channels, gamma, beta, epsilon, slope, y, mean, variance)
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t rows = args.integer(1), channels = args.integer(2);
    batchNormForward(args.floats(0, rows * channels), rows, channels, args.floats(3, channels), args.floats(4, channels),
                     static_cast<float>(args.number(5)), static_cast<float>(args.number(6)), args.floats(7, rows * channels),
                     args.floats(8, channels), args.floats(9, channels));
    return nullptr;
  });
}

// batchNormBackward(dy, x, rows, channels, gamma, beta, mean, variance, epsilon, slope, dx, dgamma, dbeta)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t rows = args.integer(2), channels = args.integer(3), size = rows * channels;
    batchNormBackward(args.floats(0, size), args.floats(1, size), rows, channels, args.floats(4, channels), args.floats(5, channels),
                      args.floats(6, channels), args.floats(7, channels), static_cast<float>(args.number(8)),
                      static_cast<float>(args.number(9)), args.floats(10, size), args.floats(11, channels), args.floats(12, channels));
    return nullptr;
  });
}

// leakyRelu(x, size, alpha, y)
napi_value LeakyRelu(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t size = args.integer(1);
    leakyRelu(args.floats(0, size), size, static_cast<float>(args.number(2)), args.floats(3, size));
    return nullptr;
  });
}

// leakyReluGradient(dy, x, size, alpha, dx)
napi_value LeakyReluGradient(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t size = args.integer(2);
    leakyReluGradient(args.floats(0, size), args.floats(1, size), size, static_cast<float>(args.number(3)), args.floats(4, size));
    return nullptr;
  });
}

// adam(p, g, m, v, size, beta1, beta2, eps, stepSize, bias2Sqrt, p1, m1, v1)
napi_value Adam(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t size = args.integer(4);
    const auto scalar = [&](size_t i) { return static_cast<float>(args.number(i)); };
    adam(args.floats(0, size), args.floats(1, size), args.floats(2, size), args.floats(3, size), size, scalar(5), scalar(6), scalar(7),
         scalar(8), scalar(9), args.floats(10, size), args.floats(11, size), args.floats(12, size));
    return nullptr;
  });
}

// tanhForward(x, size, y)
napi_value TanhForward(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t size = args.integer(1);
    tanhForward(args.floats(0, size), size, args.floats(2, size));
    return nullptr;
  });
}

// tanhGradient(dy, y, size, dx)
napi_value TanhGradient(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t size = args.integer(2);
    tanhGradient(args.floats(0, size), args.floats(1, size), size, args.floats(3, size));
    return nullptr;
  });
}

// runningStatistics(runningMean, runningVariance, mean, variance, channels, momentum, count, newMean, newVariance)
napi_value RunningStatistics(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    const int64_t channels = args.integer(4), count = args.integer(6);
    if (count < 2) throw BadArgument("count must be at least 2");
    runningStatistics(args.floats(0, channels), args.floats(1, channels), args.floats(2, channels), args.floats(3, channels), channels,
                      static_cast<float>(args.number(5)), count, args.floats(7, channels), args.floats(8, channels));
    return nullptr;
  });
}

// setThreads(count): the threads every later call uses.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](const Args& args) -> napi_value {
    omp_set_num_threads(static_cast<int>(std::max<int64_t>(1, args.integer(0))));
    return nullptr;
  });
}

// fmaPeakGflops(seconds): the fp32 FMA throughput of the current threads, measured.
napi_value FmaPeakGflops(napi_env env, napi_callback_info info) {
  return guarded(env, info, [env](const Args& args) -> napi_value {
    napi_value result;
    napi_create_double(env, fmaPeakGflops(args.number(0)), &result);
    return result;
  });
}

// triadGBps(seconds): the memory bandwidth of the current threads, measured.
napi_value TriadGBps(napi_env env, napi_callback_info info) {
  return guarded(env, info, [env](const Args& args) -> napi_value {
    napi_value result;
    napi_create_double(env, triadGBps(args.number(0)), &result);
    return result;
  });
}

// describe(): oneDNN's version and the kernel it picks here.
napi_value Describe(napi_env env, napi_callback_info info) {
  return guarded(env, info, [env](const Args&) -> napi_value {
    const std::string text = describeConvolutions();
    napi_value result;
    napi_create_string_utf8(env, text.c_str(), text.size(), &result);
    return result;
  });
}

// convolutionPlans(): [{ pass, geometry: 15 numbers, threads, implementation, kernelThreads, reorderThreads }]
napi_value ConvolutionPlans(napi_env env, napi_callback_info info) {
  return guarded(env, info, [env](const Args&) -> napi_value {
    const auto plans = convolutionPlans();
    napi_value list;
    napi_create_array_with_length(env, plans.size(), &list);
    const auto number = [env](double value) {
      napi_value result;
      napi_create_double(env, value, &result);
      return result;
    };
    for (size_t i = 0; i < plans.size(); i++) {
      const PlanInfo& p = plans[i];
      const Geometry& g = p.geometry;
      const int64_t dims[] = {g.n, g.ci, g.h, g.w, g.co, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.top, g.left, g.bottom, g.right};
      napi_value geometry, implementation, entry;
      napi_create_array_with_length(env, 15, &geometry);
      for (uint32_t k = 0; k < 15; k++) napi_set_element(env, geometry, k, number(static_cast<double>(dims[k])));
      napi_create_string_utf8(env, p.implementation.c_str(), p.implementation.size(), &implementation);
      napi_create_object(env, &entry);
      napi_set_named_property(env, entry, "pass", number(static_cast<double>(p.pass)));
      napi_set_named_property(env, entry, "geometry", geometry);
      napi_set_named_property(env, entry, "threads", number(p.threads));
      napi_set_named_property(env, entry, "implementation", implementation);
      napi_set_named_property(env, entry, "kernelThreads", number(p.kernelThreads));
      napi_set_named_property(env, entry, "reorderThreads", number(p.reorderThreads));
      napi_set_element(env, list, static_cast<uint32_t>(i), entry);
    }
    return list;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor properties[] = {
      {"convolution", nullptr, Convolution, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"leakyRelu", nullptr, LeakyRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"leakyReluGradient", nullptr, LeakyReluGradient, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"tanhForward", nullptr, TanhForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"tanhGradient", nullptr, TanhGradient, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"runningStatistics", nullptr, RunningStatistics, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fmaPeakGflops", nullptr, FmaPeakGflops, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"triadGBps", nullptr, TriadGBps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"describe", nullptr, Describe, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convolutionPlans", nullptr, ConvolutionPlans, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
