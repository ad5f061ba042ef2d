/* src/ops/norm.c: batch_norm and layer_norm.
 *
 * Both normalise groups of values to zero mean and unit variance and then apply a
 * per-feature affine map:
 *     xhat = (x - mean) * invstd,  invstd = 1 / sqrt(var + eps),  y = xhat * gamma + beta
 * with var the biased (population) variance of the group.
 *   batch_norm: x [N, C, S...] is seen as [N, C, S]; channel c groups the N*S values
 *     x[:, c, :]; gamma and beta are [C].
 *   layer_norm: x [R..., M...] is seen as [R, M], M the trailing normalized_ndim dims;
 *     each row groups its M values; gamma and beta have M's shape.
 * Means, variances and the sums of backward accumulate in double, each group serially
 * in an order fixed by the shape, and groups go to threads whole: results do not depend
 * on the thread count. Per group, mean and invstd (doubles) are saved for backward,
 * which recomputes xhat from x.
 *
 * The gradient of a normalisation over a group of m values (gamma of each element):
 *     dxhat = dy * gamma
 *     dx   += invstd / m * (m dxhat - sum(dxhat) - xhat sum(dxhat xhat))
 *     dgamma += sum(dy xhat),  dbeta += sum(dy)   (over the elements gamma scales)
 * batch_norm in evaluation mode normalises by constants (the running statistics), so
 * its dx is just dy * gamma * invstd. */
#include <math.h>

#include "ops.h"

/* Threads for a loop over work elements: several only when it is large. */
static int nthreads(int64_t work) { return work >= TG_PAR_MIN ? tg__threads() : 1; }

/* The sum of r[0..n), or of (r - c)^2 when sq, in double with four partial sums
 * combined in a fixed order. */
static double row_sum(const tg_real *restrict r, int64_t n, double c, bool sq) {
    double l0 = 0, l1 = 0, l2 = 0, l3 = 0;
    int64_t i = 0;
    if (sq) {
        for (; i + 4 <= n; i += 4) {
            const double d0 = r[i] - c, d1 = r[i + 1] - c, d2 = r[i + 2] - c, d3 = r[i + 3] - c;
            l0 += d0 * d0, l1 += d1 * d1, l2 += d2 * d2, l3 += d3 * d3;
        }
        for (; i < n; i++) l0 += (r[i] - c) * (r[i] - c);
    } else {
        for (; i + 4 <= n; i += 4) l0 += r[i], l1 += r[i + 1], l2 += r[i + 2], l3 += r[i + 3];
        for (; i < n; i++) l0 += r[i];
    }
    return (l0 + l1) + (l2 + l3);
}

/* Checks that p (gamma or beta, may be NULL) has shape (nd, shape). */
static bool affine_ok(tg_graph *g, const char *op, const char *what, const tg_tensor *p,
                      const tg_tensor *x, int nd, const int *shape) {
    char sp[TG_SHAPE_STR], sw[TG_SHAPE_STR], sx[TG_SHAPE_STR];
    if (!p) return true;
    bool ok = p->ndim == nd;
    for (int i = 0; ok && i < nd; i++) ok = p->shape[i] == shape[i];
    if (!ok)
        tg__fail(g, TG_ERR_SHAPE, "%s: %s has shape %s, want %s for input %s", op, what,
                 TG_SHAPE(p, sp), tg__shape_str(nd, shape, sw), TG_SHAPE(x, sx));
    return ok;
}

/* Starts a norm op on x and the optional tensors ts[0..n) (NULL allowed), named in
 * errors by names[]. */
static bool begin(tg_graph *g, const char *op, tg_tensor *x, int n, tg_tensor *const *ts,
                  const char *const *names) {
    if (!tg__op_begin(g, op, 1, &x)) return false;
    for (int i = 0; i < n; i++) {
        if (ts[i] && ts[i]->g != g && !(ts[i]->flags & TG_T_PERSISTENT)) {
            tg__fail(g, TG_ERR_STATE, "%s: %s belongs to another graph", op, names[i]);
            return false;
        }
    }
    return true;
}

