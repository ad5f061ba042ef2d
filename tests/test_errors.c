/* tests/test_errors.c: bad input on every public function.
 *
 * The contract (DESIGN.md, "Errors: sticky, never abort"): nothing aborts on user
 * input; a failing call returns NULL (or non-zero, or a status); the graph keeps its
 * first error, with a message that names the op and, for shape errors, the shapes;
 * tg_last_error() holds the same text; an op given NULL or called on a graph in error
 * returns NULL at once; tg_graph_reset clears the error.
 *
 * Messages are checked by substrings (op names, shapes written as "[2,3]"), never
 * whole, so their wording may change. Statuses are checked against a small set where
 * the headers leave the choice open (an invalid perm may be an axis or an argument
 * error). */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tapegrad.h"

#include "tg_test.h"

/* Under AddressSanitizer an impossible allocation must return NULL, as malloc does,
 * instead of stopping the program, so the out-of-memory paths can be tested. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ---- helpers -------------------------------------------------------------------- */

static tg_graph *g; /* a fresh graph for every test (checked fixture) */

static void setup(void) {
    g = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    tg_clear_last_error();
}

static void teardown(void) {
    tg_graph_free(g);
    g = NULL;
}

/* Starts a new case in the same test: drops g's tensors and error. */
static void fresh(void) {
    tg_graph_reset(g);
    tg_clear_last_error();
}

#define ST(s) (1u << (unsigned)(s))
#define NARGS(...) ((int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))
#define SHAPE(...) NARGS(__VA_ARGS__), (const int[]){__VA_ARGS__}

/* Asserts that gr failed with a status in mask, that tg_last_error() is the same
 * text as the graph's error, and that the message holds every substring. */
#define EXPECT_ERR(gr, mask, ...) \
    expect_err(__LINE__, (gr), (mask), (const char *const[]){__VA_ARGS__, NULL})
static void expect_err(int line, const tg_graph *gr, unsigned mask, const char *const *subs) {
    const char *msg = tg_graph_error(gr);
    const tg_status st = tg_graph_status(gr);
    ck_assert_msg(msg != NULL, "line %d: the graph has no error", line);
    ck_assert_msg(st != TG_OK && (mask & ST(st)) != 0,
                  "line %d: status %d (%s) is not one expected; message: %s", line, (int)st,
                  tg_status_str(st), msg);
    const char *last = tg_last_error();
    ck_assert_msg(last != NULL && strcmp(last, msg) == 0,
                  "line %d: tg_last_error \"%s\" differs from the graph's \"%s\"", line,
                  last ? last : "(null)", msg);
    for (; *subs; subs++)
        ck_assert_msg(strstr(msg, *subs) != NULL, "line %d: message \"%s\" lacks \"%s\"", line,
                      msg, *subs);
}

/* The same for a failure outside a graph: only tg_last_error() is there. */
#define EXPECT_LAST(...) expect_last(__LINE__, (const char *const[]){__VA_ARGS__, NULL})
static void expect_last(int line, const char *const *subs) {
    const char *last = tg_last_error();
    ck_assert_msg(last != NULL, "line %d: tg_last_error() is NULL", line);
    for (; *subs; subs++)
        ck_assert_msg(strstr(last, *subs) != NULL, "line %d: message \"%s\" lacks \"%s\"",
                      line, last, *subs);
}

/* The graph is not in error. */
#define EXPECT_OK(gr)                                                                 \
    ck_assert_msg(tg_graph_status(gr) == TG_OK, "line %d: unexpected error: %s", __LINE__, \
                  tg_graph_error(gr) ? tg_graph_error(gr) : "(null)")

/* A tensor of random values in [0.5, 1.5) (positive, so log and sqrt are defined). */
static tg_tensor *mk(tg_graph *gr, int ndim, const int *shape) {
    return tg_rand(gr, ndim, shape, 0.5f, 1.5f);
}
#define MK(...) mk(g, SHAPE(__VA_ARGS__))

static const int big3[3] = {1 << 30, 1 << 30, 1 << 30}; /* 2^90 elements: overflows */
static const int max8[8] = {INT_MAX, INT_MAX, INT_MAX, INT_MAX,
                            INT_MAX, INT_MAX, INT_MAX, INT_MAX};

/* ---- status codes and the last error ---------------------------------------------- */

START_TEST(test_status_str) {
    for (int i = 0; i < TG_STATUS_COUNT; i++) {
        const char *s = tg_status_str((tg_status)i);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(s[0] != '\0', "status %d has an empty string", i);
        ck_assert_msg(strcmp(s, "unknown status") != 0, "status %d is unknown", i);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, tg_status_str((tg_status)j)) != 0,
                          "statuses %d and %d share the string \"%s\"", i, j, s);
    }
    ck_assert_str_eq(tg_status_str(TG_OK), "ok");
    const int bad[] = {-1, -1000, TG_STATUS_COUNT, TG_STATUS_COUNT + 1, 1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_str_eq(tg_status_str((tg_status)bad[i]), "unknown status");
}
END_TEST

START_TEST(test_last_error) {
    tg_clear_last_error();
    ck_assert_ptr_null(tg_last_error());
    ck_assert_ptr_null(tg_tensor_new(g, 9, (const int[9]){0}));
    EXPECT_LAST("tg_tensor_new", "9");
    tg_clear_last_error();
    ck_assert_ptr_null(tg_last_error());
    /* The graph keeps its error; the thread's last error is the last failure of any
     * call, here one outside the graph. */
    ck_assert_int_eq(tg_graph_stats(g, NULL), TG_ERR_NULL);
    EXPECT_LAST("tg_graph_stats");
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "tg_tensor_new"));
}
END_TEST

/* The last error belongs to the thread that failed. */
static void *fail_in_thread(void *arg) {
    bool *seen = arg;
    tg_clear_last_error();
    (void)tg_graph_stats(NULL, NULL);
    const char *m = tg_last_error();
    *seen = m && strstr(m, "tg_graph_stats");
    return NULL;
}

START_TEST(test_last_error_per_thread) {
    tg_clear_last_error();
    ck_assert_ptr_null(tg_tensor_new(g, -1, NULL));
    pthread_t th;
    bool seen = false;
    ck_assert_int_eq(pthread_create(&th, NULL, fail_in_thread, &seen), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(seen, "the other thread did not see its own error");
    EXPECT_LAST("tg_tensor_new", "-1"); /* ours is unchanged */
}
END_TEST

/* ---- graphs ----------------------------------------------------------------------- */

START_TEST(test_graph_null) {
    tg_graph_free(NULL);
    tg_graph_reset(NULL);
    ck_assert_ptr_nonnull(tg_graph_error(NULL)); /* a graph that is not there says so */
    ck_assert_int_eq(tg_graph_status(NULL), TG_ERR_NULL);
    ck_assert(!tg_graph_set_grad_enabled(NULL, true));
    ck_assert(!tg_graph_grad_enabled(NULL));
    tg_seed(NULL, 42);

    tg_stats s;
    tg_clear_last_error();
    ck_assert_int_eq(tg_graph_stats(NULL, &s), TG_ERR_NULL);
    EXPECT_LAST("tg_graph_stats", "graph");
    tg_clear_last_error();
    ck_assert_int_eq(tg_graph_stats(g, NULL), TG_ERR_NULL);
    EXPECT_LAST("tg_graph_stats", "out");
    ck_assert_int_eq(tg_graph_stats(g, &s), TG_OK);

    /* A fresh graph has no error; grad mode round-trips. */
    ck_assert_ptr_null(tg_graph_error(g));
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    ck_assert(tg_graph_grad_enabled(g));
    ck_assert(tg_graph_set_grad_enabled(g, false));
    ck_assert(!tg_graph_grad_enabled(g));
    ck_assert(!tg_graph_set_grad_enabled(g, true));
}
END_TEST

START_TEST(test_stats_unchanged_by_failure) {
    tg_tensor *a = MK(2, 3), *b = MK(4, 5);
    tg_set_requires_grad(a, true);
    tg_stats before, after;
    ck_assert_int_eq(tg_graph_stats(g, &before), TG_OK);
    ck_assert_ptr_null(tg_add(g, a, b));
    ck_assert_int_eq(tg_graph_stats(g, &after), TG_OK);
    ck_assert_int_eq(after.nodes, before.nodes); /* a failed op records no node */
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "add", "[2,3]", "[4,5]");
}
END_TEST

