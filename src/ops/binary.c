/* src/ops/binary.c: add, sub, mul, div with NumPy broadcasting.
 *
 * The forward walks the output row by row (its last axis); within a row each operand
 * either advances (stride 1) or stays on one element (stride 0, broadcast), so the
 * inner loops are plain and vectorise. Gradients of broadcast inputs are summed back
 * to their shapes by tg__sum_to_shape. */
#include "ops.h"

typedef enum { K_ADD, K_SUB, K_MUL, K_DIV } kind;

/* y[i] = a[i*sa] OP b[i*sb] for i < n, sa and sb in {0, 1}. */
#define ROW_LOOP(NAME, OP)                                                                \
    static void NAME(const tg_real *restrict a, int64_t sa, const tg_real *restrict b,    \
                     int64_t sb, tg_real *restrict y, int64_t n) {                        \
        if (sa && sb) {                                                                   \
            for (int64_t i = 0; i < n; i++) y[i] = a[i] OP b[i];                          \
        } else if (sa) {                                                                  \
            const tg_real bv = b[0];                                                      \
            for (int64_t i = 0; i < n; i++) y[i] = a[i] OP bv;                            \
        } else if (sb) {                                                                  \
            const tg_real av = a[0];                                                      \
            for (int64_t i = 0; i < n; i++) y[i] = av OP b[i];                            \
        } else {                                                                          \
            const tg_real v = a[0] OP b[0];                                               \
            for (int64_t i = 0; i < n; i++) y[i] = v;                                     \
        }                                                                                 \
    }
ROW_LOOP(row_add, +)
ROW_LOOP(row_sub, -)
ROW_LOOP(row_mul, *)
ROW_LOOP(row_div, /)

typedef void (*row_fn)(const tg_real *, int64_t, const tg_real *, int64_t, tg_real *, int64_t);
static const row_fn row_fns[] = {[K_ADD] = row_add, [K_SUB] = row_sub, [K_MUL] = row_mul,
                                 [K_DIV] = row_div};

/* y (shape yn, ys) = a (an, as) OP b (bn, bs), both broadcast to ys. */
static void apply(kind k, const tg_real *a, int an, const int *as, const tg_real *b, int bn,
                  const int *bs, tg_real *y, int yn, const int *ys) {
    const row_fn fn = row_fns[k];
    int64_t numel = 1, anumel = 1, bnumel = 1;
    for (int i = 0; i < yn; i++) numel *= ys[i];
    for (int i = 0; i < an; i++) anumel *= as[i];
    for (int i = 0; i < bn; i++) bnumel *= bs[i];
    if (numel == 0) return;
    /* Flat cases: equal element counts, or a one-element operand. */
    if ((anumel == numel || anumel == 1) && (bnumel == numel || bnumel == 1)) {
        const int64_t sa = anumel == numel && numel > 1, sb = bnumel == numel && numel > 1;
        enum { CH = 8192 };
        const int nth = tg__threads();
        if (numel >= TG_PAR_MIN && nth > 1) {
            const int64_t nch = (numel + CH - 1) / CH;
#pragma omp parallel for schedule(static) num_threads(nth)
            for (int64_t c = 0; c < nch; c++) {
                int64_t lo = c * CH, len = numel - lo < CH ? numel - lo : CH;
                fn(a + lo * sa, sa, b + lo * sb, sb, y + lo, len);
            }
        } else {
            fn(a, sa, b, sb, y, numel);
        }
        return;
    }
    /* General: rows of the last axis, an odometer over the others. Threads take
     * contiguous ranges of rows; each starts its odometer from its first row. */
    int64_t sta[TG_MAX_DIMS], stb[TG_MAX_DIMS];
    tg__broadcast_strides(an, as, yn, ys, sta);
    tg__broadcast_strides(bn, bs, yn, ys, stb);
    const int last = yn - 1;
    const int64_t rowlen = ys[last], rows = numel / rowlen;
    const int nth = numel >= TG_PAR_MIN ? tg__threads() : 1;
    TG_PARALLEL_FOR(
        nth, for (int t = 0; t < nth; t++) {
            const int64_t r0 = rows * t / nth, r1 = rows * (t + 1) / nth;
            int idx[TG_MAX_DIMS] = {0};
            int64_t oa = 0, ob = 0, rem = r0;
            for (int i = last - 1; i >= 0; i--) {
                idx[i] = (int)(rem % ys[i]);
                rem /= ys[i];
                oa += idx[i] * sta[i];
                ob += idx[i] * stb[i];
            }
            for (int64_t r = r0; r < r1; r++) {
                fn(a + oa, sta[last], b + ob, stb[last], y + r * rowlen, rowlen);
                for (int i = last - 1; i >= 0; i--) {
                    oa += sta[i];
                    ob += stb[i];
                    if (++idx[i] < ys[i]) break;
                    oa -= sta[i] * ys[i];
                    ob -= stb[i] * ys[i];
                    idx[i] = 0;
                }
            }
        });
}

