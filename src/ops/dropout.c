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

/* The bits of a tg_real, to select by masking. */
#if TG_PRECISION_DOUBLE
typedef uint64_t real_bits;
#else
typedef uint32_t real_bits;
#endif

/* v if keep (0 or 1), else +0: the bits of v and'ed with all ones or all zeros. (A
 * select on a byte compare makes gcc branch per element; this vectorises.) */
static inline tg_real kept(tg_real v, uint8_t keep) {
    real_bits b;
    memcpy(&b, &v, sizeof b);
    b &= (real_bits)0 - (real_bits)keep;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* y[i] = keep[i] ? x[i] * s : 0 */
TG_SIMD static void mask_scale(tg_real *restrict y, const tg_real *restrict x,
                               const uint8_t *restrict keep, tg_real s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = kept(x[i] * s, keep[i]);
}

/* dx[i] += keep[i] ? dy[i] * s : 0, or dx[i] = 0 + that when overwrite (dx is fresh) */
TG_SIMD static void mask_scale_add(tg_real *restrict dx, const tg_real *restrict dy,
                                   const uint8_t *restrict keep, tg_real s, int64_t n,
                                   bool overwrite) {
    if (overwrite)
        for (int64_t i = 0; i < n; i++) dx[i] = (tg_real)0 + kept(dy[i] * s, keep[i]);
    else
        for (int64_t i = 0; i < n; i++) dx[i] += kept(dy[i] * s, keep[i]);
}

/* ---- dropout: y = m x / (1 - p), m_i ~ Bernoulli(1 - p); dx += m dy / (1 - p) ----- */
static void dropout_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    bool overwrite;
    tg_real *dx = tg__grad_for_write(x, &overwrite);
    if (!dx) return;
    const tg_real *restrict dy = y->grad;
    const uint8_t *restrict keep = n->saved;
    const int64_t len = x->numel;
    if (!keep) { /* identity */
        for (int64_t i = 0; i < len; i++) dx[i] = (overwrite ? (tg_real)0 : dx[i]) + dy[i];
        return;
    }
    mask_scale_add(dx, dy, keep, (tg_real)n->farg[0], len, overwrite);
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
        tg__rng_keep_mask(&g->rng, (double)p, keep, len);
        mask_scale(y->data, x->data, keep, (tg_real)scale, len);
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