/* ---- making tensors ----------------------------------------------------------------- */

static tg_real wrap_buf[64];

typedef tg_tensor *(*maker_fn)(tg_graph *, int, const int *);
static tg_tensor *mk_new(tg_graph *gr, int n, const int *s) { return tg_tensor_new(gr, n, s); }
static tg_tensor *mk_zeros(tg_graph *gr, int n, const int *s) { return tg_zeros(gr, n, s); }
static tg_tensor *mk_ones(tg_graph *gr, int n, const int *s) { return tg_ones(gr, n, s); }
static tg_tensor *mk_full(tg_graph *gr, int n, const int *s) { return tg_full(gr, n, s, 7); }
static tg_tensor *mk_from(tg_graph *gr, int n, const int *s) {
    return tg_tensor_from(gr, n, s, wrap_buf);
}
static tg_tensor *mk_wrap(tg_graph *gr, int n, const int *s) {
    return tg_tensor_wrap(gr, n, s, wrap_buf);
}
static tg_tensor *mk_rand(tg_graph *gr, int n, const int *s) { return tg_rand(gr, n, s, -1, 1); }
static tg_tensor *mk_randn(tg_graph *gr, int n, const int *s) {
    return tg_randn(gr, n, s, 0, 1);
}

static const struct {
    const char *name;
    maker_fn fn;
    bool allocates; /* false: tg_tensor_wrap, which holds no data of its own */
} makers[] = {
    {"tg_tensor_new", mk_new, true},   {"tg_zeros", mk_zeros, true},
    {"tg_ones", mk_ones, true},        {"tg_full", mk_full, true},
    {"tg_tensor_from", mk_from, true}, {"tg_tensor_wrap", mk_wrap, false},
    {"tg_rand", mk_rand, true},        {"tg_randn", mk_randn, true},
};
#define NMAKERS ((int)(sizeof makers / sizeof makers[0]))

START_TEST(test_make_bad_shapes) {
    const char *name = makers[_i].name;
    const maker_fn make = makers[_i].fn;

    /* Valid: 0-d with a NULL shape, an empty tensor, an ordinary one. */
    tg_tensor *t = make(g, 0, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_numel(t), 1);
    ck_assert_int_eq(tg_ndim(t), 0);
    t = make(g, SHAPE(0, 3));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_numel(t), 0);
    t = make(g, SHAPE(2, 3));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_numel(t), 6);
    t = make(g, 8, (const int[8]){1, 1, 1, 1, 1, 1, 1, 2});
    ck_assert_ptr_nonnull(t);
    EXPECT_OK(g);

    tg_clear_last_error();
    ck_assert_ptr_null(make(NULL, SHAPE(2, 3)));
    EXPECT_LAST(name, "graph");

    fresh();
    ck_assert_ptr_null(make(g, 9, (const int[9]){1, 1, 1, 1, 1, 1, 1, 1, 1}));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "9");
    fresh();
    ck_assert_ptr_null(make(g, -1, (const int[1]){1}));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "-1");
    fresh();
    ck_assert_ptr_null(make(g, INT_MIN, NULL));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name);
    fresh();
    ck_assert_ptr_null(make(g, 2, NULL));
    EXPECT_ERR(g, ST(TG_ERR_NULL), name, "shape");
    fresh();
    ck_assert_ptr_null(make(g, SHAPE(2, -3)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "[2,-3]");
    fresh();
    ck_assert_ptr_null(make(g, SHAPE(-1)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "[-1]");
    fresh();
    ck_assert_ptr_null(make(g, 3, big3));
    EXPECT_ERR(g, ST(TG_ERR_NOMEM), name, "overflow", "[1073741824,1073741824,1073741824]");
    fresh();
    ck_assert_ptr_null(make(g, 8, max8));
    EXPECT_ERR(g, ST(TG_ERR_NOMEM), name, "overflow", "[2147483647,2147483647");
    fresh();
    ck_assert_ptr_null(make(g, 8, (const int[8]){0, 1, 1, 1, 1, 1, 1, -1}));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "[0,1,1,1,1,1,1,-1]"); /* 0 does not hide -1 */

    /* 2^60 elements: representable, but no machine has 4 EiB; the failed
     * allocation is reported like any error, naming the function and the shape. */
    if (makers[_i].allocates) {
        fresh();
        ck_assert_ptr_null(make(g, SHAPE(1 << 30, 1 << 30)));
        EXPECT_ERR(g, ST(TG_ERR_NOMEM), name, "[1073741824,1073741824]");
    }
    /* The graph works again after a reset. */
    fresh();
    ck_assert_ptr_nonnull(make(g, SHAPE(4, 4)));
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_make_bad_args) {
    /* NULL data for the functions that read or keep the caller's memory. */
    ck_assert_ptr_null(tg_tensor_from(g, SHAPE(2, 3), NULL));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "tg_tensor_from", "data");
    fresh();
    ck_assert_ptr_null(tg_tensor_wrap(g, SHAPE(2, 3), NULL));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "tg_tensor_wrap", "data");
    fresh();
    ck_assert_ptr_null(tg_tensor_from(g, 0, NULL, NULL));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "tg_tensor_from", "data");
    fresh();
    tg_clear_last_error();
    ck_assert_ptr_null(tg_tensor_from(NULL, SHAPE(2), NULL));
    EXPECT_LAST("tg_tensor_from");
    tg_clear_last_error();
    ck_assert_ptr_null(tg_tensor_wrap(NULL, SHAPE(2), NULL));
    EXPECT_LAST("tg_tensor_wrap");

    /* Range arguments of the random makers. */
    fresh();
    ck_assert_ptr_null(tg_rand(g, SHAPE(3), 2, 1));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "tg_rand", "2", "1");
    fresh();
    ck_assert_ptr_null(tg_rand(g, SHAPE(3), NAN, 1));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "tg_rand");
    fresh();
    ck_assert_ptr_null(tg_randn(g, SHAPE(3), 0, -1));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "tg_randn", "-1");
    fresh();
    ck_assert_ptr_null(tg_randn(g, SHAPE(3), 0, NAN));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "tg_randn");
    fresh();
    ck_assert_ptr_nonnull(tg_rand(g, SHAPE(3), 1, 1)); /* lo == hi: every value is lo */
    ck_assert_ptr_nonnull(tg_randn(g, SHAPE(3), 0, 0));
    EXPECT_OK(g);

    tg_clear_last_error();
    ck_assert_ptr_null(tg_scalar(NULL, 1));
    EXPECT_LAST("graph");
    ck_assert_ptr_nonnull(tg_scalar(g, 1));

    /* Wrapped memory is used in place. */
    tg_tensor *w = tg_tensor_wrap(g, SHAPE(2, 2), wrap_buf);
    ck_assert_ptr_eq(tg_data(w), wrap_buf);
}
END_TEST