static tg_tensor *binary(tg_graph *g, const tg_op *op, kind k, tg_tensor *a, tg_tensor *b) {
    if (!TG_BEGIN(g, op->name, a, b)) return NULL;
    int ys[TG_MAX_DIMS];
    int yn = tg__broadcast_shape(a->ndim, a->shape, b->ndim, b->shape, ys);
    if (yn < 0) {
        char sa[TG_SHAPE_STR], sb[TG_SHAPE_STR];
        tg__fail(g, TG_ERR_SHAPE, "%s: shapes do not broadcast: %s and %s", op->name,
                 TG_SHAPE(a, sa), TG_SHAPE(b, sb));
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, op->name, yn, ys);
    if (!y) return NULL;
    apply(k, a->data, a->ndim, a->shape, b->data, b->ndim, b->shape, y->data, yn, ys);
    tg__record(g, op, y, 2, (tg_tensor *[]){a, b});
    return tg__failed(g) ? NULL : y;
}

/* dx += src, where src has y's shape and x may have been broadcast. */
static void accumulate(tg_tensor *x, const tg_real *src, const tg_tensor *y) {
    tg_real *dx = tg__grad_buf(x);
    if (dx) tg__sum_to_shape(dx, x->ndim, x->shape, src, y->ndim, y->shape);
}

/* A scratch buffer of y's size in the arena (freed by the next reset). */
static tg_real *scratch(tg_tensor *y) {
    return tg__alloc(y->g, (size_t)y->numel * sizeof(tg_real));
}

/* ---- the common case, straight into the gradient ---------------------------------------
 * When x has all of y's elements (it was not broadcast), its gradient takes dy (times
 * or over the other operand) element by element, with no scratch buffer and no
 * summing: dx[i] += dy[i] OP o[i*so], so in {0, 1}. The same operations, rounded the
 * same way, as the general path (scratch, then tg__sum_to_shape). Large arrays are
 * cut into fixed chunks across threads. */
typedef enum { G_ADD, G_SUB, G_MUL, G_DIV, G_NEG_MUL_DIV } grad_kind;

/* dx[i] += f(dy[i], o[i*so], y[i]) over one chunk; with fresh (nothing has written dx
 * yet in this pass: it holds garbage) dx[i] = 0 + f(...) instead. */
#define GRAD_LOOP(EXPR)                                                                            \
    do {                                                                                           \
        if (fresh)                                                                                 \
            for (int64_t i = 0; i < n; i++) dx[i] = (tg_real)0 + (EXPR);                           \
        else                                                                                       \
            for (int64_t i = 0; i < n; i++) dx[i] += (EXPR);                                       \
    } while (0)
TG_SIMD static void grad_run(grad_kind k, bool fresh, tg_real *restrict dx,
                             const tg_real *restrict dy, const tg_real *restrict o, int64_t so,
                             const tg_real *restrict y, int64_t n) {
    switch (k) {
    case G_ADD:
        GRAD_LOOP(dy[i]);
        break;
    case G_SUB:
        GRAD_LOOP(-dy[i]);
        break;
    case G_MUL:
        if (so)
            GRAD_LOOP(dy[i] * o[i]);
        else
            GRAD_LOOP(dy[i] * o[0]);
        break;
    case G_DIV:
        if (so)
            GRAD_LOOP(dy[i] / o[i]);
        else
            GRAD_LOOP(dy[i] / o[0]);
        break;
    case G_NEG_MUL_DIV: /* db += (-dy y) / b */
        if (so)
            GRAD_LOOP(-dy[i] * y[i] / o[i]);
        else
            GRAD_LOOP(-dy[i] * y[i] / o[0]);
        break;
    }
}
#undef GRAD_LOOP

/* The direct path, when x was not broadcast and the other operand o (or NULL) has y's
 * elements or one. Returns false (nothing done) when it does not apply. */
