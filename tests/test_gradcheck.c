/* tests/test_gradcheck.c: tg_gradcheck itself (passes, failures it must catch, kinks,
 * bad arguments, fn failures), then THE TABLE: every registered op gradient-checked on
 * several shape cases, and a test that no registered op is missing from the table.
 *
 * Tolerances. Double build: eps 1e-6, atol = rtol = 1e-6 (the bar: "in the
 * double build the gradient checks pass at rtol 1e-6"). Central differences there err
 * by f''' eps^2 / 6 ~ 1e-13 (truncation) plus ~ulp(f)/eps ~ 1e-10 (rounding of f).
 *
 * Float build: eps 1e-3, atol = rtol = 1e-2. With float values the rounding error of
 * the difference quotient is about ulp(f) / (2 eps): for f of order 1-10 that is
 * 6e-8..1e-6 / 2e-3, i.e. 3e-5..5e-4, and each op in the chain adds its own float
 * rounding to f, so errors of 1e-4..1e-3 relative are normal; truncation is
 * f''' eps^2 / 6 ~ 1e-7. A smaller eps trades truncation for more rounding (at eps
 * 1e-4 rounding alone reaches ~5e-3). So 1e-2 is the honest bound: ten times the
 * noise, yet a wrong rule (a missing factor, a wrong sign, a dropped broadcast sum)
 * is off by far more. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad.h>

#include "graph/internal.h"

#include "tg_test.h"

#if TG_PRECISION_DOUBLE
#define EPS  1e-6
#define ATOL 1e-6
#define RTOL 1e-6
#else
#define EPS  1e-3
#define ATOL 1e-2
#define RTOL 1e-2
#endif

static const tg_gradcheck_opts OPTS = {EPS, ATOL, RTOL};

/* ---- helpers ---------------------------------------------------------------------- */

/* A constant copy of x: same values, no path back to x. Lets a test build a function
 * whose analytic gradient is wrong on purpose. */
static tg_tensor *detached(tg_graph *g, tg_tensor *x) {
    return tg_tensor_from(g, tg_ndim(x), tg_shape(x), tg_data(x));
}

/* A 1-D input of shape[0] elements. */
static tg_gradcheck_input in_vec(const int *shape, const tg_real *data, bool check) {
    return (tg_gradcheck_input){1, shape, data, check};
}

/* ---- unit tests of tg_gradcheck -------------------------------------------------- */

/* f(a, b) = sum(a * b) + 0.1 * sum(a * a): smooth, mild curvature. */
static tg_tensor *fn_smooth(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    tg_tensor *ab = tg_sum(g, tg_mul(g, x[0], x[1]), TG_ALL, false);
    tg_tensor *aa = tg_sum(g, tg_mul(g, x[0], x[0]), TG_ALL, false);
    return tg_add(g, ab, tg_mul(g, tg_scalar(g, (tg_real)0.1), aa));
}

START_TEST(correct_function_passes) {
    const int shape[] = {2, 3};
    const tg_real a[] = {0.5, -1, 2, 0.25, -0.75, 1.5}, b[] = {1, 2, -3, 0.5, 0.1, -0.2};
    const tg_gradcheck_input in[] = {{2, shape, a, true}, {2, shape, b, true}};
    tg_gradcheck_report rep;
    tg_clear_last_error();
    ck_assert_int_eq(tg_gradcheck(fn_smooth, 2, in, NULL, &OPTS, &rep), TG_OK);
    ck_assert(rep.passed);
    ck_assert_int_eq(rep.checked, 12);
    ck_assert_int_eq(rep.kinks, 0);
    ck_assert_int_ge(rep.worst_input, 0);
    ck_assert_int_ge(rep.worst_index, 0);
    ck_assert_double_le(rep.abs_err, ATOL);
    ck_assert_msg(strstr(rep.message, "12 elements passed") != NULL, "%s", rep.message);
    ck_assert_ptr_null(tg_last_error());
    /* Defaults (NULL opts) and no report. */
    ck_assert_int_eq(tg_gradcheck(fn_smooth, 2, in, NULL, NULL, NULL), TG_OK);
    /* Constant inputs are neither perturbed nor compared. */
    const tg_gradcheck_input half[] = {{2, shape, a, false}, {2, shape, b, true}};
    ck_assert_int_eq(tg_gradcheck(fn_smooth, 2, half, NULL, NULL, &rep), TG_OK);
    ck_assert_int_eq(rep.checked, 6);
    ck_assert_int_eq(rep.worst_input, 1);
}
END_TEST

/* f(a, b) = sum(a * b) + sum(b * const(b)): the value is sum(a b + b^2), so the true
 * gradient wrt b is a + 2b, but the tape only sees a + b. */
static tg_tensor *fn_severed(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    tg_tensor *ab = tg_sum(g, tg_mul(g, x[0], x[1]), TG_ALL, false);
    tg_tensor *bb = tg_sum(g, tg_mul(g, x[1], detached(g, x[1])), TG_ALL, false);
    return tg_add(g, ab, bb);
}

START_TEST(wrong_gradient_fails_and_names_the_element) {
    const int shape[] = {2, 2};
    const tg_real a[] = {0.5, 0.5, 0.5, 0.5}, b[] = {0.1, -0.2, 3.0, 0.4};
    const tg_gradcheck_input in[] = {{2, shape, a, true}, {2, shape, b, true}};
    tg_gradcheck_report rep;
    ck_assert_int_eq(tg_gradcheck(fn_severed, 2, in, NULL, &OPTS, &rep), TG_ERR_NUMERIC);
    ck_assert(!rep.passed);
    ck_assert_int_eq(rep.checked, 8);
    ck_assert_int_eq(rep.worst_input, 1);
    ck_assert_int_eq(rep.worst_index, 2); /* |error| = |b|: largest at b = 3 */
    ck_assert_double_eq_tol(rep.analytic, 0.5 + 3.0, 1e-5);
    ck_assert_double_eq_tol(rep.numeric, 0.5 + 6.0, 1e-2);
    ck_assert_double_eq_tol(rep.abs_err, 3.0, 1e-2);
    ck_assert_double_eq_tol(rep.rel_err, 3.0 / 6.5, 1e-2);
    ck_assert_msg(strstr(rep.message, "input 1 element 2 [1,0]") != NULL, "%s", rep.message);
    ck_assert_msg(strstr(rep.message, "4 of 8 elements failed") != NULL, "%s", rep.message);
    ck_assert_ptr_nonnull(tg_last_error());
    ck_assert_str_eq(tg_last_error(), rep.message);
    /* The same without a report still fails. */
    ck_assert_int_eq(tg_gradcheck(fn_severed, 2, in, NULL, NULL, NULL), TG_ERR_NUMERIC);
    /* Checking only the correct input passes. */
    const tg_gradcheck_input only_a[] = {{2, shape, a, true}, {2, shape, b, false}};
    ck_assert_int_eq(tg_gradcheck(fn_severed, 2, only_a, NULL, NULL, &rep), TG_OK);
}
END_TEST

/* A value computed wholly outside the tape: the output requires no gradient, so the
 * analytic gradient is zero everywhere, while the function does depend on x. */
static tg_tensor *fn_all_outside(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    return tg_sum(g, tg_exp(g, detached(g, x[0])), TG_ALL, false);
}

START_TEST(output_without_tape_path_fails) {
    const int shape[] = {3};
    const tg_real x[] = {0.1, 0.2, 0.3};
    const tg_gradcheck_input in[] = {in_vec(shape, x, true)};
    tg_gradcheck_report rep;
    ck_assert_int_eq(tg_gradcheck(fn_all_outside, 1, in, NULL, NULL, &rep), TG_ERR_NUMERIC);
    ck_assert_double_eq(rep.analytic, 0.0);
    ck_assert_int_eq(rep.worst_index, 2);
}
END_TEST

/* sum(op(x) * w) with a fixed constant w, for the kink tests; user = which op. */
static tg_tensor *fn_kinked(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const char *op = user;
    const tg_real w[] = {1.0, 2.0, -3.0, 0.5};
    tg_tensor *y = NULL;
    if (!strcmp(op, "relu")) y = tg_relu(g, x[0]);
    if (!strcmp(op, "abs")) y = tg_abs(g, x[0]);
    if (!strcmp(op, "clamp")) y = tg_clamp(g, x[0], -1, 1);
    if (!strcmp(op, "max")) return tg_max(g, x[0], TG_ALL, false);
    if (!strcmp(op, "min")) return tg_min(g, x[0], 0, false);
    if (!strcmp(op, "leaky_relu")) y = tg_leaky_relu(g, x[0], (tg_real)0.1);
    if (!strcmp(op, "wrong")) { /* relu(x) + 5x - 5 const(x): value relu(x), gradient +5 */
        tg_tensor *five = tg_scalar(g, 5);
        y = tg_add(g, tg_relu(g, x[0]),
                   tg_sub(g, tg_mul(g, five, x[0]), tg_mul(g, five, detached(g, x[0]))));
    }
    tg_tensor *wt = tg_tensor_from(g, 1, tg_shape(y), w);
    return tg_sum(g, tg_mul(g, y, wt), TG_ALL, false);
}

