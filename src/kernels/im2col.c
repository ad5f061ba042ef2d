/* src/kernels/im2col.c: im2col, col2im and the convolution's products (see im2col.h).
 *
 * The products. On x86 with AVX-512 (checked at run time; the rest of the library is
 * built for the baseline), both products run on a kernel of their own in the GotoBLAS
 * style, cut down to what a convolution needs:
 *
 *   op(B) is packed a panel at a time: NR columns (two vectors) by up to KC depths,
 *   zero-padded to NR columns. The packing reads B where it lies, segments and all,
 *   so nothing is gathered beforehand. A is not packed: the micro-kernel broadcasts
 *   its elements straight from memory, MR rows at a time (A is a weight matrix, or
 *   the columns matrix read along its rows, both already in cache). Each MR x NR tile
 *   of C is summed in registers over one KC slice and then stored (first slice, with
 *   the bias) or added (later slices) into C, or into a tile buffer when its columns
 *   straddle two segments, from where it is scattered.
 *
 * Threads take whole (panel, row range) tasks, and every element of C sees the same
 * operations in the same order whatever the thread count: results are bit-identical
 * across counts. Measured on the shapes of a small CNN, the kernel runs at 190-210
 * GFLOP/s on one core of a machine where an AVX2 OpenBLAS gives 105-110.
 *
 * Elsewhere, or with the kernel disabled, a product is one tgk_gemm call per segment. */
#include <string.h>

#include "im2col.h"
#include "gemm.h"

/* ---- im2col and col2im ----------------------------------------------------------- */

/* The output columns ow whose input column iw = ow*sw + off lies inside [0, W):
 * [*lo, *hi), possibly empty. */
