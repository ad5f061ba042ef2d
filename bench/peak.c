/* bench/peak.c: this machine's fp32 arithmetic peak per core, measured.
 *
 * Twelve independent chains of fused multiply-adds on 256-bit vectors (AVX2+FMA) and,
 * where the CPU has it, 512-bit vectors (AVX-512F), on one thread: the rate a dense
 * kernel could reach at best. bench/run divides GFLOP/s figures by the AVX2 peak times
 * the thread count ("fraction of peak"). Prints
 *   RESULT avx2_gflops=<G> avx512_gflops=<G or 0>
 * (0 for a kind the CPU or the compiler lacks). */
#include <stdio.h>

#include "bench.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define CHAINS 12
__attribute__((target("avx2,fma"))) static float fma256(long n) {
    __m256 a[CHAINS];
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < n; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    }
    __m256 s = a[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, a[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx512f"))) static float fma512(long n) {
    __m512 a[CHAINS];
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < n; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    }
    __m512 s = a[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

/* best of five runs of n iterations of CHAINS FMAs of `lanes` floats */
static double rate(float (*f)(long), int lanes) {
    const long n = 20000000;
    double best = 0;
    volatile float sink = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = bench_now();
        sink += f(n);
        double g = 2.0 * lanes * CHAINS * (double)n / (bench_now() - t0) * 1e-9;
        if (g > best) best = g;
    }
    (void)sink;
    return best;
}

int main(void) {
    __builtin_cpu_init();
    double g2 = 0, g5 = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) g2 = rate(fma256, 8);
    if (__builtin_cpu_supports("avx512f")) g5 = rate(fma512, 16);
    printf("RESULT avx2_gflops=%.1f avx512_gflops=%.1f\n", g2, g5);
    return 0;
}
#else
int main(void) {
    printf("RESULT avx2_gflops=0 avx512_gflops=0\n");
    return 0;
}
#endif
