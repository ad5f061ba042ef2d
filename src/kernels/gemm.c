/* src/kernels/gemm.c: C = alpha * op(A) @ op(B) + beta * C, row-major.
 *
 * tgk_gemm hands the product to CBLAS when the library was built with it and BLAS is
 * enabled (transposes are passed as CblasTrans, nothing is copied), except on CPUs
 * where the portable kernel below is the faster one (AVX-512, with an OpenBLAS that
 * only has AVX2 kernels for the CPU: see portable_is_faster). OpenBLAS itself runs on
 * one thread; large products are cut across OpenMP threads here. tgk_gemm_portable is
 * a cache-blocked kernel in the GotoBLAS style:
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
 * vectorises; on x86 a second copy is compiled for AVX2+FMA, and a third kind (2 x 3
 * tiles at once, in 512-bit registers, with packing in 512-bit vectors) for AVX-512F,
 * chosen at run time, so the default build flags (no -march) still get the machine's
 * vector units. The AVX2 and AVX-512 kernels give the same bits.
 *
 * Packing buffers are fixed-size, 64-byte aligned and thread-local: no allocation per
 * call, and any number of threads may multiply at once. */
#include <math.h>
#include <stdatomic.h>
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
/* ... and products with a side shorter than this (the 10-wide products of a classifier
 * layer, or a depth of 10) too: split, each thread would get a sliver of work that
 * costs more to pack and to hand out than to compute. */
#define PAR_MIN_SIDE 32

/* Whether a product is worth threads (a property of the shape alone). */
static inline bool worth_threads(int M, int N, int K) {
    return (double)M * N * K >= (double)PAR_MIN_FLOPS && M >= PAR_MIN_SIDE && N >= PAR_MIN_SIDE &&
           K >= PAR_MIN_SIDE;
}

/* Threads for the portable kernel, as set by tg_set_num_threads (through
 * tgk_blas_set_threads); 0 until then: OpenMP's default. */
static atomic_int num_threads = 0; /* atomic: the adaptive count changes it mid-run */

/* The count for a product worth threads: the setting, or OpenMP's default. */
static inline int threads_setting(void) {
    const int n = atomic_load_explicit(&num_threads, memory_order_relaxed);
#ifdef _OPENMP
    return n > 0 ? n : omp_get_max_threads();
#else
    return n > 0 ? n : 1;
#endif
}

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

/* Panels of B packed at once, at least (the wide kernels below use up to 3 a call). */
#define BGROUP 3

/* Per thread: the packed A block and a group of packed B panels (about 178 KiB). */
static _Thread_local _Alignas(64) tg_real pack_a_buf[MC * KC + MC / MR * APAD];
static _Thread_local _Alignas(64) tg_real pack_b_buf[BGROUP * KC * NR];

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
 * Out of line, so that nothing around the micro-kernel disturbs its registers.
 * On a CPU with AVX-512F a third kind of micro-kernel is used as well (wide): it
 * computes up to 2 x 3 tiles at once (two slivers of A by three panels of B, in the
 * packed layout above: a panel row of NR elements is one 512-bit vector in either
 * precision), keeping 24 accumulators in registers, so each element of a B panel or of
 * an A sliver is loaded once per several multiply-adds. Each element of C still sees
 * the same sequence of operations (sum over p in order from 0, one rounding per fused
 * multiply-add, then the same update), so the results are the same bits as the AVX2
 * kernel's. */
typedef void wide_fn(int kc, const tg_real *restrict ap, size_t sa, const tg_real *restrict bp,
                     size_t sb, tg_real *restrict t);
#define WIDE_S 2 /* slivers of A per wide call, at most */
#define WIDE_P 3 /* panels of B per wide call, at most */
typedef struct kernels kernels;
struct kernels {
    void (*block)(const gemm_args *g, int blk, const kernels *k);
    void (*micro)(int kc, const tg_real *restrict ap, const tg_real *restrict bp,
                  tg_real *restrict t);
    void (*update)(const tg_real *restrict t, tg_real *restrict c, int ldc, int mr, int nr,
                   tg_real alpha, tg_real beta, int mode);
    wide_fn *wide[WIDE_S][WIDE_P]; /* [slivers - 1][panels - 1], or NULL */
};

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

