/* src/ops/stack.c: stack and select, the sequence helpers of recurrent models, and
 * unstack built on select.
 *
 * Both ops see the stacked tensor as [outer, n, inner] around the new (stack) or
 * removed (select) axis, and the other tensor(s) as [outer, inner]: every step is a
 * copy of an inner-long block. Large ones split the blocks across threads in
 * contiguous ranges; each output element is written by one thread, so results do not
 * depend on the thread count. */
#include "ops.h"

static int nthreads(int64_t work) { return work >= TG_PAR_MIN ? tg__threads() : 1; }

/* outer = product of shape[0..ax), inner = product of shape[ax..nd). */
static void split(int nd, const int *shape, int ax, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int i = 0; i < ax; i++) *outer *= shape[i];
    for (int i = ax; i < nd; i++) *inner *= shape[i];
}

/* For o < outer: big[(o n + k) inner ..] (+)= small[o inner ..] (to_big), or
 * small[o inner ..] (+)= big[(o n + k) inner ..]; acc adds instead of copying. */
static void blocks(tg_real *big, tg_real *small, int64_t outer, int64_t n, int64_t k, int64_t inner,
                   bool to_big, bool acc) {
    const int nth = nthreads(outer * inner);
    (void)nth; /* only the pragmas read it */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t o = 0; o < outer; o++) {
        tg_real *restrict b = big + (o * n + k) * inner;
        tg_real *restrict s = small + o * inner;
        tg_real *restrict dst = to_big ? b : s;
        const tg_real *restrict src = to_big ? s : b;
        if (acc)
            for (int64_t i = 0; i < inner; i++) dst[i] += src[i];
        else
            memcpy(dst, src, (size_t)inner * sizeof(tg_real));
    }
}

/* ---- stack: y[.., i, ..] = x_i (a new axis); dx_i += dy[.., i, ..] ------------------
 * iarg[0] = axis (normalised). One input at a time in backward: the same tensor may be
 * given twice, and its passes must not overlap. */
static void stack_backward(tg_node *nd) {
    tg_tensor *y = nd->out;
    int64_t outer, inner;
    split(nd->in[0]->ndim, nd->in[0]->shape, nd->iarg[0], &outer, &inner);
    for (int i = 0; i < nd->nin; i++) {
        tg_real *dx = tg__grad_buf(nd->in[i]);
        if (dx) blocks(y->grad, dx, outer, nd->nin, i, inner, false, true);
    }
}
const tg_op tg__op_stack = {"stack", stack_backward};

TG_API tg_tensor *tg_stack(tg_graph *g, int n, tg_tensor *const *ts, int axis) {
    char s0[TG_SHAPE_STR], si[TG_SHAPE_STR];
    if (!tg__op_begin(g, "stack", 0, NULL)) return NULL; /* g NULL or in error */
    if (n < 1) {
        tg__fail(g, TG_ERR_ARG, "stack: needs at least one tensor, got n = %d", n);
        return NULL;
    }
    if (!ts) {
        tg__fail(g, TG_ERR_NULL, "stack: the array of %d tensors is NULL", n);
        return NULL;
    }
    if (!tg__op_begin(g, "stack", n, ts)) return NULL;
    const tg_tensor *t0 = ts[0];
    for (int i = 1; i < n; i++) {
        if (!tg__same_shape(ts[i], t0)) {
            tg__fail(g, TG_ERR_SHAPE, "stack: input %d has shape %s but input 1 has %s", i + 1,
                     TG_SHAPE(ts[i], si), TG_SHAPE(t0, s0));
            return NULL;
        }
    }
    if (t0->ndim >= TG_MAX_DIMS) {
        tg__fail(g, TG_ERR_SHAPE, "stack: inputs %s already have %d dims, the most a tensor has",
                 TG_SHAPE(t0, s0), TG_MAX_DIMS);
        return NULL;
    }
    const int ax = tg__axis(axis, t0->ndim + 1);
    if (ax < 0) {
        tg__fail(g, TG_ERR_AXIS, "stack: axis %d out of range for inputs %s (-%d..%d)", axis,
                 TG_SHAPE(t0, s0), t0->ndim + 1, t0->ndim);
        return NULL;
    }
    int shape[TG_MAX_DIMS];
    for (int d = 0, k = 0; d <= t0->ndim; d++) shape[d] = d == ax ? n : t0->shape[k++];
    tg_tensor *y = tg__tensor_make(g, "stack", t0->ndim + 1, shape);
    if (!y) return NULL;
    int64_t outer, inner;
    split(t0->ndim, t0->shape, ax, &outer, &inner);
    if (inner > 0)
        for (int i = 0; i < n; i++) blocks(y->data, ts[i]->data, outer, n, i, inner, true, false);
    tg_node *nd = tg__record(g, &tg__op_stack, y, n, ts);
    if (nd) nd->iarg[0] = ax;
    return tg__failed(g) ? NULL : y;
}

