/* src/ops/dropout.c: inverted dropout.
 *
 * In training mode with p > 0, element i is kept when u_i >= p, u_i = tg_rng_uniform
 * drawn from the graph's generator in element order (so a seed fixes the mask, for any
 * thread count), and a kept element is scaled by 1 / (1 - p). The mask (one byte per
 * element) is saved in the arena; backward applies the same mask and scale to dy.
 * Otherwise (evaluation mode, p == 0) the op is a recorded copy: nothing is drawn and
 * the gradient passes through unchanged. */
#include <math.h>
#include <stdint.h>

#include "ops.h"

/* ---- dropout: y = m x / (1 - p), m_i ~ Bernoulli(1 - p); dx += m dy / (1 - p) ----- */
static void dropout_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const tg_real *restrict dy = y->grad;
    const uint8_t *restrict keep = n->saved;
    const int64_t len = x->numel;
    if (!keep) { /* identity */
        for (int64_t i = 0; i < len; i++) dx[i] += dy[i];
        return;
    }
    const tg_real scale = (tg_real)n->farg[0];
    for (int64_t i = 0; i < len; i++) dx[i] += keep[i] ? dy[i] * scale : 0;
}
const tg_op tg__op_dropout = {"dropout", dropout_backward};

TG_API tg_tensor *tg_dropout(tg_graph *g, tg_tensor *x, tg_real p) {
    if (!TG_BEGIN(g, "dropout", x)) return NULL;
    if (!(p >= 0 && p < 1)) {
        tg__fail(g, TG_ERR_ARG, "dropout: p = %g is outside [0, 1)", (double)p);
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, "dropout", x->ndim, x->shape);
    if (!y) return NULL;
    const int64_t len = x->numel;
    uint8_t *keep = NULL;
    /* 1 / (1 - p) in double, then rounded once: as PyTorch's scale. */
    const double scale = 1.0 / (1.0 - (double)p);
    if (g->training && p > 0) {
        keep = tg__alloc(g, (size_t)(len > 0 ? len : 1));
        if (!keep) return NULL;
        const double pd = (double)p;
        for (int64_t i = 0; i < len; i++) keep[i] = tg_rng_uniform(&g->rng) >= pd;
        const tg_real s = (tg_real)scale;
        const tg_real *restrict xd = x->data;
        tg_real *restrict yd = y->data;
        for (int64_t i = 0; i < len; i++) yd[i] = keep[i] ? xd[i] * s : 0;
    } else if (len > 0) {
        memcpy(y->data, x->data, (size_t)len * sizeof(tg_real));
    }
    tg_node *nd = tg__record(g, &tg__op_dropout, y, 1, &x);
    if (nd) {
        nd->saved = keep;
        nd->farg[0] = scale;
    }
    return tg__failed(g) ? NULL : y;
}