/* A shape too long to print whole is marked as cut, never shown as a shorter shape. */
START_TEST(test_long_shape_message) {
    const int s[8] = {INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN};
    ck_assert_ptr_null(tg_tensor_new(g, 8, s));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_tensor_new", "[-2147483648,-2147483648");
    const char *msg = tg_graph_error(g);
    int n = 0;
    for (const char *p = msg; (p = strstr(p, "-2147483648")) != NULL; p++) n++;
    ck_assert_msg(n == 8 || strstr(msg, "...]") != NULL,
                  "a cut shape is not marked as cut: %s", msg);
}
END_TEST

/* ---- accessors ------------------------------------------------------------------------ */

START_TEST(test_accessors_null) {
    tg_set_requires_grad(NULL, true);
    ck_assert(!tg_requires_grad(NULL));
    ck_assert_ptr_null(tg_data(NULL));
    ck_assert_ptr_null(tg_grad(NULL));
    tg_zero_grad(NULL);
    ck_assert_int_eq(tg_ndim(NULL), 0);
    ck_assert_ptr_null(tg_shape(NULL));
    ck_assert_int_eq(tg_numel(NULL), 0);
    tg_set_name(NULL, "x");
    ck_assert_ptr_null(tg_name(NULL));
    ck_assert_ptr_null(tg_tensor_graph(NULL));
    ck_assert_ptr_null(tg_tensor_op(NULL));

    tg_clear_last_error();
    ck_assert(isnan(tg_item(NULL)));
    EXPECT_LAST("tg_item", "NULL");

    /* On a real tensor: names are cut at 63 characters; NULL clears. */
    tg_tensor *t = MK(2);
    char longname[100];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    tg_set_name(t, longname);
    ck_assert_int_eq((int)strlen(tg_name(t)), 63);
    tg_set_name(t, NULL);
    ck_assert_ptr_null(tg_name(t));
    ck_assert_ptr_null(tg_grad(t));
    tg_zero_grad(t); /* no gradient yet: nothing to do */
    ck_assert_ptr_eq(tg_tensor_graph(t), g);
    ck_assert_ptr_null(tg_tensor_op(t));
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_item) {
    tg_tensor *t = MK(3);
    ck_assert(isnan(tg_item(t)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_item", "[3]");
    fresh();
    ck_assert(isnan(tg_item(MK(0))));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_item", "[0]");
    fresh();
    ck_assert(isnan(tg_item(MK(2, 3))));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_item", "[2,3]");
    fresh();
    ck_assert(tg_item(tg_full(g, SHAPE(1, 1, 1), 4)) == 4);
    ck_assert(tg_item(tg_scalar(g, -2)) == -2);
    EXPECT_OK(g);
}
END_TEST

/* ---- every op: NULL graph, NULL inputs, inputs of another graph, graph in error ------- */

typedef tg_tensor *(*op_fn)(tg_graph *, tg_tensor *, tg_tensor *);
#define UNARY_WRAP(NAME, CALL) \
    static tg_tensor *w_##NAME(tg_graph *gr, tg_tensor *a, tg_tensor *b) { \
        (void)b;                                                          \
        return CALL;                                                      \
    }
UNARY_WRAP(neg, tg_neg(gr, a))
UNARY_WRAP(exp, tg_exp(gr, a))
UNARY_WRAP(log, tg_log(gr, a))
UNARY_WRAP(sqrt, tg_sqrt(gr, a))
UNARY_WRAP(abs, tg_abs(gr, a))
UNARY_WRAP(pow, tg_pow(gr, a, 3))
UNARY_WRAP(clamp, tg_clamp(gr, a, 0.7f, 1.2f))
UNARY_WRAP(relu, tg_relu(gr, a))
UNARY_WRAP(leaky_relu, tg_leaky_relu(gr, a, 0.01f))
UNARY_WRAP(elu, tg_elu(gr, a, 1))
UNARY_WRAP(gelu, tg_gelu(gr, a))
UNARY_WRAP(softplus, tg_softplus(gr, a))
UNARY_WRAP(sigmoid, tg_sigmoid(gr, a))
UNARY_WRAP(tanh, tg_tanh(gr, a))
UNARY_WRAP(sum, tg_sum(gr, a, TG_ALL, false))
UNARY_WRAP(mean, tg_mean(gr, a, 1, true))
UNARY_WRAP(max, tg_max(gr, a, 0, false))
UNARY_WRAP(min, tg_min(gr, a, -1, false))
UNARY_WRAP(var, tg_var(gr, a, 1, false, 1))
UNARY_WRAP(softmax, tg_softmax(gr, a, -1))
UNARY_WRAP(log_softmax, tg_log_softmax(gr, a, 0))
UNARY_WRAP(reshape, tg_reshape(gr, a, SHAPE(9, -1)))
UNARY_WRAP(transpose, tg_transpose(gr, a, 0, 1))
UNARY_WRAP(permute, tg_permute(gr, a, (const int[]){1, 0}))
UNARY_WRAP(slice, tg_slice(gr, a, 1, 0, 2, 1))
UNARY_WRAP(broadcast_to, tg_broadcast_to(gr, a, SHAPE(2, 3, 3)))
static tg_tensor *w_concat(tg_graph *gr, tg_tensor *a, tg_tensor *b) {
    return tg_concat(gr, 2, (tg_tensor *const[]){a, b}, 0);
}

static const struct {
    const char *name; /* the op's name, expected in its messages */
    op_fn fn;
    int nin;
} ops[] = {
    {"add", tg_add, 2},
    {"sub", tg_sub, 2},
    {"mul", tg_mul, 2},
    {"div", tg_div, 2},
    {"neg", w_neg, 1},
    {"exp", w_exp, 1},
    {"log", w_log, 1},
    {"sqrt", w_sqrt, 1},
    {"abs", w_abs, 1},
    {"pow", w_pow, 1},
    {"clamp", w_clamp, 1},
    {"relu", w_relu, 1},
    {"leaky_relu", w_leaky_relu, 1},
    {"elu", w_elu, 1},
    {"gelu", w_gelu, 1},
    {"softplus", w_softplus, 1},
    {"sigmoid", w_sigmoid, 1},
    {"tanh", w_tanh, 1},
    {"matmul", tg_matmul, 2},
    {"sum", w_sum, 1},
    {"mean", w_mean, 1},
    {"max", w_max, 1},
    {"min", w_min, 1},
    {"var", w_var, 1},
    {"softmax", w_softmax, 1},
    {"log_softmax", w_log_softmax, 1},
    {"reshape", w_reshape, 1},
    {"transpose", w_transpose, 1},
    {"permute", w_permute, 1},
    {"concat", w_concat, 2},
    {"slice", w_slice, 1},
    {"broadcast_to", w_broadcast_to, 1},
};
#define NOPS ((int)(sizeof ops / sizeof ops[0]))

START_TEST(test_op_bad_inputs) {
    const char *name = ops[_i].name;
    const op_fn op = ops[_i].fn;
    const int nin = ops[_i].nin;

    /* Valid inputs first: the op exists and the cases below fail for their reason. */
    tg_tensor *a = MK(3, 3), *b = MK(3, 3);
    tg_set_requires_grad(a, true);
    tg_tensor *y = op(g, a, b);
    ck_assert_msg(y != NULL, "%s on valid input failed: %s", name,
                  tg_graph_error(g) ? tg_graph_error(g) : "(no error)");
    ck_assert_str_eq(tg_tensor_op(y), name);

    /* NULL graph: nothing to record in, so only the thread's last error. */
    tg_clear_last_error();
    ck_assert_ptr_null(op(NULL, a, b));
    EXPECT_LAST(name, "graph");
    EXPECT_OK(g);

    /* NULL inputs. */
    fresh();
    a = MK(3, 3), b = MK(3, 3);
    ck_assert_ptr_null(op(g, NULL, b));
    EXPECT_ERR(g, ST(TG_ERR_NULL), name, "NULL");
    if (nin == 2) {
        fresh();
        a = MK(3, 3);
        ck_assert_ptr_null(op(g, a, NULL));
        EXPECT_ERR(g, ST(TG_ERR_NULL), name, "NULL");
        fresh();
        ck_assert_ptr_null(op(g, NULL, NULL));
        EXPECT_ERR(g, ST(TG_ERR_NULL), name, "NULL");
    }

    /* An input from another graph. */
    tg_graph *g2 = tg_graph_new();
    ck_assert_ptr_nonnull(g2);
    tg_tensor *other = mk(g2, SHAPE(3, 3));
    fresh();
    a = MK(3, 3), b = MK(3, 3);
    ck_assert_ptr_null(op(g, other, b));
    EXPECT_ERR(g, ST(TG_ERR_STATE) | ST(TG_ERR_ARG), name, "graph");
    if (nin == 2) {
        fresh();
        a = MK(3, 3);
        ck_assert_ptr_null(op(g, a, other));
        EXPECT_ERR(g, ST(TG_ERR_STATE) | ST(TG_ERR_ARG), name, "graph");
    }
    ck_assert_int_eq(tg_graph_status(g2), TG_OK); /* the other graph is not touched */
    tg_graph_free(g2);

    /* A graph in error: valid inputs, NULL out, the first message kept. */
    fresh();
    a = MK(3, 3), b = MK(3, 3);
    ck_assert_ptr_null(tg_tensor_new(g, -1, NULL));
    char first[512];
    snprintf(first, sizeof first, "%s", tg_graph_error(g));
    ck_assert_ptr_null(op(g, a, b));
    ck_assert_str_eq(tg_graph_error(g), first);
    ck_assert_str_eq(tg_last_error(), first);

    /* And after a reset it works again. */
    fresh();
    a = MK(3, 3), b = MK(3, 3);
    ck_assert_ptr_nonnull(op(g, a, b));
    EXPECT_OK(g);
}
END_TEST

/* ---- elementwise binary ------------------------------------------------------------ */

START_TEST(test_binary_shapes) {
    const char *name = ops[_i].name; /* the first four entries: add, sub, mul, div */
    const op_fn op = ops[_i].fn;

    ck_assert_ptr_null(op(g, MK(2, 3), MK(4, 5)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "[2,3]", "[4,5]");
    fresh();
    ck_assert_ptr_null(op(g, MK(2, 3), MK(3, 2)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "[2,3]", "[3,2]");
    fresh();
    ck_assert_ptr_null(op(g, MK(2, 1, 4), MK(3, 5)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "[2,1,4]", "[3,5]");
    fresh();
    ck_assert_ptr_null(op(g, MK(0), MK(2)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), name, "[0]", "[2]");

    /* What NumPy allows is allowed. */
    fresh();
    tg_tensor *y = op(g, MK(2, 3), MK(3));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 6);
    y = op(g, MK(2, 1, 3), MK(4, 1));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_ndim(y), 3);
    ck_assert_int_eq(tg_numel(y), 24);
    y = op(g, MK(0, 3), MK(1, 3));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 0);
    y = op(g, tg_scalar(g, 2), MK(2, 2));
    ck_assert_ptr_nonnull(y);
    EXPECT_OK(g);
}
END_TEST

/* Broadcasting two modest operands to an output no machine can hold fails cleanly. */
START_TEST(test_binary_huge_output) {
    tg_tensor *a = tg_zeros(g, SHAPE(1 << 24, 1)), *b = tg_zeros(g, SHAPE(1, 1 << 24));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(tg_add(g, a, b));
    EXPECT_ERR(g, ST(TG_ERR_NOMEM), "add", "[16777216,16777216]");
}
END_TEST

/* ---- unary with arguments -------------------------------------------------------------- */

START_TEST(test_unary_args) {
    ck_assert_ptr_null(tg_clamp(g, MK(3), 2, 1));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "clamp", "2", "1");
    fresh();
    ck_assert_ptr_null(tg_clamp(g, MK(3), NAN, 1));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "clamp");
    fresh();
    ck_assert_ptr_null(tg_clamp(g, MK(3), 0, NAN));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "clamp");
    fresh();
    ck_assert_ptr_nonnull(tg_clamp(g, MK(3), 1, 1)); /* lo == hi is allowed */
    ck_assert_ptr_nonnull(tg_clamp(g, MK(3), -INFINITY, INFINITY));
    EXPECT_OK(g);

    const tg_real bad[] = {INFINITY, -INFINITY, NAN};
    for (int i = 0; i < 3; i++) {
        fresh();
        ck_assert_ptr_null(tg_pow(g, MK(3), bad[i]));
        EXPECT_ERR(g, ST(TG_ERR_ARG), "pow", "exponent");
    }
    fresh();
    ck_assert_ptr_nonnull(tg_pow(g, MK(3), 0));
    ck_assert_ptr_nonnull(tg_pow(g, MK(3), -2.5f));
    EXPECT_OK(g);

    /* A bad argument with a NULL tensor is still an error, and a NULL graph too. */
    fresh();
    ck_assert_ptr_null(tg_clamp(g, NULL, 2, 1));
    ck_assert_int_ne(tg_graph_status(g), TG_OK);
    tg_clear_last_error();
    ck_assert_ptr_null(tg_pow(NULL, NULL, NAN));
    EXPECT_LAST("pow");
}
END_TEST

