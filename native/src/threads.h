// How many of the current OpenMP threads a piece of work gets.
#pragma once
#include <omp.h>

#include <cstdint>

// Below this many elements one thread finishes sooner than a second one wakes up: on
// this project's VMs a sleeping thread takes 5-30 us to start, and oneDNN's reorder of
// a 2,048-value filter took 0.34 ms on two threads against 0.017 ms on one.
constexpr int64_t kParallelElements = 1 << 16;

// The threads for a pass over `elements` values.
inline int threadsFor(int64_t elements) { return elements < kParallelElements ? 1 : omp_get_max_threads(); }

// Runs the enclosing scope's oneDNN calls on `threads` threads (which oneDNN reads from
// omp_get_max_threads()), restoring the count after.
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~ThreadLimit() { omp_set_num_threads(saved_); }
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int saved_;
};
