/* tapegrad/rng.h: a small seeded random generator (PCG32), the same on every platform.
 *
 * Graphs carry one (tg_seed), parameter stores carry one for initialisers, and users
 * may keep their own for shuffling or augmentation. A tg_rng is a plain value: copy it
 * to fork a stream, zero-initialise nothing (seed it first). */
#ifndef TAPEGRAD_RNG_H
#define TAPEGRAD_RNG_H

#include "tapegrad/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_rng {
    uint64_t state, inc;
} tg_rng;

/* Seeds r (not NULL). The same seed gives the same stream everywhere. */
TG_API void tg_rng_seed(tg_rng *r, uint64_t seed);
/* The next 32 random bits. */
TG_API uint32_t tg_rng_u32(tg_rng *r);
/* Uniform on [0, 1), 53 random bits. */
TG_API double tg_rng_uniform(tg_rng *r);
/* Standard normal (Box-Muller; one of each pair of uniforms' outputs is used). */
TG_API double tg_rng_normal(tg_rng *r);
/* Uniform integer in [0, n) without modulo bias; 0 when n <= 0. */
TG_API int64_t tg_rng_below(tg_rng *r, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
