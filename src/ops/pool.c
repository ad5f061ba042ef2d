/* src/ops/pool.c: 2-D pooling over NCHW: max, average, global average.
 *
 * Windows: output (oh, ow) covers rows oh*sh - ph .. + KH - 1 and columns likewise,
 * OH = (H + 2 ph - KH) / sh + 1 (floor, as PyTorch without ceil_mode). Padding is at
 * most half the kernel, so every window holds at least one element of the input.
 * Every (sample, channel) plane is independent: planes are split across threads, and
 * every output and every gradient element belongs to one plane, so results do not
 * depend on the thread count. */
#include <limits.h>
#include <math.h>

#include "ops.h"

/* The window geometry, kept in the node's iarg. */
enum { P_KH, P_KW, P_SH, P_SW, P_PH, P_PW };

typedef struct pool_dims {
    int64_t planes;
    int H, W, OH, OW, KH, KW, sh, sw, ph, pw;
} pool_dims;

/* The dimensions of pooling x into y with the geometry a[6]. */
static pool_dims dims_of(const tg_tensor *x, const tg_tensor *y, const int *a) {
    return (pool_dims){(int64_t)x->shape[0] * x->shape[1],
                       x->shape[2],
                       x->shape[3],
                       y->shape[2],
                       y->shape[3],
                       a[P_KH],
                       a[P_KW],
                       a[P_SH],
                       a[P_SW],
                       a[P_PH],
                       a[P_PW]};
}

/* Threads for a loop over planes, per_plane elements of work each. */
static int plane_threads(int64_t planes, int64_t per_plane) {
    return planes > 1 && planes * per_plane >= TG_PAR_MIN ? tg__threads() : 1;
}

/* The window of output (oh, ow) clipped to the input: rows [*h0, *h1), columns [*w0, *w1). */
static inline void window(const pool_dims *d, int oh, int ow, int *h0, int *h1, int *w0, int *w1) {
    const int hs = oh * d->sh - d->ph, ws = ow * d->sw - d->pw;
    *h0 = hs < 0 ? 0 : hs;
    *h1 = hs + d->KH < d->H ? hs + d->KH : d->H;
    *w0 = ws < 0 ? 0 : ws;
    *w1 = ws + d->KW < d->W ? ws + d->KW : d->W;
}

/* Checks x and the options; fills a[6] and the output shape ys[4]. */
static bool pool_setup(tg_graph *g, const char *op, const tg_tensor *x, const tg_pool_opts *o,
                       int *a, int *ys) {
    char sx[TG_SHAPE_STR];
    if (!o) {
        tg__fail(g, TG_ERR_NULL, "%s: opts is NULL (the kernel size is required)", op);
        return false;
    }
    if (x->ndim != 4) {
        tg__fail(g, TG_ERR_SHAPE, "%s: x must be [N,C,H,W], got %s", op, TG_SHAPE(x, sx));
        return false;
    }
    const int *k = o->kernel, *s = o->stride, *p = o->padding;
    if (k[0] < 1 || k[1] < 1) {
        tg__fail(g, TG_ERR_ARG, "%s: kernel must be positive, got [%d,%d]", op, k[0], k[1]);
        return false;
    }
    if (s[0] < 0 || s[1] < 0) {
        tg__fail(g, TG_ERR_ARG,
                 "%s: stride must be positive (or 0 for the kernel size), got [%d,%d]", op, s[0],
                 s[1]);
        return false;
    }
    if (p[0] < 0 || p[1] < 0 || p[0] > k[0] / 2 || p[1] > k[1] / 2) {
        tg__fail(g, TG_ERR_ARG,
                 "%s: padding must be between 0 and half the kernel, got padding [%d,%d] for "
                 "kernel [%d,%d]",
                 op, p[0], p[1], k[0], k[1]);
        return false;
    }
    const int sh = s[0] ? s[0] : k[0], sw = s[1] ? s[1] : k[1];
    const int H = x->shape[2], W = x->shape[3];
    const int64_t nh = (int64_t)H + 2 * p[0] - k[0], nw = (int64_t)W + 2 * p[1] - k[1];
    if (nh < 0 || nw < 0) {
        tg__fail(g, TG_ERR_SHAPE,
                 "%s: output size would be 0: input %s is smaller than the kernel %dx%d "
                 "(padding [%d,%d])",
                 op, TG_SHAPE(x, sx), k[0], k[1], p[0], p[1]);
        return false;
    }
    if ((int64_t)H * W > INT_MAX) {
        tg__fail(g, TG_ERR_SHAPE, "%s: planes of x %s are too large", op, TG_SHAPE(x, sx));
        return false;
    }
    a[P_KH] = k[0], a[P_KW] = k[1], a[P_SH] = sh, a[P_SW] = sw, a[P_PH] = p[0], a[P_PW] = p[1];
    ys[0] = x->shape[0], ys[1] = x->shape[1];
    ys[2] = (int)(nh / sh + 1), ys[3] = (int)(nw / sw + 1);
    return true;
}

