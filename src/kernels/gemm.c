/* src/kernels/gemm.c: C = alpha * op(A) @ op(B) + beta * C, row-major.
 *
 * tgk_gemm hands the product to CBLAS when the library was built with it and BLAS is
 * enabled (transposes are passed as CblasTrans, nothing is copied). tgk_gemm_portable
 * is a cache-blocked kernel in the GotoBLAS style:
 *
 *   C is cut into blocks of up to MC x NC; each block is computed by one thread, whole.
 *   For each KC-deep slice of K (in ascending order), the block's rows of op(A) are
 *   packed into slivers of MR rows, and its columns of op(B), a group at a time, into
 *   panels of NR columns (zero-padded at the edges, so every tile runs the same
 *   full-size micro-kernel); then every MR x NR tile of C is computed in registers
 *   and added to C.
 *
 * Every element of C therefore sees the same sequence of operations whatever the
 * block sizes, the tile it falls in or the number of threads: results are
 * bit-identical across thread counts. The micro-kernel is plain C that gcc -O3
 * vectorises; on x86 a second copy is compiled for AVX2+FMA and chosen at run time,
 * so the default build flags (no -march) still get the machine's vector units.
 *
 * Packing buffers are fixed-size, 64-byte aligned and thread-local: no allocation per
 * call, and any number of threads may multiply at once. */
#include <math.h>
#include <stddef.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef TG_HAVE_BLAS
#include <cblas.h>
#endif

#include "gemm.h"

/* No contraction of a*b+c behind our back (clang's default): an element must be
 * computed by the same operations in every copy of the code, full tile or edge. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- block sizes -------------------------------------------------------------------
 * MR x NR is the register tile: 4 rows by two 256-bit vectors, 8 accumulators that
 * cover the latency of two FMA pipes and leave registers for the operands (a 6-row
 * tile spills with gcc). A B panel (KC x NR) stays in L1 while it sweeps the packed
 * A block (MC x KC) in L2. NC only sets how C is split between threads. */
#define MR 4
#define NR (64 / (int)sizeof(tg_real))   /* 16 floats, 8 doubles */
#define KC (1024 / (int)sizeof(tg_real)) /* 256 floats, 128 doubles */
#define MC (32 * MR)
#define NC (64 * NR)

/* Products with fewer multiply-adds than this stay on the calling thread. */
#define PAR_MIN_FLOPS (1L << 19)

/* Threads for the portable kernel, as set by tg_set_num_threads (through
 * tgk_blas_set_threads); 0 until then: OpenMP's default. */
static int num_threads = 0;

#if defined(__GNUC__)
#define TGK_INLINE   static inline __attribute__((always_inline))
#define TGK_NOINLINE static __attribute__((noinline))
#else
#define TGK_INLINE   static inline
#define TGK_NOINLINE static
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define TGK_X86_AVX2 1
#endif

/* A fused multiply-add where the hardware has one: the generic copy uses it when the
 * compiler says fma is fast (aarch64, or a build with -mfma); the AVX2 copy always.
 * (In ISO C mode gcc does not contract a*b+c by itself.) */
#if TG_PRECISION_DOUBLE
#define FMA(a, b, c) fma((a), (b), (c))
#ifdef FP_FAST_FMA
#define GENERIC_FMA true
#endif
#else
#define FMA(a, b, c) fmaf((a), (b), (c))
#ifdef FP_FAST_FMAF
#define GENERIC_FMA true
#endif
#endif
#ifndef GENERIC_FMA
#define GENERIC_FMA false
#endif

/* Slivers of packed A lie kc*MR + APAD elements apart: a cache line of padding keeps
 * them from all mapping to the same cache sets (kc*MR elements are 4 KiB). */
#define APAD (64 / (int)sizeof(tg_real))

/* Per thread: the packed A block and one packed B panel (about 146 KiB in all). */
static _Thread_local _Alignas(64) tg_real pack_a_buf[MC * KC + MC / MR * APAD];
static _Thread_local _Alignas(64) tg_real pack_b_buf[KC * NR];

typedef struct gemm_args {
    const tg_real *A, *B;
    tg_real *C;
    int M, N, K, lda, ldb, ldc;
    tg_real alpha, beta;
    bool ta, tb;
    int mc, nc; /* block sizes in use (multiples of MR and NR) */
    int nblk_n; /* blocks along N */
} gemm_args;

/* ---- packing ---------------------------------------------------------------------- */