#include "vec512.h"

/* S slivers (ap, ap + sa) by P panels (bp, bp + sb, ...): tile (s, j) goes to
 * t + (s*P + j) * MR*NR, row r at + r*NR. */
TGK_AVX512 TGK_INLINE void wide_body(int kc, const tg_real *restrict ap, size_t sa,
                                     const tg_real *restrict bp, size_t sb, tg_real *restrict t,
                                     int S, int P) {
    vec acc[WIDE_S * MR][WIDE_P];
#pragma GCC unroll 8
    for (int i = 0; i < S * MR; i++) {
#pragma GCC unroll 3
        for (int j = 0; j < P; j++) acc[i][j] = V_ZERO();
    }
    for (int p = 0; p < kc; p++) {
        vec b[WIDE_P];
#pragma GCC unroll 3
        for (int j = 0; j < P; j++) b[j] = V_LOAD(bp + j * sb + (size_t)p * NR);
#pragma GCC unroll 2
        for (int s = 0; s < S; s++) {
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++) {
                const vec a = V_SET1(ap[s * sa + (size_t)p * MR + r]);
#pragma GCC unroll 3
                for (int j = 0; j < P; j++) acc[s * MR + r][j] = V_FMA(a, b[j], acc[s * MR + r][j]);
            }
        }
    }
#pragma GCC unroll 2
    for (int s = 0; s < S; s++)
#pragma GCC unroll 3
        for (int j = 0; j < P; j++)
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                V_STORE(t + (s * P + j) * (MR * NR) + r * NR, acc[s * MR + r][j]);
}

#define WIDE(S, P)                                                                                 \
    TGK_AVX512 TGK_NOINLINE void wide_##S##x##P(int kc, const tg_real *restrict ap, size_t sa,     \
                                                const tg_real *restrict bp, size_t sb,             \
                                                tg_real *restrict t) {                             \
        wide_body(kc, ap, sa, bp, sb, t, S, P);                                                    \
    }
WIDE(1, 1)
WIDE(1, 2)
WIDE(1, 3)
WIDE(2, 1)
WIDE(2, 2)
WIDE(2, 3)
TGK_AVX512 TGK_NOINLINE void update_avx512(const tg_real *restrict t, tg_real *restrict c, int ldc,
                                           int mr, int nr, tg_real alpha, tg_real beta, int mode) {
    update_body(t, c, ldc, mr, nr, alpha, beta, mode);
}
#endif

/* The wide kernels over mc rows (packed at ap, slivers sa apart) and ncg columns (packed
 * at bp, panels sb apart) of C (at c): up to WIDE_S slivers by WIDE_P panels a call. */
static void wide_tiles(const gemm_args *g, const kernels *k, int kc, int mode, const tg_real *ap,
                       size_t sa, const tg_real *bp, size_t sb, int mc, int ncg, tg_real *c,
                       tg_real *wtile) {
    const int nsl = (mc + MR - 1) / MR, npa = (ncg + NR - 1) / NR;
    for (int si = 0; si < nsl; si += WIDE_S) {
        const int S = nsl - si < WIDE_S ? nsl - si : WIDE_S;
        for (int pj = 0; pj < npa; pj += WIDE_P) {
            const int P = npa - pj < WIDE_P ? npa - pj : WIDE_P;
            k->wide[S - 1][P - 1](kc, ap + si * sa, sa, bp + pj * sb, sb, wtile);
            for (int s = 0; s < S; s++) {
                const int ir = (si + s) * MR, mr = mc - ir < MR ? mc - ir : MR;
                for (int j = 0; j < P; j++) {
                    const int jr = (pj + j) * NR, nr = ncg - jr < NR ? ncg - jr : NR;
                    k->update(wtile + (s * P + j) * (MR * NR), c + (size_t)ir * g->ldc + jr, g->ldc,
                              mr, nr, g->alpha, g->beta, mode);
                }
            }
        }
    }
}