static int64_t kinks_of(const char *op, int n, const tg_real *x) {
    const int shape[] = {n};
    const tg_gradcheck_input in[] = {in_vec(shape, x, true)};
    tg_gradcheck_report rep;
    tg_status st = tg_gradcheck(fn_kinked, 1, in, (void *)op, &OPTS, &rep);
    ck_assert_msg(st == TG_OK, "%s: %s", op, rep.message);
    ck_assert_int_eq(rep.checked, n);
    return rep.kinks;
}

START_TEST(subgradients_at_kinks_pass_and_are_counted) {
    /* relu'(0) = 0 lies in [0, w]: a kink at elements 0 and 3 (not at 1, -1). */
    ck_assert_int_eq(kinks_of("relu", 4, (tg_real[]){0, 1, -1, 0}), 2);
    /* abs'(0) = 0 is also the central difference (the average of -w and w): the
     * central test accepts it, so it is not judged as a kink. */
    ck_assert_int_eq(kinks_of("abs", 3, (tg_real[]){0, 0.5, -0.7}), 0);
    ck_assert_int_eq(kinks_of("leaky_relu", 2, (tg_real[]){0, 0.5}), 1);
    /* clamp at its bounds: gradient 0 there, the slopes are 0 and 1 */
    ck_assert_int_eq(kinks_of("clamp", 4, (tg_real[]){-1, 1, 0.3, 2}), 2);
    /* max tie: the gradient split evenly (0.5) is the average of the slopes 0 and 1,
     * which is what the central difference measures: accepted without the kink rule. */
    ck_assert_int_eq(kinks_of("max", 3, (tg_real[]){1, 1, 0.5}), 0);
    ck_assert_int_eq(kinks_of("min", 3, (tg_real[]){-2, 0.5, -2}), 0);
    /* nothing near a kink: none counted */
    ck_assert_int_eq(kinks_of("relu", 4, (tg_real[]){0.5, 1, -1, -0.25}), 0);
}
END_TEST

START_TEST(wrong_subgradient_at_kink_fails) {
    const int shape[] = {1};
    const tg_real x[] = {0};
    const tg_gradcheck_input in[] = {in_vec(shape, x, true)};
    tg_gradcheck_report rep;
    ck_assert_int_eq(tg_gradcheck(fn_kinked, 1, in, "wrong", &OPTS, &rep), TG_ERR_NUMERIC);
    ck_assert_int_eq(rep.kinks, 1);
    ck_assert_double_eq_tol(rep.analytic, 5.0, 1e-6);
    ck_assert_msg(strstr(rep.message, "kink") != NULL, "%s", rep.message);
    ck_assert_msg(strstr(rep.message, "input 0 element 0") != NULL, "%s", rep.message);
}
END_TEST

static tg_tensor *fn_sum(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)n, (void)user;
    return tg_sum(g, x[0], TG_ALL, false);
}

START_TEST(large_inputs_step_at_least_one_ulp) {
    /* In a float build eps = 1e-3 is below an ulp of 1e5 (0.0078): x + eps rounds back
     * to x, and the step must become one ulp, not zero. */
    const int shape[] = {1};
    const tg_real xs[] = {1e5, -3e6, 0.5};
    for (int i = 0; i < 3; i++) { /* one at a time: f = x is then exact in floats */
        const tg_gradcheck_input in[] = {in_vec(shape, &xs[i], true)};
        tg_gradcheck_report rep;
        ck_assert_int_eq(tg_gradcheck(fn_sum, 1, in, NULL, NULL, &rep), TG_OK);
        ck_assert_msg(rep.abs_err < 1e-6, "%s", rep.message);
        ck_assert_double_eq(rep.numeric, 1.0);
    }
}
END_TEST

START_TEST(nothing_to_check_passes) {
    const int shape[] = {3}, empty[] = {0};
    const tg_real x[] = {1, 2, 3};
    tg_gradcheck_report rep;
    tg_gradcheck_input in[] = {in_vec(shape, x, false)};
    ck_assert_int_eq(tg_gradcheck(fn_sum, 1, in, NULL, NULL, &rep), TG_OK);
    ck_assert_int_eq(rep.checked, 0);
    ck_assert_int_eq(rep.worst_input, -1);
    ck_assert_msg(strstr(rep.message, "nothing compared") != NULL, "%s", rep.message);
    in[0] = in_vec(empty, x, true); /* an empty input: no elements */
    ck_assert_int_eq(tg_gradcheck(fn_sum, 1, in, NULL, NULL, &rep), TG_OK);
    ck_assert_int_eq(rep.checked, 0);
}
END_TEST

static tg_tensor *fn_const(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)x, (void)n, (void)user;
    return tg_scalar(g, 42);
}

START_TEST(no_inputs_at_all) {
    tg_gradcheck_report rep;
    ck_assert_int_eq(tg_gradcheck(fn_const, 0, NULL, NULL, NULL, &rep), TG_OK);
    ck_assert_int_eq(rep.checked, 0);
}
END_TEST

static void expect_bad(tg_status want, tg_gradcheck_fn fn, int n, const tg_gradcheck_input *in,
                       const tg_gradcheck_opts *o, const char *what) {
    tg_gradcheck_report rep;
    tg_clear_last_error();
    tg_status st = tg_gradcheck(fn, n, in, NULL, o, &rep);
    ck_assert_msg(st == want, "%s: status %d (%s), want %d", what, st, tg_status_str(st), want);
    ck_assert_msg(tg_last_error() != NULL, "%s: no message", what);
    ck_assert_msg(strncmp(tg_last_error(), "tg_gradcheck: ", 14) == 0, "%s: %s", what,
                  tg_last_error());
    ck_assert(!rep.passed);
    ck_assert_int_eq(rep.worst_input, -1);
    ck_assert_int_eq(rep.checked, 0);
    ck_assert_str_eq(rep.message, tg_last_error());
}

START_TEST(bad_arguments_are_rejected) {
    const int shape[] = {3}, neg[] = {2, -1}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const tg_real x[] = {1, 2, 3};
    tg_gradcheck_input in[] = {in_vec(shape, x, true)};
    expect_bad(TG_ERR_NULL, NULL, 1, in, NULL, "NULL fn");
    expect_bad(TG_ERR_ARG, fn_sum, -1, in, NULL, "ninputs -1");
    expect_bad(TG_ERR_ARG, fn_sum, 65, in, NULL, "ninputs 65");
    expect_bad(TG_ERR_NULL, fn_sum, 1, NULL, NULL, "NULL inputs");
    in[0] = (tg_gradcheck_input){9, nine, x, true};
    expect_bad(TG_ERR_SHAPE, fn_sum, 1, in, NULL, "ndim 9");
    in[0] = (tg_gradcheck_input){-1, nine, x, true};
    expect_bad(TG_ERR_SHAPE, fn_sum, 1, in, NULL, "ndim -1");
    in[0] = (tg_gradcheck_input){2, neg, x, true};
    expect_bad(TG_ERR_SHAPE, fn_sum, 1, in, NULL, "negative dimension");
    in[0] = (tg_gradcheck_input){2, NULL, x, true};
    expect_bad(TG_ERR_NULL, fn_sum, 1, in, NULL, "NULL shape");
    in[0] = (tg_gradcheck_input){1, shape, NULL, true};
    expect_bad(TG_ERR_NULL, fn_sum, 1, in, NULL, "NULL data");
    in[0] = in_vec(shape, x, true);
    expect_bad(TG_ERR_ARG, fn_sum, 1, in, &(tg_gradcheck_opts){-1e-3, 0, 0}, "eps < 0");
    expect_bad(TG_ERR_ARG, fn_sum, 1, in, &(tg_gradcheck_opts){NAN, 0, 0}, "eps NaN");
    expect_bad(TG_ERR_ARG, fn_sum, 1, in, &(tg_gradcheck_opts){INFINITY, 0, 0}, "eps inf");
    expect_bad(TG_ERR_ARG, fn_sum, 1, in, &(tg_gradcheck_opts){0, -1, 0}, "atol < 0");
    expect_bad(TG_ERR_ARG, fn_sum, 1, in, &(tg_gradcheck_opts){0, 0, -1}, "rtol < 0");
    expect_bad(TG_ERR_ARG, fn_sum, 1, in, &(tg_gradcheck_opts){0, 0, NAN}, "rtol NaN");
    /* A report is optional on the error paths too. */
    ck_assert_int_eq(tg_gradcheck(NULL, 0, NULL, NULL, NULL, NULL), TG_ERR_NULL);
}
END_TEST

/* fn misbehaving in several ways; user selects which. */
static tg_tensor *fn_bad(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const char *how = user;
    if (!strcmp(how, "shape error")) /* an op fails: [3] + [2] */
        return tg_add(g, x[0], tg_tensor_new(g, 1, (int[]){2}));
    if (!strcmp(how, "null")) return NULL;
    if (!strcmp(how, "vector")) return tg_mul(g, x[0], x[0]);
    if (!strcmp(how, "empty")) return tg_slice(g, x[0], 0, 0, 0, 1);
    if (!strcmp(how, "late error")) { /* fails only once x[0][0] is perturbed upwards */
        if (tg_data(x[0])[0] > 1) return tg_reshape(g, x[0], 1, (int[]){4});
        return tg_sum(g, x[0], TG_ALL, false);
    }
    return NULL;
}

