/* src/ops/loss.c: the losses that are ops of their own, and what all losses share.
 *
 * bce and bce_with_logits are elementwise ops (the reduction is tg_mean or tg_sum on
 * their output); cross_entropy and nll work on rows [N, C] and reduce inside the op.
 * All arithmetic is in double. The composed losses (mse, l1, huber, hinge, the
 * penalties) live in src/nn/loss.c. */
#include <math.h>

#include "ops.h"

/* ---- shared by every loss -------------------------------------------------------- */

/* Threads for a loop over work elements: several only when it is large. */
static int nthreads(int64_t work) { return work >= TG_PAR_MIN ? tg__threads() : 1; }

/* False (after recording the error) unless r is a known reduction. */
static bool reduction_ok(tg_graph *g, const char *name, tg_reduction r) {
    if ((unsigned)r > (unsigned)TG_REDUCE_NONE) {
        tg__fail(g, TG_ERR_ARG, "%s: unknown reduction %d (TG_REDUCE_MEAN, _SUM or _NONE)", name,
                 (int)r);
        return false;
    }
    return true;
}

bool tg__loss_check(tg_graph *g, const char *name, tg_tensor *pred, tg_tensor *target,
                    tg_reduction r) {
    if (!TG_BEGIN(g, name, pred, target) || !reduction_ok(g, name, r)) return false;
    if (!tg__same_shape(pred, target)) {
        char sa[TG_SHAPE_STR], sb[TG_SHAPE_STR];
        tg__fail(g, TG_ERR_SHAPE, "%s: input %s and target %s differ in shape (no broadcasting)",
                 name, TG_SHAPE(pred, sa), TG_SHAPE(target, sb));
        return false;
    }
    return true;
}

tg_tensor *tg__loss_reduce(tg_graph *g, tg_tensor *l, tg_reduction r) {
    switch (r) {
    case TG_REDUCE_MEAN:
        return tg_mean(g, l, TG_ALL, false);
    case TG_REDUCE_SUM:
        return tg_sum(g, l, TG_ALL, false);
    case TG_REDUCE_NONE:
        return l;
    }
    return NULL;
}

/* ---- elementwise two-input losses ---------------------------------------------------
 * y[i] = f(a[i], t[i]); each op supplies a forward over a range and a backward that
 * adds into whichever of da, dt is not NULL. Chunks of a fixed size go to threads. */
#define CHUNK 8192

typedef void (*elem_fwd)(const tg_real *restrict a, const tg_real *restrict t, tg_real *restrict y,
                         int64_t n);
typedef void (*elem_bwd)(const tg_real *restrict a, const tg_real *restrict t,
                         const tg_real *restrict dy, tg_real *restrict da, tg_real *restrict dt,
                         int64_t n);

/* Chunk c of a loop over n elements: its start, and its length in *len. */
static int64_t chunk(int64_t n, int64_t c, int64_t *len) {
    const int64_t lo = c * CHUNK;
    *len = n - lo < CHUNK ? n - lo : CHUNK;
    return lo;
}

/* y = fwd(a, t), chunk by chunk, recorded as op. */
static tg_tensor *elem_loss(tg_graph *g, const tg_op *op, elem_fwd fwd, tg_tensor *a,
                            tg_tensor *t) {
    tg_tensor *y = tg__tensor_make(g, op->name, a->ndim, a->shape);
    if (!y) return NULL;
    const int64_t n = a->numel, nch = (n + CHUNK - 1) / CHUNK;
    const int nth = nthreads(n);
    TG_PARALLEL_FOR(
        nth, for (int64_t c = 0; c < nch; c++) {
            int64_t len;
            const int64_t lo = chunk(n, c, &len);
            fwd(a->data + lo, t->data + lo, y->data + lo, len);
        });
    tg__record(g, op, y, 2, (tg_tensor *[]){a, t});
    return tg__failed(g) ? NULL : y;
}

