/* src/ops/reduce.c: sum, mean, max, min and var over one axis or every axis (TG_ALL).
 *
 * The input is seen as [outer, n, inner] around the reduced axis (TG_ALL: [1, numel,
 * 1]); the output has outer * inner elements, in the same order whether or not keepdim
 * keeps the axis. Two layouts:
 *   rows (inner == 1): an output reduces n contiguous elements. A long row is cut into
 *     chunks of CHUNK elements (a size fixed by the shape, never by the thread count);
 *     the chunks are reduced, in parallel when large, and combined in order.
 *   columns (inner > 1): a task owns COLS (ECOLS for max/min) adjacent outputs and
 *     walks the n rows, adding them into a row of double accumulators (sums take rows
 *     four at a time: ((r0 + r1) + (r2 + r3)), still an order fixed by the shape).
 * Either way every output is computed in an order fixed by the shape alone, so results
 * are bit-identical for any thread count. Sums accumulate in double. Max and min are
 * exact (their order cannot matter) and propagate NaN.
 *
 * Empty reductions: the sum of no elements is 0 and their mean is 0/0 = NaN (as in
 * NumPy and PyTorch); max, min and var of no elements are errors. */
#include <math.h>
#include <stdio.h>

#include "ops.h"

#define CHUNK 8192 /* elements per chunk of a row */
#define LANES 8    /* max, min: interleaved running values in a chunk, vectorised */
#define COLS  4096 /* sums: at most this many outputs per task in the column layout */
#define ECOLS 64   /* max and min: the same */

typedef struct view {
    int64_t outer, n, inner;
} view;

/* Threads for a loop over work elements: several only when it is large. */
static int nthreads(int64_t work) { return work >= TG_PAR_MIN ? tg__threads() : 1; }

/* The view of x around axis ax (-1: every axis). */
static view view_of(const tg_tensor *x, int ax) {
    view v = {1, x->numel, 1};
    if (ax < 0) return v;
    v.n = x->shape[ax];
    for (int i = 0; i < ax; i++) v.outer *= x->shape[i];
    for (int i = ax + 1; i < x->ndim; i++) v.inner *= x->shape[i];
    return v;
}

/* Checks the axis and fills the normalised axis (-1 = every axis), the view and the
 * output shape. False after recording the error. */
static bool setup(tg_graph *g, const char *op, const tg_tensor *a, int axis, bool keepdim, int *ax,
                  view *v, int *yn, int *ys) {
    char buf[TG_SHAPE_STR];
    if (axis == TG_ALL) {
        *ax = -1;
        *yn = keepdim ? a->ndim : 0;
        for (int i = 0; i < *yn; i++) ys[i] = 1;
    } else {
        *ax = tg__axis(axis, a->ndim);
        if (*ax < 0) {
            tg__fail(g, TG_ERR_AXIS, "%s: axis %d out of range for shape %s", op, axis,
                     TG_SHAPE(a, buf));
            return false;
        }
        *yn = 0;
        for (int i = 0; i < a->ndim; i++) {
            if (i != *ax)
                ys[(*yn)++] = a->shape[i];
            else if (keepdim)
                ys[(*yn)++] = 1;
        }
    }
    *v = view_of(a, *ax);
    return true;
}

/* ---- sums ---------------------------------------------------------------------------- */

/* The sum of x[0..n), or of (x - c)^2 when sq, in double: SUM_LANES interleaved partial
 * sums (lane j takes elements j, j + SUM_LANES, ...), combined in a fixed order. With
 * gcc's vector types the lanes are two vectors of 8 doubles, kept in registers: 8 lanes
 * were one chain of dependent adds (about 8 bytes a cycle), below what memory delivers.
 * The scalar code for other compilers does the same operations in the same order. */
#define SUM_LANES 16
#if defined(__GNUC__)
typedef double v8d __attribute__((vector_size(8 * sizeof(double))));
typedef tg_real v8r __attribute__((vector_size(8 * sizeof(tg_real))));
/* dst = the 8 elements at p, as doubles (a macro: a function returning a 64-byte vector
 * has no fixed ABI in the code compiled for older CPUs) */
#define LOAD8(dst, p)                                                                    \
    do {                                                                                 \
        v8r v_;                                                                          \
        memcpy(&v_, (p), sizeof v_);                                                     \
        (dst) = __builtin_convertvector(v_, v8d);                                        \
    } while (0)
#endif