START_TEST(fn_failures_are_reported) {
    const int shape[] = {3};
    const tg_real x[] = {1, 2, 3};
    const tg_gradcheck_input in[] = {in_vec(shape, x, true)};
    tg_gradcheck_report rep;

    ck_assert_int_eq(tg_gradcheck(fn_bad, 1, in, "shape error", NULL, &rep), TG_ERR_SHAPE);
    ck_assert_ptr_nonnull(tg_last_error());
    ck_assert_msg(strncmp(tg_last_error(), "add:", 4) == 0, "%s", tg_last_error());
    ck_assert_msg(strstr(rep.message, "add:") != NULL, "%s", rep.message);
    ck_assert(!rep.passed);

    ck_assert_int_eq(tg_gradcheck(fn_bad, 1, in, "null", NULL, &rep), TG_ERR_NULL);
    ck_assert_msg(strstr(tg_last_error(), "NULL") != NULL, "%s", tg_last_error());

    ck_assert_int_eq(tg_gradcheck(fn_bad, 1, in, "vector", NULL, &rep), TG_ERR_SHAPE);
    ck_assert_msg(strstr(rep.message, "[3]") != NULL, "%s", rep.message);

    ck_assert_int_eq(tg_gradcheck(fn_bad, 1, in, "empty", NULL, &rep), TG_ERR_SHAPE);

    ck_assert_int_eq(tg_gradcheck(fn_bad, 1, in, "late error", NULL, &rep), TG_ERR_SHAPE);
    ck_assert_msg(strstr(rep.message, "x+eps") != NULL, "%s", rep.message);
    ck_assert(!rep.passed);
}
END_TEST

static tg_tensor *fn_other_graph(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)g, (void)x, (void)n;
    return tg_scalar((tg_graph *)user, 1);
}

START_TEST(tensor_of_another_graph_is_rejected) {
    tg_graph *other = tg_graph_new();
    const int shape[] = {1};
    const tg_real x[] = {1};
    const tg_gradcheck_input in[] = {in_vec(shape, x, true)};
    ck_assert_int_eq(tg_gradcheck(fn_other_graph, 1, in, other, NULL, NULL), TG_ERR_STATE);
    ck_assert_msg(strstr(tg_last_error(), "another graph") != NULL, "%s", tg_last_error());
    tg_graph_free(other);
}
END_TEST

/* ==== THE TABLE ==================================================================== */

/* How an input's values are drawn. */
enum gen {
    G_ANY,      /* uniform in [-2, 2] */
    G_POS,      /* uniform in [0.5, 2]: log, sqrt, pow */
    G_AWAY0,    /* |x| in [0.2, 2], random sign: relu, abs, divisors */
    G_CLAMP,    /* away from the bounds -0.5 and 0.8 of the clamp cases */
    G_DISTINCT, /* all values at least 0.2 apart: max, min without ties */
    G_WIDE,     /* uniform in [-10, 10]: softmax logits */
    G_PROB,     /* uniform in [0.1, 0.9]: probabilities and soft targets */
};

typedef struct in_def {
    int ndim;
    int shape[TG_MAX_DIMS];
    enum gen gen;
} in_def;

typedef struct case_def {
    const char *label;
    int nin;
    in_def in[3];
    int arg[9];     /* axes, keepdim, shapes, ... as the op needs */
    double farg[2]; /* exponent, bounds, slope, ... */
} case_def;

typedef tg_tensor *(*build_fn)(tg_graph *g, tg_tensor *const *x, const case_def *c);

typedef struct entry {
    const char *op; /* the registry name */
    build_fn build;
    const case_def *cases;
    int ncases;
} entry;

#define IN(gen, nd, ...)                                                                           \
    { nd, {__VA_ARGS__}, gen }
#define IN0(gen)                                                                                   \
    { 0, {0}, gen }

/* ---- build functions: the op's output, any shape ---- */
static tg_tensor *b_add(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    (void)c;
    return tg_add(g, x[0], x[1]);
}
static tg_tensor *b_sub(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    (void)c;
    return tg_sub(g, x[0], x[1]);
}
static tg_tensor *b_mul(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    (void)c;
    return tg_mul(g, x[0], x[1]);
}
static tg_tensor *b_div(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    (void)c;
    return tg_div(g, x[0], x[1]);
}
#define UNARY_BUILD(NAME)                                                                          \
    static tg_tensor *b_##NAME(tg_graph *g, tg_tensor *const *x, const case_def *c) {              \
        (void)c;                                                                                   \
        return tg_##NAME(g, x[0]);                                                                 \
    }
UNARY_BUILD(neg)
UNARY_BUILD(exp)
UNARY_BUILD(log)
UNARY_BUILD(sqrt)
UNARY_BUILD(abs)
UNARY_BUILD(relu)
UNARY_BUILD(gelu)
UNARY_BUILD(softplus)
UNARY_BUILD(sigmoid)
UNARY_BUILD(tanh)
static tg_tensor *b_pow(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_pow(g, x[0], (tg_real)c->farg[0]);
}
static tg_tensor *b_clamp(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_clamp(g, x[0], (tg_real)c->farg[0], (tg_real)c->farg[1]);
}
static tg_tensor *b_leaky_relu(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_leaky_relu(g, x[0], (tg_real)c->farg[0]);
}
static tg_tensor *b_elu(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_elu(g, x[0], (tg_real)c->farg[0]);
}
static tg_tensor *b_matmul(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    (void)c;
    return tg_matmul(g, x[0], x[1]);
}
/* reductions: arg[0] = axis, arg[1] = keepdim, arg[2] = correction (var) */
static tg_tensor *b_sum(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_sum(g, x[0], c->arg[0], c->arg[1]);
}
static tg_tensor *b_mean(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_mean(g, x[0], c->arg[0], c->arg[1]);
}
static tg_tensor *b_max(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_max(g, x[0], c->arg[0], c->arg[1]);
}
static tg_tensor *b_min(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_min(g, x[0], c->arg[0], c->arg[1]);
}
static tg_tensor *b_var(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_var(g, x[0], c->arg[0], c->arg[1], c->arg[2]);
}
static tg_tensor *b_softmax(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_softmax(g, x[0], c->arg[0]);
}
static tg_tensor *b_log_softmax(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_log_softmax(g, x[0], c->arg[0]);
}
/* reshape, broadcast_to: arg[0] = ndim, arg[1..] = shape */
static tg_tensor *b_reshape(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_reshape(g, x[0], c->arg[0], &c->arg[1]);
}
static tg_tensor *b_broadcast_to(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_broadcast_to(g, x[0], c->arg[0], &c->arg[1]);
}
static tg_tensor *b_transpose(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_transpose(g, x[0], c->arg[0], c->arg[1]);
}
static tg_tensor *b_permute(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_permute(g, x[0], c->arg);
}
static tg_tensor *b_concat(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_concat(g, c->nin, x, c->arg[0]);
}
/* slice: arg = axis, start, stop, step */
static tg_tensor *b_slice(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_slice(g, x[0], c->arg[0], c->arg[1], c->arg[2], c->arg[3]);
}

static tg_tensor *b_linear(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_linear(g, x[0], x[1], c->nin > 2 ? x[2] : NULL);
}
/* dropout: arg[0] = training mode, farg[0] = p; seeded so every evaluation draws the
 * same mask. */
static tg_tensor *b_dropout(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    tg_seed(g, 7);
    const bool was = tg_graph_set_training(g, c->arg[0] != 0);
    tg_tensor *y = tg_dropout(g, x[0], (tg_real)c->farg[0]);
    tg_graph_set_training(g, was);
    return y;
}
/* losses: arg[0] = reduction; class losses: arg[1..N] = labels, farg[0] = smoothing */
static tg_tensor *b_bce(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_bce_loss(g, x[0], x[1], (tg_reduction)c->arg[0]);
}
static tg_tensor *b_bce_with_logits(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_bce_with_logits_loss(g, x[0], x[1], (tg_reduction)c->arg[0]);
}
static void labels_of(const tg_tensor *x, const case_def *c, int32_t *labels) {
    for (int i = 0; i < tg_shape(x)[0] && i < 8; i++) labels[i] = c->arg[1 + i];
}
static tg_tensor *b_cross_entropy(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    int32_t labels[8];
    labels_of(x[0], c, labels);
    return tg_cross_entropy_loss(g, x[0], labels, (tg_reduction)c->arg[0], (tg_real)c->farg[0]);
}
static tg_tensor *b_nll(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    int32_t labels[8];
    labels_of(x[0], c, labels);
    return tg_nll_loss(g, x[0], labels, (tg_reduction)c->arg[0]);
}