static bool eps_ok(tg_graph *g, const char *op, tg_real eps) {
    if (eps >= 0 && isfinite(eps)) return true;
    tg__fail(g, TG_ERR_ARG, "%s: eps = %g must be finite and >= 0", op, (double)eps);
    return false;
}

/* ==== batch_norm =================================================================== */

typedef struct bn_view {
    int64_t n, c, s; /* x as [N, C, S] */
} bn_view;

static bn_view bn_view_of(const tg_tensor *x) {
    bn_view v = {x->shape[0], x->shape[1], 1};
    for (int i = 2; i < x->ndim; i++) v.s *= x->shape[i];
    return v;
}

/* iarg[0]: bit 0 gamma given, bit 1 beta given (inputs x, then those); iarg[1]: batch
 * statistics (training) or running ones; saved: double[2C], mean then invstd. */
enum { HAS_GAMMA = 1, HAS_BETA = 2 };

/* ---- batch_norm: y = (x - mean_c) invstd_c gamma_c + beta_c ------------------------
 * training: dx += gamma invstd / m (m dy - sum(dy) - xhat sum(dy xhat)), m = N*S;
 * eval: dx += dy gamma invstd; both: dgamma_c += sum(dy xhat), dbeta_c += sum(dy) */
static void batch_norm_backward(tg_node *nd) {
    tg_tensor *x = nd->in[0], *y = nd->out;
    const int has = nd->iarg[0];
    const bool batch = nd->iarg[1] != 0;
    tg_tensor *gamma = has & HAS_GAMMA ? nd->in[1] : NULL;
    tg_tensor *beta = has & HAS_BETA ? nd->in[has & HAS_GAMMA ? 2 : 1] : NULL;
    tg_real *dx = tg__grad_buf(x);
    tg_real *dgamma = gamma ? tg__grad_buf(gamma) : NULL;
    tg_real *dbeta = beta ? tg__grad_buf(beta) : NULL;
    if (!dx && !dgamma && !dbeta) return;
    const bn_view v = bn_view_of(x);
    const double *mean = nd->saved, *invstd = mean + v.c;
    const double m = (double)(v.n * v.s);
    const tg_real *xd = x->data, *dy = y->grad;
    const int nth = nthreads(x->numel);
    (void)nth; /* only the pragmas read it */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t c = 0; c < v.c; c++) {
        const double mu = mean[c], is = invstd[c];
        double sdy = 0, sdyx = 0; /* sum(dy), sum(dy xhat) */
        for (int64_t i = 0; i < v.n; i++) {
            const tg_real *xr = xd + (i * v.c + c) * v.s, *gr = dy + (i * v.c + c) * v.s;
            for (int64_t k = 0; k < v.s; k++) {
                sdy += gr[k];
                sdyx += gr[k] * (xr[k] - mu);
            }
        }
        sdyx *= is;
        if (dgamma) dgamma[c] += (tg_real)sdyx;
        if (dbeta) dbeta[c] += (tg_real)sdy;
        if (!dx) continue;
        const double k0 = (gamma ? gamma->data[c] : 1.0) * is; /* gamma invstd */
        const double a = batch ? sdy / m : 0, b = batch ? sdyx * is / m : 0;
        for (int64_t i = 0; i < v.n; i++) {
            const int64_t off = (i * v.c + c) * v.s;
            const tg_real *restrict xr = xd + off, *restrict gr = dy + off;
            tg_real *restrict dr = dx + off;
            for (int64_t k = 0; k < v.s; k++)
                dr[k] += (tg_real)(k0 * ((gr[k] - a) - (xr[k] - mu) * b));
        }
    }
}
const tg_op tg__op_batch_norm = {"batch_norm", batch_norm_backward};

/* Checks a running statistic (may be NULL): [C], no gradient, not another input. */
static bool running_ok(tg_graph *g, const char *what, const tg_tensor *r, const tg_tensor *x,
                       const tg_tensor *gamma, const tg_tensor *beta) {
    char sr[TG_SHAPE_STR], sx[TG_SHAPE_STR];
    if (!r) return true;
    if (!affine_ok(g, "batch_norm", what, r, x, 1, &x->shape[1])) return false;
    if (tg__needs_grad(r)) {
        tg__fail(g, TG_ERR_ARG,
                 "batch_norm: %s %s requires gradients; running statistics are buffers "
                 "updated in place: turn its gradient off (tg_set_requires_grad(t, false))",
                 what, TG_SHAPE(r, sr));
        return false;
    }
    if (r == gamma || r == beta) {
        tg__fail(g, TG_ERR_ARG, "batch_norm: %s is also %s (input %s)", what,
                 r == gamma ? "gamma" : "beta", TG_SHAPE(x, sx));
        return false;
    }
    return true;
}