TG_SIMD static double chunk_sum(const tg_real *restrict x, int64_t n, double c, bool sq) {
    double l[SUM_LANES] = {0};
    int64_t i = 0;
#if defined(__GNUC__)
    v8d a0 = {0}, a1 = {0};
    if (sq) {
        const v8d cv = a0 + c;
        for (; i + SUM_LANES <= n; i += SUM_LANES) {
            v8d d0, d1;
            LOAD8(d0, x + i);
            LOAD8(d1, x + i + 8);
            d0 -= cv;
            d1 -= cv;
            a0 += d0 * d0;
            a1 += d1 * d1;
        }
    } else {
        for (; i + SUM_LANES <= n; i += SUM_LANES) {
            v8d v0, v1;
            LOAD8(v0, x + i);
            LOAD8(v1, x + i + 8);
            a0 += v0;
            a1 += v1;
        }
    }
    memcpy(l, &a0, sizeof a0);
    memcpy(l + 8, &a1, sizeof a1);
#else
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int j = 0; j < SUM_LANES; j++) {
            const double d = sq ? x[i + j] - c : x[i + j];
            l[j] += sq ? d * d : d;
        }
#endif
    for (int j = 0; i < n; i++, j++) {
        const double d = sq ? x[i] - c : x[i];
        l[j] += sq ? d * d : d;
    }
    const double h0 = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    const double h1 = ((l[8] + l[9]) + (l[10] + l[11])) + ((l[12] + l[13]) + (l[14] + l[15]));
    return h0 + h1;
}

/* acc[j] += sum over k < n of base[k * stride + j], j < m, rows four at a time (a
 * quarter of the loads and stores of acc): ((r0 + r1) + (r2 + r3)), in double. */
TG_SIMD static void col_sums(const tg_real *restrict base, int64_t n, int64_t stride, int m,
                             double *restrict acc) {
    int64_t k = 0;
    /* eight rows a pass, as two groups of four added in turn: the same sums, bit for
     * bit, as two passes of four, with half the traffic to acc */
    for (; k + 8 <= n; k += 8) {
        const tg_real *r0 = base + k * stride, *r1 = r0 + stride;
        const tg_real *r2 = r1 + stride, *r3 = r2 + stride, *r4 = r3 + stride;
        const tg_real *r5 = r4 + stride, *r6 = r5 + stride, *r7 = r6 + stride;
        for (int j = 0; j < m; j++) {
            const double q0 = ((double)r0[j] + (double)r1[j]) + ((double)r2[j] + (double)r3[j]);
            const double q1 = ((double)r4[j] + (double)r5[j]) + ((double)r6[j] + (double)r7[j]);
            acc[j] = (acc[j] + q0) + q1;
        }
    }
    for (; k + 4 <= n; k += 4) {
        const tg_real *r0 = base + k * stride, *r1 = r0 + stride;
        const tg_real *r2 = r1 + stride, *r3 = r2 + stride;
        for (int j = 0; j < m; j++)
            acc[j] += ((double)r0[j] + (double)r1[j]) + ((double)r2[j] + (double)r3[j]);
    }
    for (; k < n; k++)
        for (int j = 0; j < m; j++) acc[j] += base[k * stride + j];
}

/* out[o, j] = sum over k of x[o, k, j] (of (x[o, k, j] - center[o, j])^2 when center is
 * given), divided by div, into the doubles od or else the reals outr. False if scratch
 * memory could not be had (the graph's error says so). */