/* ---- cases ---- */
static const case_def binary_cases[] = {
    {"[2,3] op [2,3]", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 2, 3)}, {0}, {0}},
    {"[2,3] op [3]", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 1, 3)}, {0}, {0}},
    {"[2,1] op [1,4]", 2, {IN(G_ANY, 2, 2, 1), IN(G_ANY, 2, 1, 4)}, {0}, {0}},
    {"0-d op [2,2]", 2, {IN0(G_ANY), IN(G_ANY, 2, 2, 2)}, {0}, {0}},
    {"[2,2] op 0-d", 2, {IN(G_ANY, 2, 2, 2), IN0(G_ANY)}, {0}, {0}},
    {"[3,1,2] op [4,1]", 2, {IN(G_ANY, 3, 3, 1, 2), IN(G_ANY, 2, 4, 1)}, {0}, {0}},
    {"0-d op 0-d", 2, {IN0(G_ANY), IN0(G_ANY)}, {0}, {0}},
    {"[1] op [3,2]", 2, {IN(G_ANY, 1, 1), IN(G_ANY, 2, 3, 2)}, {0}, {0}},
};
/* the divisor kept away from 0 */
static const case_def div_cases[] = {
    {"[2,3] / [2,3]", 2, {IN(G_ANY, 2, 2, 3), IN(G_AWAY0, 2, 2, 3)}, {0}, {0}},
    {"[2,3] / [3]", 2, {IN(G_ANY, 2, 2, 3), IN(G_AWAY0, 1, 3)}, {0}, {0}},
    {"[2,1] / [1,4]", 2, {IN(G_ANY, 2, 2, 1), IN(G_AWAY0, 2, 1, 4)}, {0}, {0}},
    {"0-d / [2,2]", 2, {IN0(G_ANY), IN(G_AWAY0, 2, 2, 2)}, {0}, {0}},
    {"[2,2] / 0-d", 2, {IN(G_ANY, 2, 2, 2), IN0(G_AWAY0)}, {0}, {0}},
    {"[3,1,2] / [4,1]", 2, {IN(G_ANY, 3, 3, 1, 2), IN(G_AWAY0, 2, 4, 1)}, {0}, {0}},
    {"0-d / 0-d", 2, {IN0(G_ANY), IN0(G_AWAY0)}, {0}, {0}},
};
#define UNARY_CASES(NAME, GEN, A0, A1)                                                             \
    static const case_def NAME[] = {                                                               \
        {"[2,3]", 1, {IN(GEN, 2, 2, 3)}, {0}, {A0, A1}},                                           \
        {"0-d", 1, {IN0(GEN)}, {0}, {A0, A1}},                                                     \
        {"[7]", 1, {IN(GEN, 1, 7)}, {0}, {A0, A1}},                                                \
        {"[2,1,3]", 1, {IN(GEN, 3, 2, 1, 3)}, {0}, {A0, A1}},                                      \
    }
UNARY_CASES(any_cases, G_ANY, 0, 0);
UNARY_CASES(pos_cases, G_POS, 0, 0);
UNARY_CASES(away0_cases, G_AWAY0, 0, 0);
UNARY_CASES(clamp_cases, G_CLAMP, -0.5, 0.8);
UNARY_CASES(leaky_cases, G_AWAY0, 0.1, 0);
static const case_def pow_cases[] = {
    {"[2,3] ^ 2", 1, {IN(G_POS, 2, 2, 3)}, {0}, {2, 0}},
    {"[2,3] ^ 3 (either sign)", 1, {IN(G_AWAY0, 2, 2, 3)}, {0}, {3, 0}},
    {"[5] ^ 0.5", 1, {IN(G_POS, 1, 5)}, {0}, {0.5, 0}},
    {"[2,2] ^ -1.5", 1, {IN(G_POS, 2, 2, 2)}, {0}, {-1.5, 0}},
    {"0-d ^ 1.7", 1, {IN0(G_POS)}, {0}, {1.7, 0}},
    {"[3] ^ 1", 1, {IN(G_ANY, 1, 3)}, {0}, {1, 0}},
    {"[3] ^ 0", 1, {IN(G_POS, 1, 3)}, {0}, {0, 0}},
};
static const case_def elu_cases[] = {
    {"[2,3] alpha 1", 1, {IN(G_AWAY0, 2, 2, 3)}, {0}, {1, 0}},
    {"[7] alpha 0.5", 1, {IN(G_AWAY0, 1, 7)}, {0}, {0.5, 0}},
    {"0-d alpha 2", 1, {IN0(G_AWAY0)}, {0}, {2, 0}},
    {"[2,1,3] alpha 1", 1, {IN(G_AWAY0, 3, 2, 1, 3)}, {0}, {1, 0}},
};
static const case_def matmul_cases[] = {
    {"[2,3] @ [3,4]", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 3, 4)}, {0}, {0}},
    {"[1,1] @ [1,1]", 2, {IN(G_ANY, 2, 1, 1), IN(G_ANY, 2, 1, 1)}, {0}, {0}},
    {"[4,1] @ [1,5]", 2, {IN(G_ANY, 2, 4, 1), IN(G_ANY, 2, 1, 5)}, {0}, {0}},
    {"[2,2,3] @ [2,3,4]", 2, {IN(G_ANY, 3, 2, 2, 3), IN(G_ANY, 3, 2, 3, 4)}, {0}, {0}},
    {"[2,2,3] @ [3,4]", 2, {IN(G_ANY, 3, 2, 2, 3), IN(G_ANY, 2, 3, 4)}, {0}, {0}},
    {"[2,3] @ [2,3,4]", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 3, 2, 3, 4)}, {0}, {0}},
    {"[1,2,3] @ [3,3,2]", 2, {IN(G_ANY, 3, 1, 2, 3), IN(G_ANY, 3, 3, 3, 2)}, {0}, {0}},
    {"[3,2,3] @ [1,3,2]", 2, {IN(G_ANY, 3, 3, 2, 3), IN(G_ANY, 3, 1, 3, 2)}, {0}, {0}},
};
#define REDUCE_CASES(NAME, GEN)                                                                    \
    static const case_def NAME[] = {                                                               \
        {"[2,3] axis 0", 1, {IN(GEN, 2, 2, 3)}, {0, 0}, {0}},                                      \
        {"[2,3] axis 1 keepdim", 1, {IN(GEN, 2, 2, 3)}, {1, 1}, {0}},                              \
        {"[2,3,4] axis -1", 1, {IN(GEN, 3, 2, 3, 4)}, {-1, 0}, {0}},                               \
        {"[2,3,4] axis -2 keepdim", 1, {IN(GEN, 3, 2, 3, 4)}, {-2, 1}, {0}},                       \
        {"[2,3,4] axis 1", 1, {IN(GEN, 3, 2, 3, 4)}, {1, 0}, {0}},                                 \
        {"[2,3] TG_ALL", 1, {IN(GEN, 2, 2, 3)}, {TG_ALL, 0}, {0}},                                 \
        {"[2,3] TG_ALL keepdim", 1, {IN(GEN, 2, 2, 3)}, {TG_ALL, 1}, {0}},                         \
        {"[5] axis 0", 1, {IN(GEN, 1, 5)}, {0, 0}, {0}},                                           \
        {"[4,1] axis 1", 1, {IN(GEN, 2, 4, 1)}, {1, 0}, {0}},                                      \
        {"0-d TG_ALL", 1, {IN0(GEN)}, {TG_ALL, 0}, {0}},                                           \
    }
