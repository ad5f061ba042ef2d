/* src/ops/softmax.c: softmax and log_softmax along one axis.
 *
 * The input is seen as [outer, n, inner] around the axis; each slice x[o, :, j] is
 * normalised on its own. Stability: the slice's max m is subtracted before exp, so
 * every e^(x - m) <= 1 (no overflow) and the largest is 1, so their sum s >= 1 (no
 * underflow to 0, log s finite): logits of +-1e4 give exact 1s and 0s, never NaN.
 * Sums are taken in double. Slices go to threads whole (rows when inner == 1, blocks
 * of COLS adjacent slices otherwise), each computed serially: results do not depend
 * on the thread count. */
#include <tgmath.h>

#include "ops.h"

#define COLS 64 /* slices per task when inner > 1 */

typedef struct view {
    int64_t outer, n, inner;
} view;

/* Threads for a loop over work elements: several only when it is large. */
static int nthreads(int64_t work) { return work >= TG_PAR_MIN ? tg__threads() : 1; }

/* The view of x around axis ax. */
static view view_of(const tg_tensor *x, int ax) {
    view v = {1, x->shape[ax], 1};
    for (int i = 0; i < ax; i++) v.outer *= x->shape[i];
    for (int i = ax + 1; i < x->ndim; i++) v.inner *= x->shape[i];
    return v;
}

/* Tasks of the column layout (inner > 1): blocks of COLS adjacent slices per outer. */
static int64_t col_blocks(view v) { return (v.inner + COLS - 1) / COLS; }

/* Block t of nb per outer: its first element's offset in *off, and its slices (<= COLS). */
static int col_block(view v, int64_t nb, int64_t t, int64_t *off) {
    const int64_t o = t / nb, j0 = (t % nb) * COLS;
    *off = o * v.n * v.inner + j0;
    return v.inner - j0 < COLS ? (int)(v.inner - j0) : COLS;
}

/* ---- forward ------------------------------------------------------------------------ */

/* One contiguous row of n >= 1: y = softmax(x), or log_softmax(x) when lg. */
static void row_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, bool lg) {
    tg_real m = x[0];
    for (int64_t k = 1; k < n; k++) m = x[k] > m ? x[k] : m;
    double s = 0;
    if (lg) {
        for (int64_t k = 0; k < n; k++) s += exp(x[k] - m);
        const tg_real ls = (tg_real)log(s);
        for (int64_t k = 0; k < n; k++) y[k] = (x[k] - m) - ls;
    } else {
        for (int64_t k = 0; k < n; k++) {
            y[k] = exp(x[k] - m);
            s += y[k];
        }
        const double inv = 1.0 / s;
        for (int64_t k = 0; k < n; k++) y[k] = (tg_real)(y[k] * inv);
    }
}

/* m <= COLS adjacent slices with stride inner, n >= 1 elements each. */
static void cols_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, int64_t inner,
                     int m, bool lg) {
    tg_real mx[COLS];
    double s[COLS] = {0};
    for (int j = 0; j < m; j++) mx[j] = x[j];
    for (int64_t k = 1; k < n; k++) {
        const tg_real *r = x + k * inner;
        for (int j = 0; j < m; j++) mx[j] = r[j] > mx[j] ? r[j] : mx[j];
    }
    for (int64_t k = 0; k < n; k++) {
        const tg_real *r = x + k * inner;
        tg_real *w = y + k * inner;
        for (int j = 0; j < m; j++) {
            const tg_real e = exp(r[j] - mx[j]);
            if (!lg) w[j] = e;
            s[j] += e;
        }
    }
    tg_real ls[COLS];
    double inv[COLS];
    for (int j = 0; j < m; j++) {
        ls[j] = (tg_real)log(s[j]);
        inv[j] = 1.0 / s[j];
    }
    for (int64_t k = 0; k < n; k++) {
        const tg_real *r = x + k * inner;
        tg_real *w = y + k * inner;
        if (lg)
            for (int j = 0; j < m; j++) w[j] = (r[j] - mx[j]) - ls[j];
        else
            for (int j = 0; j < m; j++) w[j] = (tg_real)(w[j] * inv[j]);
    }
}

/* y = softmax (log_softmax when lg) of every slice of x. */
static void forward(const tg_real *x, tg_real *y, view v, bool lg) {
    if (v.n == 0) return;
    const int nth = nthreads(v.outer * v.n * v.inner);
    if (v.inner == 1) {
        TG_PARALLEL_FOR(nth, for (int64_t o = 0; o < v.outer; o++)
                                 row_fwd(x + o * v.n, y + o * v.n, v.n, lg););
        return;
    }
    const int64_t nb = col_blocks(v);
    TG_PARALLEL_FOR(
        nth, for (int64_t t = 0; t < v.outer * nb; t++) {
            int64_t off;
            const int m = col_block(v, nb, t, &off);
            cols_fwd(x + off, y + off, v.n, v.inner, m, lg);
        });
}

