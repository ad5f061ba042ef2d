/* src/kernels/gemm.h: the matrix-product kernel: CBLAS when built with it, a portable
 * cache-blocked kernel otherwise (both always built, so both can be tested). Raw
 * loops only: no graph types. */
#ifndef TG_KERNELS_GEMM_H
#define TG_KERNELS_GEMM_H

#include <stdbool.h>

#include "tapegrad/core.h"

/* C = alpha * op(A) @ op(B) + beta * C, row-major. op(A) is M x K (A is K x M when
 * transA), op(B) is K x N (B is N x K when transB); lda, ldb, ldc are row strides.
 * beta == 0 overwrites C without reading it (NaNs in C do not leak through).
 * Dispatches to BLAS when it is available and enabled. */
void tgk_gemm(bool transA, bool transB, int M, int N, int K, tg_real alpha, const tg_real *A,
              int lda, const tg_real *B, int ldb, tg_real beta, tg_real *C, int ldc);
/* The same, always with the portable kernel. */
void tgk_gemm_portable(bool transA, bool transB, int M, int N, int K, tg_real alpha,
                       const tg_real *A, int lda, const tg_real *B, int ldb, tg_real beta,
                       tg_real *C, int ldc);

bool tgk_blas_available(void);   /* built with CBLAS */
bool tgk_blas_enable(bool on);   /* returns whether BLAS is enabled now */
/* Whether tgk_gemm hands products to BLAS: enabled, and not a CPU where the portable
 * kernel is the faster (AVX-512 with an OpenBLAS that has only AVX2 kernels for it). */
bool tgk_gemm_uses_blas(void);
/* For tests and measurements: 1 sends products to BLAS (when enabled) whatever the
 * CPU, 2 to the portable kernel, 0 goes back to deciding by the CPU. */
void tgk_gemm_choose(int choice);
void tgk_blas_set_threads(int n);

#endif