REDUCE_CASES(reduce_cases, G_ANY);
REDUCE_CASES(extreme_cases, G_DISTINCT);
static const case_def var_cases[] = {
    {"[2,3] axis 0 c0", 1, {IN(G_ANY, 2, 2, 3)}, {0, 0, 0}, {0}},
    {"[2,3] axis 1 keepdim c1", 1, {IN(G_ANY, 2, 2, 3)}, {1, 1, 1}, {0}},
    {"[2,3,4] axis -1 c1", 1, {IN(G_ANY, 3, 2, 3, 4)}, {-1, 0, 1}, {0}},
    {"[2,3,4] axis -2 keepdim c0", 1, {IN(G_ANY, 3, 2, 3, 4)}, {-2, 1, 0}, {0}},
    {"[2,3] TG_ALL c1", 1, {IN(G_ANY, 2, 2, 3)}, {TG_ALL, 0, 1}, {0}},
    {"[2,3] TG_ALL keepdim c0", 1, {IN(G_ANY, 2, 2, 3)}, {TG_ALL, 1, 0}, {0}},
    {"[5] axis 0 c1", 1, {IN(G_ANY, 1, 5)}, {0, 0, 1}, {0}},
    {"[4,1] axis 1 c0", 1, {IN(G_ANY, 2, 4, 1)}, {1, 0, 0}, {0}},
};
static const case_def softmax_cases[] = {
    {"[2,3] axis -1", 1, {IN(G_ANY, 2, 2, 3)}, {-1}, {0}},
    {"[2,3] axis 0", 1, {IN(G_ANY, 2, 2, 3)}, {0}, {0}},
    {"[2,3,4] axis 1", 1, {IN(G_ANY, 3, 2, 3, 4)}, {1}, {0}},
    {"[5] axis 0", 1, {IN(G_ANY, 1, 5)}, {0}, {0}},
    {"[3,1] axis 1", 1, {IN(G_ANY, 2, 3, 1)}, {1}, {0}},
    {"[2,4] logits in [-10,10]", 1, {IN(G_WIDE, 2, 2, 4)}, {-1}, {0}},
};
static const case_def reshape_cases[] = {
    {"[2,3] -> [3,2]", 1, {IN(G_ANY, 2, 2, 3)}, {2, 3, 2}, {0}},
    {"[2,3,4] -> [6,-1]", 1, {IN(G_ANY, 3, 2, 3, 4)}, {2, 6, -1}, {0}},
    {"[6] -> [2,1,3]", 1, {IN(G_ANY, 1, 6)}, {3, 2, 1, 3}, {0}},
    {"0-d -> [1,1]", 1, {IN0(G_ANY)}, {2, 1, 1}, {0}},
    {"[1,1] -> 0-d", 1, {IN(G_ANY, 2, 1, 1)}, {0}, {0}},
    {"[2,3] -> [-1]", 1, {IN(G_ANY, 2, 2, 3)}, {1, -1}, {0}},
};
static const case_def transpose_cases[] = {
    {"[2,3] 0,1", 1, {IN(G_ANY, 2, 2, 3)}, {0, 1}, {0}},
    {"[2,3,4] 0,2", 1, {IN(G_ANY, 3, 2, 3, 4)}, {0, 2}, {0}},
    {"[2,3,4] -1,-3", 1, {IN(G_ANY, 3, 2, 3, 4)}, {-1, -3}, {0}},
    {"[2,3] 1,1", 1, {IN(G_ANY, 2, 2, 3)}, {1, 1}, {0}},
    {"[3,1,2,2] 1,3", 1, {IN(G_ANY, 4, 3, 1, 2, 2)}, {1, 3}, {0}},
};
static const case_def permute_cases[] = {
    {"[2,3,4] (2,0,1)", 1, {IN(G_ANY, 3, 2, 3, 4)}, {2, 0, 1}, {0}},
    {"[2,3,4] (1,2,0)", 1, {IN(G_ANY, 3, 2, 3, 4)}, {1, 2, 0}, {0}},
    {"[2,3] (0,1)", 1, {IN(G_ANY, 2, 2, 3)}, {0, 1}, {0}},
    {"[2,1,3,2] (3,1,0,2)", 1, {IN(G_ANY, 4, 2, 1, 3, 2)}, {3, 1, 0, 2}, {0}},
    {"0-d ()", 1, {IN0(G_ANY)}, {0}, {0}},
};
static const case_def concat_cases[] = {
    {"[2,3] [1,3] axis 0", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 1, 3)}, {0}, {0}},
    {"[2,1] [2,2] [2,3] axis -1",
     3,
     {IN(G_ANY, 2, 2, 1), IN(G_ANY, 2, 2, 2), IN(G_ANY, 2, 2, 3)},
     {-1},
     {0}},
    {"[3,2] alone axis 1", 1, {IN(G_ANY, 2, 3, 2)}, {1}, {0}},
    {"[2,2,3] [2,1,3] axis 1", 2, {IN(G_ANY, 3, 2, 2, 3), IN(G_ANY, 3, 2, 1, 3)}, {1}, {0}},
    {"[2] [3] axis 0", 2, {IN(G_ANY, 1, 2), IN(G_ANY, 1, 3)}, {0}, {0}},
    {"[2,3] [0,3] axis 0", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 0, 3)}, {0}, {0}},
};
static const case_def slice_cases[] = {
    {"[5] 0:5:2", 1, {IN(G_ANY, 1, 5)}, {0, 0, 5, 2}, {0}},
    {"[4,3] axis 0 1:-1", 1, {IN(G_ANY, 2, 4, 3)}, {0, 1, -1, 1}, {0}},
    {"[4,3] axis -1 -2:100", 1, {IN(G_ANY, 2, 4, 3)}, {-1, -2, 100, 1}, {0}},
    {"[7] -6:7:3", 1, {IN(G_ANY, 1, 7)}, {0, -6, 7, 3}, {0}},
    {"[2,5,2] axis 1 1:4:2", 1, {IN(G_ANY, 3, 2, 5, 2)}, {1, 1, 4, 2}, {0}},
};
static const case_def broadcast_cases[] = {
    {"[3] -> [2,3]", 1, {IN(G_ANY, 1, 3)}, {2, 2, 3}, {0}},
    {"[2,1] -> [2,4]", 1, {IN(G_ANY, 2, 2, 1)}, {2, 2, 4}, {0}},
    {"0-d -> [2,2]", 1, {IN0(G_ANY)}, {2, 2, 2}, {0}},
    {"[1,3,1] -> [2,3,4]", 1, {IN(G_ANY, 3, 1, 3, 1)}, {3, 2, 3, 4}, {0}},
    {"[2,3] -> [2,3]", 1, {IN(G_ANY, 2, 2, 3)}, {2, 2, 3}, {0}},
};

static const case_def linear_cases[] = {
    {"[3,4] w [5,4] b [5]", 3, {IN(G_ANY, 2, 3, 4), IN(G_ANY, 2, 5, 4), IN(G_ANY, 1, 5)}, {0}, {0}},
    {"[3,4] w [5,4] no bias", 2, {IN(G_ANY, 2, 3, 4), IN(G_ANY, 2, 5, 4)}, {0}, {0}},
    {"[2,3,4] w [2,4] b [2]", 3, {IN(G_ANY, 3, 2, 3, 4), IN(G_ANY, 2, 2, 4), IN(G_ANY, 1, 2)},
     {0}, {0}},
    {"[2,3,4] w [3,4] no bias", 2, {IN(G_ANY, 3, 2, 3, 4), IN(G_ANY, 2, 3, 4)}, {0}, {0}},
    {"[2,1,2,3] w [4,3] b [4]", 3,
     {IN(G_ANY, 4, 2, 1, 2, 3), IN(G_ANY, 2, 4, 3), IN(G_ANY, 1, 4)}, {0}, {0}},
    {"[1,1] w [1,1] b [1]", 3, {IN(G_ANY, 2, 1, 1), IN(G_ANY, 2, 1, 1), IN(G_ANY, 1, 1)}, {0},
     {0}},
};
/* arg[0] = training mode, farg[0] = p */
static const case_def dropout_cases[] = {
    {"[4,5] p 0.3 training", 1, {IN(G_ANY, 2, 4, 5)}, {1}, {0.3, 0}},
    {"[7] p 0.5 training", 1, {IN(G_ANY, 1, 7)}, {1}, {0.5, 0}},
    {"[2,3,4] p 0.9 training", 1, {IN(G_ANY, 3, 2, 3, 4)}, {1}, {0.9, 0}},
    {"[6] p 0 training", 1, {IN(G_ANY, 1, 6)}, {1}, {0, 0}},
    {"[4,5] p 0.3 eval", 1, {IN(G_ANY, 2, 4, 5)}, {0}, {0.3, 0}},
    {"0-d p 0.5 eval", 1, {IN0(G_ANY)}, {0}, {0.5, 0}},
};
/* arg[0] = reduction */
#define BIN_LOSS_CASES(NAME, GEN)                                                                  \
    static const case_def NAME[] = {                                                               \
        {"[2,3] none", 2, {IN(GEN, 2, 2, 3), IN(G_PROB, 2, 2, 3)}, {TG_REDUCE_NONE}, {0}},         \
        {"[2,3] mean", 2, {IN(GEN, 2, 2, 3), IN(G_PROB, 2, 2, 3)}, {TG_REDUCE_MEAN}, {0}},         \
        {"[7] sum", 2, {IN(GEN, 1, 7), IN(G_PROB, 1, 7)}, {TG_REDUCE_SUM}, {0}},                   \
        {"0-d none", 2, {IN0(GEN), IN0(G_PROB)}, {TG_REDUCE_NONE}, {0}},                           \
        {"[2,1,3] mean", 2, {IN(GEN, 3, 2, 1, 3), IN(G_PROB, 3, 2, 1, 3)}, {TG_REDUCE_MEAN}, {0}}, \
    }
BIN_LOSS_CASES(bce_cases, G_PROB);
BIN_LOSS_CASES(bce_logits_cases, G_WIDE);
/* arg[0] = reduction, arg[1..N] = labels, farg[0] = label smoothing */
static const case_def cross_entropy_cases[] = {
    {"[3,4] mean", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_MEAN, 2, 0, 3}, {0}},
    {"[3,4] sum", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_SUM, 1, 1, 0}, {0}},
    {"[3,4] none", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_NONE, 3, 2, 1}, {0}},
    {"[3,4] mean ls 0.1", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_MEAN, 2, 0, 3}, {0.1, 0}},
    {"[3,4] sum ls 0.1", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_SUM, 1, 1, 0}, {0.1, 0}},
    {"[3,4] none ls 0.25", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_NONE, 3, 2, 1}, {0.25, 0}},
    {"[2,5] wide logits mean ls 1", 1, {IN(G_WIDE, 2, 2, 5)}, {TG_REDUCE_MEAN, 4, 0}, {1, 0}},
    {"[1,1] sum", 1, {IN(G_ANY, 2, 1, 1)}, {TG_REDUCE_SUM, 0}, {0}},
    {"[6,3] none", 1, {IN(G_WIDE, 2, 6, 3)}, {TG_REDUCE_NONE, 0, 1, 2, 2, 1, 0}, {0}},
};
static const case_def nll_cases[] = {
    {"[3,4] mean", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_MEAN, 2, 0, 3}, {0}},
    {"[3,4] sum", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_SUM, 1, 1, 0}, {0}},
    {"[3,4] none", 1, {IN(G_ANY, 2, 3, 4)}, {TG_REDUCE_NONE, 3, 2, 1}, {0}},
    {"[1,1] mean", 1, {IN(G_ANY, 2, 1, 1)}, {TG_REDUCE_MEAN, 0}, {0}},
};