TG_API tg_tensor *tg_batch_norm(tg_graph *g, tg_tensor *x, tg_tensor *gamma, tg_tensor *beta,
                                tg_tensor *running_mean, tg_tensor *running_var, tg_real momentum,
                                tg_real eps) {
    char sx[TG_SHAPE_STR];
    if (!begin(g, "batch_norm", x, 4, (tg_tensor *[]){gamma, beta, running_mean, running_var},
               (const char *[]){"gamma", "beta", "running_mean", "running_var"}))
        return NULL;
    if (x->ndim < 2) {
        tg__fail(g, TG_ERR_SHAPE, "batch_norm: input %s must be [N, C, ...] (2 or more dims)",
                 TG_SHAPE(x, sx));
        return NULL;
    }
    if (!affine_ok(g, "batch_norm", "gamma", gamma, x, 1, &x->shape[1]) ||
        !affine_ok(g, "batch_norm", "beta", beta, x, 1, &x->shape[1]) ||
        !running_ok(g, "running_mean", running_mean, x, gamma, beta) ||
        !running_ok(g, "running_var", running_var, x, gamma, beta) || !eps_ok(g, "batch_norm", eps))
        return NULL;
    if (!running_mean != !running_var || (running_mean && running_mean == running_var)) {
        tg__fail(g, TG_ERR_ARG,
                 "batch_norm: give running_mean and running_var as two tensors, or neither "
                 "(input %s)",
                 TG_SHAPE(x, sx));
        return NULL;
    }
    if (!(momentum >= 0 && momentum <= 1)) {
        tg__fail(g, TG_ERR_ARG, "batch_norm: momentum = %g is outside [0, 1]", (double)momentum);
        return NULL;
    }
    const bool batch = tg_graph_training(g);
    const bn_view v = bn_view_of(x);
    const int64_t m = v.n * v.s; /* values per channel */
    if (batch && m <= 1 && v.c > 0) {
        tg__fail(g, TG_ERR_SHAPE,
                 "batch_norm: training needs more than 1 value per channel, got input %s",
                 TG_SHAPE(x, sx));
        return NULL;
    }
    if (!batch && !running_mean) {
        tg__fail(g, TG_ERR_ARG,
                 "batch_norm: evaluation mode needs running_mean and running_var (input %s)",
                 TG_SHAPE(x, sx));
        return NULL;
    }
    tg_tensor *y = tg__tensor_make(g, "batch_norm", x->ndim, x->shape);
    double *stats = tg__alloc(g, (size_t)(2 * v.c + 1) * sizeof *stats); /* kept for backward */
    double *var = tg__alloc(g, (size_t)(v.c + 1) * sizeof *var);
    if (!y || !stats || !var) return NULL;
    double *mean = stats, *invstd = stats + v.c;
    const tg_real *xd = x->data;
    tg_real *yd = y->data;
    const int nth = nthreads(x->numel);
    (void)nth; /* only the pragmas read it */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t c = 0; c < v.c; c++) {
        if (batch) { /* two passes: the mean, then the squared deviations from it */
            double s = 0, q = 0;
            for (int64_t i = 0; i < v.n; i++) s += row_sum(xd + (i * v.c + c) * v.s, v.s, 0, false);
            mean[c] = s / (double)m;
            for (int64_t i = 0; i < v.n; i++)
                q += row_sum(xd + (i * v.c + c) * v.s, v.s, mean[c], true);
            var[c] = q / (double)m;
        } else {
            mean[c] = running_mean->data[c];
            var[c] = running_var->data[c];
        }
        invstd[c] = 1.0 / sqrt(var[c] + (double)eps);
        const double a = (gamma ? (double)gamma->data[c] : 1.0) * invstd[c];
        const double b = beta ? (double)beta->data[c] : 0.0, mu = mean[c];
        for (int64_t i = 0; i < v.n; i++) {
            const int64_t off = (i * v.c + c) * v.s;
            const tg_real *restrict xr = xd + off;
            tg_real *restrict yr = yd + off;
            for (int64_t k = 0; k < v.s; k++) yr[k] = (tg_real)((xr[k] - mu) * a + b);
        }
    }
    tg_tensor *in[3] = {x};
    int nin = 1;
    if (gamma) in[nin++] = gamma;
    if (beta) in[nin++] = beta;
    tg_node *nd = tg__record(g, &tg__op_batch_norm, y, nin, in);
    if (tg__failed(g)) return NULL;
    if (nd) {
        nd->iarg[0] = (gamma ? HAS_GAMMA : 0) | (beta ? HAS_BETA : 0);
        nd->iarg[1] = batch;
        nd->saved = stats;
    }
    /* The side effect, PyTorch style, not differentiated:
     * running = (1 - momentum) running + momentum batch_stat, with the unbiased
     * variance for running_var. */
    if (batch && running_mean && m > 1) {
        const double mo = momentum, unbias = (double)m / (double)(m - 1);
        tg_real *rm = running_mean->data, *rv = running_var->data;
        for (int64_t c = 0; c < v.c; c++) {
            rm[c] = (tg_real)((1 - mo) * rm[c] + mo * mean[c]);
            rv[c] = (tg_real)((1 - mo) * rv[c] + mo * var[c] * unbias);
        }
    }
    return y;
}

