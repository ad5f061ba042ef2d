/* src/ops/unary.c: the elementwise unary machinery, and neg, exp, log, sqrt, abs, pow,
 * clamp. Each op is a forward loop and a backward loop over whole arrays; tg__unary
 * does the checks, threading and recording. */
#include <tgmath.h>

#include "../kernels/vmath.h"
#include "ops.h"

/* Chunks of a fixed size, so a threaded loop does the same work for any thread count. */
#define CHUNK 8192

tg_tensor *tg__unary(tg_graph *g, const tg_unary_kind *k, tg_tensor *a, const double *args) {
    if (!TG_BEGIN(g, k->op->name, a)) return NULL;
    tg_tensor *y = tg__tensor_make(g, k->op->name, a->ndim, a->shape);
    if (!y) return NULL;
    double local[TG_NODE_FARGS] = {0};
    if (args)
        for (int i = 0; i < TG_NODE_FARGS; i++) local[i] = args[i];
    const int64_t n = a->numel;
    const int nth = tg__threads();
    if (n >= TG_PAR_MIN && nth > 1) {
        const int64_t nchunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) num_threads(nth)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
            k->fwd(a->data + lo, y->data + lo, len, local);
        }
    } else {
        k->fwd(a->data, y->data, n, local);
    }
    tg_node *nd = tg__record(g, k->op, y, 1, &a);
    if (nd) {
        nd->saved = (void *)k;
        for (int i = 0; i < TG_NODE_FARGS; i++) nd->farg[i] = local[i];
    }
    return tg__failed(g) ? NULL : y;
}

void tg__unary_backward(tg_node *n) {
    const tg_unary_kind *k = n->saved;
    tg_tensor *x = n->in[0], *y = n->out;
    bool fresh = false;
    tg_real *dx = k->bwd_fresh ? tg__grad_for_write(x, &fresh) : tg__grad_buf(x);
    if (!dx) return;
    const tg_unary_bwd bwd = fresh ? k->bwd_fresh : k->bwd;
    const int64_t len = x->numel;
    const int nth = tg__threads();
    if (len >= TG_PAR_MIN && nth > 1) {
        const int64_t nchunks = (len + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) num_threads(nth)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = c * CHUNK, m = len - lo < CHUNK ? len - lo : CHUNK;
            bwd(x->data + lo, y->data + lo, y->grad + lo, dx + lo, m, n->farg);
        }
    } else {
        bwd(x->data, y->data, y->grad, dx, len, n->farg);
    }
}

#define UNARY_OP(NAME, STR)                                                                        \
    const tg_op tg__op_##NAME = {STR, tg__unary_backward};                                         \
    static const tg_unary_kind NAME##_kind = {                                                     \
        .op = &tg__op_##NAME, .fwd = NAME##_fwd, .bwd = NAME##_bwd}

/* ---- neg: y = -x; dx += -dy ------------------------------------------------------- */
static void neg_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    (void)p;
    for (int64_t i = 0; i < n; i++) y[i] = -x[i];
}
static void neg_bwd(const tg_real *restrict x, const tg_real *restrict y,
                    const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)x, (void)y, (void)p;
    for (int64_t i = 0; i < n; i++) dx[i] -= dy[i];
}
UNARY_OP(neg, "neg");
TG_API tg_tensor *tg_neg(tg_graph *g, tg_tensor *a) { return tg__unary(g, &neg_kind, a, NULL); }

/* ---- exp: y = e^x; dx += dy * y --------------------------------------------------- */
static void exp_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    (void)p;
    tgk_exp(x, y, n); /* vector kernels in float builds on x86 */
}
static void exp_bwd(const tg_real *restrict x, const tg_real *restrict y,
                    const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)x, (void)p;
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i];
}
UNARY_OP(exp, "exp");
TG_API tg_tensor *tg_exp(tg_graph *g, tg_tensor *a) { return tg__unary(g, &exp_kind, a, NULL); }