static void valid_cols(const tgk_conv_geom *g, int off, int *lo, int *hi) {
    int l = off < 0 ? (-off + g->sw - 1) / g->sw : 0;
    int h = g->W - 1 - off < 0 ? 0 : (g->W - 1 - off) / g->sw + 1;
    if (h > g->OW) h = g->OW;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* The output rows oh whose input row ih = oh*sh - ph + kh*dh lies inside [0, H). */
static void valid_rows(const tgk_conv_geom *g, int kh, int *lo, int *hi) {
    const int off = kh * g->dh - g->ph;
    int l = off < 0 ? (-off + g->sh - 1) / g->sh : 0;
    int h = g->H - 1 - off < 0 ? 0 : (g->H - 1 - off) / g->sh + 1;
    if (h > g->OH) h = g->OH;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* Stride 1 and an output as wide as the input (padding "same" in width): the valid
 * rows of a column row are then ONE shifted copy of the input plane, contiguous in
 * both, except at the left and right edges, where it wraps into the neighbouring
 * input row. Those edge elements are fixed up (im2col: set to 0) or kept out
 * (col2im: zeroed in col first, so that adding them adds exactly nothing). */
static bool shifted_copy(const tgk_conv_geom *g) {
    return g->sh == 1 && g->sw == 1 && g->OW == g->W;
}

/* For one kernel tap: the valid rows [r0, r1) and, in the contiguous form, the
 * elements [i0, i1) of col rows r0.. that come from the plane, at plane index
 * base + i (i counted from col element r0*OW). */
typedef struct tap {
    int r0, r1, c0, c1; /* valid output rows and columns */
    int64_t base, i0, i1;
} tap;

static tap tap_of(const tgk_conv_geom *g, int kh, int kw) {
    tap t;
    valid_rows(g, kh, &t.r0, &t.r1);
    valid_cols(g, kw * g->dw - g->pw, &t.c0, &t.c1);
    const int64_t plane = (int64_t)g->H * g->W, n = (int64_t)(t.r1 - t.r0) * g->OW;
    t.base = (int64_t)(t.r0 * g->sh - g->ph + kh * g->dh) * g->W + kw * g->dw - g->pw;
    t.i0 = t.base < 0 ? -t.base : 0;
    t.i1 = plane - t.base < n ? plane - t.base : n;
    if (t.i1 < t.i0) t.i1 = t.i0;
    return t;
}

/* Columns [0, c0) and [c1, OW) of rows 0..rows-1 (row stride OW) set to 0: a column
 * at a time (there are few; the rows are many). */
static void zero_edges(tg_real *m, int rows, int OW, int c0, int c1) {
    for (int ow = 0; ow < c0; ow++)
        for (int r = 0; r < rows; r++) m[(int64_t)r * OW + ow] = 0;
    for (int ow = c1; ow < OW; ow++)
        for (int r = 0; r < rows; r++) m[(int64_t)r * OW + ow] = 0;
}

/* dst[0..n) += src[0..n): on AVX-512 machines with 512-bit vectors (the library is
 * built for the baseline, where gcc would use 128-bit ones). */
static void add_to(tg_real *restrict dst, const tg_real *restrict src, int64_t n);

void tgk_im2col(const tgk_conv_geom *g, const tg_real *x, int c0, int nc, tg_real *col,
                int64_t ldcol) {
    const int64_t plane = (int64_t)g->H * g->W, P = (int64_t)g->OH * g->OW;
    const int64_t taps = (int64_t)g->KH * g->KW;
    const bool fast = shifted_copy(g);
    for (int kh = 0; kh < g->KH; kh++) {
        for (int kw = 0; kw < g->KW; kw++) {
            const tap t = tap_of(g, kh, kw);
            const int off = kw * g->dw - g->pw;
            const int64_t v0 = (int64_t)t.r0 * g->OW, v1 = (int64_t)t.r1 * g->OW;
            for (int c = 0; c < nc; c++) {
                const tg_real *xc = x + (c0 + c) * plane;
                tg_real *restrict row = col + (c * taps + kh * g->KW + kw) * ldcol;
                /* rows with no input: zeros */
                if (v0 > 0) memset(row, 0, (size_t)v0 * sizeof *row);
                if (v1 < P) memset(row + v1, 0, (size_t)(P - v1) * sizeof *row);
                if (t.c0 >= t.c1) {
                    if (v1 > v0) memset(row + v0, 0, (size_t)(v1 - v0) * sizeof *row);
                    continue;
                }
                tg_real *restrict dst = row + v0;
                if (fast) { /* one shifted copy, then the wrapped edges set to 0 */
                    memcpy(dst + t.i0, xc + (t.base + t.i0), (size_t)(t.i1 - t.i0) * sizeof *row);
                    zero_edges(dst, t.r1 - t.r0, g->OW, t.c0, t.c1);
                    continue;
                }
                for (int oh = t.r0; oh < t.r1; oh++, dst += g->OW) {
                    const int ih = oh * g->sh - g->ph + kh * g->dh;
                    const tg_real *restrict src = xc + (int64_t)ih * g->W + off;
                    for (int ow = 0; ow < t.c0; ow++) dst[ow] = 0;
                    if (g->sw == 1)
                        for (int ow = t.c0; ow < t.c1; ow++) dst[ow] = src[ow];
                    else
                        for (int ow = t.c0; ow < t.c1; ow++) dst[ow] = src[(int64_t)ow * g->sw];
                    for (int ow = t.c1; ow < g->OW; ow++) dst[ow] = 0;
                }
            }
        }
    }
}

void tgk_col2im(const tgk_conv_geom *g, tg_real *col, int64_t ldcol, int c0, int nc, tg_real *dx) {
    const int64_t plane = (int64_t)g->H * g->W, taps = (int64_t)g->KH * g->KW;
    const bool fast = shifted_copy(g);
    /* taps outer, channels inner: each dx element still receives its terms in the
     * order of the taps (kh, kw), whatever the channel loop does */
    for (int kh = 0; kh < g->KH; kh++) {
        for (int kw = 0; kw < g->KW; kw++) {
            const tap t = tap_of(g, kh, kw);
            if (t.c0 >= t.c1) continue;
            const int off = kw * g->dw - g->pw;
            for (int c = 0; c < nc; c++) {
                tg_real *dxc = dx + (c0 + c) * plane;
                tg_real *src = col + (c * taps + kh * g->KW + kw) * ldcol + (int64_t)t.r0 * g->OW;
                if (fast) { /* the wrapped edges zeroed, then one shifted add */
                    zero_edges(src, t.r1 - t.r0, g->OW, t.c0, t.c1);
                    add_to(dxc + (t.base + t.i0), src + t.i0, t.i1 - t.i0);
                    continue;
                }
                for (int oh = t.r0; oh < t.r1; oh++, src += g->OW) {
                    const int ih = oh * g->sh - g->ph + kh * g->dh;
                    tg_real *restrict d = dxc + (int64_t)ih * g->W + off;
                    if (g->sw == 1)
                        for (int ow = t.c0; ow < t.c1; ow++) d[ow] += src[ow];
                    else
                        for (int ow = t.c0; ow < t.c1; ow++) d[(int64_t)ow * g->sw] += src[ow];
                }
            }
        }
    }
}

/* ---- the products through tgk_gemm: one call per segment ---------------------------- */

static void mm_gemm(bool ta, int M, int N, int K, const tg_real *A, int64_t lda, tgk_csmat B,
                    tgk_smat C, bool add, const tg_real *bias) {
    for (int64_t j0 = 0, s = 0; j0 < N; j0 += B.seg, s++) {
        const int n = (int)(N - j0 < B.seg ? N - j0 : B.seg);
        tg_real *c = C.p + s * C.sstride;
        if (bias && !add)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < n; j++) c[i * C.ld + j] = bias[i];
        tgk_gemm(ta, false, M, n, K, 1, A, (int)lda, B.p + s * B.sstride, (int)B.ld,
                 add || bias ? 1 : 0, c, (int)C.ld);
    }
}

static void mm_nt_gemm(int M, int N, int K, tgk_csmat A, tgk_csmat B, tg_real *C, int64_t ldc) {
    for (int64_t p0 = 0, s = 0; p0 < K; p0 += A.seg, s++) {
        const int k = (int)(K - p0 < A.seg ? K - p0 : A.seg);
        tgk_gemm(false, true, M, N, k, 1, A.p + s * A.sstride, (int)A.ld, B.p + s * B.sstride,
                 (int)B.ld, 1, C, (int)ldc);
    }
}

/* ---- the AVX-512 kernel ---------------------------------------------------------------- */

#if defined(__GNUC__) && defined(__x86_64__)
#define TGK_HAVE_AVX512 1
#include "vec512.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define TGK_NOINLINE __attribute__((noinline))


/* MR x NR register tile: 8 rows by two vectors, 16 accumulators (enough to cover the
 * FMA latency of two pipes), leaving room for the operands. KC keeps a packed panel
 * (KC x NR, 32 KiB) in L1 while the MR-row slivers of A stream past it. */
#define MR 8
#define NR (2 * VL)
#ifndef KC
#define KC (1024 / (int)sizeof(tg_real))
#endif

/* Products with fewer multiply-adds stay on one thread. */
#define PAR_MIN_FMAS (1L << 20)

static _Thread_local _Alignas(64) tg_real panel_buf[KC * NR];

enum { T_SET, T_ADD, T_BIAS }; /* C = t, C += t, C = t + bias[row] */

static vmask mask_of(int n) { /* the first n lanes, n in 0..VL */
    return n >= VL ? (vmask) ~(vmask)0 : (vmask)((1u << n) - 1);
}

/* The tile t = sum over p < kc of A[r][p] (outer) bp[p][:], for the rows r < mr of A
 * (A[r][p] at a[r*rs + p*ps]), then C[r][j] for r < mr, j < nr as mode says. Rows of
 * A at and beyond mr are read as row 0 (valid memory) and never stored. */
TGK_AVX512 TGK_NOINLINE static void micro(int kc, const tg_real *a, int64_t rs, int64_t ps, int mr,
                                          const tg_real *restrict bp, tg_real *c, int64_t ldc,
                                          int nr, int mode, const tg_real *bias) {
    vec acc0[MR], acc1[MR];
    const tg_real *ar[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        acc0[r] = V_ZERO();
        acc1[r] = V_ZERO();
        ar[r] = a + (r < mr ? r : 0) * rs;
    }
    for (int p = 0; p < kc; p++) {
        const vec b0 = V_LOAD(bp + p * NR), b1 = V_LOAD(bp + p * NR + VL);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const vec av = V_SET1(ar[r][p * ps]);
            acc0[r] = V_FMA(av, b0, acc0[r]);
            acc1[r] = V_FMA(av, b1, acc1[r]);
        }
    }
    const vmask m0 = mask_of(nr), m1 = mask_of(nr - VL > 0 ? nr - VL : 0);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        tg_real *cr = c + r * ldc;
        if (mode == T_ADD) {
            acc0[r] = V_ADD(acc0[r], V_LOADU_M(m0, cr));
            acc1[r] = V_ADD(acc1[r], V_LOADU_M(m1, cr + VL));
        } else if (mode == T_BIAS) {
            acc0[r] = V_ADD(acc0[r], V_SET1(bias[r]));
            acc1[r] = V_ADD(acc1[r], V_SET1(bias[r]));
        }
        V_STOREU_M(cr, m0, acc0[r]);
        V_STOREU_M(cr + VL, m1, acc1[r]);
    }
}