/* Rows i0..i0+mc-1 and depths p0..p0+kc-1 of op(A) into slivers of MR rows: the
 * sliver of rows s..s+MR-1 holds op(A)[i0+s+r][p0+p] at ap[s/MR*ss + p*MR + r], zero
 * beyond row mc, where ss = kc*MR + APAD. A is read along its rows either way (a
 * transposed A one row of depth at a time: walking it sliver by sliver would stride by
 * lda, and a power-of-two lda thrashes the cache). Inner loops have constant length:
 * gcc turns a variable-length copy into a call to memmove. */
TGK_INLINE void pack_a(const gemm_args *g, int i0, int mc, int p0, int kc, tg_real *restrict ap) {
    const size_t lda = (size_t)g->lda, ss = (size_t)kc * MR + APAD;
    const int full = mc - mc % MR;
    if (!g->ta) { /* op(A)[i][p] = A[i*lda + p]: MR rows side by side */
        for (int s = 0; s < mc; s += MR) {
            const tg_real *restrict a = g->A + (size_t)(i0 + s) * lda + p0;
            tg_real *restrict d = ap + s / MR * ss;
            if (s < full) {
                for (int p = 0; p < kc; p++) {
#pragma GCC unroll 4
                    for (int r = 0; r < MR; r++) d[p * MR + r] = a[r * lda + p];
                }
            } else {
                for (int p = 0; p < kc; p++)
                    for (int r = 0; r < MR; r++) d[p * MR + r] = s + r < mc ? a[r * lda + p] : 0;
            }
        }
    } else { /* op(A)[i][p] = A[p*lda + i]: a row of A per depth, cut into slivers */
        for (int p = 0; p < kc; p++) {
            const tg_real *restrict a = g->A + (size_t)(p0 + p) * lda + i0;
            tg_real *restrict d = ap + p * MR;
            for (int s = 0; s < full; s += MR) {
#pragma GCC unroll 4
                for (int r = 0; r < MR; r++) d[s / MR * ss + r] = a[s + r];
            }
            if (full < mc)
                for (int r = 0; r < MR; r++)
                    d[full / MR * ss + r] = full + r < mc ? a[full + r] : 0;
        }
    }
}

/* Depths p0..p0+kc-1 and columns j0..j0+nr-1 (nr <= NR) of op(B) into one panel:
 * bp[p*NR + c] = op(B)[p0+p][j0+c], zero beyond column nr. */
TGK_INLINE void pack_b(const gemm_args *g, int p0, int kc, int j0, int nr, tg_real *restrict bp) {
    const size_t ldb = (size_t)g->ldb;
    if (!g->tb) { /* op(B)[p][j] = B[p*ldb + j]: a row segment per depth */
        const tg_real *restrict b = g->B + (size_t)p0 * ldb + j0;
        if (nr == NR) {
            for (int p = 0; p < kc; p++) {
#pragma GCC unroll 16
                for (int c = 0; c < NR; c++) bp[p * NR + c] = b[p * ldb + c];
            }
        } else {
            for (int p = 0; p < kc; p++)
                for (int c = 0; c < NR; c++) bp[p * NR + c] = c < nr ? b[p * ldb + c] : 0;
        }
    } else { /* op(B)[p][j] = B[j*ldb + p]: a column of the panel per row of B */
        const tg_real *restrict b = g->B + (size_t)j0 * ldb + p0;
        for (int c = 0; c < nr; c++)
            for (int p = 0; p < kc; p++) bp[p * NR + c] = b[c * ldb + p];
        if (nr < NR)
            for (int p = 0; p < kc; p++)
                for (int c = nr; c < NR; c++) bp[p * NR + c] = 0;
    }
}

/* ---- the micro-kernel ---------------------------------------------------------------
 * t = sum over p of ap[p][:] (outer) bp[p][:], an MR x NR tile. The accumulators are
 * only ever indexed by constants (after unrolling), so gcc keeps them in vector
 * registers, as long as nothing else in the function uses them: C is updated from t
 * by a separate function. */
TGK_INLINE void micro_body(int kc, const tg_real *restrict ap, const tg_real *restrict bp,
                           tg_real *restrict t, bool use_fma) {
    tg_real acc[MR][NR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++) {
#pragma GCC unroll 16
        for (int j = 0; j < NR; j++) acc[i][j] = 0;
    }
    for (int p = 0; p < kc; p++) {
        const tg_real *restrict b = bp + p * NR;
        const tg_real *restrict a = ap + p * MR;
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++) {
            const tg_real ai = a[i];
#pragma GCC unroll 16
            for (int j = 0; j < NR; j++)
                acc[i][j] = use_fma ? FMA(ai, b[j], acc[i][j]) : acc[i][j] + ai * b[j];
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++) {
#pragma GCC unroll 16
        for (int j = 0; j < NR; j++) t[i * NR + j] = acc[i][j];
    }
}