/* ---- log: y = ln x; dx += dy / x -------------------------------------------------- */
static void log_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    (void)p;
    for (int64_t i = 0; i < n; i++) y[i] = log(x[i]);
}
static void log_bwd(const tg_real *restrict x, const tg_real *restrict y,
                    const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)y, (void)p;
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] / x[i];
}
UNARY_OP(log, "log");
TG_API tg_tensor *tg_log(tg_graph *g, tg_tensor *a) { return tg__unary(g, &log_kind, a, NULL); }

/* ---- sqrt: y = sqrt x; dx += dy / (2 y) ------------------------------------------- */
static void sqrt_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    (void)p;
    for (int64_t i = 0; i < n; i++) y[i] = sqrt(x[i]);
}
static void sqrt_bwd(const tg_real *restrict x, const tg_real *restrict y,
                     const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)x, (void)p;
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (tg_real)0.5 / y[i];
}
UNARY_OP(sqrt, "sqrt");
TG_API tg_tensor *tg_sqrt(tg_graph *g, tg_tensor *a) { return tg__unary(g, &sqrt_kind, a, NULL); }

/* ---- abs: y = |x|; dx += dy * sign(x), sign(0) = 0 -------------------------------- */
static void abs_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    (void)p;
    for (int64_t i = 0; i < n; i++) y[i] = fabs(x[i]);
}
static void abs_bwd(const tg_real *restrict x, const tg_real *restrict y,
                    const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)y, (void)p;
    for (int64_t i = 0; i < n; i++)
        dx[i] += x[i] > 0 ? dy[i] : x[i] < 0 ? -dy[i] : (tg_real)0;
}
UNARY_OP(abs, "abs");
TG_API tg_tensor *tg_abs(tg_graph *g, tg_tensor *a) { return tg__unary(g, &abs_kind, a, NULL); }

/* ---- pow: y = x^p; dx += dy * p * x^(p-1) ----------------------------------------- */
static void pow_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    const tg_real e = (tg_real)p[0];
    if (e == 2) {
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
    } else {
        for (int64_t i = 0; i < n; i++) y[i] = pow(x[i], e);
    }
}
static void pow_bwd(const tg_real *restrict x, const tg_real *restrict y,
                    const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)y;
    const tg_real e = (tg_real)p[0];
    if (e == 0) return;
    if (e == 2) {
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * 2 * x[i];
    } else {
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * e * pow(x[i], e - 1);
    }
}
UNARY_OP(pow, "pow");
TG_API tg_tensor *tg_pow(tg_graph *g, tg_tensor *a, tg_real exponent) {
    if (g && !tg__failed(g) && !isfinite(exponent)) {
        tg__fail(g, TG_ERR_ARG, "pow: exponent %g is not finite", (double)exponent);
        return NULL;
    }
    const double args[TG_NODE_FARGS] = {exponent};
    return tg__unary(g, &pow_kind, a, args);
}

/* ---- clamp: y = min(max(x, lo), hi); dx += dy where lo < x < hi ------------------- */
static void clamp_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    const tg_real lo = (tg_real)p[0], hi = (tg_real)p[1];
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}
static void clamp_bwd(const tg_real *restrict x, const tg_real *restrict y,
                      const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)y;
    const tg_real lo = (tg_real)p[0], hi = (tg_real)p[1];
    for (int64_t i = 0; i < n; i++)
        if (x[i] > lo && x[i] < hi) dx[i] += dy[i];
}
UNARY_OP(clamp, "clamp");
TG_API tg_tensor *tg_clamp(tg_graph *g, tg_tensor *a, tg_real lo, tg_real hi) {
    if (g && !tg__failed(g) && !(lo <= hi)) {
        tg__fail(g, TG_ERR_ARG, "clamp: lo %g is greater than hi %g (or NaN)", (double)lo,
                 (double)hi);
        return NULL;
    }
    const double args[TG_NODE_FARGS] = {lo, hi};
    return tg__unary(g, &clamp_kind, a, args);
}
