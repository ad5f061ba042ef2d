/* src/kernels/winograd.h: the transforms of Winograd's minimal filtering F(2x2, 3x3), for
 * 3x3 convolutions with stride 1 and dilation 1. Raw loops only: no graph types.
 *
 * A 2x2 output tile of a 3x3 correlation costs 16 multiplications instead of 36:
 *     Y = A^T [ (G g G^T) . (B^T d B) ] A      (d: the 4x4 input tile, g: the kernel)
 * with . the elementwise product, summed over input channels; over a batch those 16
 * products per tile are 16 matrix products U[xi][O,C] @ V[xi][C,T] over the T tiles
 * (Lavin and Gray, 2015). Tile (ty, tx) covers outputs 2ty..2ty+1, 2tx..2tx+1 and
 * inputs 2ty-ph..2ty-ph+3, 2tx-pw..2tx-pw+3 (zero outside the input). The matrices
 * have entries 0, +-1 and +-1/2 (exact in binary), so in float the result stays within
 * a few rounding errors of the direct sum.
 *
 * The adjoints give the gradients: the input gradient is a forward pass over dy with
 * the kernels turned 180 degrees and channels swapped (padding 2 - p); the kernel
 * gradient is G^T [ sum over tiles (A dy A^T) . (B^T d B) ] G.
 *
 * Layout: the 16 transformed arrays of a pass are V[xi][c][t] (xi = 4i + j, element
 * V + xi*xstride + c*ld + t), one row of T tiles per channel; a block of samples puts
 * their tiles side by side (sample s from t = s*TH*TW). */
#ifndef TG_KERNELS_WINOGRAD_H
#define TG_KERNELS_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad/core.h"

/* Tiles along an output axis of n elements. */
static inline int tgk_wino_tiles(int n) { return (n + 1) / 2; }

/* Scratch (elements) the per-plane transforms below need, for TH x TW tiles. */
int64_t tgk_wino_scratch(int TH, int TW);

/* U[xi][r][c] = (G g G^T)[xi] for the kernels of a pass with rows (output channels)
 * and cols (input channels per group) kernels each: plain, g = w[r][c] (w is
 * [rows, cols, 3, 3]); transposed (the input gradient pass), rows = C and cols = O/G:
 * g = w[grp*cols + c][r % (rows/G)] turned 180 degrees, where grp = r / (rows/G). */
void tgk_wino_weights(const tg_real *w, int rows, int cols, int G, bool transposed, tg_real *U);

/* The transformed input tiles of one sample: V[xi][c][t] = (B^T d B)[xi] for channels
 * c < nc of x [nc, H, W] with padding (ph, pw) and TH x TW tiles, written at
 * V + xi*xstride + c*ld + t. */
void tgk_wino_input(const tg_real *x, int nc, int H, int W, int ph, int pw, int TH, int TW,
                    tg_real *V, int64_t ld, int64_t xstride, tg_real *scratch);

/* The output of one sample from M[xi][o][t] (same layout): y[o] = A^T M A over each
 * tile, clipped to OH x OW, stored (plus bias[o] when bias is not NULL) or, when add,
 * added into y [no, OH, OW]. */
void tgk_wino_output(const tg_real *M, int64_t ld, int64_t xstride, int no, int OH, int OW, int TH,
                     int TW, tg_real *y, bool add, const tg_real *bias, tg_real *scratch);

/* The transformed output gradient of one sample: dM[xi][o][t] = (A dy A^T)[xi] over the
 * 2x2 tiles of dy [no, OH, OW] (zero beyond OH, OW). */
void tgk_wino_grad(const tg_real *dy, int no, int OH, int OW, int TH, int TW, tg_real *dM,
                   int64_t ld, int64_t xstride, tg_real *scratch);

/* dw[r][c] (3x3 each, rows x cols kernels) += G^T dU[xi][r][c] G. */
void tgk_wino_weight_grad(const tg_real *dU, int rows, int cols, tg_real *dw);

/* Whether convolutions may take the Winograd path (on by default; off for tests and
 * comparisons). Returns the new setting. */
bool tgk_wino_enable(bool on);
bool tgk_wino_enabled(void);

#endif