/* Rows p0..p0+kc-1, columns j0..j0+nr-1 of B (segmented along its columns) into the
 * panel: bp[p*NR + j] = B[p0+p][j0+j], zero for j >= nr. */
TGK_AVX512 static void pack_cols(tgk_csmat B, int p0, int kc, int64_t j0, int nr,
                                 tg_real *restrict bp) {
    if (nr < NR)
        for (int p = 0; p < kc; p++) {
            V_STORE(bp + p * NR, V_ZERO());
            V_STORE(bp + p * NR + VL, V_ZERO());
        }
    for (int done = 0; done < nr;) { /* one run of columns inside one segment at a time */
        const int64_t j = j0 + done, s = j / B.seg, o = j % B.seg;
        const int len = (int)(B.seg - o < nr - done ? B.seg - o : nr - done);
        const tg_real *restrict src = B.p + (int64_t)p0 * B.ld + s * B.sstride + o;
        if (len == NR) {
            for (int p = 0; p < kc; p++) {
                V_STORE(bp + p * NR, V_LOADU(src + p * B.ld));
                V_STORE(bp + p * NR + VL, V_LOADU(src + p * B.ld + VL));
            }
        } else {
            for (int q = 0; q < len; q += VL) {
                const vmask m = mask_of(len - q);
                for (int p = 0; p < kc; p++)
                    V_STOREU_M(bp + p * NR + done + q, m, V_LOADU_M(m, src + p * B.ld + q));
            }
        }
        done += len;
    }
}