/* How a tile goes into C. */
enum {
    C_SET,       /* C = alpha*t          (first K slice, beta == 0: C is not read) */
    C_SCALE_ADD, /* C = alpha*t + beta*C (first K slice) */
    C_ADD,       /* C += alpha*t         (later K slices) */
};

/* The mr x nr corner of C from the tile t. */
TGK_INLINE void update_body(const tg_real *restrict t, tg_real *restrict c, int ldc, int mr, int nr,
                            tg_real alpha, tg_real beta, int mode) {
    if (mr == MR && nr == NR) {
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++, c += ldc, t += NR) {
            if (mode == C_ADD)
                for (int j = 0; j < NR; j++) c[j] += alpha * t[j];
            else if (mode == C_SET)
                for (int j = 0; j < NR; j++) c[j] = alpha * t[j];
            else
                for (int j = 0; j < NR; j++) c[j] = alpha * t[j] + beta * c[j];
        }
        return;
    }
    for (int i = 0; i < mr; i++, c += ldc, t += NR) {
        if (mode == C_ADD)
            for (int j = 0; j < nr; j++) c[j] += alpha * t[j];
        else if (mode == C_SET)
            for (int j = 0; j < nr; j++) c[j] = alpha * t[j];
        else
            for (int j = 0; j < nr; j++) c[j] = alpha * t[j] + beta * c[j];
    }
}

/* Two compiled copies of each: plain, and (on x86) AVX2+FMA, chosen once at run time.
 * Out of line, so that nothing around the micro-kernel disturbs its registers. */
typedef struct kernels {
    void (*micro)(int kc, const tg_real *restrict ap, const tg_real *restrict bp,
                  tg_real *restrict t);
    void (*update)(const tg_real *restrict t, tg_real *restrict c, int ldc, int mr, int nr,
                   tg_real alpha, tg_real beta, int mode);
} kernels;

TGK_NOINLINE void micro_generic(int kc, const tg_real *restrict ap, const tg_real *restrict bp,
                                tg_real *restrict t) {
    micro_body(kc, ap, bp, t, GENERIC_FMA);
}
TGK_NOINLINE void update_generic(const tg_real *restrict t, tg_real *restrict c, int ldc, int mr,
                                 int nr, tg_real alpha, tg_real beta, int mode) {
    update_body(t, c, ldc, mr, nr, alpha, beta, mode);
}

#ifdef TGK_X86_AVX2
#define TGK_AVX2 __attribute__((target("avx2,fma")))
TGK_AVX2 TGK_NOINLINE void micro_avx2(int kc, const tg_real *restrict ap,
                                      const tg_real *restrict bp, tg_real *restrict t) {
    micro_body(kc, ap, bp, t, true);
}
TGK_AVX2 TGK_NOINLINE void update_avx2(const tg_real *restrict t, tg_real *restrict c, int ldc,
                                       int mr, int nr, tg_real alpha, tg_real beta, int mode) {
    update_body(t, c, ldc, mr, nr, alpha, beta, mode);
}
#endif

static kernels pick_kernels(void) {
#ifdef TGK_X86_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (kernels){micro_avx2, update_avx2};
#endif
    return (kernels){micro_generic, update_generic};
}

/* One mc x nc block of C, the whole depth K. Per KC slice: pack the A block once;
 * then, a group of B panels at a time (as many as fill one KC x NR panel's room: one
 * when the slice is deep, many when it is shallow), pack the group and run the
 * micro-kernel over it, sliver by sliver, so C is walked along its rows. */
static void block(const gemm_args *g, int blk, const kernels *k) {
    const int i0 = (blk / g->nblk_n) * g->mc, j0 = (blk % g->nblk_n) * g->nc;
    const int mc = g->M - i0 < g->mc ? g->M - i0 : g->mc;
    const int nc = g->N - j0 < g->nc ? g->N - j0 : g->nc;
    tg_real *restrict ap = pack_a_buf, *restrict bp = pack_b_buf;
    _Alignas(64) tg_real tile[MR * NR];
    for (int p0 = 0; p0 < g->K; p0 += KC) {
        const int kc = g->K - p0 < KC ? g->K - p0 : KC;
        const int mode = p0 > 0 ? C_ADD : g->beta == 0 ? C_SET : C_SCALE_ADD;
        const size_t sa = (size_t)kc * MR + APAD, sb = (size_t)kc * NR;
        const int group = NR * (KC / kc); /* columns of B packed at once */
        pack_a(g, i0, mc, p0, kc, ap);
        for (int jc = 0; jc < nc; jc += group) {
            const int ncg = nc - jc < group ? nc - jc : group;
            for (int jr = 0; jr < ncg; jr += NR)
                pack_b(g, p0, kc, j0 + jc + jr, ncg - jr < NR ? ncg - jr : NR, bp + jr / NR * sb);
            for (int ir = 0; ir < mc; ir += MR) {
                const int mr = mc - ir < MR ? mc - ir : MR;
                tg_real *c = g->C + (size_t)(i0 + ir) * g->ldc + j0 + jc;
                for (int jr = 0; jr < ncg; jr += NR) {
                    k->micro(kc, ap + ir / MR * sa, bp + jr / NR * sb, tile);
                    k->update(tile, c + jr, g->ldc, mr, ncg - jr < NR ? ncg - jr : NR, g->alpha,
                              g->beta, mode);
                }
            }
        }
    }
}