/* ---- matmul ------------------------------------------------------------------------- */

START_TEST(test_matmul_shapes) {
    ck_assert_ptr_null(tg_matmul(g, MK(2, 3), MK(4, 5)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[2,3]", "[4,5]");
    fresh();
    ck_assert_ptr_null(tg_matmul(g, MK(2, 3), MK(2, 3)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[2,3]");
    fresh();
    ck_assert_ptr_null(tg_matmul(g, MK(2, 3, 4), MK(5, 4, 6)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[2,3,4]", "[5,4,6]");
    fresh();
    ck_assert_ptr_null(tg_matmul(g, MK(2, 3, 4), MK(2, 5, 6)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[2,3,4]", "[2,5,6]");
    fresh();
    ck_assert_ptr_null(tg_matmul(g, MK(3), MK(3, 2)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[3]", "[3,2]");
    fresh();
    ck_assert_ptr_null(tg_matmul(g, MK(2, 3), MK(3)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[2,3]", "[3]");
    fresh();
    ck_assert_ptr_null(tg_matmul(g, tg_scalar(g, 1), MK(2, 2)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[]", "[2,2]");
    fresh();
    ck_assert_ptr_null(tg_matmul(g, MK(1, 2, 3, 4), MK(1, 2, 4, 5)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[1,2,3,4]");

    /* The forms the header promises. */
    fresh();
    tg_tensor *y = tg_matmul(g, MK(2, 3), MK(3, 4));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 8);
    y = tg_matmul(g, MK(5, 2, 3), MK(5, 3, 4));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 40);
    y = tg_matmul(g, MK(5, 2, 3), MK(3, 4));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 40);
    y = tg_matmul(g, MK(2, 3), MK(5, 3, 4));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 40);
    y = tg_matmul(g, MK(1, 2, 3), MK(5, 3, 4));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 40);
    y = tg_matmul(g, MK(0, 3), MK(3, 4));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_numel(y), 0);
    EXPECT_OK(g);
}
END_TEST

/* ---- reductions ------------------------------------------------------------------------ */

typedef tg_tensor *(*reduce_fn)(tg_graph *, tg_tensor *, int, bool);
static tg_tensor *r_var0(tg_graph *gr, tg_tensor *a, int axis, bool keep) {
    return tg_var(gr, a, axis, keep, 0);
}
static const struct {
    const char *name;
    reduce_fn fn;
} reductions[] = {
    {"sum", tg_sum}, {"mean", tg_mean}, {"max", tg_max}, {"min", tg_min}, {"var", r_var0},
};
#define NREDUCTIONS ((int)(sizeof reductions / sizeof reductions[0]))

START_TEST(test_reduce_axes) {
    const char *name = reductions[_i].name;
    const reduce_fn red = reductions[_i].fn;

    ck_assert_ptr_null(red(g, MK(3, 4), 5, false));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "5");
    fresh();
    ck_assert_ptr_null(red(g, MK(3, 4), 2, true));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "[3,4]");
    fresh();
    ck_assert_ptr_null(red(g, MK(3, 4), -7, false));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "-7");
    fresh();
    ck_assert_ptr_null(red(g, MK(3, 4), -3, false));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "-3");
    fresh();
    ck_assert_ptr_null(red(g, MK(3, 4), TG_ALL + 1, false)); /* -99: not TG_ALL */
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "-99");
    fresh();
    ck_assert_ptr_null(red(g, MK(3, 4), INT_MIN, false));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name);
    fresh();
    ck_assert_ptr_null(red(g, MK(3, 4), INT_MAX, false));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name);

    /* Valid axes. */
    fresh();
    tg_tensor *a = MK(3, 4);
    ck_assert_int_eq(tg_numel(red(g, a, TG_ALL, false)), 1);
    ck_assert_int_eq(tg_ndim(red(g, a, TG_ALL, true)), 2);
    ck_assert_int_eq(tg_numel(red(g, a, -1, false)), 3);
    ck_assert_int_eq(tg_numel(red(g, a, -2, true)), 4);
    ck_assert_int_eq(tg_numel(red(g, a, 1, false)), 3);
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_reduce_empty_and_var) {
    /* Max, min and var of no elements are errors; sum of none is 0. */
    ck_assert_ptr_null(tg_max(g, MK(0, 3), 0, false));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE) | ST(TG_ERR_ARG), "max", "[0,3]");
    fresh();
    ck_assert_ptr_null(tg_min(g, MK(0), TG_ALL, false));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE) | ST(TG_ERR_ARG), "min", "[0]");
    fresh();
    tg_tensor *s = tg_sum(g, MK(0, 3), 0, false);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(tg_numel(s), 3);
    ck_assert(tg_data(s)[0] == 0);
    ck_assert_ptr_nonnull(tg_max(g, MK(0, 3), 1, false)); /* [0] outputs: nothing to reduce */
    EXPECT_OK(g);

    /* var: N - correction must be positive. */
    fresh();
    ck_assert_ptr_null(tg_var(g, MK(3, 4), 1, false, 4));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "var", "4");
    fresh();
    ck_assert_ptr_null(tg_var(g, MK(3, 4), 0, false, 7));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "var", "7");
    fresh();
    ck_assert_ptr_null(tg_var(g, MK(3, 4), TG_ALL, false, 12));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "var", "12");
    fresh();
    ck_assert_ptr_null(tg_var(g, MK(1), TG_ALL, false, 1));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "var");
    fresh();
    ck_assert_ptr_null(tg_var(g, MK(0, 3), 0, false, 0));
    ck_assert_int_ne(tg_graph_status(g), TG_OK);
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "var"));
    fresh();
    ck_assert_ptr_nonnull(tg_var(g, MK(3, 4), TG_ALL, false, 11));
    ck_assert_ptr_nonnull(tg_var(g, MK(3, 4), 1, true, 1));
    EXPECT_OK(g);
}
END_TEST

