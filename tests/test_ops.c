/* tests/test_ops.c: forward values of the ops, against hand-computed or known values
 * (Python's math module for erf, exp, log), plus the numerics that deserve their own
 * test: softmax at +-1e4, sums of 10^6 elements, max/min tie gradients, empty
 * reductions, and results that must not depend on the thread count. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

#include "tg_test.h"

/* Tolerances scale with the element type: a few ulps of accumulated error. */
#if TG_PRECISION_DOUBLE
#define TOL 1e-12
#else
#define TOL 2e-6
#endif

static tg_graph *g;

static void setup(void) { g = tg_graph_new(); }
static void teardown(void) {
    tg_graph_free(g);
    g = NULL;
}

/* DIMS(2, 3) -> 2, (int[]){2, 3}: the ndim and shape arguments of a call. */
#define DIMS(...)                                                                                  \
    (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]) { __VA_ARGS__ }
#define VALS(...)     ((const tg_real[]){__VA_ARGS__})
#define T(dims, vals) tg_tensor_from(g, dims, vals)
/* A leaf that requires a gradient. */
static tg_tensor *param(tg_tensor *t) {
    tg_set_requires_grad(t, true);
    return t;
}

static int close_to(double got, double want, double tol, int rel) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    if (!isfinite(got)) return 0;
    return fabs(got - want) <= tol * (rel ? fabs(want) : 1 + fabs(want));
}

/* Compares n values at p (the data or gradient of t) with want. */
static void check_vals(int line, const char *what, const tg_tensor *t, const tg_real *p, double tol,
                       int rel, const double *want, int64_t n) {
    ck_assert_msg(t != NULL, "line %d: tensor is NULL: %s", line,
                  tg_graph_error(g) ? tg_graph_error(g) : "(no error)");
    ck_assert_msg(tg_numel(t) == n, "line %d: %lld elements, want %lld", line,
                  (long long)tg_numel(t), (long long)n);
    ck_assert_msg(p != NULL, "line %d: no %s", line, what);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(close_to(p[i], want[i], tol, rel), "line %d: %s[%lld] = %.10g, want %.10g",
                      line, what, (long long)i, (double)p[i], want[i]);
}
#define WANT(...)                                                                                  \
    (const double[]){__VA_ARGS__}, (int64_t)(sizeof((double[]){__VA_ARGS__}) / sizeof(double))
/* EXPECT(t, tol, values...): t's elements; EXPECT_REL: relative tolerance only;
 * EXPECT_GRAD: t's gradient. */
#define EXPECT(t, tol, ...)                                                                        \
    check_vals(__LINE__, "value", (t), tg_data(t), (tol), 0, WANT(__VA_ARGS__))
#define EXPECT_REL(t, tol, ...)                                                                    \
    check_vals(__LINE__, "value", (t), tg_data(t), (tol), 1, WANT(__VA_ARGS__))
#define EXPECT_GRAD(t, tol, ...)                                                                   \
    check_vals(__LINE__, "grad", (t), tg_grad(t), (tol), 0, WANT(__VA_ARGS__))

static void check_shape(int line, const tg_tensor *t, int ndim, const int *shape) {
    ck_assert_msg(t != NULL, "line %d: tensor is NULL: %s", line,
                  tg_graph_error(g) ? tg_graph_error(g) : "(no error)");
    ck_assert_msg(tg_ndim(t) == ndim, "line %d: ndim %d, want %d", line, tg_ndim(t), ndim);
    for (int i = 0; i < ndim; i++)
        ck_assert_msg(tg_shape(t)[i] == shape[i], "line %d: dim %d is %d, want %d", line, i,
                      tg_shape(t)[i], shape[i]);
}
#define EXPECT_SHAPE(t, ...) check_shape(__LINE__, (t), DIMS(__VA_ARGS__))

/* The op failed: NULL, and the graph's error contains msg. Resets the graph. */
static void check_error(int line, const tg_tensor *t, const char *msg) {
    ck_assert_msg(t == NULL, "line %d: expected an error", line);
    const char *e = tg_graph_error(g);
    ck_assert_msg(e != NULL, "line %d: no graph error", line);
    ck_assert_msg(strstr(e, msg) != NULL, "line %d: error \"%s\" lacks \"%s\"", line, e, msg);
    tg_graph_reset(g);
}
#define EXPECT_ERROR(t, msg) check_error(__LINE__, (t), (msg))

/* Runs backward from a one-element y and checks it succeeded. */
static void backward(tg_tensor *y) {
    ck_assert_ptr_nonnull(y);
    ck_assert_msg(tg_backward(g, y) == 0, "backward: %s", tg_graph_error(g));
}

/* ---- binary ops, broadcasting ------------------------------------------------------- */

