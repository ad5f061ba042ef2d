/* tests/tg_rng.h: a seeded xorshift64 generator for random test inputs, the same on every
 * platform (one state per suite; every test seeds it before use). */
#ifndef TG_RNG_H
#define TG_RNG_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include <tapegrad.h>

static uint64_t rng_state = 1;

/* Restarts the sequence from s. */
static inline void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15u + 1; }

/* The next 64 random bits. */
static inline uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random int in [lo, hi]. */
static inline int rng_int(int lo, int hi) {
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* A random real in [-1, 1). */
static inline tg_real rng_real(void) {
    return (tg_real)((double)(rng_next() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* n random reals in [-1, 1) (checked malloc, at least one element; the caller frees). */
static inline tg_real *rand_array(int64_t n) {
    tg_real *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (int64_t i = 0; i < n; i++) p[i] = rng_real();
    return p;
}

#endif