/* ---- normalisation, embedding, sequences ---- */
/* batch_norm: arg = {training, running stats given, gamma given, beta given}, farg =
 * {momentum, eps}; the inputs are x, then gamma and beta where given. The running
 * statistics are fresh constants at every evaluation (the op updates them in place, so
 * reusing them would change the function between evaluations). */
static tg_tensor *b_batch_norm(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    const int ch = tg_shape(x[0])[1];
    tg_tensor *rm = NULL, *rv = NULL;
    if (c->arg[1]) {
        rm = tg_tensor_new(g, 1, &ch);
        rv = tg_tensor_new(g, 1, &ch);
        if (!rm || !rv) return NULL;
        for (int i = 0; i < ch; i++) {
            tg_data(rm)[i] = (tg_real)(0.25 * i - 0.3);
            tg_data(rv)[i] = (tg_real)(0.5 + 0.4 * i);
        }
    }
    int k = 1;
    tg_tensor *gamma = c->arg[2] ? x[k++] : NULL;
    tg_tensor *beta = c->arg[3] ? x[k++] : NULL;
    const bool was = tg_graph_set_training(g, c->arg[0] != 0);
    tg_tensor *y =
        tg_batch_norm(g, x[0], gamma, beta, rm, rv, (tg_real)c->farg[0], (tg_real)c->farg[1]);
    tg_graph_set_training(g, was);
    return y;
}
/* layer_norm: arg = {normalized_ndim, gamma given, beta given}, farg[0] = eps */
static tg_tensor *b_layer_norm(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    int k = 1;
    tg_tensor *gamma = c->arg[1] ? x[k++] : NULL;
    tg_tensor *beta = c->arg[2] ? x[k++] : NULL;
    return tg_layer_norm(g, x[0], c->arg[0], gamma, beta, (tg_real)c->farg[0]);
}
/* embedding: arg = {indices ndim, indices shape (2 slots), up to 6 indices} */
static tg_tensor *b_embedding(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    int32_t idx[6];
    for (int i = 0; i < 6; i++) idx[i] = c->arg[3 + i];
    return tg_embedding(g, x[0], idx, c->arg[0], &c->arg[1]);
}
/* stack: arg = {axis, repeat}: with repeat the inputs are (x0, x1, x0) */
static tg_tensor *b_stack(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    if (c->arg[1]) return tg_stack(g, 3, (tg_tensor *[]){x[0], x[1], x[0]}, c->arg[0]);
    return tg_stack(g, c->nin, x, c->arg[0]);
}
/* select: arg = {axis, index} */
static tg_tensor *b_select(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    return tg_select(g, x[0], c->arg[0], c->arg[1]);
}
static const case_def batch_norm_cases[] = {
    {"[4,3] train, running, gamma, beta", 3, {IN(G_ANY, 2, 4, 3), IN(G_ANY, 1, 3), IN(G_ANY, 1, 3)},
     {1, 1, 1, 1}, {0.1, 1e-5}},
    {"[4,3] train, no running, no affine", 1, {IN(G_ANY, 2, 4, 3)}, {1, 0, 0, 0}, {0.1, 1e-5}},
    {"[2,3,2,2] train, running, gamma, beta", 3,
     {IN(G_ANY, 4, 2, 3, 2, 2), IN(G_ANY, 1, 3), IN(G_ANY, 1, 3)}, {1, 1, 1, 1}, {0.1, 1e-5}},
    {"[3,2,4] train, beta only", 2, {IN(G_ANY, 3, 3, 2, 4), IN(G_ANY, 1, 2)}, {1, 1, 0, 1},
     {0.1, 1e-5}},
    {"[2,2,3] train, gamma only, eps 0.1", 2, {IN(G_ANY, 3, 2, 2, 3), IN(G_ANY, 1, 2)},
     {1, 0, 1, 0}, {0.5, 0.1}},
    {"[2,3] train (2 values a channel)", 3, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 1, 3), IN(G_ANY, 1, 3)},
     {1, 1, 1, 1}, {0.1, 1e-5}},
    {"[4,3] eval, gamma, beta", 3, {IN(G_ANY, 2, 4, 3), IN(G_ANY, 1, 3), IN(G_ANY, 1, 3)},
     {0, 1, 1, 1}, {0.1, 1e-5}},
    {"[2,3,2,2] eval, no affine", 1, {IN(G_ANY, 4, 2, 3, 2, 2)}, {0, 1, 0, 0}, {0.1, 1e-5}},
    {"[1,2,3] eval, gamma", 2, {IN(G_ANY, 3, 1, 2, 3), IN(G_ANY, 1, 2)}, {0, 1, 1, 0},
     {0.1, 1e-5}},
};
static const case_def layer_norm_cases[] = {
    {"[3,4] last 1, gamma, beta", 3, {IN(G_ANY, 2, 3, 4), IN(G_ANY, 1, 4), IN(G_ANY, 1, 4)},
     {1, 1, 1}, {1e-5, 0}},
    {"[2,3,4] last 2, gamma, beta", 3,
     {IN(G_ANY, 3, 2, 3, 4), IN(G_ANY, 2, 3, 4), IN(G_ANY, 2, 3, 4)}, {2, 1, 1}, {1e-5, 0}},
    {"[2,3,4] last 3, no affine", 1, {IN(G_ANY, 3, 2, 3, 4)}, {3, 0, 0}, {1e-5, 0}},
    {"[5] last 1, gamma only", 2, {IN(G_ANY, 1, 5), IN(G_ANY, 1, 5)}, {1, 1, 0}, {1e-5, 0}},
    {"[2,2,3] last 1, beta only, eps 0.1", 2, {IN(G_ANY, 3, 2, 2, 3), IN(G_ANY, 1, 3)}, {1, 0, 1},
     {0.1, 0}},
    {"[4,1] last 1 (one value a row)", 3, {IN(G_ANY, 2, 4, 1), IN(G_ANY, 1, 1), IN(G_ANY, 1, 1)},
     {1, 1, 1}, {1e-5, 0}},
};
static const case_def embedding_cases[] = {
    {"[5,3] indices [4] repeated", 1, {IN(G_ANY, 2, 5, 3)}, {1, 4, 0, 1, 3, 1, 1}, {0}},
    {"[4,2] indices [2,3] repeated", 1, {IN(G_ANY, 2, 4, 2)}, {2, 2, 3, 0, 2, 2, 3, 0, 2}, {0}},
    {"[3,4] 0-d index", 1, {IN(G_ANY, 2, 3, 4)}, {0, 0, 0, 2}, {0}},
    {"[6,2] no indices [0]", 1, {IN(G_ANY, 2, 6, 2)}, {1, 0, 0}, {0}},
    {"[1,1] indices [3] all 0", 1, {IN(G_ANY, 2, 1, 1)}, {1, 3, 0, 0, 0, 0}, {0}},
};
static const case_def stack_cases[] = {
    {"[2,3] x3 axis 0", 3, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 2, 3)}, {0}, {0}},
    {"[2,3] x2 axis -1", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 2, 3)}, {-1}, {0}},
    {"[2,3] x2 axis 1", 2, {IN(G_ANY, 2, 2, 3), IN(G_ANY, 2, 2, 3)}, {1}, {0}},
    {"0-d x3 axis 0", 3, {IN0(G_ANY), IN0(G_ANY), IN0(G_ANY)}, {0}, {0}},
    {"[3] alone axis -1", 1, {IN(G_ANY, 1, 3)}, {-1}, {0}},
    {"[2,1,2] x2 axis 2", 2, {IN(G_ANY, 3, 2, 1, 2), IN(G_ANY, 3, 2, 1, 2)}, {2}, {0}},
    {"[2,2] (a, b, a) axis 1", 2, {IN(G_ANY, 2, 2, 2), IN(G_ANY, 2, 2, 2)}, {1, 1}, {0}},
};
static const case_def select_cases[] = {
    {"[3,2,4] axis 0 index 1", 1, {IN(G_ANY, 3, 3, 2, 4)}, {0, 1}, {0}},
    {"[3,2,4] axis -1 index -1", 1, {IN(G_ANY, 3, 3, 2, 4)}, {-1, -1}, {0}},
    {"[4] axis 0 index 2 (0-d)", 1, {IN(G_ANY, 1, 4)}, {0, 2}, {0}},
    {"[2,3] axis 1 index 0", 1, {IN(G_ANY, 2, 2, 3)}, {1, 0}, {0}},
    {"[2,3,2] axis 1 index -3", 1, {IN(G_ANY, 3, 2, 3, 2)}, {1, -3}, {0}},
};