START_TEST(test_add_row_broadcast) { /* [2,3] + [3] */
    tg_tensor *a = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    tg_tensor *b = T(DIMS(3), VALS(10, 20, 30));
    tg_tensor *y = tg_add(g, a, b);
    EXPECT_SHAPE(y, 2, 3);
    EXPECT(y, 0, 11, 22, 33, 14, 25, 36);
    EXPECT(tg_add(g, b, a), 0, 11, 22, 33, 14, 25, 36);
    EXPECT(tg_sub(g, a, b), 0, -9, -18, -27, -6, -15, -24);
    EXPECT(tg_mul(g, a, b), 0, 10, 40, 90, 40, 100, 180);
    EXPECT(tg_div(g, b, a), TOL, 10, 10, 10, 2.5, 4, 5);
}
END_TEST

START_TEST(test_add_outer_broadcast) { /* [2,1] + [1,3] -> [2,3] */
    tg_tensor *a = T(DIMS(2, 1), VALS(1, 2));
    tg_tensor *b = T(DIMS(1, 3), VALS(10, 20, 30));
    tg_tensor *y = tg_add(g, a, b);
    EXPECT_SHAPE(y, 2, 3);
    EXPECT(y, 0, 11, 21, 31, 12, 22, 32);
    y = tg_sub(g, a, b);
    EXPECT_SHAPE(y, 2, 3);
    EXPECT(y, 0, -9, -19, -29, -8, -18, -28);
}
END_TEST

START_TEST(test_scalar_broadcast) { /* 0-d with [2,2], both ways */
    tg_tensor *s = tg_scalar(g, 2);
    tg_tensor *m = T(DIMS(2, 2), VALS(1, 2, 3, 4));
    tg_tensor *y = tg_sub(g, s, m);
    EXPECT_SHAPE(y, 2, 2);
    EXPECT(y, 0, 1, 0, -1, -2);
    EXPECT(tg_div(g, m, s), 0, 0.5, 1, 1.5, 2);
    EXPECT(tg_mul(g, m, s), 0, 2, 4, 6, 8);
    tg_tensor *ss = tg_add(g, s, tg_scalar(g, 3));
    ck_assert_int_eq(tg_ndim(ss), 0);
    EXPECT(ss, 0, 5);
}
END_TEST

START_TEST(test_mul_3d_broadcast) { /* [4,1,3] * [2,1] -> [4,2,3] */
    tg_tensor *a = T(DIMS(4, 1, 3), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    tg_tensor *b = T(DIMS(2, 1), VALS(1, 2));
    tg_tensor *y = tg_mul(g, a, b);
    EXPECT_SHAPE(y, 4, 2, 3);
    EXPECT(y, 0, 1, 2, 3, 2, 4, 6, 4, 5, 6, 8, 10, 12, 7, 8, 9, 14, 16, 18, 10, 11, 12, 20, 22, 24);
}
END_TEST

START_TEST(test_binary_special_values) {
    tg_tensor *a = T(DIMS(3), VALS(1, -1, 0));
    tg_tensor *z = tg_scalar(g, 0);
    EXPECT(tg_div(g, a, z), 0, INFINITY, -INFINITY, NAN);
}
END_TEST

START_TEST(test_broadcast_gradient) { /* the gradient of a broadcast input sums back */
    tg_tensor *a = param(T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6)));
    tg_tensor *b = param(T(DIMS(3), VALS(10, 20, 30)));
    backward(tg_sum(g, tg_mul(g, a, b), TG_ALL, false));
    EXPECT_GRAD(a, 0, 10, 20, 30, 10, 20, 30);
    EXPECT_GRAD(b, 0, 5, 7, 9);
}
END_TEST

START_TEST(test_binary_shape_error) {
    tg_tensor *a = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    tg_tensor *b = T(DIMS(2), VALS(1, 2));
    EXPECT_ERROR(tg_add(g, a, b), "add: shapes do not broadcast: [2,3] and [2]");
}
END_TEST

/* ---- unary ops ---------------------------------------------------------------------- */

START_TEST(test_unary_values) {
    tg_tensor *x = T(DIMS(4), VALS(1, 4, 0.25, 9));
    EXPECT(tg_neg(g, x), 0, -1, -4, -0.25, -9);
    EXPECT(tg_exp(g, T(DIMS(3), VALS(0, 1, 0.5))), TOL, 1, 2.718281828459045, 1.6487212707001282);
    EXPECT(tg_log(g, T(DIMS(4), VALS(1, 3, 0, -1))), TOL, 0, 1.0986122886681098, -INFINITY, NAN);
    EXPECT(tg_sqrt(g, x), TOL, 1, 2, 0.5, 3);
    EXPECT(tg_abs(g, T(DIMS(3), VALS(-2, 0, 3))), 0, 2, 0, 3);
}
END_TEST