/* What max_pool2d and avg_pool2d start with: the checks, the geometry a[6] (kept in the
 * node) and its dimensions *d, and the output; NULL after recording an error. */
static tg_tensor *pool_begin(tg_graph *g, const char *op, tg_tensor *x, const tg_pool_opts *o,
                             int *a, pool_dims *d) {
    int ys[4];
    if (!TG_BEGIN(g, op, x) || !pool_setup(g, op, x, o, a, ys)) return NULL;
    tg_tensor *y = tg__tensor_make(g, op, 4, ys);
    if (y) *d = dims_of(x, y, a);
    return y;
}

/* Records y = op(x) with the geometry a[6] and saved data for backward (may be NULL). */
static tg_tensor *pool_record(tg_graph *g, const tg_op *op, tg_tensor *x, tg_tensor *y,
                              const int *a, void *saved) {
    tg_node *nd = tg__record(g, op, y, 1, &x);
    if (nd) {
        memcpy(nd->iarg, a, 6 * sizeof *a);
        nd->saved = saved;
    }
    return tg__failed(g) ? NULL : y;
}

/* ---- max_pool2d: y = max over the window; dx[argmax] += dy ------------------------- */

/* Which element of a window is the maximum is a coin toss on real data: tell the
 * compiler, so that it selects (cmov) rather than branches (and mispredicts). */
#if defined(__GNUC__) && !defined(__clang__)
#define UNPREDICTABLE(c) __builtin_expect_with_probability((c), 1, 0.5)
#elif defined(__clang__)
#define UNPREDICTABLE(c) __builtin_unpredictable(c)
#else
#define UNPREDICTABLE(c) (c)
#endif

/* The common 2x2 window with stride 2 and no padding (never clipped), without
 * branches: the same answers as the general loop (first maximum; a NaN wins, the last
 * one). ip may be NULL. */
static void max2x2_plane(const tg_real *restrict xp, int W, int OH, int OW, tg_real *restrict yp,
                         int32_t *restrict ip) {
    for (int oh = 0; oh < OH; oh++) {
        const tg_real *restrict r0 = xp + (int64_t)2 * oh * W, *restrict r1 = r0 + W;
        const int32_t i0 = 2 * oh * W, i1 = i0 + W;
        for (int ow = 0; ow < OW; ow++) {
            const int c = 2 * ow;
            tg_real best = r0[c], v;
            int32_t at = i0 + c;
            bool t;
            v = r0[c + 1], t = UNPREDICTABLE((v > best) | (isnan(v) != 0));
            best = t ? v : best, at = t ? i0 + c + 1 : at;
            v = r1[c], t = UNPREDICTABLE((v > best) | (isnan(v) != 0));
            best = t ? v : best, at = t ? i1 + c : at;
            v = r1[c + 1], t = UNPREDICTABLE((v > best) | (isnan(v) != 0));
            best = t ? v : best, at = t ? i1 + c + 1 : at;
            yp[oh * OW + ow] = best;
            if (ip) ip[oh * OW + ow] = at;
        }
    }
}