/* ---- convolution and pooling ---- */
/* conv2d, conv1d: arg = {stride[0], stride[1], padding[0], padding[1], dilation[0],
 * dilation[1], groups} (0 = default); inputs x, w and, with 3 inputs, the bias */
static tg_conv_opts conv_opts_of(const case_def *c) {
    return (tg_conv_opts){{c->arg[0], c->arg[1]}, {c->arg[2], c->arg[3]}, {c->arg[4], c->arg[5]},
                          c->arg[6]};
}
static tg_tensor *b_conv2d(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    const tg_conv_opts o = conv_opts_of(c);
    return tg_conv2d(g, x[0], x[1], c->nin > 2 ? x[2] : NULL, &o);
}
static tg_tensor *b_conv1d(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    const tg_conv_opts o = conv_opts_of(c);
    return tg_conv1d(g, x[0], x[1], c->nin > 2 ? x[2] : NULL, &o);
}
/* pools: arg = {kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1]} */
static tg_tensor *b_max_pool2d(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    const tg_pool_opts o = {{c->arg[0], c->arg[1]}, {c->arg[2], c->arg[3]}, {c->arg[4], c->arg[5]}};
    return tg_max_pool2d(g, x[0], &o);
}
static tg_tensor *b_avg_pool2d(tg_graph *g, tg_tensor *const *x, const case_def *c) {
    const tg_pool_opts o = {{c->arg[0], c->arg[1]}, {c->arg[2], c->arg[3]}, {c->arg[4], c->arg[5]}};
    return tg_avg_pool2d(g, x[0], &o);
}
UNARY_BUILD(global_avg_pool2d)
static const case_def conv2d_cases[] = {
    {"[2,2,5,5] w [3,2,3,3] b", 3,
     {IN(G_ANY, 4, 2, 2, 5, 5), IN(G_ANY, 4, 3, 2, 3, 3), IN(G_ANY, 1, 3)}, {0}, {0}},
    {"[1,4,5,5] w [4,2,3,3] stride 2 pad 1 groups 2 b", 3,
     {IN(G_ANY, 4, 1, 4, 5, 5), IN(G_ANY, 4, 4, 2, 3, 3), IN(G_ANY, 1, 4)},
     {2, 2, 1, 1, 0, 0, 2}, {0}},
    {"[2,2,5,5] w [2,2,2,2] dilation 2 pad [1,0]", 2,
     {IN(G_ANY, 4, 2, 2, 5, 5), IN(G_ANY, 4, 2, 2, 2, 2)}, {0, 0, 1, 0, 2, 2, 0}, {0}},
    {"[2,4,4,4] w [2,4,1,1] 1x1 b", 3,
     {IN(G_ANY, 4, 2, 4, 4, 4), IN(G_ANY, 4, 2, 4, 1, 1), IN(G_ANY, 1, 2)}, {0}, {0}},
    {"[2,4,3,3] w [4,1,3,3] depthwise pad 1", 2,
     {IN(G_ANY, 4, 2, 4, 3, 3), IN(G_ANY, 4, 4, 1, 3, 3)}, {0, 0, 1, 1, 0, 0, 4}, {0}},
    {"[1,3,6,5] w [2,3,3,2] stride [2,1] pad [0,1] dil [1,2] b", 3,
     {IN(G_ANY, 4, 1, 3, 6, 5), IN(G_ANY, 4, 2, 3, 3, 2), IN(G_ANY, 1, 2)},
     {2, 1, 0, 1, 1, 2, 0}, {0}},
    {"[2,2,4,4] w [4,2,1,1] 1x1 stride 2 groups 2", 2,
     {IN(G_ANY, 4, 2, 2, 4, 4), IN(G_ANY, 4, 4, 1, 1, 1)}, {2, 2, 0, 0, 0, 0, 2}, {0}},
    {"[2,3,5,4] w [2,3,2,3] stride 3 pad [1,2]", 2,
     {IN(G_ANY, 4, 2, 3, 5, 4), IN(G_ANY, 4, 2, 3, 2, 3)}, {3, 3, 1, 2, 0, 0, 0}, {0}},
};
static const case_def conv1d_cases[] = {
    {"[2,3,8] w [4,3,3] b", 3, {IN(G_ANY, 3, 2, 3, 8), IN(G_ANY, 3, 4, 3, 3), IN(G_ANY, 1, 4)},
     {0}, {0}},
    {"[2,4,9] w [4,2,3] stride 2 pad 1 groups 2", 2,
     {IN(G_ANY, 3, 2, 4, 9), IN(G_ANY, 3, 4, 2, 3)}, {2, 0, 1, 0, 0, 0, 2}, {0}},
    {"[1,2,10] w [3,2,2] dilation 3 pad 2 b", 3,
     {IN(G_ANY, 3, 1, 2, 10), IN(G_ANY, 3, 3, 2, 2), IN(G_ANY, 1, 3)}, {0, 0, 2, 0, 3, 0, 0},
     {0}},
    {"[2,2,6] w [3,2,1] 1x1 b", 3, {IN(G_ANY, 3, 2, 2, 6), IN(G_ANY, 3, 3, 2, 1), IN(G_ANY, 1, 3)},
     {0}, {0}},
};
/* the same windows for both pools; max pool inputs are distinct (no ties in a window) */
#define POOL_CASES(NAME, GEN)                                                                      \
    static const case_def NAME[] = {                                                               \
        {"[2,2,4,4] 2x2", 1, {IN(GEN, 4, 2, 2, 4, 4)}, {2, 2}, {0}},                               \
        {"[1,2,5,5] 3x3 stride 2 pad 1", 1, {IN(GEN, 4, 1, 2, 5, 5)}, {3, 3, 2, 2, 1, 1}, {0}},    \
        {"[2,1,5,6] 2x3 stride 1", 1, {IN(GEN, 4, 2, 1, 5, 6)}, {2, 3, 1, 1}, {0}},                \
        {"[1,3,4,5] 3x2 stride [1,2] pad 1", 1, {IN(GEN, 4, 1, 3, 4, 5)}, {3, 2, 1, 2, 1, 1}, {0}},\
    }
POOL_CASES(max_pool_cases, G_DISTINCT);
POOL_CASES(avg_pool_cases, G_ANY);
static const case_def global_pool_cases[] = {
    {"[2,3,4,4]", 1, {IN(G_ANY, 4, 2, 3, 4, 4)}, {0}, {0}},
    {"[1,2,1,1]", 1, {IN(G_ANY, 4, 1, 2, 1, 1)}, {0}, {0}},
    {"[3,2,2,5]", 1, {IN(G_ANY, 4, 3, 2, 2, 5)}, {0}, {0}},
};

#define ENTRY(NAME, BUILD, CASES)                                                                  \
    { NAME, BUILD, CASES, (int)(sizeof CASES / sizeof CASES[0]) }

static const entry table[] = {
    ENTRY("add", b_add, binary_cases),
    ENTRY("sub", b_sub, binary_cases),
    ENTRY("mul", b_mul, binary_cases),
    ENTRY("div", b_div, div_cases),
    ENTRY("neg", b_neg, any_cases),
    ENTRY("exp", b_exp, any_cases),
    ENTRY("log", b_log, pos_cases),
    ENTRY("sqrt", b_sqrt, pos_cases),
    ENTRY("abs", b_abs, away0_cases),
    ENTRY("pow", b_pow, pow_cases),
    ENTRY("clamp", b_clamp, clamp_cases),
    ENTRY("relu", b_relu, away0_cases),
    ENTRY("leaky_relu", b_leaky_relu, leaky_cases),
    ENTRY("elu", b_elu, elu_cases),
    ENTRY("gelu", b_gelu, any_cases),
    ENTRY("softplus", b_softplus, any_cases),
    ENTRY("sigmoid", b_sigmoid, any_cases),
    ENTRY("tanh", b_tanh, any_cases),
    ENTRY("matmul", b_matmul, matmul_cases),
    ENTRY("sum", b_sum, reduce_cases),
    ENTRY("mean", b_mean, reduce_cases),
    ENTRY("max", b_max, extreme_cases),
    ENTRY("min", b_min, extreme_cases),
    ENTRY("var", b_var, var_cases),
    ENTRY("softmax", b_softmax, softmax_cases),
    ENTRY("log_softmax", b_log_softmax, softmax_cases),
    ENTRY("reshape", b_reshape, reshape_cases),
    ENTRY("transpose", b_transpose, transpose_cases),
    ENTRY("permute", b_permute, permute_cases),
    ENTRY("concat", b_concat, concat_cases),
    ENTRY("slice", b_slice, slice_cases),
    ENTRY("broadcast_to", b_broadcast_to, broadcast_cases),
    ENTRY("linear", b_linear, linear_cases),
    ENTRY("dropout", b_dropout, dropout_cases),
    ENTRY("bce", b_bce, bce_cases),
    ENTRY("bce_with_logits", b_bce_with_logits, bce_logits_cases),
    ENTRY("cross_entropy", b_cross_entropy, cross_entropy_cases),
    ENTRY("nll", b_nll, nll_cases),
    ENTRY("batch_norm", b_batch_norm, batch_norm_cases),
    ENTRY("layer_norm", b_layer_norm, layer_norm_cases),
    ENTRY("embedding", b_embedding, embedding_cases),
    ENTRY("stack", b_stack, stack_cases),
    ENTRY("select", b_select, select_cases),
    ENTRY("conv2d", b_conv2d, conv2d_cases),
    ENTRY("conv1d", b_conv1d, conv1d_cases),
    ENTRY("max_pool2d", b_max_pool2d, max_pool_cases),
    ENTRY("avg_pool2d", b_avg_pool2d, avg_pool_cases),
    ENTRY("global_avg_pool2d", b_global_avg_pool2d, global_pool_cases),
};
#define NTABLE ((int)(sizeof table / sizeof table[0]))

