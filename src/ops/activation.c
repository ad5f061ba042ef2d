/* src/ops/activation.c: relu, leaky_relu, elu, gelu, softplus, sigmoid, tanh.
 *
 * Each op is a forward loop and a backward loop over whole arrays, run by tg__unary
 * (checks, output, threading, node). <tgmath.h> makes a float build call the float
 * functions; constants are cast to tg_real so the loops stay in one type. */
#include <tgmath.h>

#include "../kernels/vmath.h"
#include "ops.h"

#define UNARY_OP(NAME, STR)                                                                        \
    const tg_op tg__op_##NAME = {STR, tg__unary_backward};                                         \
    static const tg_unary_kind NAME##_kind = {                                                     \
        .op = &tg__op_##NAME, .fwd = NAME##_fwd, .bwd = NAME##_bwd}

/* ---- relu: y = max(0, x); dx += dy where x > 0 (0 at x = 0) ------------------------ */
TG_SIMD static void relu_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n,
                             const double *p) {
    (void)p;
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : (tg_real)0;
}
/* dy[i] is read whatever x[i] is, so the select has no branch and vectorises. */
TG_SIMD static void relu_bwd(const tg_real *restrict x, const tg_real *restrict y,
                             const tg_real *restrict dy, tg_real *restrict dx, int64_t n,
                             const double *p) {
    (void)y, (void)p;
    for (int64_t i = 0; i < n; i++) {
        const tg_real d = dy[i];
        dx[i] += x[i] > 0 ? d : (tg_real)0;
    }
}
/* the same into a fresh dx: stores 0 + the term */
TG_SIMD static void relu_bwd_fresh(const tg_real *restrict x, const tg_real *restrict y,
                                   const tg_real *restrict dy, tg_real *restrict dx, int64_t n,
                                   const double *p) {
    (void)y, (void)p;
    for (int64_t i = 0; i < n; i++) {
        const tg_real d = dy[i];
        dx[i] = (tg_real)0 + (x[i] > 0 ? d : (tg_real)0);
    }
}
const tg_op tg__op_relu = {"relu", tg__unary_backward};
static const tg_unary_kind relu_kind = {&tg__op_relu, relu_fwd, relu_bwd, relu_bwd_fresh};
TG_API tg_tensor *tg_relu(tg_graph *g, tg_tensor *a) { return tg__unary(g, &relu_kind, a, NULL); }

/* ---- leaky_relu: y = x if x > 0 else s x; dx += dy * (x > 0 ? 1 : s) --------------- */
TG_SIMD static void leaky_relu_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n,
                                   const double *p) {
    const tg_real s = (tg_real)p[0];
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : s * x[i];
}
TG_SIMD static void leaky_relu_bwd(const tg_real *restrict x, const tg_real *restrict y,
                                   const tg_real *restrict dy, tg_real *restrict dx, int64_t n,
                                   const double *p) {
    (void)y;
    const tg_real s = (tg_real)p[0];
    for (int64_t i = 0; i < n; i++) {
        const tg_real d = dy[i];
        dx[i] += x[i] > 0 ? d : s * d;
    }
}
UNARY_OP(leaky_relu, "leaky_relu");
TG_API tg_tensor *tg_leaky_relu(tg_graph *g, tg_tensor *a, tg_real slope) {
    if (g && !tg__failed(g) && !isfinite(slope)) {
        tg__fail(g, TG_ERR_ARG, "leaky_relu: slope %g is not finite", (double)slope);
        return NULL;
    }
    const double args[TG_NODE_FARGS] = {slope};
    return tg__unary(g, &leaky_relu_kind, a, args);
}

/* ---- elu: y = x if x > 0 else a (e^x - 1); dx += dy * (x > 0 ? 1 : a e^x) ---------- */
static void elu_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    const tg_real al = (tg_real)p[0];
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : al * expm1(x[i]);
}
static void elu_bwd(const tg_real *restrict x, const tg_real *restrict y,
                    const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)y;
    const tg_real al = (tg_real)p[0];
    for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : dy[i] * al * exp(x[i]);
}
UNARY_OP(elu, "elu");
TG_API tg_tensor *tg_elu(tg_graph *g, tg_tensor *a, tg_real alpha) {
    if (g && !tg__failed(g) && !isfinite(alpha)) {
        tg__fail(g, TG_ERR_ARG, "elu: alpha %g is not finite", (double)alpha);
        return NULL;
    }
    const double args[TG_NODE_FARGS] = {alpha};
    return tg__unary(g, &elu_kind, a, args);
}