/* ---- select: y = x[.., index, ..] (the axis removed); dx[.., index, ..] += dy -------
 * iarg = {axis, index}, both normalised. */
static void select_backward(tg_node *nd) {
    tg_tensor *x = nd->in[0], *y = nd->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx || y->numel == 0) return;
    const int ax = nd->iarg[0];
    int64_t outer, inner;
    split(y->ndim, y->shape, ax, &outer, &inner);
    blocks(dx, y->grad, outer, x->shape[ax], nd->iarg[1], inner, true, true);
}
const tg_op tg__op_select = {"select", select_backward};

TG_API tg_tensor *tg_select(tg_graph *g, tg_tensor *x, int axis, int index) {
    char sx[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "select", x)) return NULL;
    const int ax = tg__axis(axis, x->ndim);
    if (ax < 0) {
        tg__fail(g, TG_ERR_AXIS, "select: axis %d out of range for shape %s", axis,
                 TG_SHAPE(x, sx));
        return NULL;
    }
    const int len = x->shape[ax];
    const int64_t k = index < 0 ? (int64_t)index + len : index;
    if (k < 0 || k >= len) {
        tg__fail(g, TG_ERR_ARG, "select: index %d out of range for axis %d of size %d (shape %s)",
                 index, ax, len, TG_SHAPE(x, sx));
        return NULL;
    }
    int shape[TG_MAX_DIMS];
    for (int d = 0, j = 0; d < x->ndim; d++)
        if (d != ax) shape[j++] = x->shape[d];
    tg_tensor *y = tg__tensor_make(g, "select", x->ndim - 1, shape);
    if (!y) return NULL;
    if (y->numel > 0) {
        int64_t outer, inner;
        split(y->ndim, y->shape, ax, &outer, &inner);
        blocks(x->data, y->data, outer, len, k, inner, false, false);
    }
    tg_node *nd = tg__record(g, &tg__op_select, y, 1, &x);
    if (nd) {
        nd->iarg[0] = ax;
        nd->iarg[1] = (int)k;
    }
    return tg__failed(g) ? NULL : y;
}

/* ---- unstack: out[i] = select(x, axis, i) for every i ------------------------------ */
TG_API int tg_unstack(tg_graph *g, tg_tensor *x, int axis, tg_tensor **out, int max_out) {
    char sx[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "unstack", x)) return -1;
    const int ax = tg__axis(axis, x->ndim);
    if (ax < 0) {
        tg__fail(g, TG_ERR_AXIS, "unstack: axis %d out of range for shape %s", axis,
                 TG_SHAPE(x, sx));
        return -1;
    }
    const int n = x->shape[ax];
    if (n > max_out) {
        tg__fail(g, TG_ERR_ARG, "unstack: %s has %d along axis %d but out holds only %d",
                 TG_SHAPE(x, sx), n, ax, max_out < 0 ? 0 : max_out);
        return -1;
    }
    if (n > 0 && !out) {
        tg__fail(g, TG_ERR_NULL, "unstack: out is NULL (shape %s, axis %d)", TG_SHAPE(x, sx), ax);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        out[i] = tg_select(g, x, ax, i);
        if (!out[i]) return -1;
    }
    return n;
}