/* ---- softmax ------------------------------------------------------------------------- */

START_TEST(test_softmax_axes) {
    typedef tg_tensor *(*sm_fn)(tg_graph *, tg_tensor *, int);
    const sm_fn fns[2] = {tg_softmax, tg_log_softmax};
    const char *names[2] = {"softmax", "log_softmax"};
    const sm_fn sm = fns[_i];
    const char *name = names[_i];

    ck_assert_ptr_null(sm(g, MK(3, 4), 2));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "[3,4]");
    fresh();
    ck_assert_ptr_null(sm(g, MK(3, 4), 7));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "7");
    fresh();
    ck_assert_ptr_null(sm(g, MK(3, 4), -3));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name, "-3");
    fresh();
    ck_assert_ptr_null(sm(g, MK(3, 4), TG_ALL)); /* one axis only */
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name);
    fresh();
    ck_assert_ptr_null(sm(g, MK(3, 4), INT_MIN));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), name);
    fresh();
    ck_assert_ptr_nonnull(sm(g, MK(3, 4), -1));
    ck_assert_ptr_nonnull(sm(g, MK(3, 4), 0));
    EXPECT_OK(g);
}
END_TEST

/* ---- shape ops ----------------------------------------------------------------------- */

START_TEST(test_reshape_bad) {
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), SHAPE(4, 5)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "reshape", "[2,3]", "[4,5]");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), SHAPE(-1, 4)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "reshape", "[2,3]", "[-1,4]");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), SHAPE(-1, -1)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "reshape", "[-1,-1]");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), SHAPE(-2, -3)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "reshape", "[-2,-3]");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), 2, NULL));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "reshape", "shape");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), 9, (const int[9]){6, 1, 1, 1, 1, 1, 1, 1, 1}));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "reshape", "9");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), -1, (const int[1]){6}));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "reshape", "-1");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), 3, big3));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE) | ST(TG_ERR_NOMEM), "reshape");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(2, 3), 8, max8));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE) | ST(TG_ERR_NOMEM), "reshape");
    fresh();
    ck_assert_ptr_null(tg_reshape(g, MK(0, 3), SHAPE(-1, 0))); /* -1 cannot be inferred */
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "reshape");

    fresh();
    ck_assert_int_eq(tg_ndim(tg_reshape(g, MK(2, 3), SHAPE(3, -1))), 2);
    ck_assert_int_eq(tg_ndim(tg_reshape(g, MK(1), 0, NULL)), 0);
    ck_assert_int_eq(tg_numel(tg_reshape(g, MK(0, 3), SHAPE(3, 0))), 0);
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_transpose_permute_bad) {
    ck_assert_ptr_null(tg_transpose(g, MK(2, 3), 0, 2));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "transpose", "[2,3]");
    fresh();
    ck_assert_ptr_null(tg_transpose(g, MK(2, 3), -3, 0));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "transpose", "-3");
    fresh();
    ck_assert_ptr_null(tg_transpose(g, MK(2, 3), 7, 7));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "transpose", "7");
    fresh();
    ck_assert_ptr_null(tg_transpose(g, MK(2, 3), INT_MIN, 0));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "transpose");
    fresh();
    ck_assert_int_eq(tg_shape(tg_transpose(g, MK(2, 3), -1, -2))[0], 3);
    ck_assert_ptr_nonnull(tg_transpose(g, MK(2, 3), 1, 1));
    EXPECT_OK(g);

    fresh();
    ck_assert_ptr_null(tg_permute(g, MK(2, 3), NULL));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "permute", "perm");
    fresh();
    ck_assert_ptr_null(tg_permute(g, MK(2, 3), (const int[]){0, 0}));
    EXPECT_ERR(g, ST(TG_ERR_AXIS) | ST(TG_ERR_ARG), "permute");
    fresh();
    ck_assert_ptr_null(tg_permute(g, MK(2, 3), (const int[]){0, 2}));
    EXPECT_ERR(g, ST(TG_ERR_AXIS) | ST(TG_ERR_ARG), "permute", "2");
    fresh();
    ck_assert_ptr_null(tg_permute(g, MK(2, 3, 4), (const int[]){2, 0, 9}));
    EXPECT_ERR(g, ST(TG_ERR_AXIS) | ST(TG_ERR_ARG), "permute", "9");
    fresh();
    ck_assert_ptr_null(tg_permute(g, MK(2, 3, 4), (const int[]){2, 0, -7}));
    EXPECT_ERR(g, ST(TG_ERR_AXIS) | ST(TG_ERR_ARG), "permute", "-7");
    fresh();
    tg_tensor *p = tg_permute(g, MK(2, 3, 4), (const int[]){2, 0, 1});
    ck_assert_int_eq(tg_shape(p)[0], 4);
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_concat_bad) {
    tg_tensor *a = MK(2, 3), *b = MK(4, 5);
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *const[]){a, b}, 0));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "concat", "[2,3]", "[4,5]");
    fresh();
    a = MK(2, 3), b = MK(2, 3, 1);
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *const[]){a, b}, 0));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "concat", "[2,3]", "[2,3,1]");
    fresh();
    a = MK(2, 3), b = MK(2, 4);
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *const[]){a, b}, 0));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "concat", "[2,3]", "[2,4]");
    fresh();
    a = MK(2, 3), b = MK(2, 3);
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *const[]){a, b}, 2));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "concat", "2");
    fresh();
    a = MK(2, 3), b = MK(2, 3);
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *const[]){a, b}, -3));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "concat", "-3");
    fresh();
    ck_assert_ptr_null(tg_concat(g, 1, (tg_tensor *const[]){tg_scalar(g, 1)}, 0));
    EXPECT_ERR(g, ST(TG_ERR_AXIS) | ST(TG_ERR_SHAPE), "concat");
    fresh();
    ck_assert_ptr_null(tg_concat(g, 0, (tg_tensor *const[]){MK(2)}, 0));
    EXPECT_ERR(g, ST(TG_ERR_ARG) | ST(TG_ERR_SHAPE), "concat", "0");
    fresh();
    ck_assert_ptr_null(tg_concat(g, -1, (tg_tensor *const[]){MK(2)}, 0));
    EXPECT_ERR(g, ST(TG_ERR_ARG) | ST(TG_ERR_SHAPE), "concat", "-1");
    fresh();
    ck_assert_ptr_null(tg_concat(g, 2, NULL, 0));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "concat");
    fresh();
    a = MK(2, 3);
    ck_assert_ptr_null(tg_concat(g, 3, (tg_tensor *const[]){a, a, NULL}, 0));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "concat", "NULL");
    tg_clear_last_error();
    ck_assert_ptr_null(tg_concat(NULL, 1, (tg_tensor *const[]){a}, 0));
    EXPECT_LAST("concat", "graph");

    fresh();
    a = MK(2, 3), b = MK(4, 3);
    tg_tensor *y = tg_concat(g, 2, (tg_tensor *const[]){a, b}, 0);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_shape(y)[0], 6);
    y = tg_concat(g, 3, (tg_tensor *const[]){a, a, a}, -1);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_shape(y)[1], 9);
    ck_assert_ptr_nonnull(tg_concat(g, 1, (tg_tensor *const[]){a}, 1));
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_slice_bad) {
    ck_assert_ptr_null(tg_slice(g, MK(4, 5), 1, 0, 5, 0));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "slice", "step");
    fresh();
    ck_assert_ptr_null(tg_slice(g, MK(4, 5), 1, 0, 5, -1));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "slice", "step");
    fresh();
    ck_assert_ptr_null(tg_slice(g, MK(4, 5), 1, 0, 5, INT_MIN));
    EXPECT_ERR(g, ST(TG_ERR_ARG), "slice", "step");
    fresh();
    ck_assert_ptr_null(tg_slice(g, MK(4, 5), 2, 0, 1, 1));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "slice", "[4,5]");
    fresh();
    ck_assert_ptr_null(tg_slice(g, MK(4, 5), -3, 0, 1, 1));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "slice", "-3");
    fresh();
    ck_assert_ptr_null(tg_slice(g, tg_scalar(g, 1), 0, 0, 1, 1));
    EXPECT_ERR(g, ST(TG_ERR_AXIS), "slice");

    /* Python-style bounds are clipped, never an error. */
    fresh();
    tg_tensor *a = MK(4, 5);
    ck_assert_int_eq(tg_shape(tg_slice(g, a, 1, -100, 100, 1))[1], 5);
    ck_assert_int_eq(tg_shape(tg_slice(g, a, 1, 4, 1, 1))[1], 0);
    ck_assert_int_eq(tg_shape(tg_slice(g, a, 0, INT_MIN, INT_MAX, INT_MAX))[0], 1);
    ck_assert_int_eq(tg_shape(tg_slice(g, a, -1, -2, INT_MAX, 1))[1], 2);
    ck_assert_int_eq(tg_shape(tg_slice(g, a, 0, 0, 4, 3))[0], 2);
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_broadcast_to_bad) {
    ck_assert_ptr_null(tg_broadcast_to(g, MK(2, 3), SHAPE(4, 5)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "broadcast_to", "[2,3]", "[4,5]");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(2, 3), SHAPE(3)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "broadcast_to", "[2,3]", "[3]");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(2, 3), SHAPE(2, 1)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "broadcast_to", "[2,3]", "[2,1]");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(1, 3), SHAPE(-2, 3)));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "broadcast_to", "-2");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(2, 3), 2, NULL));
    EXPECT_ERR(g, ST(TG_ERR_NULL), "broadcast_to", "shape");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(3), 9, (const int[9]){1, 1, 1, 1, 1, 1, 1, 1, 3}));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "broadcast_to", "9");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(3), -1, (const int[1]){3}));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "broadcast_to", "-1");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(1), 3, big3));
    EXPECT_ERR(g, ST(TG_ERR_NOMEM) | ST(TG_ERR_SHAPE), "broadcast_to");
    fresh();
    ck_assert_ptr_null(tg_broadcast_to(g, MK(1), SHAPE(1 << 30, 1 << 30)));
    EXPECT_ERR(g, ST(TG_ERR_NOMEM), "broadcast_to");

    fresh();
    ck_assert_int_eq(tg_numel(tg_broadcast_to(g, MK(1, 3), SHAPE(2, 4, 3))), 24);
    ck_assert_int_eq(tg_numel(tg_broadcast_to(g, tg_scalar(g, 1), SHAPE(2, 2))), 4);
    ck_assert_int_eq(tg_numel(tg_broadcast_to(g, MK(1, 3), SHAPE(0, 3))), 0);
    EXPECT_OK(g);
}
END_TEST