/* Depths off..off+kc-1 of segment s, rows n0..n0+nr-1 of B [N, K] into the panel of
 * B^T: bp[p*NR + j] = B[n0+j][s*seg + off + p], zero for j >= nr. */
TGK_AVX512 static void pack_rows(tgk_csmat B, int64_t s, int off, int kc, int n0, int nr,
                                 tg_real *restrict bp) {
    for (int j = 0; j < nr; j++) {
        const tg_real *restrict src = B.p + (int64_t)(n0 + j) * B.ld + s * B.sstride + off;
        for (int p = 0; p < kc; p++) bp[p * NR + j] = src[p];
    }
    for (int j = nr; j < NR; j++)
        for (int p = 0; p < kc; p++) bp[p * NR + j] = 0;
}

/* Threads and tasks: panels of NR columns times row ranges, enough tasks for every
 * thread (the split changes who computes an element, never how). */
typedef struct tasks {
    int npanel, nrange, rows; /* rows per range, a multiple of MR */
    int nth;
} tasks;

static tasks plan(int M, int N, int K, int nthreads) {
    tasks t = {(N + NR - 1) / NR, 1, M, 1};
#ifdef _OPENMP
    if (nthreads > 1 && (double)M * N * K >= (double)PAR_MIN_FMAS && !omp_in_parallel()) {
        t.nth = nthreads;
        const int slivers = (M + MR - 1) / MR;
        int want = (2 * nthreads + t.npanel - 1) / t.npanel;
        if (want > slivers) want = slivers;
        if (want > 1) {
            t.rows = (slivers + want - 1) / want * MR;
            t.nrange = (M + t.rows - 1) / t.rows;
        }
    }
#else
    (void)K, (void)nthreads;
#endif
    return t;
}