static bool sum_kernel(tg_graph *g, const tg_real *x, view v, const double *center, double div,
                       double *od, tg_real *outr) {
    const int nth = nthreads(v.outer * v.n * v.inner);
    const bool sq = center != NULL;
    if (v.inner == 1) {
        const int64_t nch = (v.n + CHUNK - 1) / CHUNK;
        if (nch <= 1) { /* short rows: one task per output */
            TG_PARALLEL_FOR(
                nth, for (int64_t o = 0; o < v.outer; o++) {
                    const double s = chunk_sum(x + o * v.n, v.n, sq ? center[o] : 0, sq) / div;
                    if (od)
                        od[o] = s;
                    else
                        outr[o] = (tg_real)s;
                });
            return true;
        }
        double *part = tg__alloc(g, (size_t)(v.outer * nch) * sizeof *part);
        if (!part) return false;
        TG_PARALLEL_FOR(
            nth, for (int64_t t = 0; t < v.outer * nch; t++) {
                const int64_t o = t / nch, lo = (t % nch) * CHUNK;
                const int64_t len = v.n - lo < CHUNK ? v.n - lo : CHUNK;
                part[t] = chunk_sum(x + o * v.n + lo, len, sq ? center[o] : 0, sq);
            });
        for (int64_t o = 0; o < v.outer; o++) { /* chunks combined in order */
            double s = 0;
            for (int64_t c = 0; c < nch; c++) s += part[o * nch + c];
            if (od)
                od[o] = s / div;
            else
                outr[o] = (tg_real)(s / div);
        }
        return true;
    }
    /* Blocks as wide as COLS allows, so each row is read in one long run (a new run
     * every few KiB defeats the prefetcher), narrower only to give every thread work.
     * The width changes no result: each output still adds its rows in the same order. */
    int64_t bw = v.inner < COLS ? v.inner : COLS;
    if (nth > 1 && v.outer < nth) {
        const int64_t share = (v.inner + nth - 1) / nth;
        if (share < bw) bw = (share + 15) / 16 * 16;
    }
    if (bw < 1) bw = 1; /* an empty inner axis: no task has work */
    const int64_t nb = (v.inner + bw - 1) / bw;
    TG_PARALLEL_FOR(
        nth, for (int64_t t = 0; t < v.outer * nb; t++) {
            const int64_t o = t / nb, j0 = (t % nb) * bw;
            const int m = (int)(v.inner - j0 < bw ? v.inner - j0 : bw);
            double acc[COLS];
            for (int j = 0; j < m; j++) acc[j] = 0;
            const tg_real *base = x + o * v.n * v.inner + j0;
            if (sq) {
                const double *c = center + o * v.inner + j0;
                for (int64_t k = 0; k < v.n; k++)
                    for (int j = 0; j < m; j++) {
                        const double d = base[k * v.inner + j] - c[j];
                        acc[j] += d * d;
                    }
            } else {
                col_sums(base, v.n, v.inner, m, acc);
            }
            for (int j = 0; j < m; j++) {
                if (od)
                    od[o * v.inner + j0 + j] = acc[j] / div;
                else
                    outr[o * v.inner + j0 + j] = (tg_real)(acc[j] / div);
            }
        });
    return true;
}

/* dx[o, k, j] += dy[o, j] * s, or with var's rule dy[o, j] * s * (x[o, k, j] - mu[o, j])
 * when mu is given. Tasks own disjoint blocks of dx. */
static void spread(const tg_real *dy, tg_real *dx, view v, double s, const tg_real *x,
                   const double *mu) {
    if (v.outer * v.n * v.inner == 0) return;
    const int64_t rows = v.inner >= CHUNK ? 1 : CHUNK / v.inner; /* rows of dx per task */
    const int64_t nk = (v.n + rows - 1) / rows;
    const int nth = nthreads(v.outer * v.n * v.inner);
    TG_PARALLEL_FOR(
        nth, for (int64_t t = 0; t < v.outer * nk; t++) {
            const int64_t o = t / nk, k0 = (t % nk) * rows;
            const int64_t k1 = v.n - k0 < rows ? v.n : k0 + rows;
            const int64_t off = (o * v.n + k0) * v.inner, len = (k1 - k0) * v.inner;
            tg_real *restrict d = dx + off;
            if (v.inner == 1 && !mu) {
                const tg_real gv = (tg_real)(dy[o] * s);
                for (int64_t i = 0; i < len; i++) d[i] += gv;
            } else if (v.inner == 1) {
                const double gv = dy[o] * s, m = mu[o];
                const tg_real *restrict xr = x + off;
                for (int64_t i = 0; i < len; i++) d[i] += (tg_real)(gv * (xr[i] - m));
            } else {
                for (int64_t k = k0; k < k1; k++) {
                    tg_real *restrict r = dx + (o * v.n + k) * v.inner;
                    const tg_real *restrict gy = dy + o * v.inner;
                    if (!mu) {
                        const tg_real sr = (tg_real)s;
                        for (int64_t j = 0; j < v.inner; j++) r[j] += gy[j] * sr;
                    } else {
                        const tg_real *restrict xr = x + (o * v.n + k) * v.inner;
                        const double *restrict m = mu + o * v.inner;
                        for (int64_t j = 0; j < v.inner; j++)
                            r[j] += (tg_real)(gy[j] * s * (xr[j] - m[j]));
                    }
                }
            }
        });
}

/* ---- max and min ------------------------------------------------------------------ */

/* The max (mx) or min of x[0..n), n >= 1; NaN if an element is NaN. LANES running
 * extremes side by side, so the loop vectorises (the result is exact either way). */
