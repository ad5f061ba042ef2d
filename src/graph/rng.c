/* src/graph/rng.c: PCG32 (O'Neill), the XSH-RR variant, and what is built on it. */
#include <math.h>
#include <string.h>

#include "internal.h"

TG_API void tg_rng_seed(tg_rng *r, uint64_t seed) {
    if (!r) return;
    r->state = 0;
    r->inc = (seed << 1) | 1u;
    (void)tg_rng_u32(r);
    r->state += seed ^ 0x853c49e6748fea9bULL;
    (void)tg_rng_u32(r);
}

TG_API uint32_t tg_rng_u32(tg_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

TG_API double tg_rng_uniform(tg_rng *r) {
    uint64_t hi = tg_rng_u32(r) >> 5, lo = tg_rng_u32(r) >> 6; /* 27 + 26 = 53 bits */
    return (double)(hi * 67108864.0 + (double)lo) / 9007199254740992.0;
}

TG_API double tg_rng_normal(tg_rng *r) {
    double u1 = tg_rng_uniform(r), u2 = tg_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

TG_API int64_t tg_rng_below(tg_rng *r, int64_t n) {
    if (n <= 0) return 0;
    const uint64_t un = (uint64_t)n;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % un; /* reject the biased tail */
    uint64_t x;
    do {
        x = ((uint64_t)tg_rng_u32(r) << 32) | tg_rng_u32(r);
    } while (x >= limit);
    return (int64_t)(x % un);
}

/* ---- a Bernoulli mask, fast ---------------------------------------------------------
 * keep[i] = (tg_rng_uniform(r) >= p) for i < n, in order, leaving r where n calls of
 * tg_rng_uniform would: the same mask, bit for bit, without a dependent 64-bit multiply
 * per draw. Two things make it fast:
 *   - a uniform is k / 2^53 with k = (hi >> 5) * 2^26 + (lo >> 6) (hi, lo: two draws),
 *     so u >= p exactly when k >= ceil(p * 2^53): an integer compare;
 *   - PCG's state is a linear congruence, s' = a s + c, so the state L draws ahead is
 *     A s + C with A = a^L, C = c (a^(L-1) + ... + 1): LANES independent streams, each
 *     L = LANES draws apart, produce consecutive draws with no dependency between them. */
#define PCG_MULT 6364136223846793005ULL
#define LANES    8

static inline uint32_t pcg_output(uint64_t old) {
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define KEEP_AVX512 1
/* The same with 8 lanes of 64-bit states in a 512-bit vector (AVX-512F and DQ for the
 * 64-bit multiply, BMI2 to spread a mask's bits into bytes): s0 holds the states of the
 * even draws 0, 2, ..., 14 (each element's hi), s1 the odd ones (its lo), each lane 16
 * draws ahead per round. Returns the elements done (a multiple of 8); *r is left at
 * the next draw. */
__attribute__((target("avx512f,avx512dq,bmi2"))) static int64_t
keep_mask_avx512(tg_rng *r, uint64_t thr, uint8_t *keep, int64_t n) {
    uint64_t st[16], A = 1, C = 0;
    st[0] = r->state;
    for (int l = 1; l < 16; l++) st[l] = st[l - 1] * PCG_MULT + r->inc;
    for (int l = 0; l < 16; l++) {
        A *= PCG_MULT;
        C = C * PCG_MULT + r->inc;
    }
    __m512i s0 =
        _mm512_set_epi64((long long)st[14], (long long)st[12], (long long)st[10], (long long)st[8],
                         (long long)st[6], (long long)st[4], (long long)st[2], (long long)st[0]);
    __m512i s1 =
        _mm512_set_epi64((long long)st[15], (long long)st[13], (long long)st[11], (long long)st[9],
                         (long long)st[7], (long long)st[5], (long long)st[3], (long long)st[1]);
    const __m512i va = _mm512_set1_epi64((long long)A), vc = _mm512_set1_epi64((long long)C);
    const __m512i low32 = _mm512_set1_epi64(0xffffffffLL), vthr = _mm512_set1_epi64((long long)thr);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i x[2];
        for (int h = 0; h < 2; h++) {
            const __m512i old = h ? s1 : s0;
            /* xorshifted = ((old >> 18) ^ old) >> 27 (low 32 bits); rot = old >> 59 */
            const __m512i xs =
                _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(old, 18), old), 27);
            const __m512i rot = _mm512_srli_epi64(old, 59);
            /* rotate the low 32-bit half right by rot (the high half by 0: cut off) */
            x[h] = _mm512_and_si512(_mm512_rorv_epi32(xs, rot), low32);
        }
        s0 = _mm512_add_epi64(_mm512_mullo_epi64(s0, va), vc);
        s1 = _mm512_add_epi64(_mm512_mullo_epi64(s1, va), vc);
        const __m512i k = _mm512_or_si512(_mm512_slli_epi64(_mm512_srli_epi64(x[0], 5), 26),
                                          _mm512_srli_epi64(x[1], 6));
        const uint64_t bytes = _pdep_u64(_mm512_cmpge_epu64_mask(k, vthr), 0x0101010101010101ULL);
        memcpy(keep + i, &bytes, 8);
    }
    r->state = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(s0));
    return i;
}
#endif

void tg__rng_keep_mask(tg_rng *r, double p, uint8_t *keep, int64_t n) {
    /* threshold: k >= ceil(p 2^53); p 2^53 is exact, so is its ceiling */
    const double tp = ceil(p * 9007199254740992.0);
    const uint64_t thr = tp <= 0 ? 0 : tp >= 9007199254740992.0 ? (1ULL << 53) : (uint64_t)tp;
#ifdef KEEP_AVX512
    __builtin_cpu_init(); /* cheap after the first call */
    if (n >= 8 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("bmi2")) {
        const int64_t done = keep_mask_avx512(r, thr, keep, n);
        keep += done, n -= done;
    }
#endif
    uint64_t A = 1, C = 0;
    for (int l = 0; l < LANES; l++) {
        A *= PCG_MULT;
        C = C * PCG_MULT + r->inc;
    }
    uint64_t st[LANES];
    st[0] = r->state;
    for (int l = 1; l < LANES; l++) st[l] = st[l - 1] * PCG_MULT + r->inc;
    int64_t i = 0;
    /* LANES draws make LANES / 2 elements */
    for (; i + LANES / 2 <= n; i += LANES / 2) {
        uint32_t x[LANES];
        for (int l = 0; l < LANES; l++) {
            x[l] = pcg_output(st[l]);
            st[l] = st[l] * A + C;
        }
        for (int e = 0; e < LANES / 2; e++) {
            const uint64_t k = ((uint64_t)(x[2 * e] >> 5) << 26) | (x[2 * e + 1] >> 6);
            keep[i + e] = k >= thr;
        }
    }
    r->state = st[0]; /* the state of the next draw */
    for (; i < n; i++) {
        const uint64_t hi = tg_rng_u32(r) >> 5, lo = tg_rng_u32(r) >> 6;
        keep[i] = ((hi << 26) | lo) >= thr;
    }
}
