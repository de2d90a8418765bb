// The machine's fp32 FMA throughput, measured rather than computed from a nominal clock
// (which a hypervisor may announce below the one the cores run at).
#pragma once

// GFLOP/s of omp_get_max_threads() threads each running independent 256-bit FMA chains
// for about `seconds`; 0 where the CPU lacks AVX2 and FMA.
double fmaPeakGflops(double seconds);