static tg_real chunk_ext(const tg_real *restrict x, int64_t n, bool mx) {
    tg_real m[LANES];
    int nan[LANES] = {0};
    for (int j = 0; j < LANES; j++) m[j] = x[0];
    int64_t i = 0;
    if (mx) {
        for (; i + LANES <= n; i += LANES)
            for (int j = 0; j < LANES; j++) {
                const tg_real e = x[i + j];
                nan[j] |= e != e;
                m[j] = e > m[j] ? e : m[j];
            }
        for (int j = 0; i < n; i++, j++) {
            nan[j] |= x[i] != x[i];
            m[j] = x[i] > m[j] ? x[i] : m[j];
        }
    } else {
        for (; i + LANES <= n; i += LANES)
            for (int j = 0; j < LANES; j++) {
                const tg_real e = x[i + j];
                nan[j] |= e != e;
                m[j] = e < m[j] ? e : m[j];
            }
        for (int j = 0; i < n; i++, j++) {
            nan[j] |= x[i] != x[i];
            m[j] = x[i] < m[j] ? x[i] : m[j];
        }
    }
    tg_real r = m[0];
    int any = nan[0];
    for (int j = 1; j < LANES; j++) {
        any |= nan[j];
        r = mx ? (m[j] > r ? m[j] : r) : (m[j] < r ? m[j] : r);
    }
    return any ? (tg_real)NAN : r;
}

/* out[o, j] = max (or min) over k of x[o, k, j]; v.n >= 1. */
static bool ext_kernel(tg_graph *g, const tg_real *x, view v, bool mx, tg_real *out) {
    const int nth = nthreads(v.outer * v.n * v.inner);
    if (v.inner == 1) {
        const int64_t nch = (v.n + CHUNK - 1) / CHUNK;
        if (nch <= 1) {
            TG_PARALLEL_FOR(nth, for (int64_t o = 0; o < v.outer; o++) out[o] =
                                     chunk_ext(x + o * v.n, v.n, mx););
            return true;
        }
        tg_real *part = tg__alloc(g, (size_t)(v.outer * nch) * sizeof *part);
        if (!part) return false;
        TG_PARALLEL_FOR(
            nth, for (int64_t t = 0; t < v.outer * nch; t++) {
                const int64_t o = t / nch, lo = (t % nch) * CHUNK;
                const int64_t len = v.n - lo < CHUNK ? v.n - lo : CHUNK;
                part[t] = chunk_ext(x + o * v.n + lo, len, mx);
            });
        for (int64_t o = 0; o < v.outer; o++) out[o] = chunk_ext(part + o * nch, nch, mx);
        return true;
    }
    const int64_t nb = (v.inner + ECOLS - 1) / ECOLS;
    TG_PARALLEL_FOR(
        nth, for (int64_t t = 0; t < v.outer * nb; t++) {
            const int64_t o = t / nb, j0 = (t % nb) * ECOLS;
            const int m = v.inner - j0 < ECOLS ? (int)(v.inner - j0) : ECOLS;
            const tg_real *base = x + o * v.n * v.inner + j0;
            tg_real acc[ECOLS];
            int nan[ECOLS] = {0};
            for (int j = 0; j < m; j++) acc[j] = base[j];
            for (int64_t k = 0; k < v.n; k++) {
                const tg_real *r = base + k * v.inner;
                if (mx) {
                    for (int j = 0; j < m; j++) {
                        nan[j] |= r[j] != r[j];
                        acc[j] = r[j] > acc[j] ? r[j] : acc[j];
                    }
                } else {
                    for (int j = 0; j < m; j++) {
                        nan[j] |= r[j] != r[j];
                        acc[j] = r[j] < acc[j] ? r[j] : acc[j];
                    }
                }
            }
            for (int j = 0; j < m; j++) out[o * v.inner + j0 + j] = nan[j] ? (tg_real)NAN : acc[j];
        });
    return true;
}

/* x ties with the extreme m: equal, or both NaN (a NaN result came from its NaNs). */
#define TIE(x, m) ((x) == (m) || ((m) != (m) && (x) != (x)))

static int64_t chunk_ties(const tg_real *restrict x, int64_t n, tg_real m) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += TIE(x[i], m);
    return c;
}
static void chunk_add_ties(const tg_real *restrict x, int64_t n, tg_real m, tg_real d,
                           tg_real *restrict dx) {
    for (int64_t i = 0; i < n; i++) dx[i] += TIE(x[i], m) ? d : (tg_real)0;
}