START_TEST(test_pow_clamp) {
    tg_tensor *x = T(DIMS(3), VALS(2, 0.5, 8));
    EXPECT(tg_pow(g, x, 2), TOL, 4, 0.25, 64);
    EXPECT(tg_pow(g, x, 0.5), TOL, 1.4142135623730951, 0.7071067811865476, 2.8284271247461903);
    EXPECT(tg_pow(g, x, -1), TOL, 0.5, 2, 0.125);
    EXPECT(tg_pow(g, x, 0), 0, 1, 1, 1);
    tg_tensor *c = T(DIMS(5), VALS(-3, -1, 0, 1, 3));
    EXPECT(tg_clamp(g, c, -1, 2), 0, -1, -1, 0, 1, 2);
    EXPECT_ERROR(tg_clamp(g, c, 1, -1), "clamp");
}
END_TEST

/* ---- activations -------------------------------------------------------------------- */

START_TEST(test_relu) {
    tg_tensor *x = param(T(DIMS(5), VALS(-2, -0.5, 0, 0.5, 2)));
    tg_tensor *y = tg_relu(g, x);
    EXPECT(y, 0, 0, 0, 0, 0.5, 2);
    backward(tg_sum(g, y, TG_ALL, false));
    EXPECT_GRAD(x, 0, 0, 0, 0, 1, 1); /* 0 at 0 */
}
END_TEST