/* C[i0.., panel columns] for one task of tgk_conv_mm. */
TGK_AVX512 static void mm_task(bool ta, int M, int N, int K, const tg_real *A, int64_t lda,
                               tgk_csmat B, tgk_smat C, bool add, const tg_real *bias,
                               const tasks *t, int task) {
    const int64_t j0 = (int64_t)(task % t->npanel) * NR;
    const int i0 = task / t->npanel * t->rows, i1 = i0 + t->rows < M ? i0 + t->rows : M;
    const int nr = N - j0 < NR ? (int)(N - j0) : NR;
    const int64_t rs = ta ? 1 : lda, ps = ta ? lda : 1;
    /* C's columns j0..j0+nr-1 lie in one segment, or the tile goes through a buffer */
    const int64_t s = j0 / C.seg, o = j0 % C.seg;
    const bool direct = o + nr <= C.seg;
    const bool prefetch_next = o + nr + NR <= C.seg && K <= 64; /* in the same segment */
    tg_real *cdir = C.p + s * C.sstride + o;
    _Alignas(64) tg_real tile[MR * NR];
    /* K in equal slices of at most KC: a short last slice would cost a tile update
     * for little work */
    const int nslice = (K + KC - 1) / KC, step = (K + nslice - 1) / nslice;
    for (int p0 = 0; p0 < K; p0 += step) {
        const int kc = K - p0 < step ? K - p0 : step;
        const int mode = add || p0 > 0 ? T_ADD : bias ? T_BIAS : T_SET;
        pack_cols(B, p0, kc, j0, nr, panel_buf);
        for (int i = i0; i < i1; i += MR) {
            const int mr = i1 - i < MR ? i1 - i : MR;
            const tg_real *a = A + i * rs + p0 * ps;
            if (direct) {
                /* The next panel's tile of C, fetched ahead: a tile spans MR rows far
                 * apart, more streams than the hardware prefetcher follows, and a
                 * shallow product (few input channels) is bound by these stores. */
                if (prefetch_next)
                    for (int r = 0; r < mr; r++) {
                        __builtin_prefetch(cdir + (i + r) * C.ld + NR, 1, 3);
                        __builtin_prefetch(cdir + (i + r) * C.ld + NR + VL, 1, 3);
                    }
                micro(kc, a, rs, ps, mr, panel_buf, cdir + i * C.ld, C.ld, nr, mode,
                      bias ? bias + i : NULL);
                continue;
            }
            micro(kc, a, rs, ps, mr, panel_buf, tile, NR, nr, T_SET, NULL);
            for (int r = 0; r < mr; r++) { /* scatter the tile, a run per segment */
                for (int done = 0; done < nr;) {
                    const int64_t j = j0 + done, sj = j / C.seg, oj = j % C.seg;
                    const int len = (int)(C.seg - oj < nr - done ? C.seg - oj : nr - done);
                    tg_real *cr = C.p + (i + r) * C.ld + sj * C.sstride + oj;
                    const tg_real *tr = tile + r * NR + done;
                    for (int q = 0; q < len; q++)
                        cr[q] = mode == T_ADD    ? cr[q] + tr[q]
                                : mode == T_BIAS ? tr[q] + bias[i + r]
                                                 : tr[q];
                    done += len;
                }
            }
        }
    }
}