/* ==== layer_norm =================================================================== */

/* ---- layer_norm: y_j = (x_j - mean_r) invstd_r gamma_j + beta_j over each row r -----
 * dx += invstd / M (M dxhat - sum(dxhat) - xhat sum(dxhat xhat)), dxhat = dy gamma;
 * dgamma_j += sum_r dy xhat, dbeta_j += sum_r dy
 * iarg[0]: HAS_GAMMA | HAS_BETA; iarg[1]: normalized_ndim; saved: double[2R], mean
 * then invstd of each row. */

#define LN_COLS 256 /* dgamma/dbeta: columns per task */

static void layer_norm_backward(tg_node *nd) {
    tg_tensor *x = nd->in[0], *y = nd->out;
    const int has = nd->iarg[0], k = nd->iarg[1];
    tg_tensor *gamma = has & HAS_GAMMA ? nd->in[1] : NULL;
    tg_tensor *beta = has & HAS_BETA ? nd->in[has & HAS_GAMMA ? 2 : 1] : NULL;
    tg_real *dx = tg__grad_buf(x);
    tg_real *dgamma = gamma ? tg__grad_buf(gamma) : NULL;
    tg_real *dbeta = beta ? tg__grad_buf(beta) : NULL;
    int64_t rows = 1, cols = 1;
    for (int i = 0; i < x->ndim - k; i++) rows *= x->shape[i];
    for (int i = x->ndim - k; i < x->ndim; i++) cols *= x->shape[i];
    if (rows * cols == 0) return;
    const double *mean = nd->saved, *invstd = mean + rows;
    const tg_real *xd = x->data, *dy = y->grad, *gd = gamma ? gamma->data : NULL;
    const int nth = nthreads(x->numel);
    (void)nth; /* only the pragmas read it */
    if (dx) {  /* each row on its own */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
        for (int64_t r = 0; r < rows; r++) {
            const tg_real *restrict xr = xd + r * cols, *restrict gr = dy + r * cols;
            tg_real *restrict dr = dx + r * cols;
            const double mu = mean[r], is = invstd[r];
            double s1 = 0, s2 = 0; /* sum(dxhat), sum(dxhat xhat) */
            for (int64_t j = 0; j < cols; j++) {
                const double dxh = gd ? (double)gr[j] * gd[j] : gr[j];
                s1 += dxh;
                s2 += dxh * (xr[j] - mu);
            }
            const double a = s1 / (double)cols, b = s2 * is * is / (double)cols;
            for (int64_t j = 0; j < cols; j++) {
                const double dxh = gd ? (double)gr[j] * gd[j] : gr[j];
                dr[j] += (tg_real)(is * ((dxh - a) - (xr[j] - mu) * b));
            }
        }
    }
    if (!dgamma && !dbeta) return;
    /* sums over rows: a task owns LN_COLS adjacent columns and walks the rows in order */
    const int64_t nb = (cols + LN_COLS - 1) / LN_COLS;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t t = 0; t < nb; t++) {
        const int64_t j0 = t * LN_COLS;
        const int w = cols - j0 < LN_COLS ? (int)(cols - j0) : LN_COLS;
        double sg[LN_COLS] = {0}, sb[LN_COLS] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const tg_real *xr = xd + r * cols + j0, *gr = dy + r * cols + j0;
            const double mu = mean[r], is = invstd[r];
            for (int j = 0; j < w; j++) {
                sg[j] += gr[j] * ((xr[j] - mu) * is);
                sb[j] += gr[j];
            }
        }
        for (int j = 0; j < w; j++) {
            if (dgamma) dgamma[j0 + j] += (tg_real)sg[j];
            if (dbeta) dbeta[j0 + j] += (tg_real)sb[j];
        }
    }
}
const tg_op tg__op_layer_norm = {"layer_norm", layer_norm_backward};