#if defined(TGK_X86_AVX2) && !TG_PRECISION_DOUBLE
/* The transposed case of pack_b for a full panel (nr == NR == 16 floats), 16 depths at
 * a time: 16 rows of B (the panel's columns) are loaded, transposed in registers and
 * stored as 16 rows of the panel; the depths left over go one by one. */
TGK_AVX512 TGK_NOINLINE void pack_b_t16(const tg_real *restrict b, size_t ldb, int kc,
                                        tg_real *restrict bp) {
    int p = 0;
    for (; p + 16 <= kc; p += 16) {
        __m512 r[16], t[16], u[16];
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) r[c] = _mm512_loadu_ps(b + c * ldb + p);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) { /* pairs of rows interleaved within 128-bit lanes */
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) { /* u[4i+j], lane k: rows 4i..4i+3 of depth 4k+j */
            u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
            u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
            u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
            u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
        }
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) { /* depth 4k+j gathers lane k of u[j], u[4+j], ... */
            const __m512 x0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44);
            const __m512 x1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xEE);
            const __m512 y0 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
            const __m512 y1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xEE);
            _mm512_store_ps(bp + (size_t)(p + j) * NR, _mm512_shuffle_f32x4(x0, y0, 0x88));
            _mm512_store_ps(bp + (size_t)(p + 4 + j) * NR, _mm512_shuffle_f32x4(x0, y0, 0xDD));
            _mm512_store_ps(bp + (size_t)(p + 8 + j) * NR, _mm512_shuffle_f32x4(x1, y1, 0x88));
            _mm512_store_ps(bp + (size_t)(p + 12 + j) * NR, _mm512_shuffle_f32x4(x1, y1, 0xDD));
        }
    }
    for (; p < kc; p++)
        for (int c = 0; c < 16; c++) bp[(size_t)p * NR + c] = b[c * ldb + p];
}
#define HAVE_PACK_B_T16 1
#endif

/* One mc x nc block of C, the whole depth K. Per KC slice: pack the A block once;
 * then, a group of B panels at a time (as many as fill BGROUP KC x NR panels' room:
 * BGROUP when the slice is deep, more when it is shallow), pack the group and run the
 * micro-kernel over it, sliver by sliver, so C is walked along its rows. Compiled
 * twice: plainly, and for AVX-512 (the wide kernels, and packing in 512-bit vectors). */