/* bwd into whichever of da, dt is wanted, chunk by chunk. */
static void elem_backward(tg_node *n, elem_bwd bwd) {
    tg_tensor *a = n->in[0], *t = n->in[1], *y = n->out;
    tg_real *da = tg__grad_buf(a), *dt = tg__grad_buf(t);
    if ((tg__needs_grad(a) && !da) || (tg__needs_grad(t) && !dt)) return;
    const int64_t numel = y->numel, nch = (numel + CHUNK - 1) / CHUNK;
    const int nth = nthreads(numel);
    TG_PARALLEL_FOR(
        nth, for (int64_t c = 0; c < nch; c++) {
            int64_t len;
            const int64_t lo = chunk(numel, c, &len);
            bwd(a->data + lo, t->data + lo, y->grad + lo, da ? da + lo : NULL, dt ? dt + lo : NULL,
                len);
        });
}

/* ---- bce: y = -(t max(ln p, -100) + (1 - t) max(ln(1 - p), -100))
 *      dp += dy (p - t) / max(p (1 - p), 1e-12)   (PyTorch's rule, finite at 0 and 1)
 *      dt += dy (max(ln(1 - p), -100) - max(ln p, -100)) ------------------------------ */
/* PyTorch's EPSILON for this rule is the float 1e-12 (9.99999996e-13 as a double). */
#define BCE_EPS ((double)1e-12f)
static double clamped_log(double v) { return fmax(log(v), -100.0); }
static double clamped_log1m(double v) { return fmax(log1p(-v), -100.0); }

static void bce_fwd(const tg_real *restrict p, const tg_real *restrict t, tg_real *restrict y,
                    int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double pi = p[i], ti = t[i];
        y[i] = (tg_real)(-(ti * clamped_log(pi) + (1 - ti) * clamped_log1m(pi)));
    }
}
static void bce_bwd(const tg_real *restrict p, const tg_real *restrict t,
                    const tg_real *restrict dy, tg_real *restrict dp, tg_real *restrict dt,
                    int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double pi = p[i], ti = t[i];
        if (dp) dp[i] += (tg_real)(dy[i] * (pi - ti) / fmax(pi * (1 - pi), BCE_EPS));
        if (dt) dt[i] += (tg_real)(dy[i] * (clamped_log1m(pi) - clamped_log(pi)));
    }
}
static void bce_backward(tg_node *n) { elem_backward(n, bce_bwd); }
const tg_op tg__op_bce = {"bce", bce_backward};

TG_API tg_tensor *tg_bce_loss(tg_graph *g, tg_tensor *probs, tg_tensor *target, tg_reduction r) {
    if (!tg__loss_check(g, "bce_loss", probs, target, r)) return NULL;
    for (int64_t i = 0; i < probs->numel; i++) {
        const tg_real v = probs->data[i];
        if (!(v >= 0 && v <= 1)) {
            tg__fail(g, TG_ERR_ARG, "bce_loss: probs[%lld] = %g is outside [0, 1]", (long long)i,
                     (double)v);
            return NULL;
        }
    }
    return tg__loss_reduce(g, elem_loss(g, &tg__op_bce, bce_fwd, probs, target), r);
}

/* ---- bce_with_logits: y = max(x, 0) - x t + ln(1 + e^-|x|)
 *      dx += dy (sigmoid(x) - t), dt += -dy x ----------------------------------------- */
static void bcel_fwd(const tg_real *restrict x, const tg_real *restrict t, tg_real *restrict y,
                     int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double xi = x[i];
        y[i] = (tg_real)(fmax(xi, 0.0) - xi * t[i] + log1p(exp(-fabs(xi))));
    }
}
static void bcel_bwd(const tg_real *restrict x, const tg_real *restrict t,
                     const tg_real *restrict dy, tg_real *restrict dx, tg_real *restrict dt,
                     int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double xi = x[i];
        if (dx) { /* sigmoid without overflow: e^-|x| <= 1 */
            const double e = exp(-fabs(xi));
            const double s = xi >= 0 ? 1 / (1 + e) : e / (1 + e);
            dx[i] += (tg_real)(dy[i] * (s - t[i]));
        }
        if (dt) dt[i] -= dy[i] * x[i];
    }
}
static void bcel_backward(tg_node *n) { elem_backward(n, bcel_bwd); }
const tg_op tg__op_bce_with_logits = {"bce_with_logits", bcel_backward};