/* ---- backward ----------------------------------------------------------------------
 * softmax:     dx += y (dy - sum_k dy_k y_k)
 * log_softmax: dx += dy - e^y sum_k dy_k */

/* One contiguous row of n: dx += the rule above, from y and dy. */
static void row_bwd(const tg_real *restrict y, const tg_real *restrict dy, tg_real *restrict dx,
                    int64_t n, bool lg) {
    double s = 0;
    if (lg) {
        for (int64_t k = 0; k < n; k++) s += dy[k];
        const tg_real sr = (tg_real)s;
        for (int64_t k = 0; k < n; k++) dx[k] += dy[k] - exp(y[k]) * sr;
    } else {
        for (int64_t k = 0; k < n; k++) s += dy[k] * y[k];
        const tg_real sr = (tg_real)s;
        for (int64_t k = 0; k < n; k++) dx[k] += y[k] * (dy[k] - sr);
    }
}

/* m <= COLS adjacent slices with stride inner: the same rule. */
static void cols_bwd(const tg_real *restrict y, const tg_real *restrict dy, tg_real *restrict dx,
                     int64_t n, int64_t inner, int m, bool lg) {
    double s[COLS] = {0};
    for (int64_t k = 0; k < n; k++) {
        const tg_real *yr = y + k * inner, *gr = dy + k * inner;
        if (lg)
            for (int j = 0; j < m; j++) s[j] += gr[j];
        else
            for (int j = 0; j < m; j++) s[j] += gr[j] * yr[j];
    }
    tg_real sr[COLS];
    for (int j = 0; j < m; j++) sr[j] = (tg_real)s[j];
    for (int64_t k = 0; k < n; k++) {
        const tg_real *yr = y + k * inner, *gr = dy + k * inner;
        tg_real *d = dx + k * inner;
        if (lg)
            for (int j = 0; j < m; j++) d[j] += gr[j] - exp(yr[j]) * sr[j];
        else
            for (int j = 0; j < m; j++) d[j] += yr[j] * (gr[j] - sr[j]);
    }
}

/* The backward of either op: dx += over every slice, from the saved output y. */
static void backward(tg_node *nd, bool lg) {
    tg_tensor *x = nd->in[0], *y = nd->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const view v = view_of(x, nd->iarg[0]);
    if (v.n == 0) return;
    const tg_real *yd = y->data, *dy = y->grad;
    const int nth = nthreads(x->numel);
    if (v.inner == 1) {
        TG_PARALLEL_FOR(nth, for (int64_t o = 0; o < v.outer; o++)
                                 row_bwd(yd + o * v.n, dy + o * v.n, dx + o * v.n, v.n, lg););
        return;
    }
    const int64_t nb = col_blocks(v);
    TG_PARALLEL_FOR(
        nth, for (int64_t t = 0; t < v.outer * nb; t++) {
            int64_t off;
            const int m = col_block(v, nb, t, &off);
            cols_bwd(yd + off, dy + off, dx + off, v.n, v.inner, m, lg);
        });
}

/* ---- the ops ------------------------------------------------------------------------ */

/* Either op: checks the axis, computes y and records the node (iarg[0]: the axis). */
static tg_tensor *softmax_op(tg_graph *g, const tg_op *op, tg_tensor *a, int axis, bool lg) {
    if (!TG_BEGIN(g, op->name, a)) return NULL;
    const int ax = tg__axis(axis, a->ndim);
    if (ax < 0) {
        char buf[TG_SHAPE_STR];
        tg__fail(g, TG_ERR_AXIS, "%s: axis %d out of range for shape %s", op->name, axis,
                 TG_SHAPE(a, buf));
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, op->name, a->ndim, a->shape);
    if (!y) return NULL;
    forward(a->data, y->data, view_of(a, ax), lg);
    tg_node *nd = tg__record(g, op, y, 1, &a);
    if (nd) nd->iarg[0] = ax;
    return tg__failed(g) ? NULL : y;
}

/* ---- softmax: y_k = e^(x_k - m) / sum_i e^(x_i - m); dx += y (dy - sum(dy y)) ----- */
static void softmax_backward(tg_node *n) { backward(n, false); }
const tg_op tg__op_softmax = {"softmax", softmax_backward};
TG_API tg_tensor *tg_softmax(tg_graph *g, tg_tensor *a, int axis) {
    return softmax_op(g, &tg__op_softmax, a, axis, false);
}

/* ---- log_softmax: y_k = x_k - m - ln sum_i e^(x_i - m); dx += dy - e^y sum(dy) ---- */
static void log_softmax_backward(tg_node *n) { backward(n, true); }
const tg_op tg__op_log_softmax = {"log_softmax", log_softmax_backward};
TG_API tg_tensor *tg_log_softmax(tg_graph *g, tg_tensor *a, int axis) {
    return softmax_op(g, &tg__op_log_softmax, a, axis, true);
}