/* ---- backward ---------------------------------------------------------------------------- */

START_TEST(test_backward_bad) {
    tg_tensor *x = MK(3);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_mul(g, x, x); /* [3]: not a loss */
    ck_assert_ptr_nonnull(y);

    tg_clear_last_error();
    ck_assert_int_ne(tg_backward(NULL, y), 0);
    EXPECT_LAST("tg_backward", "graph");
    EXPECT_OK(g);

    ck_assert_int_ne(tg_backward(g, NULL), 0);
    EXPECT_ERR(g, ST(TG_ERR_NULL), "tg_backward", "NULL");

    fresh();
    x = MK(3);
    tg_set_requires_grad(x, true);
    ck_assert_int_ne(tg_backward(g, tg_mul(g, x, x)), 0);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_backward", "[3]");
    fresh();
    x = MK(2, 3);
    tg_set_requires_grad(x, true);
    ck_assert_int_ne(tg_backward(g, x), 0); /* a leaf counts too */
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_backward", "[2,3]");
    fresh();
    x = MK(0);
    tg_set_requires_grad(x, true);
    ck_assert_int_ne(tg_backward(g, tg_exp(g, x)), 0);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_backward", "[0]");

    /* A loss that depends on nothing requiring a gradient. */
    fresh();
    x = MK(1);
    ck_assert_int_ne(tg_backward(g, tg_exp(g, x)), 0);
    EXPECT_ERR(g, ST(TG_ERR_STATE), "tg_backward", "gradient");
    /* ...or that was made in no-grad mode. */
    fresh();
    x = MK(1);
    tg_set_requires_grad(x, true);
    tg_graph_set_grad_enabled(g, false);
    y = tg_exp(g, x);
    tg_graph_set_grad_enabled(g, true);
    ck_assert_int_ne(tg_backward(g, y), 0);
    EXPECT_ERR(g, ST(TG_ERR_STATE), "tg_backward");

    /* A loss from another graph. */
    tg_graph *g2 = tg_graph_new();
    tg_tensor *x2 = mk(g2, SHAPE(1));
    tg_set_requires_grad(x2, true);
    tg_tensor *l2 = tg_exp(g2, x2);
    ck_assert_ptr_nonnull(l2);
    fresh();
    ck_assert_int_ne(tg_backward(g, l2), 0);
    EXPECT_ERR(g, ST(TG_ERR_STATE), "tg_backward", "graph");
    ck_assert_ptr_null(tg_grad(x2));
    ck_assert_int_eq(tg_backward(g2, l2), 0); /* in its own graph it works */
    ck_assert_ptr_nonnull(tg_grad(x2));
    tg_graph_free(g2);

    /* A graph in error: non-zero, the first message kept, no gradient written. */
    fresh();
    x = MK(1);
    tg_set_requires_grad(x, true);
    y = tg_exp(g, x);
    ck_assert_ptr_null(tg_add(g, MK(2), MK(3)));
    ck_assert_int_ne(tg_backward(g, y), 0);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "add", "[2]", "[3]");
    ck_assert_ptr_null(tg_grad(x));

    /* Valid. */
    fresh();
    x = tg_scalar(g, 3);
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(g, tg_mul(g, x, x)), 0);
    ck_assert(tg_grad(x)[0] == 6);
    EXPECT_OK(g);
}
END_TEST

START_TEST(test_backward_from_bad) {
    const tg_real dy[3] = {1, 2, 3};
    tg_tensor *x = MK(3);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_exp(g, x);

    tg_clear_last_error();
    ck_assert_int_ne(tg_backward_from(NULL, y, dy), 0);
    EXPECT_LAST("tg_backward_from", "graph");
    EXPECT_OK(g);
    ck_assert_int_ne(tg_backward_from(g, y, NULL), 0);
    EXPECT_ERR(g, ST(TG_ERR_NULL), "tg_backward_from", "dy");
    fresh();
    ck_assert_int_ne(tg_backward_from(g, NULL, dy), 0);
    EXPECT_ERR(g, ST(TG_ERR_NULL), "tg_backward_from");
    fresh();
    ck_assert_int_ne(tg_backward_from(g, NULL, NULL), 0);
    EXPECT_ERR(g, ST(TG_ERR_NULL), "tg_backward_from");
    fresh();
    ck_assert_int_ne(tg_backward_from(g, MK(3), dy), 0); /* requires no gradient */
    EXPECT_ERR(g, ST(TG_ERR_STATE), "tg_backward_from");

    fresh();
    x = MK(3);
    tg_set_requires_grad(x, true);
    y = tg_neg(g, x);
    ck_assert_int_eq(tg_backward_from(g, y, dy), 0);
    ck_assert(tg_grad(x)[2] == -3);
    EXPECT_OK(g);
}
END_TEST

/* ---- gradcheck --------------------------------------------------------------------------- */