TG_API tg_tensor *tg_bce_with_logits_loss(tg_graph *g, tg_tensor *logits, tg_tensor *target,
                                          tg_reduction r) {
    if (!tg__loss_check(g, "bce_with_logits_loss", logits, target, r)) return NULL;
    return tg__loss_reduce(g, elem_loss(g, &tg__op_bce_with_logits, bcel_fwd, logits, target), r);
}

/* ---- class losses on rows [N, C] ------------------------------------------------------
 * Shared: the checks, the label copy, the output ([N] or 0-d) and, in backward, the
 * gradient of loss_i (dy[i], or dy / N for the mean, dy for the sum). */

typedef struct class_saved {
    int32_t *labels; /* N, copied */
    double *lse;     /* cross_entropy: log sum_c e^x_ic per row */
} class_saved;

/* Checks x [N, C] and the labels, saves a copy of the labels in *svp and makes the
 * output; NULL on error. */
static tg_tensor *class_setup(tg_graph *g, const char *name, tg_tensor *x, const int32_t *labels,
                              tg_reduction r, class_saved **svp) {
    char sx[TG_SHAPE_STR];
    if (!TG_BEGIN(g, name, x) || !reduction_ok(g, name, r)) return NULL;
    if (x->ndim != 2 || x->shape[1] == 0) {
        tg__fail(g, TG_ERR_SHAPE, "%s: input must be [N, C] with C >= 1 classes, got %s", name,
                 TG_SHAPE(x, sx));
        return NULL;
    }
    const int n = x->shape[0], c = x->shape[1];
    if (n > 0 && !labels) {
        tg__fail(g, TG_ERR_NULL, "%s: labels is NULL (input %s)", name, TG_SHAPE(x, sx));
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= c) {
            tg__fail(g, TG_ERR_ARG, "%s: label[%d] = %d is outside [0, %d) (input %s)", name, i,
                     (int)labels[i], c, TG_SHAPE(x, sx));
            return NULL;
        }
    class_saved *sv = tg__alloc(g, sizeof *sv);
    if (!sv) return NULL;
    sv->lse = NULL;
    sv->labels = tg__alloc(g, (size_t)n * sizeof *sv->labels);
    if (!sv->labels) return NULL;
    if (n > 0) memcpy(sv->labels, labels, (size_t)n * sizeof *sv->labels);
    *svp = sv;
    return r == TG_REDUCE_NONE ? tg__tensor_make(g, name, 1, &n)
                               : tg__tensor_make(g, name, 0, NULL);
}

/* y from the per-row losses li: copied, or their sum or mean, summed in row order. */
static void class_reduce(const double *li, int n, tg_reduction r, tg_real *y) {
    if (r == TG_REDUCE_NONE) {
        for (int i = 0; i < n; i++) y[i] = (tg_real)li[i];
        return;
    }
    double s = 0;
    for (int i = 0; i < n; i++) s += li[i];
    y[0] = (tg_real)(r == TG_REDUCE_MEAN ? s / n : s);
}

/* The gradient of loss_i. */
static double row_scale(const tg_node *n, int i) {
    const tg_real *dy = n->out->grad;
    switch ((tg_reduction)n->iarg[0]) {
    case TG_REDUCE_NONE:
        return dy[i];
    case TG_REDUCE_MEAN:
        return (double)dy[0] / n->in[0]->shape[0];
    case TG_REDUCE_SUM:
        break;
    }
    return dy[0];
}

/* Records the class loss op with its reduction (iarg[0]) and saved labels. */
static tg_node *class_record(tg_graph *g, const tg_op *op, tg_tensor *x, tg_tensor *y,
                             tg_reduction r, class_saved *sv) {
    tg_node *nd = tg__record(g, op, y, 1, &x);
    if (nd) {
        nd->iarg[0] = (int)r;
        nd->saved = sv;
    }
    return nd;
}

/* ---- cross_entropy: loss_i = lse_i - sum_c q_ic x_ic,  q_i = (1-ls) onehot + ls/C
 *      dx_ic += dloss_i (e^(x_ic - lse_i) - q_ic) ----------------------------------------- */