/* dx[o, k, j] += dy[o, j] / count[o, j] where x[o, k, j] ties with y[o, j]. */
static void ext_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const view v = view_of(x, n->iarg[0]);
    const tg_real *xd = x->data, *yd = y->data, *dy = y->grad;
    const int nth = nthreads(x->numel);
    if (v.inner == 1) {
        const int64_t nch = (v.n + CHUNK - 1) / CHUNK;
        if (nch <= 1) {
            TG_PARALLEL_FOR(
                nth, for (int64_t o = 0; o < v.outer; o++) {
                    const tg_real *r = xd + o * v.n;
                    const int64_t c = chunk_ties(r, v.n, yd[o]);
                    if (c) chunk_add_ties(r, v.n, yd[o], dy[o] / (tg_real)c, dx + o * v.n);
                });
            return;
        }
        int64_t *cnt = tg__alloc(x->g, (size_t)(v.outer * nch) * sizeof *cnt);
        tg_real *share = tg__alloc(x->g, (size_t)v.outer * sizeof *share);
        if (!cnt || !share) return;
        TG_PARALLEL_FOR(
            nth, for (int64_t t = 0; t < v.outer * nch; t++) {
                const int64_t o = t / nch, lo = (t % nch) * CHUNK;
                const int64_t len = v.n - lo < CHUNK ? v.n - lo : CHUNK;
                cnt[t] = chunk_ties(xd + o * v.n + lo, len, yd[o]);
            });
        for (int64_t o = 0; o < v.outer; o++) {
            int64_t c = 0;
            for (int64_t k = 0; k < nch; k++) c += cnt[o * nch + k];
            share[o] = c ? dy[o] / (tg_real)c : (tg_real)0;
        }
        TG_PARALLEL_FOR(
            nth, for (int64_t t = 0; t < v.outer * nch; t++) {
                const int64_t o = t / nch, lo = (t % nch) * CHUNK;
                const int64_t len = v.n - lo < CHUNK ? v.n - lo : CHUNK;
                chunk_add_ties(xd + o * v.n + lo, len, yd[o], share[o], dx + o * v.n + lo);
            });
        return;
    }
    const int64_t nb = (v.inner + ECOLS - 1) / ECOLS;
    TG_PARALLEL_FOR(
        nth, for (int64_t t = 0; t < v.outer * nb; t++) {
            const int64_t o = t / nb, j0 = (t % nb) * ECOLS;
            const int m = v.inner - j0 < ECOLS ? (int)(v.inner - j0) : ECOLS;
            const int64_t base = o * v.n * v.inner + j0, yo = o * v.inner + j0;
            int64_t cnt[ECOLS] = {0};
            tg_real share[ECOLS];
            for (int64_t k = 0; k < v.n; k++)
                for (int j = 0; j < m; j++) cnt[j] += TIE(xd[base + k * v.inner + j], yd[yo + j]);
            for (int j = 0; j < m; j++) share[j] = cnt[j] ? dy[yo + j] / (tg_real)cnt[j] : 0;
            for (int64_t k = 0; k < v.n; k++)
                for (int j = 0; j < m; j++) {
                    const int64_t i = base + k * v.inner + j;
                    dx[i] += TIE(xd[i], yd[yo + j]) ? share[j] : (tg_real)0;
                }
        });
}

/* ---- the ops ------------------------------------------------------------------------ */

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_VAR } rkind;

