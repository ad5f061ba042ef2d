/* src/ops/join.c: concat and slice, both along one axis.
 *
 * Either op sees a tensor as [outer, len, inner]: the axes before the chosen one, the
 * axis itself, and the axes after it. A "row" is inner contiguous elements at one
 * (outer, axis) position, so both ops and their gradients are loops of row copies.
 * Large ones are split across threads in contiguous ranges of rows; every output
 * element is written by exactly one thread, so results do not depend on the count. */
#include <limits.h>

#include "ops.h"

/* Splits a tensor of shape (ndim, shape) around axis ax. */
static void split(int ndim, const int *shape, int ax, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int i = 0; i < ax; i++) *outer *= shape[i];
    for (int i = ax + 1; i < ndim; i++) *inner *= shape[i];
}

static int nthreads_for(int64_t numel) { return numel >= TG_PAR_MIN ? tg__threads() : 1; }

/* d[i] (+)= s[i] for i < n */
static inline void row(tg_real *restrict d, const tg_real *restrict s, int64_t n, bool acc) {
    if (acc)
        for (int64_t i = 0; i < n; i++) d[i] += s[i];
    else
        memcpy(d, s, (size_t)n * sizeof(tg_real));
}

/* ---- concat: y = [x_0, x_1, ...] along axis; dx_i += dy[the slice x_i came from] ---
 * iarg[0] = axis; saved = int offsets[n], where along the axis each input starts. */

/* y's rows from every input. Work unit (o, i): input i's block in outer row o. */
static void concat_forward(tg_tensor *const *xs, int n, tg_tensor *y, const int *offs, int ax,
                           int64_t outer, int64_t inner) {
    const int64_t units = outer * n, ylen = y->shape[ax];
    const int nth = nthreads_for(y->numel);
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        const int64_t u0 = units * t / nth, u1 = units * (t + 1) / nth;
        for (int64_t u = u0; u < u1; u++) {
            const int64_t o = u / n;
            const int i = (int)(u % n);
            const int64_t blk = (int64_t)xs[i]->shape[ax] * inner;
            row(y->data + (o * ylen + offs[i]) * inner, xs[i]->data + o * blk, blk, false);
        }
    }
}

/* dx_i += dy's rows that came from input i. One input at a time: the same tensor may
 * be given twice, and then its two passes must not overlap. */
static void concat_backward(tg_node *n) {
    tg_tensor *y = n->out;
    const int ax = n->iarg[0];
    const int *offs = n->saved;
    int64_t outer, inner;
    split(y->ndim, y->shape, ax, &outer, &inner);
    const int64_t ylen = y->shape[ax];
    for (int i = 0; i < n->nin; i++) {
        tg_tensor *x = n->in[i];
        tg_real *dx = tg__grad_buf(x);
        if (!dx) continue;
        const int64_t blk = (int64_t)x->shape[ax] * inner;
        const tg_real *dy = y->grad + offs[i] * inner;
        const int nth = nthreads_for(x->numel);
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
        for (int t = 0; t < nth; t++)
            for (int64_t o = outer * t / nth; o < outer * (t + 1) / nth; o++)
                row(dx + o * blk, dy + o * ylen * inner, blk, true);
    }
}
const tg_op tg__op_concat = {"concat", concat_backward};

/* 0-d inputs have no axis to join along, and are an error. */
TG_API tg_tensor *tg_concat(tg_graph *g, int n, tg_tensor *const *ts, int axis) {
    char s0[TG_SHAPE_STR], si[TG_SHAPE_STR];
    if (!tg__op_begin(g, "concat", 0, NULL)) return NULL; /* g NULL or in error */
    if (n < 1) {
        tg__fail(g, TG_ERR_ARG, "concat: needs at least one tensor, got n = %d", n);
        return NULL;
    }
    if (!ts) {
        tg__fail(g, TG_ERR_NULL, "concat: the array of %d tensors is NULL", n);
        return NULL;
    }
    if (!tg__op_begin(g, "concat", n, ts)) return NULL;
    const tg_tensor *t0 = ts[0];
    for (int i = 0; i < n; i++) {
        if (ts[i]->ndim == 0) {
            tg__fail(g, TG_ERR_SHAPE,
                     "concat: input %d of %d is 0-d (shape []); 0-d tensors "
                     "have no axis to join along",
                     i + 1, n);
            return NULL;
        }
    }
    const int ax = tg__axis(axis, t0->ndim);
    if (ax < 0) {
        tg__fail(g, TG_ERR_AXIS, "concat: axis %d out of range for shape %s", axis,
                 TG_SHAPE(t0, s0));
        return NULL;
    }
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        const tg_tensor *t = ts[i];
        bool ok = t->ndim == t0->ndim;
        for (int d = 0; ok && d < t0->ndim; d++) ok = d == ax || t->shape[d] == t0->shape[d];
        if (!ok) {
            tg__fail(g, TG_ERR_SHAPE,
                     "concat: input %d has shape %s but input 1 has %s: all dimensions "
                     "except axis %d must agree",
                     i + 1, TG_SHAPE(t, si), TG_SHAPE(t0, s0), ax);
            return NULL;
        }
        total += t->shape[ax];
    }
    if (total > INT_MAX) {
        tg__fail(g, TG_ERR_SHAPE,
                 "concat: %d inputs like %s give %lld along axis %d, more "
                 "than a dimension can hold",
                 n, TG_SHAPE(t0, s0), (long long)total, ax);
        return NULL;
    }
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < t0->ndim; d++) shape[d] = t0->shape[d];
    shape[ax] = (int)total;
    tg_tensor *y = tg__tensor_make(g, "concat", t0->ndim, shape);
    if (!y) return NULL;
    int *offs = tg__alloc(g, (size_t)n * sizeof *offs); /* kept for backward */
    if (!offs) return NULL;
    for (int i = 0, off = 0; i < n; i++) {
        offs[i] = off;
        off += ts[i]->shape[ax];
    }
    int64_t outer, inner;
    split(y->ndim, y->shape, ax, &outer, &inner);
    concat_forward(ts, n, y, offs, ax, outer, inner);
    tg_node *nd = tg__record(g, &tg__op_concat, y, n, ts);
    if (nd) {
        nd->iarg[0] = ax;
        nd->saved = offs;
    }
    return tg__failed(g) ? NULL : y;
}