/* The maximum of window (oh, ow) of plane xp, and in *at its index in the plane: the
 * first maximum in row-major order; a NaN wins (the last one), as in PyTorch. Two
 * sweeps: the maximum (v > best ? v : best is a max instruction, no branch to
 * mispredict) and NaNs, then the first element equal to the maximum. */
static inline tg_real max_window(const tg_real *restrict xp, const pool_dims *d, int oh, int ow,
                                 int32_t *at) {
    int h0, h1, w0, w1;
    window(d, oh, ow, &h0, &h1, &w0, &w1);
    tg_real best = -INFINITY;
    int32_t nan_at = -1;
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++) {
            const tg_real v = xp[ih * d->W + iw];
            best = v > best ? v : best;
            if (isnan(v)) nan_at = ih * d->W + iw;
        }
    if (nan_at >= 0) {
        *at = nan_at;
        return xp[nan_at];
    }
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++)
            if (xp[ih * d->W + iw] == best) {
                *at = ih * d->W + iw;
                return best;
            }
    *at = h0 * d->W + w0; /* unreachable: the window is never empty */
    return best;
}

/* dx[argmax] += dy, plane by plane */
static void max_pool_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const pool_dims d = dims_of(x, y, n->iarg);
    const int32_t *idx = n->saved;
    const tg_real *dy = y->grad;
    const int64_t in = (int64_t)d.H * d.W, out = (int64_t)d.OH * d.OW;
    const int nth = plane_threads(d.planes, out);
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t pl = 0; pl < d.planes; pl++) {
        tg_real *dxp = dx + pl * in;
        const tg_real *dyp = dy + pl * out;
        const int32_t *ip = idx + pl * out;
        for (int64_t j = 0; j < out; j++) dxp[ip[j]] += dyp[j];
    }
}
const tg_op tg__op_max_pool2d = {"max_pool2d", max_pool_backward};

TG_API tg_tensor *tg_max_pool2d(tg_graph *g, tg_tensor *x, const tg_pool_opts *o) {
    int a[6];
    pool_dims d;
    tg_tensor *y = pool_begin(g, "max_pool2d", x, o, a, &d);
    if (!y) return NULL;
    const int64_t in = (int64_t)d.H * d.W, out = (int64_t)d.OH * d.OW;
    /* the argmax of every output (its index in the plane), kept for backward */
    int32_t *idx = NULL;
    if (g->grad_enabled && tg__needs_grad(x) && y->numel > 0) {
        idx = tg__alloc(g, (size_t)y->numel * sizeof *idx);
        if (!idx) return NULL;
    }
    const bool k2s2 = d.KH == 2 && d.KW == 2 && d.sh == 2 && d.sw == 2 && d.ph == 0 && d.pw == 0;
    const int nth = plane_threads(d.planes, out * d.KH * d.KW);
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t pl = 0; pl < d.planes; pl++) {
        const tg_real *xp = x->data + pl * in;
        tg_real *yp = y->data + pl * out;
        int32_t *ip = idx ? idx + pl * out : NULL;
        if (k2s2) {
            max2x2_plane(xp, d.W, d.OH, d.OW, yp, ip);
            continue;
        }
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                int32_t at;
                yp[oh * d.OW + ow] = max_window(xp, &d, oh, ow, &at);
                if (ip) ip[oh * d.OW + ow] = at;
            }
    }
    return pool_record(g, &tg__op_max_pool2d, x, y, a, idx);
}

/* ---- avg_pool2d: y = sum over the window / (KH KW); dx[window] += dy / (KH KW) ------
 * The divisor counts the padding (count_include_pad, PyTorch's default): with padding
 * at most half the kernel and floor-sized outputs it is always KH KW. */
