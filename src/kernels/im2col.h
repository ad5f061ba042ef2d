/* src/kernels/im2col.h: the kernels of the convolution: im2col and col2im, and the two
 * matrix products a convolution is made of, on a batch of samples at once. Raw loops
 * only: no graph types.
 *
 * Layout. One sample's input is [C,H,W]; its "columns" are the matrix col[K,P] with
 * K = C*KH*KW rows (channel-major, then kernel row, then kernel column) and P = OH*OW
 * columns (output positions), col[(c*KH + kh)*KW + kw][oh*OW + ow] = the input value
 * under kernel tap (kh,kw) for output (oh,ow), 0 in the padding. A block of nb samples
 * puts their columns side by side: col[K, nb*P], sample s at column s*P.
 *
 * Products. Outputs and gradients are [N,O,P] per batch, so along the "flat" axis
 * f = s*P + p the elements of one row lie in segments of P, one per sample: tgk_smat
 * describes such a matrix, and the products take it directly (no gather, no scatter).
 * On x86 machines with AVX-512 they run on a kernel of their own (about twice the
 * speed of an AVX2 BLAS there); elsewhere, or when disabled, they make one tgk_gemm
 * call per segment (BLAS or the portable kernel, as tg_use_blas says). */
#ifndef TG_KERNELS_IM2COL_H
#define TG_KERNELS_IM2COL_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad/core.h"

/* The geometry of a 2-D convolution of one sample (or of a pooling window). */
typedef struct tgk_conv_geom {
    int C, H, W; /* input channels and size */
    int KH, KW;  /* kernel size */
    int sh, sw;  /* stride */
    int ph, pw;  /* padding (zeros) */
    int dh, dw;  /* dilation */
    int OH, OW;  /* output size */
} tgk_conv_geom;

/* Channels c0..c0+nc-1 of one sample x [C,H,W] into col [nc*KH*KW, OH*OW] (row stride
 * ldcol, which may exceed OH*OW: the sample's columns inside a block). Every element
 * of those rows is written (padding as 0). */
void tgk_im2col(const tgk_conv_geom *g, const tg_real *x, int c0, int nc, tg_real *col,
                int64_t ldcol);
/* The adjoint: dx[c0..c0+nc-1] += col, each column element added to the input element
 * it was copied from (padding dropped), in a fixed order. col is scratch: the elements
 * that fall in the padding may be overwritten (with zeros). */
void tgk_col2im(const tgk_conv_geom *g, tg_real *col, int64_t ldcol, int c0, int nc, tg_real *dx);

/* A row-major matrix whose columns come in segments of seg: element (i, j) lies at
 * p[i*ld + (j / seg)*sstride + j % seg]. A plain matrix has seg = its column count.
 * The const version is the same with const data. */
typedef struct tgk_smat {
    tg_real *p;
    int64_t ld, seg, sstride;
} tgk_smat;
typedef struct tgk_csmat {
    const tg_real *p;
    int64_t ld, seg, sstride;
} tgk_csmat;

/* C[M,N] = op(A)[M,K] @ B[K,N] (+ bias[i] on row i when bias is not NULL), or
 * C += op(A) @ B when add (bias must then be NULL). op(A) is A [M,K] (row stride lda),
 * or A^T when transA (A is [K,M]). B and C may be segmented along N (their seg may
 * differ from each other only if one covers all of N). Up to nthreads threads split
 * the columns; every element of C is computed in the same order whatever the count. */
void tgk_conv_mm(bool transA, int M, int N, int K, const tg_real *A, int64_t lda, tgk_csmat B,
                 tgk_smat C, bool add, const tg_real *bias, int nthreads);

/* C[M,N] += A[M,K] @ B[N,K]^T, the reduction axis K segmented alike in A and B (same
 * seg, each its own sstride). Every element of C is summed in order of K. When asum is
 * not NULL, asum[i] += the sum of row i of A, in double (a convolution's bias gradient,
 * taken in the same pass over dy when it can be). */
void tgk_conv_mm_nt(int M, int N, int K, tgk_csmat A, tgk_csmat B, tg_real *C, int64_t ldc,
                    double *asum, int nthreads);

/* Whether the products run on the AVX-512 kernel: the machine has it and it is not
 * disabled. tgk_conv_fast_enable(false) forces the tgk_gemm path (for tests and
 * comparisons); returns whether the fast kernel is now used. */
bool tgk_conv_fast(void);
bool tgk_conv_fast_enable(bool on);

#endif