/* C = beta * C (beta == 0: zeros, C not read). */
static void scale_c(int M, int N, tg_real beta, tg_real *C, int ldc) {
    for (int i = 0; i < M; i++) {
        tg_real *c = C + (size_t)i * ldc;
        if (beta == 0)
            for (int j = 0; j < N; j++) c[j] = 0;
        else if (beta != 1)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

void tgk_gemm_portable(bool transA, bool transB, int M, int N, int K, tg_real alpha,
                       const tg_real *A, int lda, const tg_real *B, int ldb, tg_real beta,
                       tg_real *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0) { /* BLAS semantics: A and B are not read */
        scale_c(M, N, beta, C, ldc);
        return;
    }
    gemm_args g = {.A = A,
                   .B = B,
                   .C = C,
                   .M = M,
                   .N = N,
                   .K = K,
                   .lda = lda,
                   .ldb = ldb,
                   .ldc = ldc,
                   .alpha = alpha,
                   .beta = beta,
                   .ta = transA,
                   .tb = transB,
                   .mc = MC,
                   .nc = NC};
    if (g.mc > M) g.mc = (M + MR - 1) / MR * MR;
    if (g.nc > N) g.nc = (N + NR - 1) / NR * NR;
    int nth = 1;
#ifdef _OPENMP
    if ((double)M * N * K >= (double)PAR_MIN_FLOPS && !omp_in_parallel())
        nth = num_threads > 0 ? num_threads : omp_get_max_threads();
#endif
    /* Enough blocks to keep every thread busy: smaller blocks change nothing in the
     * arithmetic of an element, only who computes it. */
    int nbm = (M + g.mc - 1) / g.mc, nbn = (N + g.nc - 1) / g.nc;
    while (nth > 1 && nbm * nbn < 2 * nth && (g.nc > NR || g.mc > MR)) {
        if (g.nc > NR && (g.nc >= g.mc || g.mc <= MR))
            g.nc = (g.nc / 2 + NR - 1) / NR * NR;
        else
            g.mc = (g.mc / 2 + MR - 1) / MR * MR;
        nbm = (M + g.mc - 1) / g.mc;
        nbn = (N + g.nc - 1) / g.nc;
    }
    g.nblk_n = nbn;
    const int nblk = nbm * nbn;
    const kernels k = pick_kernels();
#ifdef _OPENMP
    if (nth > 1 && nblk > 1) {
#pragma omp parallel for schedule(static) num_threads(nth < nblk ? nth : nblk)
        for (int b = 0; b < nblk; b++) block(&g, b, &k);
        return;
    }
#endif
    for (int b = 0; b < nblk; b++) block(&g, b, &k);
}

/* ---- BLAS -------------------------------------------------------------------------- */

#ifdef TG_HAVE_BLAS
static bool blas_on = true;
#else
static bool blas_on = false;
#endif

bool tgk_blas_available(void) {
#ifdef TG_HAVE_BLAS
    return true;
#else
    return false;
#endif
}

bool tgk_blas_enable(bool on) {
    blas_on = on && tgk_blas_available();
    return blas_on;
}

/* Sets the thread count of both kernels. Only OpenBLAS has a thread setting (its
 * cblas.h includes openblas_config.h, which defines OPENBLAS_VERSION); another CBLAS
 * keeps its own. */
void tgk_blas_set_threads(int n) {
    if (n <= 0) return;
    num_threads = n;
#if defined(TG_HAVE_BLAS) && defined(OPENBLAS_VERSION)
    openblas_set_num_threads(n);
#endif
}

void tgk_gemm(bool transA, bool transB, int M, int N, int K, tg_real alpha, const tg_real *A,
              int lda, const tg_real *B, int ldb, tg_real beta, tg_real *C, int ldc) {
#ifdef TG_HAVE_BLAS
    /* Empty products go to the portable kernel: CBLAS rejects a leading dimension of 0,
     * which an empty operand may well have. */
    if (blas_on && M > 0 && N > 0 && K > 0) {
        const enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
        const enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
#if TG_PRECISION_DOUBLE
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
        return;
    }
#endif
    tgk_gemm_portable(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