static void ce_backward(tg_node *n) {
    tg_tensor *x = n->in[0];
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const class_saved *sv = n->saved;
    const int rows = x->shape[0], c = x->shape[1];
    const double ls = n->farg[0], off = ls / c, on = 1 - ls + off;
    const int nth = nthreads((int64_t)rows * c);
    TG_PARALLEL_FOR(
        nth, for (int i = 0; i < rows; i++) {
            const double s = row_scale(n, i), lse = sv->lse[i];
            const tg_real *xi = x->data + (int64_t)i * c;
            tg_real *di = dx + (int64_t)i * c;
            for (int k = 0; k < c; k++) di[k] += (tg_real)(s * (exp(xi[k] - lse) - off));
            di[sv->labels[i]] -= (tg_real)(s * (on - off));
        });
}
const tg_op tg__op_cross_entropy = {"cross_entropy", ce_backward};

TG_API tg_tensor *tg_cross_entropy_loss(tg_graph *g, tg_tensor *logits, const int32_t *labels,
                                        tg_reduction r, tg_real label_smoothing) {
    const char *name = "cross_entropy_loss";
    if (!TG_BEGIN(g, name, logits)) return NULL;
    if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
        tg__fail(g, TG_ERR_ARG, "%s: label_smoothing %g is outside [0, 1]", name,
                 (double)label_smoothing);
        return NULL;
    }
    class_saved *sv = NULL;
    tg_tensor *y = class_setup(g, name, logits, labels, r, &sv);
    if (!y) return NULL;
    const int rows = logits->shape[0], c = logits->shape[1];
    sv->lse = tg__alloc(g, (size_t)rows * sizeof *sv->lse);
    double *li = tg__alloc(g, (size_t)rows * sizeof *li);
    if (!sv->lse || !li) return NULL;
    const double ls = label_smoothing;
    const int nth = nthreads((int64_t)rows * c);
    TG_PARALLEL_FOR(
        nth, for (int i = 0; i < rows; i++) {
            const tg_real *xi = logits->data + (int64_t)i * c;
            double m = xi[0];
            for (int k = 1; k < c; k++) m = xi[k] > m ? xi[k] : m;
            double s = 0, sx = 0;
            for (int k = 0; k < c; k++) {
                s += exp(xi[k] - m);
                sx += xi[k];
            }
            const double lse = m + log(s);
            sv->lse[i] = lse;
            /* -sum_c q_c (x_c - lse) = lse - (1-ls) x_label - ls mean_c(x_c) */
            li[i] = lse - (1 - ls) * xi[sv->labels[i]] - (ls > 0 ? ls * sx / c : 0);
        });
    class_reduce(li, rows, r, y->data);
    tg_node *nd = class_record(g, &tg__op_cross_entropy, logits, y, r, sv);
    if (nd) nd->farg[0] = ls;
    return tg__failed(g) ? NULL : y;
}

/* ---- nll: loss_i = -logp[i, label_i];  dlogp[i, label_i] -= dloss_i ------------------- */
static void nll_backward(tg_node *n) {
    tg_tensor *x = n->in[0];
    tg_real *dx = tg__grad_buf(x);
    if (!dx) return;
    const class_saved *sv = n->saved;
    const int rows = x->shape[0], c = x->shape[1];
    for (int i = 0; i < rows; i++) dx[(int64_t)i * c + sv->labels[i]] -= (tg_real)row_scale(n, i);
}
const tg_op tg__op_nll = {"nll", nll_backward};

TG_API tg_tensor *tg_nll_loss(tg_graph *g, tg_tensor *logp, const int32_t *labels, tg_reduction r) {
    class_saved *sv = NULL;
    tg_tensor *y = class_setup(g, "nll_loss", logp, labels, r, &sv);
    if (!y) return NULL;
    const int rows = logp->shape[0], c = logp->shape[1];
    double *li = tg__alloc(g, (size_t)rows * sizeof *li);
    if (!li) return NULL;
    for (int i = 0; i < rows; i++) li[i] = -(double)logp->data[(int64_t)i * c + sv->labels[i]];
    class_reduce(li, rows, r, y->data);
    class_record(g, &tg__op_nll, logp, y, r, sv);
    return tg__failed(g) ? NULL : y;
}
