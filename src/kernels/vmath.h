/* src/kernels/vmath.h: e^x, the logistic sigmoid and tanh over whole arrays. Raw loops
 * only: no graph types.
 *
 * In a float build on an x86 CPU with AVX2 and FMA (or AVX-512) they run on vector
 * polynomial kernels (Cephes' expf and tanhf polynomials; measured by tests/test_vmath
 * against double libm: e^x within 0.7 ulp, sigmoid 1.5, tanh 1.2, where float libm is
 * within 0.5, 1.5 and 1.4); elsewhere, and in a double build, on libm. The vector
 * kernels give every element the same bits whatever its position in the array and
 * whichever of the two instruction sets runs, so results do not depend on how a loop
 * is cut into chunks or threads. NaN stays NaN; e^x overflows to +inf above about 88.72
 * and reaches 0 below about -103.9 (through the subnormals), as expf does. */
#ifndef TG_KERNELS_VMATH_H
#define TG_KERNELS_VMATH_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad/core.h"

void tgk_exp(const tg_real *x, tg_real *y, int64_t n);     /* y = e^x */
void tgk_sigmoid(const tg_real *x, tg_real *y, int64_t n); /* y = 1 / (1 + e^-x) */
void tgk_tanh(const tg_real *x, tg_real *y, int64_t n);    /* y = tanh x */

/* Which kernels run: 2 AVX-512, 1 AVX2 + FMA, 0 libm. For tests, tgk_vmath_force caps
 * the level (at most what the CPU and build have); -1 goes back to the best. */
int tgk_vmath_level(void);
void tgk_vmath_force(int level);

#endif
