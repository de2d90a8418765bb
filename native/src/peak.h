// What the machine offers, measured: its fp32 FMA throughput, rather than computed from a
// nominal clock (which a hypervisor may announce below the one the cores run at), and its
// memory bandwidth.
#pragma once

// GFLOP/s of omp_get_max_threads() threads each running independent 256-bit FMA chains
// for about `seconds`; 0 where the CPU lacks AVX2 and FMA.
double fmaPeakGflops(double seconds);

// GB/s of omp_get_max_threads() threads running STREAM's triad (a = b + s * c, 12 bytes
// per element) over arrays 3 x 32 MiB, more than the caches hold, for about `seconds`.
// The arrays are allocated on the first call and kept.
double triadGBps(double seconds);