/* ---- gelu: y = x Phi(x); dx += dy * (Phi(x) + x phi(x)) -----------------------------
 * Phi(x) = erfc(-x / sqrt 2) / 2 rather than (1 + erf(x / sqrt 2)) / 2: the same
 * value, without the cancellation that loses every digit for large negative x. */
static void gelu_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    (void)p;
    const tg_real r = (tg_real)0.70710678118654752440; /* 1 / sqrt 2 */
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * (tg_real)0.5 * erfc(-x[i] * r);
}
static void gelu_bwd(const tg_real *restrict x, const tg_real *restrict y,
                     const tg_real *restrict dy, tg_real *restrict dx, int64_t n, const double *p) {
    (void)y, (void)p;
    const tg_real r = (tg_real)0.70710678118654752440; /* 1 / sqrt 2 */
    const tg_real c = (tg_real)0.39894228040143267794; /* 1 / sqrt(2 pi) */
    for (int64_t i = 0; i < n; i++) {
        const tg_real cdf = (tg_real)0.5 * erfc(-x[i] * r);
        const tg_real pdf = c * exp((tg_real)-0.5 * x[i] * x[i]);
        dx[i] += dy[i] * (cdf + x[i] * pdf);
    }
}
UNARY_OP(gelu, "gelu");
TG_API tg_tensor *tg_gelu(tg_graph *g, tg_tensor *a) { return tg__unary(g, &gelu_kind, a, NULL); }

/* ---- softplus: y = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|); dx += dy * sigmoid(x) -- */
static void softplus_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n,
                         const double *p) {
    (void)p;
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] > 0 ? x[i] : (tg_real)0) + log1p(exp(-fabs(x[i])));
}
static void softplus_bwd(const tg_real *restrict x, const tg_real *restrict y,
                         const tg_real *restrict dy, tg_real *restrict dx, int64_t n,
                         const double *p) {
    (void)y, (void)p;
    for (int64_t i = 0; i < n; i++) {
        const tg_real e = exp(-fabs(x[i])); /* in (0, 1]: never overflows */
        const tg_real s = (x[i] >= 0 ? (tg_real)1 : e) / ((tg_real)1 + e);
        dx[i] += dy[i] * s;
    }
}
UNARY_OP(softplus, "softplus");
TG_API tg_tensor *tg_softplus(tg_graph *g, tg_tensor *a) {
    return tg__unary(g, &softplus_kind, a, NULL);
}

/* ---- sigmoid: y = 1 / (1 + e^-x); dx += dy * y (1 - y) -----------------------------
 * With e = e^-|x| (never overflows): y = 1 / (1 + e) for x >= 0, e / (1 + e) below;
 * the loop is tgk_sigmoid's (vector kernels in float builds on x86). */
static void sigmoid_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n,
                        const double *p) {
    (void)p;
    tgk_sigmoid(x, y, n);
}
TG_SIMD static void sigmoid_bwd(const tg_real *restrict x, const tg_real *restrict y,
                                const tg_real *restrict dy, tg_real *restrict dx, int64_t n,
                                const double *p) {
    (void)x, (void)p;
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * ((tg_real)1 - y[i]);
}
UNARY_OP(sigmoid, "sigmoid");
TG_API tg_tensor *tg_sigmoid(tg_graph *g, tg_tensor *a) {
    return tg__unary(g, &sigmoid_kind, a, NULL);
}

/* ---- tanh: y = tanh x; dx += dy * (1 - y^2) ---------------------------------------- */
static void tanh_fwd(const tg_real *restrict x, tg_real *restrict y, int64_t n, const double *p) {
    (void)p;
    tgk_tanh(x, y, n);
}
TG_SIMD static void tanh_bwd(const tg_real *restrict x, const tg_real *restrict y,
                             const tg_real *restrict dy, tg_real *restrict dx, int64_t n,
                             const double *p) {
    (void)x, (void)p;
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * ((tg_real)1 - y[i] * y[i]);
}
UNARY_OP(tanh, "tanh");
TG_API tg_tensor *tg_tanh(tg_graph *g, tg_tensor *a) { return tg__unary(g, &tanh_kind, a, NULL); }