static tg_tensor *reduce(tg_graph *g, const tg_op *op, rkind k, tg_tensor *a, int axis,
                         bool keepdim, int correction) {
    if (!TG_BEGIN(g, op->name, a)) return NULL;
    char buf[TG_SHAPE_STR];
    int ax, yn, ys[TG_MAX_DIMS];
    view v;
    if (!setup(g, op->name, a, axis, keepdim, &ax, &v, &yn, ys)) return NULL;
    if ((k == R_MAX || k == R_MIN) && v.n == 0) {
        if (ax < 0)
            tg__fail(g, TG_ERR_SHAPE, "%s: cannot reduce the empty tensor of shape %s", op->name,
                     TG_SHAPE(a, buf));
        else
            tg__fail(g, TG_ERR_SHAPE, "%s: cannot reduce axis %d of size 0 in shape %s", op->name,
                     axis, TG_SHAPE(a, buf));
        return NULL;
    }
    if (k == R_VAR && correction < 0) {
        tg__fail(g, TG_ERR_ARG, "var: correction %d is negative", correction);
        return NULL;
    }
    if (k == R_VAR && v.n - correction <= 0) {
        char where[32] = "every axis";
        if (ax >= 0) snprintf(where, sizeof where, "axis %d", axis);
        tg__fail(g, TG_ERR_ARG, "var: N - correction = %lld - %d is not positive (%s of shape %s)",
                 (long long)v.n, correction, where, TG_SHAPE(a, buf));
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, op->name, yn, ys);
    if (!y) return NULL;
    double *mu = NULL;
    switch (k) {
    case R_SUM:
        sum_kernel(g, a->data, v, NULL, 1, NULL, y->data);
        break;
    case R_MEAN:
        sum_kernel(g, a->data, v, NULL, (double)v.n, NULL, y->data);
        break;
    case R_MAX:
        ext_kernel(g, a->data, v, true, y->data);
        break;
    case R_MIN:
        ext_kernel(g, a->data, v, false, y->data);
        break;
    case R_VAR: /* two passes: the mean, then the squared deviations from it */
        mu = tg__alloc(g, (size_t)y->numel * sizeof *mu);
        if (!mu || !sum_kernel(g, a->data, v, NULL, (double)v.n, mu, NULL)) return NULL;
        sum_kernel(g, a->data, v, mu, (double)(v.n - correction), NULL, y->data);
        break;
    }
    if (tg__failed(g)) return NULL;
    tg_node *nd = tg__record(g, op, y, 1, &a);
    if (nd) {
        nd->iarg[0] = ax; /* -1: every axis */
        nd->iarg[1] = keepdim;
        nd->iarg[2] = correction;
        nd->saved = mu; /* var: the means, outer * inner doubles */
    }
    return tg__failed(g) ? NULL : y;
}

/* The backward of sum, mean and var: dx_k += dy * num, divided by N - sub when per_n,
 * times (x_k - mu) for var (the means its forward saved). */
static void spread_backward(tg_node *n, double num, int sub, bool per_n) {
    tg_tensor *x = n->in[0];
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const view v = view_of(x, n->iarg[0]);
    const double s = per_n ? num / (double)(v.n - sub) : num;
    spread(n->out->grad, dx, v, s, n->saved ? x->data : NULL, n->saved);
}

/* ---- sum: y = sum_k x_k; dx_k += dy ------------------------------------------------ */
static void sum_backward(tg_node *n) { spread_backward(n, 1, 0, false); }
const tg_op tg__op_sum = {"sum", sum_backward};
TG_API tg_tensor *tg_sum(tg_graph *g, tg_tensor *a, int axis, bool keepdim) {
    return reduce(g, &tg__op_sum, R_SUM, a, axis, keepdim, 0);
}

/* ---- mean: y = sum_k x_k / N; dx_k += dy / N --------------------------------------- */
static void mean_backward(tg_node *n) { spread_backward(n, 1, 0, true); }
const tg_op tg__op_mean = {"mean", mean_backward};
TG_API tg_tensor *tg_mean(tg_graph *g, tg_tensor *a, int axis, bool keepdim) {
    return reduce(g, &tg__op_mean, R_MEAN, a, axis, keepdim, 0);
}

/* ---- max: y = max_k x_k; dx_k += dy / #ties where x_k = y ------------------------- */
const tg_op tg__op_max = {"max", ext_backward};
TG_API tg_tensor *tg_max(tg_graph *g, tg_tensor *a, int axis, bool keepdim) {
    return reduce(g, &tg__op_max, R_MAX, a, axis, keepdim, 0);
}

/* ---- min: y = min_k x_k; dx_k += dy / #ties where x_k = y ------------------------- */
const tg_op tg__op_min = {"min", ext_backward};
TG_API tg_tensor *tg_min(tg_graph *g, tg_tensor *a, int axis, bool keepdim) {
    return reduce(g, &tg__op_min, R_MIN, a, axis, keepdim, 0);
}

/* ---- var: y = sum_k (x_k - mu)^2 / (N - c); dx_k += dy * 2 (x_k - mu) / (N - c) -----
 * (mu's own dependence on x drops out: sum_k (x_k - mu) = 0.) */
static void var_backward(tg_node *n) { spread_backward(n, 2, n->iarg[2], true); }
const tg_op tg__op_var = {"var", var_backward};
TG_API tg_tensor *tg_var(tg_graph *g, tg_tensor *a, int axis, bool keepdim, int correction) {
    return reduce(g, &tg__op_var, R_VAR, a, axis, keepdim, correction);
}