/* Rows i0..i1-1 of C [M, N] += A[i] . B[k] for k < N <= DOT_MAX: dot products, for
 * few and long rows (the weight gradient of a convolution with one input channel),
 * where packing B^T would cost more than the products. A segment at a time (B's
 * segment stays in L1 while the rows of A stream past in memory order), one vector
 * accumulator per k, summed across its lanes and added into C: every element of C is
 * summed in segment order. */
#define DOT_MAX 16
TGK_AVX512 static void mm_nt_dot(int i0, int i1, int N, int K, tgk_csmat A, tgk_csmat B, tg_real *C,
                                 int64_t ldc, double *asum) {
    for (int64_t p0 = 0, s = 0; p0 < K; p0 += A.seg, s++) {
        const int len = (int)(K - p0 < A.seg ? K - p0 : A.seg);
        const tg_real *b = B.p + s * B.sstride;
        for (int i = i0; i < i1; i++) {
            const tg_real *a = A.p + i * A.ld + s * A.sstride;
            vec acc[DOT_MAX], sum = V_ZERO();
#pragma GCC unroll 16
            for (int k = 0; k < DOT_MAX; k++) acc[k] = V_ZERO();
            for (int p = 0; p < len; p += VL) {
                const vmask m = mask_of(len - p);
                const vec va = V_LOADU_M(m, a + p);
                sum = V_ADD(sum, va);
#pragma GCC unroll 16
                for (int k = 0; k < DOT_MAX; k++)
                    if (k < N) acc[k] = V_FMA(va, V_LOADU_M(m, b + k * B.ld + p), acc[k]);
            }
#pragma GCC unroll 16
            for (int k = 0; k < DOT_MAX; k++)
                if (k < N) C[i * ldc + k] += V_REDUCE(acc[k]);
            if (asum) asum[i] += (double)V_REDUCE(sum);
        }
    }
}

/* C[i0.., panel columns] for one task of tgk_conv_mm_nt. K slices never cross a
 * segment, so A's rows are contiguous within each. */
TGK_AVX512 static void mm_nt_task(int M, int N, int K, tgk_csmat A, tgk_csmat B, tg_real *C,
                                  int64_t ldc, const tasks *t, int task) {
    const int n0 = task % t->npanel * NR;
    const int i0 = task / t->npanel * t->rows, i1 = i0 + t->rows < M ? i0 + t->rows : M;
    const int nr = N - n0 < NR ? N - n0 : NR;
    for (int64_t p0 = 0; p0 < K;) {
        const int64_t s = p0 / A.seg, off = p0 % A.seg;
        const int64_t left = A.seg - off < K - p0 ? A.seg - off : K - p0;
        /* equal slices of the rest of the segment, at most KC each */
        const int64_t nsl = (left + KC - 1) / KC;
        const int kc = (int)((left + nsl - 1) / nsl);
        pack_rows(B, s, (int)off, kc, n0, nr, panel_buf);
        const tg_real *a = A.p + s * A.sstride + off;
        for (int i = i0; i < i1; i += MR)
            micro(kc, a + i * A.ld, A.ld, 1, i1 - i < MR ? i1 - i : MR, panel_buf, C + i * ldc + n0,
                  ldc, nr, T_ADD, NULL);
        p0 += kc;
    }
}

static bool cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

TGK_AVX512 static void add_avx512(tg_real *restrict dst, const tg_real *restrict src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}
#else
static bool cpu_has_avx512(void) { return false; }
#endif