TG_API tg_tensor *tg_layer_norm(tg_graph *g, tg_tensor *x, int normalized_ndim, tg_tensor *gamma,
                                tg_tensor *beta, tg_real eps) {
    char sx[TG_SHAPE_STR];
    if (!begin(g, "layer_norm", x, 2, (tg_tensor *[]){gamma, beta},
               (const char *[]){"gamma", "beta"}))
        return NULL;
    const int k = normalized_ndim;
    if (k < 1 || k > x->ndim) {
        tg__fail(g, TG_ERR_ARG, "layer_norm: normalized_ndim %d is outside 1..%d for input %s", k,
                 x->ndim, TG_SHAPE(x, sx));
        return NULL;
    }
    const int *tail = x->shape + (x->ndim - k);
    if (!affine_ok(g, "layer_norm", "gamma", gamma, x, k, tail) ||
        !affine_ok(g, "layer_norm", "beta", beta, x, k, tail) || !eps_ok(g, "layer_norm", eps))
        return NULL;
    int64_t rows = 1, cols = 1;
    for (int i = 0; i < x->ndim - k; i++) rows *= x->shape[i];
    for (int i = 0; i < k; i++) cols *= tail[i];
    tg_tensor *y = tg__tensor_make(g, "layer_norm", x->ndim, x->shape);
    double *stats = tg__alloc(g, (size_t)(2 * rows + 1) * sizeof *stats); /* kept for backward */
    if (!y || !stats) return NULL;
    double *mean = stats, *invstd = stats + rows;
    const tg_real *xd = x->data, *gd = gamma ? gamma->data : NULL, *bd = beta ? beta->data : NULL;
    tg_real *yd = y->data;
    const int nth = nthreads(x->numel);
    (void)nth; /* only the pragmas read it */
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t r = 0; r < rows; r++) {
        const tg_real *restrict xr = xd + r * cols;
        tg_real *restrict yr = yd + r * cols;
        const double mu = cols ? row_sum(xr, cols, 0, false) / (double)cols : 0;
        const double var = cols ? row_sum(xr, cols, mu, true) / (double)cols : 0;
        const double is = 1.0 / sqrt(var + (double)eps);
        mean[r] = mu;
        invstd[r] = is;
        for (int64_t j = 0; j < cols; j++) {
            const double h = (xr[j] - mu) * is;
            yr[j] = (tg_real)((gd ? h * gd[j] : h) + (bd ? (double)bd[j] : 0.0));
        }
    }
    tg_tensor *in[3] = {x};
    int nin = 1;
    if (gamma) in[nin++] = gamma;
    if (beta) in[nin++] = beta;
    tg_node *nd = tg__record(g, &tg__op_layer_norm, y, nin, in);
    if (nd) {
        nd->iarg[0] = (gamma ? HAS_GAMMA : 0) | (beta ? HAS_BETA : 0);
        nd->iarg[1] = k;
        nd->saved = stats;
    }
    return tg__failed(g) ? NULL : y;
}