TGK_INLINE void block_body(const gemm_args *g, int blk, const kernels *k, bool wide) {
    const int i0 = (blk / g->nblk_n) * g->mc, j0 = (blk % g->nblk_n) * g->nc;
    const int mc = g->M - i0 < g->mc ? g->M - i0 : g->mc;
    const int nc = g->N - j0 < g->nc ? g->N - j0 : g->nc;
    tg_real *restrict ap = pack_a_buf, *restrict bp = pack_b_buf;
    _Alignas(64) tg_real tile[MR * NR];
    _Alignas(64) tg_real wtile[WIDE_S * WIDE_P * MR * NR];
    for (int p0 = 0; p0 < g->K; p0 += KC) {
        const int kc = g->K - p0 < KC ? g->K - p0 : KC;
        const int mode = p0 > 0 ? C_ADD : g->beta == 0 ? C_SET : C_SCALE_ADD;
        const size_t sa = (size_t)kc * MR + APAD, sb = (size_t)kc * NR;
        const int group = NR * BGROUP * (KC / kc); /* columns of B packed at once */
        pack_a(g, i0, mc, p0, kc, ap);
        for (int jc = 0; jc < nc; jc += group) {
            const int ncg = nc - jc < group ? nc - jc : group;
            for (int jr = 0; jr < ncg; jr += NR) {
                const int nr = ncg - jr < NR ? ncg - jr : NR;
#ifdef HAVE_PACK_B_T16
                if (wide && g->tb && nr == NR) {
                    pack_b_t16(g->B + (size_t)(j0 + jc + jr) * g->ldb + p0, (size_t)g->ldb, kc,
                               bp + jr / NR * sb);
                    continue;
                }
#endif
                pack_b(g, p0, kc, j0 + jc + jr, nr, bp + jr / NR * sb);
            }
            if (wide) {
                wide_tiles(g, k, kc, mode, ap, sa, bp, sb, mc, ncg,
                           g->C + (size_t)i0 * g->ldc + j0 + jc, wtile);
                continue;
            }
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

TGK_NOINLINE void block_plain(const gemm_args *g, int blk, const kernels *k) {
    block_body(g, blk, k, false);
}
#ifdef TGK_X86_AVX2
TGK_AVX512 TGK_NOINLINE void block_avx512(const gemm_args *g, int blk, const kernels *k) {
    block_body(g, blk, k, true);
}
#endif

static kernels pick_kernels(void) {
#ifdef TGK_X86_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return (kernels){block_avx512,
                         micro_avx2,
                         update_avx512,
                         {{wide_1x1, wide_1x2, wide_1x3}, {wide_2x1, wide_2x2, wide_2x3}}};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (kernels){block_plain, micro_avx2, update_avx2, {{NULL}}};
#endif
    return (kernels){block_plain, micro_generic, update_generic, {{NULL}}};
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
    if (worth_threads(M, N, K) && !omp_in_parallel())
        nth = threads_setting();
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
    /* Blocks are handed out one at a time: a thread the system preempts (other programs
     * on the machine) holds up the product by one block, not by its whole share. */
    if (nth > 1 && nblk > 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth < nblk ? nth : nblk)
        for (int b = 0; b < nblk; b++) k.block(&g, b, &k);
        return;
    }
#endif
    for (int b = 0; b < nblk; b++) k.block(&g, b, &k);
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

/* Sets the thread count of both kernels. OpenBLAS itself always runs on one thread:
 * tgk_gemm splits a large product across OpenMP threads (each calls BLAS on its own
 * part of C), so there is one pool of threads, not OpenMP's and OpenBLAS's fighting
 * for the cores, and small products (the 10-wide ones of a classifier) never pay for
 * waking threads. Only OpenBLAS has a thread setting (its cblas.h includes
 * openblas_config.h, which defines OPENBLAS_VERSION); another CBLAS keeps its own. */
void tgk_blas_set_threads(int n) {
    atomic_store_explicit(&num_threads, n > 0 ? n : 0, memory_order_relaxed); /* 0: OpenMP's */
}

#if defined(TG_HAVE_BLAS)
/* Whether the portable kernel is the faster one here: on a CPU with AVX-512F, when
 * OpenBLAS runs kernels written for AVX2 (its core is neither SkylakeX, Cooperlake
 * nor SapphireRapids, e.g. 0.3.21 on AMD Zen 4 and 5, which it treats as Haswell), the
 * portable kernel's 512-bit micro-kernel does 1.4 to 1.7 times the work per second on
 * the shapes of an MLP (bench/matmul). Decided once per process, from the CPU and the
 * library alone: the same inputs always take the same kernel. */
static bool portable_is_faster(void) {
#if defined(TGK_X86_AVX2) && defined(OPENBLAS_VERSION)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) return false;
    const char *core = openblas_get_corename();
    static const char *const wide[] = {"skylakex", "cooperlake", "sapphirerapids"};
    for (size_t i = 0; core && i < sizeof wide / sizeof wide[0]; i++) {
        size_t j = 0;
        while (wide[i][j] && core[j] && (core[j] | 0x20) == wide[i][j]) j++;
        if (!wide[i][j] && !core[j]) return false;
    }
    return true;
#else
    return false;
#endif
}

/* 0: undecided; 1: BLAS; 2: portable. Atomic: graphs may multiply on several threads
 * (a race only ever writes the same value). */
static _Atomic int blas_choice = 0;

static void blas_call(bool transA, bool transB, int M, int N, int K, tg_real alpha,
                      const tg_real *A, int lda, const tg_real *B, int ldb, tg_real beta,
                      tg_real *C, int ldc) {
    const enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
#if TG_PRECISION_DOUBLE
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

/* C through BLAS, in column (or row) strips shared out between threads when large.
 * The strips are fixed by the shape alone (whole 16-column units, one strip per
 * STRIP_MACS multiply-adds, at most MAX_STRIPS), never by the thread count, and BLAS
 * runs single-threaded on each: an element of C is then computed by the same call on
 * the same operands whatever the thread count, so results agree across counts. */
#define STRIP_MACS (1L << 22)
#define MAX_STRIPS 16
static void blas_gemm(bool transA, bool transB, int M, int N, int K, tg_real alpha,
                      const tg_real *A, int lda, const tg_real *B, int ldb, tg_real beta,
                      tg_real *C, int ldc) {
    const bool by_cols = N >= M; /* the longer side is cut */
    const int len = by_cols ? N : M, units = (len + 15) / 16;
    int strips = 1;
    if (worth_threads(M, N, K)) {
        const double s = (double)M * N * K / (double)STRIP_MACS;
        strips = s >= MAX_STRIPS ? MAX_STRIPS : s < 1 ? 1 : (int)s;
        if (strips > units) strips = units;
    }
    if (strips <= 1) {
        blas_call(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int nth = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) nth = threads_setting();
#endif
    if (nth > strips) nth = strips;
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int t = 0; t < strips; t++) {
        const int lo = units * t / strips * 16, hi = units * (t + 1) / strips * 16;
        const int n = (hi < len ? hi : len) - lo;
        if (by_cols) /* op(B)[:, lo..]: columns of B, or rows when transposed */
            blas_call(transA, transB, M, n, K, alpha, A, lda,
                      B + (transB ? (size_t)lo * ldb : (size_t)lo), ldb, beta, C + lo, ldc);
        else /* op(A)[lo.., :] */
            blas_call(transA, transB, n, N, K, alpha, A + (transA ? (size_t)lo : (size_t)lo * lda),
                      lda, B, ldb, beta, C + (size_t)lo * ldc, ldc);
    }
}
#endif

void tgk_gemm(bool transA, bool transB, int M, int N, int K, tg_real alpha, const tg_real *A,
              int lda, const tg_real *B, int ldb, tg_real beta, tg_real *C, int ldc) {
#ifdef TG_HAVE_BLAS
    /* Empty products go to the portable kernel: CBLAS rejects a leading dimension of 0,
     * which an empty operand may well have. */
    if (blas_on && M > 0 && N > 0 && K > 0) {
        if (blas_choice == 0) {
#ifdef OPENBLAS_VERSION
            openblas_set_num_threads(1);
#endif
            blas_choice = portable_is_faster() ? 2 : 1;
        }
        if (blas_choice == 1) {
            blas_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            return;
        }
    }
#endif
    tgk_gemm_portable(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void tgk_gemm_choose(int choice) {
#ifdef TG_HAVE_BLAS
    if (choice == 0 || choice == 1 || choice == 2) {
#ifdef OPENBLAS_VERSION
        openblas_set_num_threads(1);
#endif
        blas_choice = choice;
    }
#else
    (void)choice;
#endif
}

bool tgk_gemm_uses_blas(void) {
#ifdef TG_HAVE_BLAS
    if (!blas_on) return false;
    if (blas_choice == 0) {
#ifdef OPENBLAS_VERSION
        openblas_set_num_threads(1);
#endif
        blas_choice = portable_is_faster() ? 2 : 1;
    }
    return blas_choice == 1;
#else
    return false;
#endif
}
