/* src/ops/linear.c: the fully connected layer as one fused op.
 *
 * y = x @ w^T + b with x [..., in] seen as rows [R, in] (R = the product of the
 * leading dimensions: x is contiguous, so no copy), w [out, in], b [out] or NULL.
 * Forward is one gemm with transB (w is never transposed in memory) into y, which
 * holds the bias rows already when there is one (beta = 1). Backward is two gemms
 * straight into the gradient buffers (beta = 1: they accumulate) and a column sum:
 *     dx[R,in]   += dy[R,out] @ w[out,in]
 *     dw[out,in] += dy[R,out]^T @ x[R,in]
 *     db[out]    += sum over rows of dy
 * w and b are often parameters (persistent tensors with no graph), so scratch memory
 * comes from the output's graph. When dx is an intermediate's gradient that nothing has
 * written yet in this backward pass, its product is stored (beta = 0) rather than added
 * to zeros. */
#include <limits.h>

#include "ops.h"
#include "../kernels/gemm.h"

/* From this many elements of dy on, the bias gradient is summed by threads, each owning
 * blocks of 64 columns (every column is summed in row order by one thread: the result
 * does not depend on the thread count). */
#define DB_PAR_MIN TG_PAR_MIN

/* db[j] += sum_r dy[r, j], summed in double in row order. */
static void column_sums(tg_graph *g, const tg_real *dy, int64_t rows, int out, tg_real *db) {
    double *acc = tg__alloc(g, (size_t)out * sizeof *acc);
    if (!acc) return;
    const int nth = rows * out >= DB_PAR_MIN && out >= 64 ? tg__threads() : 1;
    TG_PARALLEL_FOR(
        nth, for (int c0 = 0; c0 < out; c0 += 64) {
            const int c1 = out - c0 < 64 ? out : c0 + 64;
            for (int j = c0; j < c1; j++) acc[j] = 0;
            for (int64_t r = 0; r < rows; r++) {
                const tg_real *row = dy + r * out;
                for (int j = c0; j < c1; j++) acc[j] += row[j];
            }
            for (int j = c0; j < c1; j++) db[j] += (tg_real)acc[j];
        });
}

/* The rows of x [..., in]: the product of its leading dimensions. */
static int64_t rows_of(const tg_tensor *x) {
    int64_t rows = 1;
    for (int i = 0; i < x->ndim - 1; i++) rows *= x->shape[i];
    return rows;
}

/* ---- linear: y = x w^T + b; dx += dy w, dw += dy^T x, db += colsum(dy) ----------- */
static void linear_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL, *y = n->out;
    const int out = w->shape[0], in = w->shape[1], rows = (int)rows_of(x);
    const tg_real *dy = y->grad;
    if (tg__needs_grad(x)) { /* dx[R,in] += dy[R,out] @ w[out,in] (= when dx is fresh) */
        bool overwrite;
        tg_real *dx = tg__grad_for_write(x, &overwrite);
        if (!dx) return;
        tgk_gemm(false, false, rows, in, out, 1, dy, out, w->data, in, overwrite ? 0 : 1, dx, in);
    }
    if (tg__needs_grad(w)) { /* dw[out,in] += dy[R,out]^T @ x[R,in] */
        tg_real *dw = tg__grad_buf(w);
        if (!dw) return;
        tgk_gemm(true, false, out, in, rows, 1, dy, out, x->data, in, 1, dw, in);
    }
    if (b && tg__needs_grad(b)) {
        tg_real *db = tg__grad_buf(b);
        if (!db) return;
        column_sums(y->g, dy, rows, out, db);
    }
}
const tg_op tg__op_linear = {"linear", linear_backward};

TG_API tg_tensor *tg_linear(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b) {
    tg_tensor *in3[3] = {x, w, b};
    const int nin = b ? 3 : 2;
    if (!tg__op_begin(g, "linear", nin, in3)) return NULL;
    char sx[TG_SHAPE_STR], sw[TG_SHAPE_STR], sb[TG_SHAPE_STR];
    if (x->ndim < 2 || w->ndim != 2) {
        tg__fail(g, TG_ERR_SHAPE,
                 "linear: x must have 2 or more dimensions and w 2 ([out,in]), got x %s, w %s",
                 TG_SHAPE(x, sx), TG_SHAPE(w, sw));
        return NULL;
    }
    const int out = w->shape[0], in = w->shape[1];
    if (x->shape[x->ndim - 1] != in) {
        tg__fail(g, TG_ERR_SHAPE, "linear: x %s has %d features, w %s expects %d", TG_SHAPE(x, sx),
                 x->shape[x->ndim - 1], TG_SHAPE(w, sw), in);
        return NULL;
    }
    if (b && (b->ndim != 1 || b->shape[0] != out)) {
        tg__fail(g, TG_ERR_SHAPE, "linear: bias %s does not fit w %s (want [%d])", TG_SHAPE(b, sb),
                 TG_SHAPE(w, sw), out);
        return NULL;
    }
    const int64_t rows = rows_of(x);
    if (rows > INT_MAX) {
        tg__fail(g, TG_ERR_SHAPE, "linear: x %s has %lld rows, more than a product takes",
                 TG_SHAPE(x, sx), (long long)rows);
        return NULL;
    }
    int ys[TG_MAX_DIMS];
    for (int i = 0; i < x->ndim - 1; i++) ys[i] = x->shape[i];
    ys[x->ndim - 1] = out;
    tg_tensor *y = tg__tensor_make(g, "linear", x->ndim, ys);
    if (!y) return NULL;

    /* y[R,out] = x[R,in] @ w[out,in]^T (+ the bias rows already in y) */
    if (b && y->numel > 0)
        for (int64_t r = 0; r < rows; r++)
            memcpy(y->data + r * out, b->data, (size_t)out * sizeof(tg_real));
    tgk_gemm(false, true, (int)rows, out, in, 1, x->data, in, w->data, in, b ? 1 : 0, y->data, out);
    tg__record(g, &tg__op_linear, y, nin, in3);
    return tg__failed(g) ? NULL : y;
}
