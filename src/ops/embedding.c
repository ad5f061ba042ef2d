/* src/ops/embedding.c: embedding, a table lookup by integer indices.
 *
 * weight is [V, D]; the indices (int32, any shape with at most TG_MAX_DIMS - 1 dims)
 * are copied into the arena and checked once, so backward trusts them. Output row i
 * is weight row idx[i]. Backward adds dy row i into dweight row idx[i], in increasing
 * i for every row of dweight: a small gradient is one serial loop; a large one first
 * groups the positions by the row they hit (a counting sort, stable), and then rows go
 * to threads whole, each still adding its positions in increasing i. Both ways every
 * element of dweight sees the same additions in the same order: the result is
 * bit-identical for any thread count, and repeated indices accumulate. */
#include <stdint.h>
#include <stdio.h>

#include "ops.h"

/* Threads for a loop over work elements: several only when it is large. */
static int nthreads(int64_t work) { return work >= TG_PAR_MIN ? tg__threads() : 1; }

/* ---- embedding: y[i, :] = w[idx_i, :]; dw[idx_i, :] += dy[i, :] -------------------
 * saved: int32_t idx[n], n = out->numel / D. */
static void embedding_backward(tg_node *nd) {
    tg_tensor *w = nd->in[0], *y = nd->out;
    tg_real *dw = tg__grad_buf(w);
    const int64_t d = w->shape[1];
    if (!dw || d == 0 || y->numel == 0) return;
    const int64_t n = y->numel / d, v = w->shape[0];
    const int32_t *idx = nd->saved;
    const tg_real *dy = y->grad;
    const int nth = nthreads(y->numel);
    if (nth <= 1) {
        for (int64_t i = 0; i < n; i++) {
            tg_real *restrict dr = dw + idx[i] * d;
            const tg_real *restrict gr = dy + i * d;
            for (int64_t k = 0; k < d; k++) dr[k] += gr[k];
        }
        return;
    }
    /* start[r]..start[r+1]: the positions that hit row r, in increasing order */
    int64_t *start = tg__calloc(y->g, (size_t)(v + 1) * sizeof *start);
    int64_t *pos = tg__alloc(y->g, (size_t)n * sizeof *pos);
    if (!start || !pos) return;
    for (int64_t i = 0; i < n; i++) start[idx[i] + 1]++;
    for (int64_t r = 0; r < v; r++) start[r + 1] += start[r];
    int64_t *fill = tg__alloc(y->g, (size_t)(v + 1) * sizeof *fill);
    if (!fill) return;
    memcpy(fill, start, (size_t)(v + 1) * sizeof *fill);
    for (int64_t i = 0; i < n; i++) pos[fill[idx[i]]++] = i;
#pragma omp parallel for schedule(dynamic, 64) num_threads(nth)
    for (int64_t r = 0; r < v; r++) {
        tg_real *restrict dr = dw + r * d;
        for (int64_t p = start[r]; p < start[r + 1]; p++) {
            const tg_real *restrict gr = dy + pos[p] * d;
            for (int64_t k = 0; k < d; k++) dr[k] += gr[k];
        }
    }
}
const tg_op tg__op_embedding = {"embedding", embedding_backward};

/* Writes the coordinates of flat position i in shape (nd, shape) as " [1,0]", or ""
 * for nd < 2 (where the position says it all). */
static void coords(int64_t i, int nd, const int *shape, char *buf) {
    int c[TG_MAX_DIMS];
    buf[0] = '\0';
    if (nd < 2) return;
    for (int k = nd - 1; k >= 0; k--) {
        c[k] = (int)(i % shape[k]);
        i /= shape[k];
    }
    buf[0] = ' ';
    tg__shape_str(nd, c, buf + 1);
}

TG_API tg_tensor *tg_embedding(tg_graph *g, tg_tensor *weight, const int32_t *indices, int ndim,
                               const int *shape) {
    char sw[TG_SHAPE_STR], si[TG_SHAPE_STR];
    if (!TG_BEGIN(g, "embedding", weight)) return NULL;
    if (weight->ndim != 2) {
        tg__fail(g, TG_ERR_SHAPE, "embedding: weight %s must be [V, D] (2 dims)",
                 TG_SHAPE(weight, sw));
        return NULL;
    }
    if (ndim < 0 || ndim > TG_MAX_DIMS - 1) {
        tg__fail(g, TG_ERR_SHAPE, "embedding: indices ndim %d is outside 0..%d (weight %s)", ndim,
                 TG_MAX_DIMS - 1, TG_SHAPE(weight, sw));
        return NULL;
    }
    if (ndim > 0 && !shape) {
        tg__fail(g, TG_ERR_NULL, "embedding: the indices' shape is NULL for ndim %d", ndim);
        return NULL;
    }
    int ys[TG_MAX_DIMS];
    for (int k = 0; k < ndim; k++) ys[k] = shape[k];
    ys[ndim] = weight->shape[1];
    /* checks the indices' shape (negative dims, overflow) along with the output's */
    int64_t n = 1;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0 || (shape[k] > 0 && n > INT32_MAX / shape[k])) {
            tg__fail(g, TG_ERR_SHAPE, "embedding: bad indices shape %s (weight %s)",
                     tg__shape_str(ndim, shape, si), TG_SHAPE(weight, sw));
            return NULL;
        }
        n *= shape[k];
    }
    if (n > 0 && !indices) {
        tg__fail(g, TG_ERR_NULL, "embedding: indices is NULL (shape %s)",
                 tg__shape_str(ndim, shape, si));
        return NULL;
    }
    const int32_t v = weight->shape[0];
    for (int64_t i = 0; i < n; i++) {
        if (indices[i] < 0 || indices[i] >= v) {
            char at[TG_SHAPE_STR + 1];
            coords(i, ndim, shape, at);
            tg__fail(g, TG_ERR_ARG,
                     "embedding: index %d at position %lld%s of indices %s is outside [0, %d) "
                     "(weight %s)",
                     (int)indices[i], (long long)i, at, tg__shape_str(ndim, shape, si), (int)v,
                     TG_SHAPE(weight, sw));
            return NULL;
        }
    }
    tg_tensor *y = tg__tensor_make(g, "embedding", ndim + 1, ys);
    int32_t *idx = tg__alloc(g, (size_t)(n > 0 ? n : 1) * sizeof *idx); /* kept for backward */
    if (!y || !idx) return NULL;
    if (n > 0) memcpy(idx, indices, (size_t)n * sizeof *idx);
    const int64_t d = ys[ndim];
    if (d > 0) {
        const tg_real *wd = weight->data;
        tg_real *yd = y->data;
        const int nth = nthreads(y->numel);
        (void)nth; /* only the pragmas read it */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
        for (int64_t i = 0; i < n; i++)
            memcpy(yd + i * d, wd + (int64_t)idx[i] * d, (size_t)d * sizeof(tg_real));
    }
    tg_node *nd = tg__record(g, &tg__op_embedding, y, 1, &weight);
    if (nd) nd->saved = idx;
    return tg__failed(g) ? NULL : y;
}