static tg_tensor *gc_square(tg_graph *gr, tg_tensor *const *in, int n, void *user) {
    (void)n, (void)user;
    return tg_sum(gr, tg_mul(gr, in[0], in[0]), TG_ALL, false);
}
static tg_tensor *gc_mismatch(tg_graph *gr, tg_tensor *const *in, int n, void *user) {
    (void)in, (void)n, (void)user;
    return tg_add(gr, mk(gr, SHAPE(2, 3)), mk(gr, SHAPE(4, 5)));
}
static tg_tensor *gc_vector(tg_graph *gr, tg_tensor *const *in, int n, void *user) {
    (void)n, (void)user;
    return tg_exp(gr, in[0]);
}
static tg_tensor *gc_null(tg_graph *gr, tg_tensor *const *in, int n, void *user) {
    (void)gr, (void)in, (void)n, (void)user;
    return NULL; /* returns NULL without recording an error */
}

START_TEST(test_gradcheck_bad) {
    const tg_real x[3] = {0.5f, -1, 2};
    const tg_gradcheck_input in = {1, (const int[]){3}, x, true};
    tg_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    tg_status st;

    tg_clear_last_error();
    st = tg_gradcheck(NULL, 1, &in, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_NULL || st == TG_ERR_ARG, "status %d", (int)st);
    EXPECT_LAST("gradcheck");
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, 1, NULL, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_NULL || st == TG_ERR_ARG, "status %d", (int)st);
    EXPECT_LAST("gradcheck");
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, -1, &in, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_ARG, "status %d", (int)st);
    EXPECT_LAST("gradcheck");

    tg_gradcheck_input bad = in;
    bad.ndim = 9;
    bad.shape = (const int[9]){3, 1, 1, 1, 1, 1, 1, 1, 1};
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, 1, &bad, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_SHAPE, "status %d", (int)st);
    EXPECT_LAST("9");
    bad = in;
    bad.ndim = -1;
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, 1, &bad, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_SHAPE, "status %d", (int)st);
    EXPECT_LAST("-1");
    bad = in;
    bad.shape = (const int[]){-3};
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, 1, &bad, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_SHAPE, "status %d", (int)st);
    EXPECT_LAST("[-3]");
    bad = in;
    bad.shape = NULL;
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, 1, &bad, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_NULL, "status %d", (int)st);
    EXPECT_LAST("shape");
    bad = in;
    bad.data = NULL;
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, 1, &bad, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_NULL, "status %d", (int)st);
    EXPECT_LAST("data");
    bad = in;
    bad.ndim = 3;
    bad.shape = big3;
    tg_clear_last_error();
    st = tg_gradcheck(gc_square, 1, &bad, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_NOMEM || st == TG_ERR_SHAPE, "status %d", (int)st);
    EXPECT_LAST("[1073741824,1073741824,1073741824]");

    /* fn fails: its graph's error comes through. */
    tg_clear_last_error();
    rep.passed = true;
    st = tg_gradcheck(gc_mismatch, 1, &in, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_SHAPE, "status %d", (int)st);
    EXPECT_LAST("add", "[2,3]", "[4,5]");
    ck_assert(!rep.passed);
    tg_clear_last_error();
    st = tg_gradcheck(gc_null, 1, &in, NULL, NULL, &rep);
    ck_assert_msg(st != TG_OK && st != TG_ERR_NUMERIC, "status %d", (int)st);
    EXPECT_LAST("gradcheck");
    /* fn returns more than one element. */
    tg_clear_last_error();
    st = tg_gradcheck(gc_vector, 1, &in, NULL, NULL, &rep);
    ck_assert_msg(st == TG_ERR_SHAPE, "status %d", (int)st);
    EXPECT_LAST("[3]");

    /* Valid, with and without opts and report. */
    ck_assert_int_eq(tg_gradcheck(gc_square, 1, &in, NULL, NULL, NULL), TG_OK);
    const tg_gradcheck_opts opts = {0};
    ck_assert_int_eq(tg_gradcheck(gc_square, 1, &in, NULL, &opts, &rep), TG_OK);
    ck_assert(rep.passed);
    ck_assert_int_eq(rep.checked, 3);
}
END_TEST

/* ---- DOT export ------------------------------------------------------------------------- */

static char tmpdir[64];

static void dot_setup(void) {
    setup();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tg_errors_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void dot_teardown(void) {
    char path[128];
    const char *names[] = {"ok.dot", "ok_opts.gv", "x.xyz", "noext"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    teardown();
}

START_TEST(test_dot_bad) {
    tg_tensor *x = MK(2, 3);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_exp(g, x);
    char path[128];
    FILE *out = tmpfile();
    ck_assert_ptr_nonnull(out);

    tg_clear_last_error();
    ck_assert_int_ne(tg_dot_write(NULL, y, out), 0);
    EXPECT_LAST("dot");
    tg_clear_last_error();
    ck_assert_int_ne(tg_dot_write(g, y, NULL), 0);
    EXPECT_LAST("dot");
    tg_clear_last_error();
    ck_assert_int_ne(tg_dot_write_opts(NULL, y, out, NULL), 0);
    EXPECT_LAST("dot");
    tg_clear_last_error();
    ck_assert_int_ne(tg_dot_write_opts(g, NULL, NULL, NULL), 0);
    EXPECT_LAST("dot");

    /* A stream that cannot be written. */
    FILE *ro = fopen("/dev/null", "r");
    ck_assert_ptr_nonnull(ro);
    tg_clear_last_error();
    ck_assert_int_ne(tg_dot_write(g, y, ro), 0);
    EXPECT_LAST("dot");
    fclose(ro);

    /* Valid. */
    ck_assert_int_eq(tg_dot_write(g, y, out), 0);
    ck_assert_int_eq(tg_dot_write(g, NULL, out), 0);
    ck_assert_int_eq(tg_dot_write_opts(g, y, out, &(tg_dot_opts){.stats = true}), 0);
    fclose(out);

    tg_clear_last_error();
    snprintf(path, sizeof path, "%s/ok.dot", tmpdir);
    ck_assert_int_eq(tg_dot_save(NULL, y, path), TG_ERR_NULL);
    EXPECT_LAST("dot");
    tg_clear_last_error();
    ck_assert_int_eq(tg_dot_save(g, y, NULL), TG_ERR_NULL);
    EXPECT_LAST("dot");
    tg_clear_last_error();
    ck_assert_int_eq(tg_dot_save_opts(g, y, NULL, NULL), TG_ERR_NULL);
    EXPECT_LAST("dot");
    tg_clear_last_error();
    ck_assert_int_eq(tg_dot_save(g, y, "/nonexistent-tapegrad-dir/sub/x.dot"), TG_ERR_IO);
    EXPECT_LAST("/nonexistent-tapegrad-dir/sub/x.dot");
    snprintf(path, sizeof path, "%s/x.xyz", tmpdir);
    tg_clear_last_error();
    tg_status st = tg_dot_save(g, y, path);
    ck_assert_msg(st == TG_ERR_ARG || st == TG_ERR_UNSUPPORTED, "status %d", (int)st);
    EXPECT_LAST("xyz");
    ck_assert_int_ne(access(path, F_OK), 0); /* nothing written */
    snprintf(path, sizeof path, "%s/noext", tmpdir);
    st = tg_dot_save(g, y, path);
    ck_assert_msg(st == TG_ERR_ARG || st == TG_ERR_UNSUPPORTED, "status %d", (int)st);
    ck_assert_int_ne(access(path, F_OK), 0);

    snprintf(path, sizeof path, "%s/ok.dot", tmpdir);
    ck_assert_int_eq(tg_dot_save(g, y, path), TG_OK);
    snprintf(path, sizeof path, "%s/ok_opts.gv", tmpdir);
    ck_assert_int_eq(tg_dot_save_opts(g, y, path, NULL), TG_OK);

    /* A root from another graph must not crash (whatever it returns). */
    tg_graph *g2 = tg_graph_new();
    tg_tensor *z = tg_exp(g2, mk(g2, SHAPE(2)));
    out = tmpfile();
    ck_assert_ptr_nonnull(out);
    (void)tg_dot_write(g, z, out);
    fclose(out);
    tg_graph_free(g2);
    EXPECT_OK(g); /* DOT export never puts the graph in error */
}
END_TEST

/* ---- settings ------------------------------------------------------------------------------ */

START_TEST(test_settings) {
    const int before = tg_get_num_threads();
    ck_assert_int_ge(before, 1);
    int n = tg_set_num_threads(1);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(tg_get_num_threads(), 1);
    const int all = tg_set_num_threads(0);
    ck_assert_int_ge(all, 1);
    ck_assert_int_eq(tg_get_num_threads(), all);
    ck_assert_int_eq(tg_set_num_threads(-5), all);
    ck_assert_int_eq(tg_set_num_threads(INT_MIN), all);
    n = tg_set_num_threads(3);
    ck_assert_int_ge(n, 1);
    ck_assert_int_eq(tg_get_num_threads(), n);
    tg_set_num_threads(before);

    ck_assert(!tg_use_blas(false));
    const bool on = tg_use_blas(true);
    ck_assert(on == tg_has_blas());

    ck_assert_str_eq(tg_version(), TG_VERSION_STRING);
    ck_assert_str_eq(tg_precision(), TG_PRECISION_DOUBLE ? "double" : "float");
    ck_assert_int_eq((int)sizeof(tg_real), TG_PRECISION_DOUBLE ? 8 : 4);

    const uint64_t a0 = tg_alloc_count();
    tg_graph *g2 = tg_graph_new();
    ck_assert_uint_gt(tg_alloc_count(), a0);
    tg_graph_free(g2);
}
END_TEST

/* ---- stickiness, NULL propagation, reset ------------------------------------------------- */

START_TEST(test_sticky) {
    tg_tensor *a = MK(2, 3), *b = MK(4, 5), *ok = MK(2, 3);
    tg_set_requires_grad(ok, true);
    tg_tensor *loss = tg_exp(g, tg_scalar(g, 1));
    ck_assert_ptr_null(tg_add(g, a, b));
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "add", "[2,3]", "[4,5]");
    char first[512];
    snprintf(first, sizeof first, "%s", tg_graph_error(g));

    /* Later bad calls do not replace it... */
    ck_assert_ptr_null(tg_matmul(g, a, b));
    ck_assert_ptr_null(tg_tensor_new(g, 9, NULL));
    ck_assert_ptr_null(tg_neg(g, NULL));
    ck_assert_ptr_null(tg_clamp(g, ok, 2, 1));
    ck_assert_ptr_null(tg_pow(g, ok, NAN));
    ck_assert_ptr_null(tg_tensor_from(g, SHAPE(2), NULL));
    ck_assert_ptr_null(tg_rand(g, SHAPE(2), 1, 0));
    ck_assert(isnan(tg_item(ok)));
    ck_assert_int_ne(tg_backward(g, ok), 0);
    ck_assert_int_ne(tg_backward_from(g, ok, NULL), 0);
    /* ...and valid ones return NULL. */
    ck_assert_ptr_null(tg_neg(g, ok));
    ck_assert_ptr_null(tg_mul(g, ok, ok));
    ck_assert_ptr_null(tg_tensor_new(g, SHAPE(2)));
    ck_assert_ptr_null(tg_scalar(g, 1));
    ck_assert_int_ne(tg_backward(g, loss), 0);
    ck_assert_str_eq(tg_graph_error(g), first);
    ck_assert_str_eq(tg_last_error(), first);
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
    /* Accessors still work on tensors made before the error. */
    ck_assert_int_eq(tg_numel(ok), 6);
    ck_assert_ptr_nonnull(tg_data(ok));

    /* Reset clears it and the graph works again. */
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_graph_error(g));
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    tg_tensor *x = tg_scalar(g, 2);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_mul(g, x, x);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_backward(g, y), 0);
    ck_assert(tg_grad(x)[0] == 4);
    EXPECT_OK(g);
}
END_TEST