static void avg_pool_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const pool_dims d = dims_of(x, y, n->iarg);
    const tg_real *dy = y->grad;
    const int64_t in = (int64_t)d.H * d.W, out = (int64_t)d.OH * d.OW;
    const tg_real inv = (tg_real)(1.0 / ((double)d.KH * d.KW));
    const int nth = plane_threads(d.planes, out * d.KH * d.KW);
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t pl = 0; pl < d.planes; pl++) {
        tg_real *dxp = dx + pl * in;
        const tg_real *dyp = dy + pl * out;
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                int h0, h1, w0, w1;
                window(&d, oh, ow, &h0, &h1, &w0, &w1);
                const tg_real gv = dyp[oh * d.OW + ow] * inv;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) dxp[ih * d.W + iw] += gv;
            }
    }
}
const tg_op tg__op_avg_pool2d = {"avg_pool2d", avg_pool_backward};

TG_API tg_tensor *tg_avg_pool2d(tg_graph *g, tg_tensor *x, const tg_pool_opts *o) {
    int a[6];
    pool_dims d;
    tg_tensor *y = pool_begin(g, "avg_pool2d", x, o, a, &d);
    if (!y) return NULL;
    const int64_t in = (int64_t)d.H * d.W, out = (int64_t)d.OH * d.OW;
    const double div = (double)d.KH * d.KW;
    const int nth = plane_threads(d.planes, out * d.KH * d.KW);
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t pl = 0; pl < d.planes; pl++) {
        const tg_real *xp = x->data + pl * in;
        tg_real *yp = y->data + pl * out;
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                int h0, h1, w0, w1;
                window(&d, oh, ow, &h0, &h1, &w0, &w1);
                double s = 0;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) s += xp[ih * d.W + iw];
                yp[oh * d.OW + ow] = (tg_real)(s / div);
            }
    }
    return pool_record(g, &tg__op_avg_pool2d, x, y, a, NULL);
}

/* ---- global_avg_pool2d: y[n,c] = mean of x[n,c,:,:]; dx[n,c,:,:] += dy[n,c] / (H W) -- */
static void global_avg_pool_backward(tg_node *n) {
    tg_tensor *x = n->in[0], *y = n->out;
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const int64_t planes = y->numel, in = (int64_t)x->shape[2] * x->shape[3];
    const tg_real inv = (tg_real)(1.0 / (double)in);
    const tg_real *dy = y->grad;
    const int nth = plane_threads(planes, in);
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t pl = 0; pl < planes; pl++) {
        tg_real *dxp = dx + pl * in;
        const tg_real gv = dy[pl] * inv;
        for (int64_t i = 0; i < in; i++) dxp[i] += gv;
    }
}
const tg_op tg__op_global_avg_pool2d = {"global_avg_pool2d", global_avg_pool_backward};

TG_API tg_tensor *tg_global_avg_pool2d(tg_graph *g, tg_tensor *x) {
    if (!TG_BEGIN(g, "global_avg_pool2d", x)) return NULL;
    char sx[TG_SHAPE_STR];
    if (x->ndim != 4) {
        tg__fail(g, TG_ERR_SHAPE, "global_avg_pool2d: x must be [N,C,H,W], got %s",
                 TG_SHAPE(x, sx));
        return NULL;
    }
    const int64_t in = (int64_t)x->shape[2] * x->shape[3];
    if (in == 0) {
        tg__fail(g, TG_ERR_SHAPE, "global_avg_pool2d: x %s has empty planes (no mean)",
                 TG_SHAPE(x, sx));
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, "global_avg_pool2d", 2, x->shape);
    if (!y) return NULL;
    const int64_t planes = y->numel;
    const int nth = plane_threads(planes, in);
    (void)nth;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t pl = 0; pl < planes; pl++) {
        const tg_real *xp = x->data + pl * in;
        double s = 0;
        for (int64_t i = 0; i < in; i++) s += xp[i];
        y->data[pl] = (tg_real)(s / (double)in);
    }
    tg__record(g, &tg__op_global_avg_pool2d, y, 1, &x);
    return tg__failed(g) ? NULL : y;
}