START_TEST(test_leaky_relu_elu) {
    tg_tensor *x = param(T(DIMS(3), VALS(-2, 0, 3)));
    tg_tensor *y = tg_leaky_relu(g, x, (tg_real)0.1);
    EXPECT(y, TOL, -0.2, 0, 3);
    backward(tg_sum(g, y, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 0.1, 0.1, 1);

    tg_graph_reset(g);
    x = param(T(DIMS(3), VALS(-1, 0, 2)));
    y = tg_elu(g, x, 1);
    EXPECT(y, TOL, -0.6321205588285577, 0, 2);
    backward(tg_sum(g, y, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 0.36787944117144233, 1, 1);
    EXPECT(tg_elu(g, T(DIMS(2), VALS(-1, 1)), 2), TOL, 2 * -0.6321205588285577, 1);
    EXPECT_ERROR(tg_elu(g, x, (tg_real)NAN), "elu: alpha");
    x = T(DIMS(1), VALS(1));
    EXPECT_ERROR(tg_leaky_relu(g, x, (tg_real)INFINITY), "leaky_relu: slope");
}
END_TEST

START_TEST(test_gelu) {
    tg_tensor *x = param(T(DIMS(5), VALS(1, -1, 0, 2, -3)));
    tg_tensor *y = tg_gelu(g, x);
    EXPECT(y, TOL, 0.8413447460685429, -0.15865525393145707, 0, 1.9544997361036416,
           -0.004049694094890287);
    backward(tg_sum(g, y, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 1.0833154705876864, -0.08331547058768629, 0.5, 1.085231801078197,
                -0.011945647204183927);
    /* The erfc form keeps the tail: 1 + erf(x / sqrt 2) would round to 0. */
    EXPECT_REL(tg_gelu(g, T(DIMS(1), VALS(-10))), 1e-4, -7.619853024160593e-23);
}
END_TEST

START_TEST(test_softplus) {
    tg_tensor *x = param(T(DIMS(5), VALS(0, 1, -1, 100, -50)));
    tg_tensor *y = tg_softplus(g, x);
    EXPECT(y, TOL, 0.6931471805599453, 1.3132616875182228, 0.31326168751822286, 100, 0);
    ck_assert(tg_data(y)[4] > 0); /* e^-50 survives */
    EXPECT_REL(tg_softplus(g, T(DIMS(1), VALS(-50))), 1e-4, 1.9287498479639178e-22);
    EXPECT(tg_softplus(g, T(DIMS(2), VALS(1e30, -1e30))), TOL, 1e30, 0); /* no overflow */
    backward(tg_sum(g, y, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 0.5, 0.7310585786300049, 0.2689414213699951, 1, 1.928749847963918e-22);
}
END_TEST

START_TEST(test_sigmoid_tanh) {
    tg_tensor *x = param(T(DIMS(3), VALS(0, 2, -2)));
    tg_tensor *y = tg_sigmoid(g, x);
    EXPECT(y, TOL, 0.5, 0.8807970779778823, 0.11920292202211755);
    backward(tg_sum(g, y, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 0.25, 0.10499358540350662, 0.1049935854035065);
    /* large |x|: no overflow, no NaN */
    tg_tensor *s = tg_sigmoid(g, T(DIMS(4), VALS(1000, -1000, 100, -100)));
    EXPECT(s, 1e-30, 1, 0, 1, 0);
    ck_assert(tg_data(s)[3] >= 0 && tg_data(s)[3] < 1e-40);

    tg_graph_reset(g);
    x = param(T(DIMS(4), VALS(0, 0.5, -1, 20)));
    y = tg_tanh(g, x);
    EXPECT(y, TOL, 0, 0.46211715726000974, -0.7615941559557649, 1);
    backward(tg_sum(g, y, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 1, 0.7864477329659274, 0.41997434161402614, 0);
}
END_TEST

/* ---- reductions --------------------------------------------------------------------- */

START_TEST(test_sum_mean_axes) {
    tg_tensor *x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    tg_tensor *y = tg_sum(g, x, 0, false);
    EXPECT_SHAPE(y, 3);
    EXPECT(y, 0, 5, 7, 9);
    y = tg_sum(g, x, 0, true);
    EXPECT_SHAPE(y, 1, 3);
    EXPECT(y, 0, 5, 7, 9);
    y = tg_sum(g, x, -2, false);
    EXPECT_SHAPE(y, 3);
    EXPECT(y, 0, 5, 7, 9);
    y = tg_sum(g, x, 1, false);
    EXPECT_SHAPE(y, 2);
    EXPECT(y, 0, 6, 15);
    y = tg_sum(g, x, -1, true);
    EXPECT_SHAPE(y, 2, 1);
    EXPECT(y, 0, 6, 15);
    y = tg_sum(g, x, TG_ALL, false);
    ck_assert_int_eq(tg_ndim(y), 0);
    EXPECT(y, 0, 21);
    y = tg_sum(g, x, TG_ALL, true);
    EXPECT_SHAPE(y, 1, 1);
    EXPECT(y, 0, 21);
    EXPECT(tg_mean(g, x, 1, false), TOL, 2, 5);
    EXPECT(tg_mean(g, x, 0, false), TOL, 2.5, 3.5, 4.5);
    y = tg_mean(g, x, TG_ALL, false);
    ck_assert_int_eq(tg_ndim(y), 0);
    EXPECT(y, TOL, 3.5);
    EXPECT_SHAPE(tg_mean(g, x, -1, true), 2, 1);
}
END_TEST

START_TEST(test_reduce_3d) { /* x[o,k,j] = 12 o + 4 k + j, shape [2,3,4] */
    tg_real d[24];
    for (int i = 0; i < 24; i++) d[i] = (tg_real)i;
    tg_tensor *x = T(DIMS(2, 3, 4), d);
    tg_tensor *y = tg_sum(g, x, 1, true);
    EXPECT_SHAPE(y, 2, 1, 4);
    EXPECT(y, 0, 12, 15, 18, 21, 48, 51, 54, 57);
    y = tg_max(g, x, -2, false);
    EXPECT_SHAPE(y, 2, 4);
    EXPECT(y, 0, 8, 9, 10, 11, 20, 21, 22, 23);
    EXPECT(tg_min(g, x, 1, false), 0, 0, 1, 2, 3, 12, 13, 14, 15);
    y = tg_mean(g, x, 0, false);
    EXPECT_SHAPE(y, 3, 4);
    EXPECT(y, TOL, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
    y = tg_max(g, x, -1, true);
    EXPECT_SHAPE(y, 2, 3, 1);
    EXPECT(y, 0, 3, 7, 11, 15, 19, 23);
    EXPECT(tg_var(g, x, 1, false, 0), TOL, 32.0 / 3, 32.0 / 3, 32.0 / 3, 32.0 / 3, 32.0 / 3,
           32.0 / 3, 32.0 / 3, 32.0 / 3);
    EXPECT(tg_max(g, x, TG_ALL, false), 0, 23);
    EXPECT(tg_min(g, x, TG_ALL, false), 0, 0);
    EXPECT_SHAPE(tg_min(g, x, TG_ALL, true), 1, 1, 1);
}
END_TEST

START_TEST(test_max_min_values) {
    tg_tensor *x = T(DIMS(2, 3), VALS(3, -1, 2, -5, 7, 0));
    EXPECT(tg_max(g, x, 0, false), 0, 3, 7, 2);
    EXPECT(tg_max(g, x, 1, false), 0, 3, 7);
    EXPECT(tg_min(g, x, 0, false), 0, -5, -1, 0);
    EXPECT(tg_min(g, x, -1, false), 0, -1, -5);
    EXPECT(tg_max(g, T(DIMS(3), VALS(1, NAN, 2)), 0, false), 0, NAN); /* NaN propagates */
    EXPECT(tg_min(g, T(DIMS(2, 2), VALS(NAN, 1, 0, 2)), 0, false), 0, NAN, 1);
    EXPECT(tg_max(g, T(DIMS(2), VALS(-INFINITY, -INFINITY)), 0, false), 0, -INFINITY);
}
END_TEST

START_TEST(test_var) {
    tg_tensor *x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    EXPECT(tg_var(g, x, 1, false, 0), TOL, 2.0 / 3, 2.0 / 3);
    EXPECT(tg_var(g, x, 1, false, 1), TOL, 1, 1);
    EXPECT(tg_var(g, x, 0, false, 0), TOL, 2.25, 2.25, 2.25);
    EXPECT(tg_var(g, x, 0, false, 1), TOL, 4.5, 4.5, 4.5);
    EXPECT_SHAPE(tg_var(g, x, 0, true, 1), 1, 3);
    EXPECT(tg_var(g, x, TG_ALL, false, 0), TOL, 17.5 / 6);
    EXPECT(tg_var(g, x, TG_ALL, false, 1), TOL, 3.5);
    /* a large offset: two passes keep the small variance */
    EXPECT(tg_var(g, T(DIMS(3), VALS(10001, 10002, 10003)), 0, false, 1), TOL, 1);

    tg_graph_reset(g);
    x = param(T(DIMS(4), VALS(1, 2, 3, 4)));
    tg_tensor *v = tg_var(g, x, 0, false, 1);
    EXPECT(v, TOL, 5.0 / 3);
    backward(v);
    EXPECT_GRAD(x, TOL, -1, -1.0 / 3, 1.0 / 3, 1); /* 2 (x - 2.5) / 3 */

    tg_graph_reset(g);
    x = T(DIMS(2, 1), VALS(1, 2));
    EXPECT_ERROR(tg_var(g, x, 1, false, 1), "var: N - correction = 1 - 1 is not positive");
    x = T(DIMS(2, 1), VALS(1, 2));
    EXPECT_ERROR(tg_var(g, x, TG_ALL, false, 2), "every axis");
    x = T(DIMS(2, 1), VALS(1, 2));
    EXPECT_ERROR(tg_var(g, x, 0, false, -1), "var: correction -1 is negative");
}
END_TEST

START_TEST(test_reduce_backward) {
    tg_tensor *x = param(T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6)));
    tg_tensor *y = tg_sum(g, x, 0, true); /* [1,3] */
    ck_assert_int_eq(tg_backward_from(g, y, VALS(1, 2, 3)), 0);
    EXPECT_GRAD(x, 0, 1, 2, 3, 1, 2, 3);
    tg_zero_grad(x);
    y = tg_mean(g, x, -1, false); /* [2] */
    ck_assert_int_eq(tg_backward_from(g, y, VALS(3, 6)), 0);
    EXPECT_GRAD(x, TOL, 1, 1, 1, 2, 2, 2);
    tg_zero_grad(x);
    backward(tg_mean(g, x, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6);
    /* gradients accumulate */
    backward(tg_sum(g, x, TG_ALL, false));
    EXPECT_GRAD(x, TOL, 7.0 / 6, 7.0 / 6, 7.0 / 6, 7.0 / 6, 7.0 / 6, 7.0 / 6);
}
END_TEST

START_TEST(test_max_tie_gradient) {
    tg_tensor *x = param(T(DIMS(4), VALS(1, 3, 3, 2)));
    tg_tensor *y = tg_max(g, x, TG_ALL, false);
    EXPECT(y, 0, 3);
    backward(y);
    EXPECT_GRAD(x, 0, 0, 0.5, 0.5, 0);

    tg_graph_reset(g);
    x = param(T(DIMS(2, 3), VALS(1, 5, 5, 7, 7, 7)));
    y = tg_max(g, x, 1, false);
    ck_assert_int_eq(tg_backward_from(g, y, VALS(1, 3)), 0);
    EXPECT_GRAD(x, TOL, 0, 0.5, 0.5, 1, 1, 1);

    tg_graph_reset(g); /* along axis 0 (the column layout), and min */
    x = param(T(DIMS(3, 2), VALS(2, 0, 2, 1, 1, 0)));
    y = tg_min(g, x, 0, false);
    EXPECT(y, 0, 1, 0);
    ck_assert_int_eq(tg_backward_from(g, y, VALS(1, 1)), 0);
    EXPECT_GRAD(x, TOL, 0, 0.5, 0, 0, 1, 0.5);
    tg_zero_grad(x);
    y = tg_max(g, x, 0, true);
    EXPECT_SHAPE(y, 1, 2);
    ck_assert_int_eq(tg_backward_from(g, y, VALS(4, 1)), 0);
    EXPECT_GRAD(x, TOL, 2, 0, 2, 1, 0, 0);
}
END_TEST

START_TEST(test_empty_reductions) {
    tg_tensor *x = tg_zeros(g, DIMS(2, 0));
    tg_tensor *y = tg_sum(g, x, 1, false);
    EXPECT_SHAPE(y, 2);
    EXPECT(y, 0, 0, 0);
    EXPECT(tg_mean(g, x, 1, false), 0, NAN, NAN); /* mean of nothing: 0/0 */
    EXPECT(tg_sum(g, x, TG_ALL, false), 0, 0);
    y = tg_max(g, x, 0, false); /* axis 0 is not empty: an empty result */
    EXPECT_SHAPE(y, 0);
    EXPECT_ERROR(tg_max(g, x, 1, false), "max: cannot reduce axis 1 of size 0 in shape [2,0]");
    x = tg_zeros(g, DIMS(2, 0));
    EXPECT_ERROR(tg_min(g, x, TG_ALL, false), "min: cannot reduce the empty tensor");
    x = tg_zeros(g, DIMS(2, 0));
    EXPECT_ERROR(tg_var(g, x, -1, false, 0), "var:");
    /* backward through reductions of empty tensors: nothing to do, no crash */
    x = param(tg_zeros(g, DIMS(3, 0)));
    tg_tensor *parts[4] = {tg_sum(g, x, 0, false), tg_mean(g, x, 0, true), tg_max(g, x, 0, false),
                           tg_var(g, x, 0, false, 1)};
    tg_tensor *loss = tg_sum(g, tg_softmax(g, x, 0), TG_ALL, false);
    for (int i = 0; i < 4; i++) loss = tg_add(g, loss, tg_sum(g, parts[i], TG_ALL, false));
    backward(loss);
    EXPECT(loss, 0, 0);
}
END_TEST

START_TEST(test_axis_errors) {
    tg_tensor *x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    EXPECT_ERROR(tg_sum(g, x, 2, false), "sum: axis 2 out of range for shape [2,3]");
    x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    EXPECT_ERROR(tg_mean(g, x, -3, false), "mean: axis -3 out of range for shape [2,3]");
    x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    EXPECT_ERROR(tg_max(g, x, 5, true), "max: axis 5 out of range");
    x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    EXPECT_ERROR(tg_var(g, x, 2, true, 0), "var: axis 2 out of range");
    x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    EXPECT_ERROR(tg_softmax(g, x, 2), "softmax: axis 2 out of range for shape [2,3]");
    x = T(DIMS(2, 3), VALS(1, 2, 3, 4, 5, 6));
    EXPECT_ERROR(tg_log_softmax(g, x, -3), "log_softmax: axis -3 out of range");
    EXPECT_ERROR(tg_sum(g, tg_scalar(g, 1), 0, false), "sum: axis 0 out of range for shape []");
    EXPECT_ERROR(tg_sum(g, NULL, 0, false), "sum: input is NULL");
    EXPECT_ERROR(tg_relu(g, NULL), "relu: input is NULL");
    EXPECT_ERROR(tg_softmax(g, NULL, 0), "softmax: input is NULL");
    ck_assert_ptr_null(tg_sum(NULL, NULL, 0, false));
}
END_TEST

/* The sum of 10^6 copies of 0.1 (as tg_real): accumulating in float would be off by
 * about 1%; in double it is right to ~1e-10. */
START_TEST(test_sum_million) {
    const int n = 1000000;
    tg_tensor *x = tg_full(g, DIMS(n), (tg_real)0.1);
    const double want = n * (double)(tg_real)0.1;
    tg_tensor *s = tg_sum(g, x, TG_ALL, false);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(fabs(tg_item(s) - want) <= 1e-6 * want, "sum %.10g, want %.10g",
                  (double)tg_item(s), want);
    tg_tensor *m = tg_mean(g, x, 0, false);
    ck_assert(fabs(tg_item(m) - (tg_real)0.1) <= 1e-6 * 0.1);
    /* along an axis: long rows (chunked) and long columns */
    tg_tensor *r = tg_sum(g, tg_full(g, DIMS(2, n / 2), (tg_real)0.1), 1, false);
    EXPECT_REL(r, 1e-6, want / 2, want / 2);
    tg_tensor *c = tg_sum(g, tg_full(g, DIMS(n / 4, 4), (tg_real)0.1), 0, false);
    EXPECT_REL(c, 1e-6, want / 4, want / 4, want / 4, want / 4);
    tg_tensor *v = tg_var(g, x, TG_ALL, false, 0);
    ck_assert(fabs(tg_item(v)) <= 1e-12);
}
END_TEST

/* Reductions of a random [5,7,130] tensor along each axis against a plain loop. */
START_TEST(test_reduce_against_naive) {
    enum { A = 5, B = 7, C = 130 };
    tg_seed(g, 42);
    tg_tensor *x = param(tg_randn(g, DIMS(A, B, C), 0, 1));
    const tg_real *xd = tg_data(x);
    const int dims[3] = {A, B, C};
    for (int ax = -1; ax < 3; ax++) { /* -1: TG_ALL */
        int64_t outer = 1, n = A * B * C, inner = 1;
        if (ax >= 0) {
            n = dims[ax];
            for (int i = 0; i < ax; i++) outer *= dims[i];
            for (int i = ax + 1; i < 3; i++) inner *= dims[i];
        }
        const int axis = ax < 0 ? TG_ALL : ax;
        tg_tensor *ys[5] = {tg_sum(g, x, axis, false), tg_mean(g, x, axis, false),
                            tg_max(g, x, axis, false), tg_min(g, x, axis, false),
                            tg_var(g, x, axis, false, 1)};
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < inner; j++) {
                double s = 0, mx = -INFINITY, mn = INFINITY, ss = 0;
                for (int64_t k = 0; k < n; k++) {
                    const double v = xd[(o * n + k) * inner + j];
                    s += v;
                    mx = v > mx ? v : mx;
                    mn = v < mn ? v : mn;
                }
                for (int64_t k = 0; k < n; k++) {
                    const double d = xd[(o * n + k) * inner + j] - s / (double)n;
                    ss += d * d;
                }
                const double want[5] = {s, s / (double)n, mx, mn, ss / (double)(n - 1)};
                for (int r = 0; r < 5; r++) {
                    ck_assert_ptr_nonnull(ys[r]);
                    const double got = tg_data(ys[r])[o * inner + j];
                    ck_assert_msg(close_to(got, want[r], 10 * TOL, 0),
                                  "axis %d op %d [%lld]: %.10g, want %.10g", axis, r,
                                  (long long)(o * inner + j), got, want[r]);
                }
            }
        /* max's gradient goes to the (untied) argmax */
        tg_zero_grad(x);
        tg_real dy[A * B * C];
        for (int64_t i = 0; i < outer * inner; i++) dy[i] = (tg_real)(i + 1);
        ck_assert_int_eq(tg_backward_from(g, ys[2], dy), 0);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t k = 0; k < n; k++)
                for (int64_t j = 0; j < inner; j++) {
                    const int64_t i = (o * n + k) * inner + j;
                    const double want =
                        xd[i] == tg_data(ys[2])[o * inner + j] ? (double)dy[o * inner + j] : 0;
                    ck_assert_msg(tg_grad(x)[i] == want, "axis %d: grad[%lld] %g, want %g", axis,
                                  (long long)i, (double)tg_grad(x)[i], want);
                }
    }
}
END_TEST

/* ---- softmax ------------------------------------------------------------------------ */

START_TEST(test_softmax_values) {
    tg_tensor *x = T(DIMS(3), VALS(1, 2, 3));
    EXPECT(tg_softmax(g, x, 0), TOL, 0.09003057317038046, 0.24472847105479767, 0.6652409557748219);
    EXPECT(tg_log_softmax(g, x, -1), TOL, -2.40760596444438, -1.4076059644443801,
           -0.40760596444438013);
    /* along axis 0 of [2,3] (strided slices) */
    tg_tensor *m = T(DIMS(2, 3), VALS(1, 2, 3, 1, 4, 3));
    tg_tensor *y = tg_softmax(g, m, 0);
    EXPECT_SHAPE(y, 2, 3);
    EXPECT(y, TOL, 0.5, 0.11920292202211757, 0.5, 0.5, 0.8807970779778825, 0.5);
    EXPECT(tg_log_softmax(g, m, -2), TOL, -0.6931471805599453, -2.1269280110429722,
           -0.6931471805599453, -0.6931471805599453, -0.12692801104297224, -0.6931471805599453);
    EXPECT(tg_softmax(g, m, -1), TOL, 0.09003057317038046, 0.24472847105479767, 0.6652409557748219,
           0.03511902695933972, 0.7053845126982411, 0.25949646034241913);
}
END_TEST

START_TEST(test_softmax_extreme_logits) {
    tg_tensor *x = T(DIMS(2, 3), VALS(1e4, -1e4, 0, -1e4, -1e4, -1e4));
    tg_tensor *p = tg_softmax(g, x, 1);
    tg_tensor *l = tg_log_softmax(g, x, 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(l);
    for (int i = 0; i < 6; i++) {
        ck_assert(isfinite(tg_data(p)[i]));
        ck_assert(isfinite(tg_data(l)[i]));
    }
    EXPECT(p, TOL, 1, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3);
    EXPECT(l, TOL, 0, -2e4, -1e4, -1.0986122886681098, -1.0986122886681098, -1.0986122886681098);
    /* the same along axis 0 */
    tg_tensor *xt = T(DIMS(2, 2), VALS(1e4, 1e4, -1e4, 1e4));
    EXPECT(tg_softmax(g, xt, 0), TOL, 1, 0.5, 0, 0.5);
    EXPECT(tg_log_softmax(g, xt, 0), TOL, 0, -0.6931471805599453, -2e4, -0.6931471805599453);
}
END_TEST

START_TEST(test_softmax_backward) {
    tg_tensor *x = param(T(DIMS(3), VALS(1, 2, 3)));
    const double p0 = 0.09003057317038046, p1 = 0.24472847105479767, p2 = 0.6652409557748219;
    tg_tensor *y = tg_softmax(g, x, 0);
    ck_assert_int_eq(tg_backward_from(g, y, VALS(1, 0, 0)), 0);
    EXPECT_GRAD(x, TOL, p0 * (1 - p0), -p1 * p0, -p2 * p0); /* y (dy - sum(dy y)) */
    tg_zero_grad(x);
    y = tg_log_softmax(g, x, 0);
    ck_assert_int_eq(tg_backward_from(g, y, VALS(1, 0, 0)), 0);
    EXPECT_GRAD(x, TOL, 1 - p0, -p1, -p2); /* dy - softmax(x) sum(dy) */

    tg_graph_reset(g); /* strided: axis 0 of [3,2], columns equal */
    x = param(T(DIMS(3, 2), VALS(1, 1, 2, 2, 3, 3)));
    y = tg_log_softmax(g, x, 0);
    ck_assert_int_eq(tg_backward_from(g, y, VALS(1, 0, 0, 0, 0, 0)), 0);
    EXPECT_GRAD(x, TOL, 1 - p0, 0, -p1, 0, -p2, 0);
    tg_zero_grad(x);
    y = tg_softmax(g, x, 0);
    ck_assert_int_eq(tg_backward_from(g, y, VALS(0, 1, 0, 0, 0, 0)), 0);
    EXPECT_GRAD(x, TOL, 0, p0 * (1 - p0), 0, -p1 * p0, 0, -p2 * p0);
}
END_TEST

/* ---- threads ------------------------------------------------------------------------ */

/* Large reductions and softmax give bit-identical results for 1 and 3 threads. */
START_TEST(test_thread_count_invariance) {
    tg_seed(g, 7);
    tg_tensor *x = tg_randn(g, DIMS(60, 1200), 0, 1); /* above TG_PAR_MIN */
    tg_tensor *out[2][9];
    const int counts[2] = {1, 3};
    for (int c = 0; c < 2; c++) {
        tg_set_num_threads(counts[c]);
        out[c][0] = tg_sum(g, x, TG_ALL, false);
        out[c][1] = tg_sum(g, x, 0, false);
        out[c][2] = tg_sum(g, x, 1, false);
        out[c][3] = tg_mean(g, x, 0, false);
        out[c][4] = tg_var(g, x, 1, false, 1);
        out[c][5] = tg_max(g, x, 0, false);
        out[c][6] = tg_min(g, x, TG_ALL, false);
        out[c][7] = tg_softmax(g, x, 1);
        out[c][8] = tg_log_softmax(g, x, 0);
    }
    tg_set_num_threads(0);
    for (int i = 0; i < 9; i++) {
        ck_assert_ptr_nonnull(out[0][i]);
        ck_assert_ptr_nonnull(out[1][i]);
        ck_assert_msg(memcmp(tg_data(out[0][i]), tg_data(out[1][i]),
                             (size_t)tg_numel(out[0][i]) * sizeof(tg_real)) == 0,
                      "result %d differs between 1 and 3 threads", i);
    }
    for (int r = 0; r < 60; r++) { /* softmax rows sum to 1 */
        double s = 0;
        for (int k = 0; k < 1200; k++) s += tg_data(out[0][7])[r * 1200 + k];
        ck_assert(fabs(s - 1) < 1e-4);
    }
}
END_TEST

static Suite *ops_suite(void) {
    Suite *s = suite_create("ops");
    TCase *tc;

    tc = tcase_create("binary");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_add_row_broadcast);
    tcase_add_test(tc, test_add_outer_broadcast);
    tcase_add_test(tc, test_scalar_broadcast);
    tcase_add_test(tc, test_mul_3d_broadcast);
    tcase_add_test(tc, test_binary_special_values);
    tcase_add_test(tc, test_broadcast_gradient);
    tcase_add_test(tc, test_binary_shape_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("unary");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_unary_values);
    tcase_add_test(tc, test_pow_clamp);
    suite_add_tcase(s, tc);

    tc = tcase_create("activation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_relu);
    tcase_add_test(tc, test_leaky_relu_elu);
    tcase_add_test(tc, test_gelu);
    tcase_add_test(tc, test_softplus);
    tcase_add_test(tc, test_sigmoid_tanh);
    suite_add_tcase(s, tc);

    tc = tcase_create("reduce");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sum_mean_axes);
    tcase_add_test(tc, test_reduce_3d);
    tcase_add_test(tc, test_max_min_values);
    tcase_add_test(tc, test_var);
    tcase_add_test(tc, test_reduce_backward);
    tcase_add_test(tc, test_max_tie_gradient);
    tcase_add_test(tc, test_empty_reductions);
    tcase_add_test(tc, test_axis_errors);
    tcase_add_test(tc, test_sum_million);
    tcase_add_test(tc, test_reduce_against_naive);
    suite_add_tcase(s, tc);

    tc = tcase_create("softmax");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_softmax_values);
    tcase_add_test(tc, test_softmax_extreme_logits);
    tcase_add_test(tc, test_softmax_backward);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_thread_count_invariance);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tg_test_run(ops_suite());
}