/* Five chained calls, one check at the end. */
static tg_tensor *chain5(tg_graph *gr, tg_tensor *a, tg_tensor *b, tg_tensor *c) {
    return tg_abs(gr, tg_exp(gr, tg_mul(gr, tg_neg(gr, tg_add(gr, a, b)), c)));
}

START_TEST(test_chain_null_propagation) {
    /* The first op fails. */
    tg_tensor *r = chain5(g, MK(2, 3), MK(4, 5), MK(2, 3));
    ck_assert_ptr_null(r);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "add", "[2,3]", "[4,5]");

    /* A maker fails first. */
    fresh();
    r = chain5(g, tg_tensor_new(g, 9, NULL), MK(2, 3), MK(2, 3));
    ck_assert_ptr_null(r);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "tg_tensor_new", "9");

    /* An op in the middle fails: the message names it, not its neighbours. */
    fresh();
    r = chain5(g, MK(2, 3), MK(2, 3), MK(4));
    ck_assert_ptr_null(r);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "mul", "[2,3]", "[4]");

    /* NULL from outside the graph (another graph's failed op) starts the chain. */
    fresh();
    r = chain5(g, NULL, MK(2, 3), MK(2, 3));
    ck_assert_ptr_null(r);
    EXPECT_ERR(g, ST(TG_ERR_NULL), "add", "NULL");

    /* Longer chains through the other op families. */
    fresh();
    tg_tensor *bad = tg_matmul(g, MK(2, 3), MK(2, 3));
    r = tg_mean(g, tg_softmax(g, tg_relu(g, tg_transpose(g, tg_reshape(g, bad, SHAPE(3, 2)),
                                                          0, 1)), -1),
                TG_ALL, false);
    ck_assert_ptr_null(r);
    ck_assert_int_ne(tg_backward(g, r), 0);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "matmul", "[2,3]");

    /* After a reset the same chain computes. */
    fresh();
    tg_tensor *a = tg_full(g, SHAPE(2, 3), 1), *b = tg_full(g, SHAPE(3), -2);
    tg_tensor *c = tg_full(g, SHAPE(2, 3), 0.5f);
    tg_set_requires_grad(a, true);
    r = chain5(g, a, b, c);
    ck_assert_ptr_nonnull(r);
    ck_assert(fabs(tg_data(r)[5] - exp(0.5)) < 1e-6);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, r, TG_ALL, false)), 0);
    ck_assert_ptr_nonnull(tg_grad(a));
    EXPECT_OK(g);
}
END_TEST

/* Threads and graphs: an error in one graph leaves another alone. */
START_TEST(test_graphs_independent) {
    tg_graph *g2 = tg_graph_new();
    ck_assert_ptr_null(tg_add(g, MK(2), MK(3)));
    ck_assert_int_eq(tg_graph_status(g2), TG_OK);
    tg_tensor *t = tg_exp(g2, mk(g2, SHAPE(2)));
    ck_assert_ptr_nonnull(t);
    EXPECT_ERR(g, ST(TG_ERR_SHAPE), "add");
    tg_graph_free(g2);
}
END_TEST

static Suite *errors_suite(void) {
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_status_str);
    tcase_add_test(tc, test_last_error);
    tcase_add_test(tc, test_last_error_per_thread);
    tcase_add_test(tc, test_graph_null);
    tcase_add_test(tc, test_stats_unchanged_by_failure);
    tcase_add_loop_test(tc, test_make_bad_shapes, 0, NMAKERS);
    tcase_add_test(tc, test_make_bad_args);
    tcase_add_test(tc, test_long_shape_message);
    tcase_add_test(tc, test_accessors_null);
    tcase_add_test(tc, test_item);
    tcase_add_test(tc, test_settings);
    tcase_add_test(tc, test_sticky);
    tcase_add_test(tc, test_chain_null_propagation);
    tcase_add_test(tc, test_graphs_independent);
    suite_add_tcase(s, tc);

    tc = tcase_create("ops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_op_bad_inputs, 0, NOPS);
    tcase_add_loop_test(tc, test_binary_shapes, 0, 4);
    tcase_add_test(tc, test_binary_huge_output);
    tcase_add_test(tc, test_unary_args);
    tcase_add_test(tc, test_matmul_shapes);
    tcase_add_loop_test(tc, test_reduce_axes, 0, NREDUCTIONS);
    tcase_add_test(tc, test_reduce_empty_and_var);
    tcase_add_loop_test(tc, test_softmax_axes, 0, 2);
    tcase_add_test(tc, test_reshape_bad);
    tcase_add_test(tc, test_transpose_permute_bad);
    tcase_add_test(tc, test_concat_bad);
    tcase_add_test(tc, test_slice_bad);
    tcase_add_test(tc, test_broadcast_to_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("autograd");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_backward_bad);
    tcase_add_test(tc, test_backward_from_bad);
    tcase_add_test(tc, test_gradcheck_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("dot");
    tcase_add_checked_fixture(tc, dot_setup, dot_teardown);
    tcase_add_test(tc, test_dot_bad);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tg_test_run(errors_suite());
}
