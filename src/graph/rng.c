/* src/graph/rng.c: PCG32 (O'Neill), the XSH-RR variant, and what is built on it. */
#include <math.h>

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