static void add_to(tg_real *restrict dst, const tg_real *restrict src, int64_t n) {
#ifdef TGK_HAVE_AVX512
    if (cpu_has_avx512()) {
        add_avx512(dst, src, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

static bool fast_on = true;

bool tgk_conv_fast(void) { return fast_on && cpu_has_avx512(); }

bool tgk_conv_fast_enable(bool on) {
    fast_on = on;
    return tgk_conv_fast();
}

void tgk_conv_mm(bool transA, int M, int N, int K, const tg_real *A, int64_t lda, tgk_csmat B,
                 tgk_smat C, bool add, const tg_real *bias, int nthreads) {
    if (M <= 0 || N <= 0) return;
#ifdef TGK_HAVE_AVX512
    if (K > 0 && tgk_conv_fast()) {
        /* segments laid end to end are one plain matrix: no runs, no tile scatter */
        if (B.sstride == B.seg) B.seg = N;
        if (C.sstride == C.seg) C.seg = N;
        const tasks t = plan(M, N, K, nthreads);
        const int ntask = t.npanel * t.nrange;
        if (t.nth == 1) { /* no parallel region at all: its set-up is not free */
            for (int i = 0; i < ntask; i++)
                mm_task(transA, M, N, K, A, lda, B, C, add, bias, &t, i);
            return;
        }
#pragma omp parallel for schedule(static) num_threads(t.nth)
        for (int i = 0; i < ntask; i++) mm_task(transA, M, N, K, A, lda, B, C, add, bias, &t, i);
        return;
    }
#endif
    (void)nthreads;
    mm_gemm(transA, M, N, K, A, lda, B, C, add, bias);
}

/* asum[i] += the sum of row i of A (segmented along K), in 16 lanes a segment, the
 * segments in double. */
static void row_sums(int M, int K, tgk_csmat A, double *asum) {
    for (int i = 0; i < M; i++)
        for (int64_t p0 = 0, s = 0; p0 < K; p0 += A.seg, s++) {
            const int64_t len = K - p0 < A.seg ? K - p0 : A.seg;
            const tg_real *a = A.p + i * A.ld + s * A.sstride;
            tg_real lane[16] = {0};
            int64_t p = 0;
            for (; p + 16 <= len; p += 16)
                for (int l = 0; l < 16; l++) lane[l] += a[p + l];
            for (int l = 0; p < len; p++, l++) lane[l] += a[p];
            double part = 0;
            for (int l = 0; l < 16; l++) part += lane[l];
            asum[i] += part;
        }
}

void tgk_conv_mm_nt(int M, int N, int K, tgk_csmat A, tgk_csmat B, tg_real *C, int64_t ldc,
                    double *asum, int nthreads) {
    if (M <= 0 || K <= 0) return;
    if (N <= 0) {
        if (asum) row_sums(M, K, A, asum);
        return;
    }
#ifdef TGK_HAVE_AVX512
    if (tgk_conv_fast()) {
        const tasks t = plan(M, N, K, nthreads);
        if (N <= DOT_MAX && K >= 64 * N) { /* few long rows: dot products, rows split */
            const int nt = t.nth < M ? t.nth : M;
            if (nt <= 1) {
                mm_nt_dot(0, M, N, K, A, B, C, ldc, asum);
                return;
            }
#pragma omp parallel for schedule(static) num_threads(nt)
            for (int r = 0; r < nt; r++)
                mm_nt_dot((int)((int64_t)M * r / nt), (int)((int64_t)M * (r + 1) / nt), N, K, A, B,
                          C, ldc, asum);
            return;
        }
        if (asum) row_sums(M, K, A, asum);
        const int ntask = t.npanel * t.nrange;
        if (t.nth == 1) {
            for (int i = 0; i < ntask; i++) mm_nt_task(M, N, K, A, B, C, ldc, &t, i);
            return;
        }
#pragma omp parallel for schedule(static) num_threads(t.nth)
        for (int i = 0; i < ntask; i++) mm_nt_task(M, N, K, A, B, C, ldc, &t, i);
        return;
    }
#endif
    (void)nthreads;
    if (asum) row_sums(M, K, A, asum);
    mm_nt_gemm(M, N, K, A, B, C, ldc);
}