/* ---- slice: y = x[start : stop : step] along axis; dx[those positions] += dy -------
 * iarg = {axis, start, step} with start normalised (0 <= start <= len). */

/* Row k of outer row o of y is row start + k*step of x. back == false: y = x rows;
 * back == true: dx rows += dy rows. */
static void slice_rows(tg_real *xbuf, tg_real *ybuf, int64_t outer, int64_t len, int64_t count,
                       int64_t inner, int64_t start, int64_t step, bool back) {
    const int64_t rows = outer * count;
    const int nth = nthreads_for(rows * inner);
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        const int64_t r0 = rows * t / nth, r1 = rows * (t + 1) / nth;
        int64_t o = r0 / count, k = r0 % count;
        for (int64_t r = r0; r < r1; r++) {
            tg_real *y = ybuf + r * inner;
            tg_real *x = xbuf + (o * len + start + k * step) * inner;
            if (inner == 1) {
                if (back)
                    x[0] += y[0];
                else
                    y[0] = x[0];
            } else if (back) {
                row(x, y, inner, true);
            } else {
                row(y, x, inner, false);
            }
            if (++k == count) {
                k = 0;
                o++;
            }
        }
    }
}

static void slice_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx || y->numel == 0) return;
    const int ax = n->iarg[0];
    int64_t outer, inner;
    split(x->ndim, x->shape, ax, &outer, &inner);
    slice_rows(dx, y->grad, outer, x->shape[ax], y->shape[ax], inner, n->iarg[1], n->iarg[2], true);
}
const tg_op tg__op_slice = {"slice", slice_backward};

TG_API tg_tensor *tg_slice(tg_graph *g, tg_tensor *a, int axis, int start, int stop, int step) {
    char sa[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "slice", a)) return NULL;
    const int ax = tg__axis(axis, a->ndim);
    if (ax < 0) {
        tg__fail(g, TG_ERR_AXIS, "slice: axis %d out of range for shape %s", axis, TG_SHAPE(a, sa));
        return NULL;
    }
    if (step < 1) {
        tg__fail(g, TG_ERR_ARG, "slice: step %d must be >= 1 (shape %s, axis %d)", step,
                 TG_SHAPE(a, sa), ax);
        return NULL;
    }
    /* Python: negative bounds count from the end, then both are clipped to [0, len]. */
    const int64_t len = a->shape[ax];
    int64_t lo = start < 0 ? (int64_t)start + len : start;
    int64_t hi = stop < 0 ? (int64_t)stop + len : stop;
    lo = lo < 0 ? 0 : lo > len ? len : lo;
    hi = hi < 0 ? 0 : hi > len ? len : hi;
    const int64_t count = hi > lo ? (hi - lo + step - 1) / step : 0;
    int shape[TG_MAX_DIMS];
    for (int d = 0; d < a->ndim; d++) shape[d] = a->shape[d];
    shape[ax] = (int)count;
    tg_tensor *y = tg__tensor_make(g, "slice", a->ndim, shape);
    if (!y) return NULL;
    if (y->numel > 0) {
        int64_t outer, inner;
        split(a->ndim, a->shape, ax, &outer, &inner);
        slice_rows(a->data, y->data, outer, len, count, inner, lo, step, false);
    }
    tg_node *nd = tg__record(g, &tg__op_slice, y, 1, &a);
    if (nd) {
        nd->iarg[0] = ax;
        nd->iarg[1] = (int)lo;
        nd->iarg[2] = step;
    }
    return tg__failed(g) ? NULL : y;
}