static bool grad_direct(grad_kind k, tg_tensor *x, const tg_tensor *o, const tg_tensor *y) {
    if (x->numel != y->numel || (o && o->numel != y->numel && o->numel != 1)) return false;
    bool fresh;
    tg_real *dx = tg__grad_for_write(x, &fresh);
    if (!dx) return true; /* out of memory: the graph's error says so */
    const int64_t n = y->numel, so = o && o->numel == n && n > 1;
    const tg_real *od = o ? o->data : NULL;
    enum { CH = 8192 };
    const int nth = n >= TG_PAR_MIN ? tg__threads() : 1;
    if (nth <= 1) {
        grad_run(k, fresh, dx, y->grad, od, so, y->data, n);
        return true;
    }
    const int64_t nch = (n + CH - 1) / CH;
#pragma omp parallel for schedule(static) num_threads(nth)
    for (int64_t c = 0; c < nch; c++) {
        const int64_t lo = c * CH, len = n - lo < CH ? n - lo : CH;
        grad_run(k, fresh, dx + lo, y->grad + lo, od ? od + lo * so : NULL, so, y->data + lo, len);
    }
    return true;
}

/* ---- add: y = a + b; da += dy, db += dy (summed to shape) ------------------------- */
static void add_backward(tg_node *n) {
    for (int i = 0; i < 2; i++) {
        tg_tensor *x = n->in[i];
        if (tg__needs_grad(x) && !grad_direct(G_ADD, x, NULL, n->out))
            accumulate(x, n->out->grad, n->out);
    }
}
const tg_op tg__op_add = {"add", add_backward};
TG_API tg_tensor *tg_add(tg_graph *g, tg_tensor *a, tg_tensor *b) {
    return binary(g, &tg__op_add, K_ADD, a, b);
}

/* ---- sub: y = a - b; da += dy, db -= dy ------------------------------------------ */
static void sub_backward(tg_node *n) {
    tg_tensor *y = n->out, *a = n->in[0], *b = n->in[1];
    if (tg__needs_grad(a) && !grad_direct(G_ADD, a, NULL, y)) accumulate(a, y->grad, y);
    if (!tg__needs_grad(b) || grad_direct(G_SUB, b, NULL, y)) return;
    tg_real *t = scratch(y);
    if (!t) return;
    for (int64_t i = 0; i < y->numel; i++) t[i] = -y->grad[i];
    accumulate(b, t, y);
}
const tg_op tg__op_sub = {"sub", sub_backward};
TG_API tg_tensor *tg_sub(tg_graph *g, tg_tensor *a, tg_tensor *b) {
    return binary(g, &tg__op_sub, K_SUB, a, b);
}

/* ---- mul: y = a * b; da += dy * b, db += dy * a ----------------------------------- */
static void mul_backward(tg_node *n) {
    tg_tensor *y = n->out;
    for (int i = 0; i < 2; i++) {
        tg_tensor *x = n->in[i], *other = n->in[1 - i];
        if (!tg__needs_grad(x) || grad_direct(G_MUL, x, other, y)) continue;
        tg_real *t = scratch(y);
        if (!t) return;
        apply(K_MUL, y->grad, y->ndim, y->shape, other->data, other->ndim, other->shape, t,
              y->ndim, y->shape);
        accumulate(x, t, y);
    }
}
const tg_op tg__op_mul = {"mul", mul_backward};
TG_API tg_tensor *tg_mul(tg_graph *g, tg_tensor *a, tg_tensor *b) {
    return binary(g, &tg__op_mul, K_MUL, a, b);
}

/* ---- div: y = a / b; da += dy / b, db -= dy * y / b ------------------------------- */
static void div_backward(tg_node *n) {
    tg_tensor *y = n->out, *a = n->in[0], *b = n->in[1];
    if (tg__needs_grad(a) && !grad_direct(G_DIV, a, b, y)) {
        tg_real *t = scratch(y);
        if (!t) return;
        apply(K_DIV, y->grad, y->ndim, y->shape, b->data, b->ndim, b->shape, t, y->ndim,
              y->shape);
        accumulate(a, t, y);
    }
    if (tg__needs_grad(b) && !grad_direct(G_NEG_MUL_DIV, b, b, y)) {
        tg_real *t = scratch(y), *u = scratch(y);
        if (!t || !u) return;
        for (int64_t i = 0; i < y->numel; i++) t[i] = -y->grad[i] * y->data[i];
        apply(K_DIV, t, y->ndim, y->shape, b->data, b->ndim, b->shape, u, y->ndim, y->shape);
        accumulate(b, u, y);
    }
}
const tg_op tg__op_div = {"div", div_backward};
TG_API tg_tensor *tg_div(tg_graph *g, tg_tensor *a, tg_tensor *b) {
    return binary(g, &tg__op_div, K_DIV, a, b);
}