/* ---- inputs from a fixed-seed generator (splitmix64: the same on every platform) ---- */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double uniform(uint64_t *s, double lo, double hi) {
    return lo + (hi - lo) * (double)(next_u64(s) >> 11) / 9007199254740992.0;
}

#define MAX_ELEMS 128

static void fill(tg_real *x, int64_t n, enum gen gen, uint64_t *s) {
    switch (gen) {
    case G_ANY:
        for (int64_t i = 0; i < n; i++) x[i] = (tg_real)uniform(s, -2, 2);
        break;
    case G_POS:
        for (int64_t i = 0; i < n; i++) x[i] = (tg_real)uniform(s, 0.5, 2);
        break;
    case G_AWAY0:
        for (int64_t i = 0; i < n; i++) {
            double v = uniform(s, 0.2, 2);
            x[i] = (tg_real)(next_u64(s) & 1 ? v : -v);
        }
        break;
    case G_CLAMP: /* one of [-1.5,-0.6], [-0.4,0.7], [0.9,1.5]: >= 0.1 from -0.5 and 0.8 */
        for (int64_t i = 0; i < n; i++) {
            int k = (int)(next_u64(s) % 3);
            x[i] = (tg_real)(k == 0   ? uniform(s, -1.5, -0.6)
                             : k == 1 ? uniform(s, -0.4, 0.7)
                                      : uniform(s, 0.9, 1.5));
        }
        break;
    case G_DISTINCT: { /* a shuffled ladder 0.3 apart, jittered by < 0.05 */
        int perm[MAX_ELEMS];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = (int)n - 1; i > 0; i--) {
            int j = (int)(next_u64(s) % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int64_t i = 0; i < n; i++)
            x[i] = (tg_real)(-1.5 + 0.3 * perm[i] + uniform(s, -0.05, 0.05));
        break;
    }
    case G_WIDE:
        for (int64_t i = 0; i < n; i++) x[i] = (tg_real)uniform(s, -10, 10);
        break;
    case G_PROB:
        for (int64_t i = 0; i < n; i++) x[i] = (tg_real)uniform(s, 0.1, 0.9);
        break;
    }
}

typedef struct job {
    const entry *e;
    const case_def *c;
} job;

/* The scalar checked: sum(op(x) * w), w a fixed random tensor of op(x)'s shape, so that
 * every output element carries its own weight into the gradient. */
static tg_tensor *table_fn(tg_graph *g, tg_tensor *const *x, int n, void *user) {
    (void)n;
    const job *j = user;
    tg_tensor *y = j->e->build(g, x, j->c);
    if (!y) return NULL;
    tg_seed(g, 0x3779); /* the same w at every evaluation */
    tg_tensor *w = tg_randn(g, tg_ndim(y), tg_shape(y), 0, 1);
    return tg_sum(g, tg_mul(g, y, w), TG_ALL, false);
}

/* Runs one case; fills rep and returns the status. */
static tg_status run_case(const entry *e, int ci, tg_gradcheck_report *rep) {
    const case_def *c = &e->cases[ci];
    static tg_real data[3][MAX_ELEMS];
    tg_gradcheck_input in[3];
    uint64_t seed = 0x7a9e5eedULL;
    for (const char *p = e->op; *p; p++) seed = seed * 131 + (unsigned char)*p;
    seed = seed * 131 + (uint64_t)ci;
    for (int i = 0; i < c->nin; i++) {
        int64_t numel = 1;
        for (int d = 0; d < c->in[i].ndim; d++) numel *= c->in[i].shape[d];
        ck_assert_int_le(numel, MAX_ELEMS);
        fill(data[i], numel, c->in[i].gen, &seed);
        in[i] = (tg_gradcheck_input){c->in[i].ndim, c->in[i].shape, data[i], true};
    }
    job j = {e, c};
    return tg_gradcheck(table_fn, c->nin, in, &j, &OPTS, rep);
}

/* Runs every case of e; returns how many failed, with their messages in fails. */
static int check_entry(const entry *e, const char *tag, char *fails, size_t size) {
    size_t len = 0;
    int nfail = 0;
    const bool verbose = getenv("TG_GRADCHECK_VERBOSE") != NULL;
    fails[0] = '\0';
    for (int ci = 0; ci < e->ncases; ci++) {
        tg_gradcheck_report rep;
        tg_status st = run_case(e, ci, &rep);
        if (verbose)
            printf("%-12s %-28s %-4s %s%s\n", e->op, e->cases[ci].label,
                   st == TG_OK ? "ok" : "FAIL", rep.message, tag);
        if (st != TG_OK) {
            nfail++;
            if (len < size)
                len += (size_t)snprintf(fails + len, size - len, "\n  %s %s%s: [%s] %s", e->op,
                                        e->cases[ci].label, tag, tg_status_str(st), rep.message);
        }
    }
    return nfail;
}

START_TEST(table_entry) {
    const entry *e = &table[_i];
    char fails[4096];
    int nfail = check_entry(e, "", fails, sizeof fails);
    ck_assert_msg(nfail == 0, "%s: %d of %d cases failed:%s", e->op, nfail, e->ncases, fails);
}
END_TEST

/* The matmul cases again on the portable blocked kernel (the table runs on BLAS when
 * the build has it). */
START_TEST(matmul_on_the_portable_kernel) {
    const entry *e = NULL;
    for (int k = 0; k < NTABLE; k++)
        if (!strcmp(table[k].op, "matmul")) e = &table[k];
    ck_assert_ptr_nonnull(e);
    const bool was = tg_use_blas(false);
    char fails[4096];
    int nfail = check_entry(e, " (portable kernel)", fails, sizeof fails);
    tg_use_blas(was);
    ck_assert_msg(nfail == 0, "matmul, portable kernel: %d of %d cases failed:%s", nfail, e->ncases,
                  fails);
}
END_TEST

START_TEST(every_registered_op_is_in_the_table) {
    char missing[1024] = "";
    size_t len = 0;
    for (int i = 0; i < tg__op_count(); i++) {
        const tg_op *op = tg__op_at(i);
        ck_assert_msg(op && op->name, "registry entry %d is empty", i);
        bool found = false;
        for (int k = 0; k < NTABLE && !found; k++) found = !strcmp(table[k].op, op->name);
        if (!found && len < sizeof missing)
            len += (size_t)snprintf(missing + len, sizeof missing - len, " %s", op->name);
    }
    ck_assert_msg(len == 0, "ops without a gradient-check table entry:%s", missing);
    /* and no stale entries: each names a registered op, once */
    for (int k = 0; k < NTABLE; k++) {
        int hits = 0;
        for (int i = 0; i < tg__op_count(); i++) hits += !strcmp(table[k].op, tg__op_at(i)->name);
        ck_assert_msg(hits == 1, "table entry %s matches %d registered ops", table[k].op, hits);
        for (int j = 0; j < k; j++)
            ck_assert_msg(strcmp(table[j].op, table[k].op), "table entry %s twice", table[k].op);
        ck_assert_int_gt(table[k].ncases, 0);
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("tg_gradcheck");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, correct_function_passes);
    tcase_add_test(tc, wrong_gradient_fails_and_names_the_element);
    tcase_add_test(tc, output_without_tape_path_fails);
    tcase_add_test(tc, subgradients_at_kinks_pass_and_are_counted);
    tcase_add_test(tc, wrong_subgradient_at_kink_fails);
    tcase_add_test(tc, large_inputs_step_at_least_one_ulp);
    tcase_add_test(tc, nothing_to_check_passes);
    tcase_add_test(tc, no_inputs_at_all);
    tcase_add_test(tc, bad_arguments_are_rejected);
    tcase_add_test(tc, fn_failures_are_reported);
    tcase_add_test(tc, tensor_of_another_graph_is_rejected);
    suite_add_tcase(s, tc);

    TCase *tt = tcase_create("table");
    tcase_set_timeout(tt, 300);
    tcase_add_test(tt, every_registered_op_is_in_the_table);
    tcase_add_loop_test(tt, table_entry, 0, NTABLE);
    tcase_add_test(tt, matmul_on_the_portable_kernel);
    suite_add_tcase(s, tt);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
