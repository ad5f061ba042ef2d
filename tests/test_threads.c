/* tests/test_threads.c: results are bit-identical from run to run and across thread
 * counts, as tapegrad/core.h promises.
 *
 * Each workload builds its inputs from a seeded generator in a fresh graph, computes
 * outputs and gradients, and copies them out. It runs twice for each of 1, 2 and 4
 * threads; the two runs must match byte for byte (memcmp), and the runs with 2 and 4
 * threads must match the 1-thread run: elementwise loops run in fixed chunks,
 * reductions add in an order fixed by the shape alone, and matrix products (portable
 * or BLAS) cut their work along lines fixed by the shape. (The adaptive thread count,
 * which may drop to one thread on a busy machine, relies on this.)
 *
 * Sizes: about 10^6 elements by default. Under valgrind (detected from LD_PRELOAD) or
 * with TG_TEST_SMALL=1 they drop to 2^16, still above the size at which loops are
 * split between threads. TG_TEST_SMALL=0 forces the large sizes. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tapegrad.h"

#include "kernels/gemm.h"

#include "tg_test.h"

/* ---- sizes --------------------------------------------------------------------- */

static bool small_sizes(void) {
    const char *s = getenv("TG_TEST_SMALL");
    if (s && *s) return strcmp(s, "0") != 0;
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload") != NULL;
}

static int R, C;        /* a matrix of R x C elements for elementwise and reductions */
static int MM;          /* matmul: [MM, MM] @ [MM, MM] */
static int BATCH;       /* rows of the MLP's input */

static void choose_sizes(void) {
    if (small_sizes()) {
        R = 256, C = 256, MM = 96, BATCH = 128;
    } else {
        R = 1024, C = 1024, MM = 256, BATCH = 1024;
    }
}

/* ---- collecting results ---------------------------------------------------------- */

typedef struct vec {
    tg_real *v;
    size_t n, cap;
} vec;

static void push_raw(vec *o, const tg_real *p, size_t n) {
    if (o->n + n > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->n + n) cap *= 2;
        tg_real *v = realloc(o->v, cap * sizeof *v);
        ck_assert_ptr_nonnull(v);
        o->v = v;
        o->cap = cap;
    }
    if (n) memcpy(o->v + o->n, p, n * sizeof *p);
    o->n += n;
}

/* The values of t (which must exist). */
static void push(vec *o, tg_tensor *t) {
    ck_assert_ptr_nonnull(t);
    push_raw(o, tg_data(t), (size_t)tg_numel(t));
}

/* The gradient of t (which must have one). */
static void push_grad(vec *o, tg_tensor *t) {
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(tg_grad(t));
    push_raw(o, tg_grad(t), (size_t)tg_numel(t));
}

#define NARGS(...) ((int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))
#define SHAPE(...) NARGS(__VA_ARGS__), (const int[]){__VA_ARGS__}

static tg_tensor *param(tg_graph *g, int ndim, const int *shape, tg_real lo, tg_real hi) {
    tg_tensor *t = tg_rand(g, ndim, shape, lo, hi);
    tg_set_requires_grad(t, true);
    return t;
}

/* Seeds a backward pass from y with a random dy (from the graph's generator). */
static void backward_from(tg_graph *g, tg_tensor *y) {
    ck_assert_ptr_nonnull(y);
    tg_tensor *dy = tg_rand(g, tg_ndim(y), tg_shape(y), -1, 1);
    ck_assert_ptr_nonnull(dy);
    ck_assert_msg(tg_backward_from(g, y, tg_data(dy)) == 0, "backward: %s",
                  tg_graph_error(g));
}

/* Pushes the values of ys[0..n), then runs backward_from on their sum. */
static void push_and_backward_sum(tg_graph *g, vec *o, tg_tensor *const *ys, size_t n) {
    tg_tensor *acc = NULL;
    for (size_t i = 0; i < n; i++) {
        push(o, ys[i]);
        acc = acc ? tg_add(g, acc, ys[i]) : ys[i];
    }
    backward_from(g, acc);
}

/* ---- workloads ------------------------------------------------------------------- */

/* Broadcasting binary ops, forward and backward: the general (row) path for [R,C] op
 * [C] and [R,1], the flat path for equal shapes and a scalar. */
static void wl_binary(tg_graph *g, vec *o) {
    tg_tensor *a = param(g, SHAPE(R, C), -1, 1), *b = param(g, SHAPE(C), -1, 1);
    tg_tensor *c = param(g, SHAPE(R, 1), -1, 1), *d = param(g, SHAPE(R, C), 0.5f, 2);
    tg_tensor *s = param(g, 0, NULL, 0, 1);
    tg_tensor *y1 = tg_add(g, a, b);
    tg_tensor *y2 = tg_mul(g, y1, c);
    tg_tensor *y3 = tg_div(g, y2, d);
    tg_tensor *y4 = tg_sub(g, y3, s);
    tg_tensor *y5 = tg_mul(g, tg_sub(g, tg_reshape(g, b, SHAPE(1, C)), c), y4); /* [1,C] - [R,1] */
    push(o, y1), push(o, y2), push(o, y3), push(o, y4), push(o, y5);
    backward_from(g, y5);
    push_grad(o, a), push_grad(o, b), push_grad(o, c), push_grad(o, d), push_grad(o, s);
}

/* The unary ops of unary.c, forward and backward. */
static void wl_unary(tg_graph *g, vec *o) {
    tg_tensor *x = param(g, SHAPE(R * C), 0.1f, 2);
    tg_tensor *ys[] = {
        tg_neg(g, x),       tg_exp(g, x),          tg_log(g, x),
        tg_sqrt(g, x),      tg_abs(g, x),          tg_pow(g, x, 1.5f),
        tg_pow(g, x, 2),    tg_clamp(g, x, 0.5f, 1.5f),
    };
    push_and_backward_sum(g, o, ys, sizeof ys / sizeof ys[0]);
    push_grad(o, x);
}

/* The activations, forward and backward. */
static void wl_activation(tg_graph *g, vec *o) {
    tg_tensor *x = param(g, SHAPE(R, C), -4, 4);
    tg_tensor *ys[] = {
        tg_relu(g, x),    tg_leaky_relu(g, x, 0.1f), tg_elu(g, x, 1),
        tg_gelu(g, x),    tg_softplus(g, x),         tg_sigmoid(g, x),
        tg_tanh(g, x),
    };
    push_and_backward_sum(g, o, ys, sizeof ys / sizeof ys[0]);
    push_grad(o, x);
}

/* Every reduction over every axis (TG_ALL), forward and backward. */
static void wl_reduce_all(tg_graph *g, vec *o) {
    tg_tensor *x = param(g, SHAPE(R, C), -1, 1);
    tg_tensor *ys[] = {
        tg_sum(g, x, TG_ALL, false), tg_mean(g, x, TG_ALL, false),
        tg_max(g, x, TG_ALL, false), tg_min(g, x, TG_ALL, true),
        tg_var(g, x, TG_ALL, false, 1),
    };
    tg_tensor *loss = NULL;
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
        push(o, ys[i]);
        tg_tensor *y = tg_reshape(g, ys[i], 0, NULL);
        loss = loss ? tg_add(g, loss, y) : y;
    }
    ck_assert_int_eq(tg_backward(g, loss), 0);
    push_grad(o, x);
}

/* Reductions over one axis: columns ([R,C] axis 0), rows (axis 1), long rows cut in
 * chunks ([4, R*C/4] axis 1) and many short columns ([R*C/4, 4] axis 0). */
static void wl_reduce_axis(tg_graph *g, vec *o) {
    tg_tensor *x = param(g, SHAPE(R, C), -1, 1);
    tg_tensor *w = param(g, SHAPE(4, R * C / 4), -1, 1);
    tg_tensor *h = param(g, SHAPE(R * C / 4, 4), -1, 1);
    tg_tensor *ys[] = {
        tg_sum(g, x, 0, false),     tg_sum(g, x, 1, true),       tg_mean(g, x, -1, false),
        tg_mean(g, x, 0, true),     tg_max(g, x, 1, false),      tg_min(g, x, 0, false),
        tg_var(g, x, 0, false, 1),  tg_var(g, x, -1, true, 0),   tg_sum(g, w, 1, false),
        tg_mean(g, w, -1, false),   tg_var(g, w, 1, false, 1),   tg_max(g, w, 1, false),
        tg_sum(g, h, 0, false),     tg_var(g, h, 0, false, 1),   tg_min(g, h, 0, true),
    };
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
        push(o, ys[i]);
        backward_from(g, ys[i]); /* leaf gradients accumulate over the passes */
    }
    push_grad(o, x), push_grad(o, w), push_grad(o, h);
}

/* Softmax and log-softmax along the last and the first axis. */
static void wl_softmax(tg_graph *g, vec *o) {
    tg_tensor *x = param(g, SHAPE(R, C), -5, 5);
    tg_tensor *ys[] = {tg_softmax(g, x, -1), tg_softmax(g, x, 0), tg_log_softmax(g, x, 1),
                       tg_log_softmax(g, x, 0)};
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
        push(o, ys[i]);
        backward_from(g, ys[i]);
    }
    push_grad(o, x);
}

/* Matrix products, 2-D and batched, forward and backward. */
static void wl_matmul(tg_graph *g, vec *o) {
    tg_tensor *a = param(g, SHAPE(MM, MM), -1, 1), *b = param(g, SHAPE(MM, MM), -1, 1);
    tg_tensor *p = param(g, SHAPE(8, MM / 2, MM), -1, 1);
    tg_tensor *q = param(g, SHAPE(8, MM, MM / 4), -1, 1);
    tg_tensor *y = tg_matmul(g, a, b), *z = tg_matmul(g, p, q);
    push(o, y), push(o, z);
    backward_from(g, y);
    backward_from(g, z);
    push_grad(o, a), push_grad(o, b), push_grad(o, p), push_grad(o, q);
}

/* The same with the portable kernel (BLAS is the default when the build has it). */
static void wl_matmul_portable(tg_graph *g, vec *o) {
    ck_assert(!tg_use_blas(false));
    wl_matmul(g, o);
    tg_use_blas(true);
}

/* A two-layer perceptron with a softmax cross-entropy-like loss, forward and
 * backward: every kind of op in one tape. */
static void wl_mlp(tg_graph *g, vec *o) {
    enum { D = 64, H = 128, K = 10 };
    tg_tensor *x = tg_rand(g, SHAPE(BATCH, D), -1, 1);
    tg_tensor *t = tg_rand(g, SHAPE(BATCH, K), 0, 1); /* soft targets */
    tg_tensor *w1 = param(g, SHAPE(D, H), -0.2f, 0.2f), *b1 = param(g, SHAPE(H), -0.1f, 0.1f);
    tg_tensor *w2 = param(g, SHAPE(H, K), -0.2f, 0.2f), *b2 = param(g, SHAPE(K), -0.1f, 0.1f);
    tg_tensor *h = tg_tanh(g, tg_add(g, tg_matmul(g, x, w1), b1));
    tg_tensor *z = tg_add(g, tg_matmul(g, tg_relu(g, h), w2), b2);
    tg_tensor *lp = tg_log_softmax(g, z, -1);
    tg_tensor *loss = tg_neg(g, tg_mean(g, tg_sum(g, tg_mul(g, lp, t), -1, false), TG_ALL, false));
    push(o, h), push(o, z), push(o, loss);
    ck_assert_msg(tg_backward(g, loss) == 0, "backward: %s", tg_graph_error(g));
    push_grad(o, w1), push_grad(o, b1), push_grad(o, w2), push_grad(o, b2);
}

static void wl_mlp_portable(tg_graph *g, vec *o) {
    ck_assert(!tg_use_blas(false));
    wl_mlp(g, o);
    tg_use_blas(true);
}

/* The same through BLAS even where the portable kernel is the default (a CPU with
 * AVX-512): strips fixed by the shape make BLAS's results thread-count independent
 * too. Without BLAS in the build this is the portable kernel again. */
static void wl_matmul_blas(tg_graph *g, vec *o) {
    tgk_gemm_choose(1);
    wl_matmul(g, o);
    tgk_gemm_choose(0);
}
static void wl_mlp_blas(tg_graph *g, vec *o) {
    tgk_gemm_choose(1);
    wl_mlp(g, o);
    tgk_gemm_choose(0);
}

typedef void (*workload_fn)(tg_graph *, vec *);
static const struct {
    const char *name;
    workload_fn fn;
    bool across; /* assert agreement across thread counts */
} workloads[] = {
    {"binary", wl_binary, true},
    {"unary", wl_unary, true},
    {"activation", wl_activation, true},
    {"reduce_all", wl_reduce_all, true},
    {"reduce_axis", wl_reduce_axis, true},
    {"softmax", wl_softmax, true},
    {"matmul", wl_matmul, true},
    {"matmul_portable", wl_matmul_portable, true},
    {"matmul_blas", wl_matmul_blas, true},
    {"mlp", wl_mlp, true},
    {"mlp_portable", wl_mlp_portable, true},
    {"mlp_blas", wl_mlp_blas, true},
};
#define NWORKLOADS ((int)(sizeof workloads / sizeof workloads[0]))

/* ---- the harness ----------------------------------------------------------------- */

static vec run(int w, int threads) {
    ck_assert_int_eq(tg_set_num_threads(threads), threads);
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    tg_seed(g, 1234);
    vec o = {0};
    workloads[w].fn(g, &o);
    ck_assert_msg(tg_graph_status(g) == TG_OK, "%s: %s", workloads[w].name, tg_graph_error(g));
    tg_graph_free(g);
    return o;
}

/* Number of elements that differ, and the largest difference relative to the value. */
static void compare(const vec *a, const vec *b, size_t *ndiff, double *worst) {
    *ndiff = 0;
    *worst = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (memcmp(&a->v[i], &b->v[i], sizeof a->v[i]) == 0) continue;
        (*ndiff)++;
        double d = fabs((double)a->v[i] - (double)b->v[i]) / fmax(fabs((double)a->v[i]), 1e-30);
        if (d > *worst || isnan(d)) *worst = d;
    }
}

static int omp_procs(void) {
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static int max_threads(void) {
#ifdef _OPENMP
    return 4;
#else
    return 1; /* without OpenMP every count is 1 */
#endif
}

START_TEST(test_bit_identical) {
    tg_set_adaptive_threads(false); /* every count for real, even on a busy machine */
    const char *name = workloads[_i].name;
    vec ref = {0};
    for (int threads = 1; threads <= max_threads(); threads *= 2) {
        vec r1 = run(_i, threads), r2 = run(_i, threads);
        ck_assert_msg(r1.n == r2.n && r1.n > 0, "%s: %zu vs %zu values", name, r1.n, r2.n);
        ck_assert_msg(memcmp(r1.v, r2.v, r1.n * sizeof *r1.v) == 0,
                      "%s: two runs with %d threads differ", name, threads);
        free(r2.v);
        if (threads == 1) {
            ref = r1;
            continue;
        }
        size_t ndiff;
        double worst;
        ck_assert_int_eq(r1.n, ref.n);
        compare(&ref, &r1, &ndiff, &worst);
        fflush(stdout);
        printf("threads: %-16s %d vs 1 thread: %s (%zu of %zu values differ, worst rel %.3g)\n",
               name, threads, ndiff ? "DIFFER" : "bit-identical", ndiff, ref.n, worst);
        if (workloads[_i].across)
            ck_assert_msg(ndiff == 0,
                          "%s: %d threads and 1 thread differ in %zu of %zu values (worst "
                          "relative difference %g)",
                          name, threads, ndiff, ref.n, worst);
        free(r1.v);
    }
    free(ref.v);
    tg_set_num_threads(0);
}
END_TEST

START_TEST(test_num_threads) {
    ck_assert_int_eq(tg_set_num_threads(1), 1);
    ck_assert_int_eq(tg_get_num_threads(), 1);
    const int all = tg_set_num_threads(0);
    ck_assert_int_ge(all, 1);
    ck_assert_int_eq(tg_get_num_threads(), all);
    ck_assert_int_eq(tg_set_num_threads(-1), all);
    ck_assert_int_eq(tg_get_num_threads(), all);
#ifdef _OPENMP
    ck_assert_int_eq(all, omp_get_num_procs()); /* n <= 0: every core */
    for (int n = 1; n <= 8; n++) {
        ck_assert_int_eq(tg_set_num_threads(n), n);
        ck_assert_int_eq(tg_get_num_threads(), n);
    }
#else
    ck_assert_int_eq(all, 1);
    ck_assert_int_eq(tg_set_num_threads(4), 1);
    ck_assert_int_eq(tg_get_num_threads(), 1);
#endif
    tg_set_num_threads(0);
}
END_TEST

/* An absurd count is capped to one the machine can run, and a large loop then works
 * (100000 threads used to crash the OpenMP runtime). */
START_TEST(test_absurd_thread_count) {
    const int n = tg_set_num_threads(INT_MAX);
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(n, 256 > omp_procs() ? 256 : omp_procs());
    ck_assert_int_eq(tg_get_num_threads(), n);
    ck_assert_int_eq(tg_set_num_threads(100000), n);
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_rand(g, SHAPE(1 << 17), -1, 1);
    tg_tensor *y = tg_sum(g, tg_exp(g, x), TG_ALL, false);
    ck_assert_ptr_nonnull(y);
    const tg_real got = tg_item(y);
    tg_set_num_threads(1);
    ck_assert(tg_item(tg_sum(g, tg_exp(g, x), TG_ALL, false)) == got);
    tg_graph_free(g);
    tg_set_num_threads(0);
}
END_TEST

/* A loop too small to split runs on the calling thread and gives the same result. */
START_TEST(test_small_is_same) {
    tg_graph *g = tg_graph_new();
    const int n = 1000;
    tg_real *ref = malloc((size_t)n * sizeof *ref);
    for (int threads = 1; threads <= max_threads(); threads *= 2) {
        tg_set_num_threads(threads);
        tg_graph_reset(g);
        tg_seed(g, 7);
        tg_tensor *x = tg_rand(g, SHAPE(n), -1, 1);
        tg_tensor *y = tg_exp(g, tg_add(g, x, x));
        ck_assert_ptr_nonnull(y);
        if (threads == 1)
            memcpy(ref, tg_data(y), (size_t)n * sizeof *ref);
        else
            ck_assert(memcmp(ref, tg_data(y), (size_t)n * sizeof *ref) == 0);
    }
    free(ref);
    tg_graph_free(g);
    tg_set_num_threads(0);
}
END_TEST

/* The adaptive count's decisions (settings.c), driven with made-up readings of the
 * clock and of the time the stepping thread spent waiting for a core. */
void tg__threads_observe(double now, double wait);
void tg__threads_adaptive_restart(void);

#define IN_USE(n) ck_assert_int_eq(tg_threads_in_use(), (n))

START_TEST(test_adaptive_pause_and_retry) {
    if (tg_set_num_threads(2) < 2) return; /* a build without OpenMP: nothing to adapt */
    ck_assert(tg_set_adaptive_threads(true));
    tg__threads_adaptive_restart();
    tg__threads_observe(100.00, 0);
    tg__threads_observe(100.05, 0.04); /* start-up (the first 0.15 s): not judged */
    tg__threads_observe(100.14, 0.11);
    IN_USE(2);
    tg__threads_observe(100.60, 0.11); /* a quiet window */
    tg__threads_observe(100.63, 0.21); /* waited a third of 30 ms: one busy window */
    IN_USE(2);
    tg__threads_observe(100.66, 0.22); /* two in a row: a pause of 0.25 s */
    IN_USE(1);
    ck_assert_int_eq(tg_get_num_threads(), 2); /* the setting itself is untouched */
    tg__threads_observe(100.90, 0.30);
    IN_USE(1);
    tg__threads_observe(100.92, 0.30); /* over: the threads are tried again */
    IN_USE(2);
    tg__threads_observe(100.95, 0.315); /* still busy: after a pause one window is enough, */
    IN_USE(1);                          /* and the pause is twice as long */
    tg__threads_observe(101.44, 0.40);
    IN_USE(1);
    tg__threads_observe(101.46, 0.40);
    IN_USE(2);
    tg__threads_observe(101.57, 0.401); /* a quiet window: the pause length starts over */
    tg__threads_observe(101.60, 0.411); /* one busy window, then a quiet one: no pause */
    tg__threads_observe(101.72, 0.412);
    IN_USE(2);
    tg__threads_observe(101.75, 0.422); /* busy twice: the pause is 0.25 s again */
    tg__threads_observe(101.78, 0.432);
    IN_USE(1);
    tg__threads_observe(102.02, 0.432);
    IN_USE(1);
    tg__threads_observe(102.04, 0.432);
    IN_USE(2);
    tg__threads_observe(102.07, 0.432); /* quiet again */
    tg__threads_observe(102.18, 0.432);
    /* waiting a fifth of the time, for ten seconds: below the mark, never a pause */
    double t = 102.18, w = 0.432;
    for (int k = 0; k < 1000; k++) {
        tg__threads_observe(t += 0.01, w += 0.002);
        IN_USE(2);
    }
    /* under a lasting load the pause doubles up to 8 s */
    tg__threads_observe(t += 0.2, w);
    for (int k = 0; k < 8; k++) {
        if (k == 0) tg__threads_observe(t += 0.03, w += 0.015); /* the first needs two */
        tg__threads_observe(t += 0.03, w += 0.015);
        IN_USE(1);
        const double pause = k < 5 ? 0.25 * (1 << k) : 8.0;
        tg__threads_observe(t + pause - 0.01, w);
        ck_assert_msg(tg_threads_in_use() == 1, "pause %d shorter than %g s", k, pause);
        tg__threads_observe(t += pause + 0.01, w);
        ck_assert_msg(tg_threads_in_use() == 2, "pause %d longer than %g s", k, pause);
    }
    /* one thread set: nothing to pause */
    tg_set_num_threads(1);
    tg__threads_observe(t += 0.03, w += 0.03);
    tg__threads_observe(t += 0.03, w += 0.03);
    IN_USE(1);
    ck_assert_int_eq(tg_set_num_threads(2), 2);
    IN_USE(2);
    /* adaptive threads off: never a pause */
    ck_assert(tg_set_adaptive_threads(false));
    for (int k = 0; k < 100; k++) tg__threads_observe(t += 0.03, w += 0.03);
    IN_USE(2);
    ck_assert(!tg_set_adaptive_threads(true));
    tg_set_num_threads(0);
}
END_TEST

/* A real pause, and what is computed in it. The samples are made up, timed half a
 * minute ahead of the real clock, so the real samples that the workloads' resets take
 * cannot end the pause; every workload then runs on one thread while two are set, and
 * must give the bits of two threads without adapting. */
START_TEST(test_adaptive_changes_no_result) {
    if (tg_set_num_threads(2) < 2) return; /* a build without OpenMP: nothing to adapt */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const double t = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec + 30;
    for (int w = 0; w < NWORKLOADS; w++) {
        tg_set_adaptive_threads(false);
        vec off = run(w, 2);
        ck_assert(!tg_set_adaptive_threads(true));
        tg__threads_adaptive_restart();
        tg__threads_observe(t, 0);
        tg__threads_observe(t + 0.20, 0);    /* past the start-up grace, quiet */
        tg__threads_observe(t + 0.23, 0.015); /* busy */
        tg__threads_observe(t + 0.26, 0.030); /* busy again: a pause */
        IN_USE(1);
        vec on = run(w, 2);
        IN_USE(1); /* still in the pause */
        ck_assert_msg(off.n == on.n && memcmp(off.v, on.v, off.n * sizeof *off.v) == 0,
                      "%s: the paused run differs from two threads", workloads[w].name);
        free(off.v);
        free(on.v);
    }
    tg__threads_adaptive_restart();
    tg_set_num_threads(0);
}
END_TEST

static Suite *threads_suite(void) {
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, test_num_threads);
    tcase_add_test(tc, test_small_is_same);
    tcase_add_test(tc, test_absurd_thread_count);
    tcase_add_test(tc, test_adaptive_pause_and_retry);
    tcase_add_test(tc, test_adaptive_changes_no_result);
    suite_add_tcase(s, tc);
    tc = tcase_create("determinism");
    tcase_add_loop_test(tc, test_bit_identical, 0, NWORKLOADS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    choose_sizes();
    printf("threads: sizes %s: R=%d C=%d matmul=%d batch=%d\n", small_sizes() ? "small" : "large",
           R, C, MM, BATCH);
    return tg_test_run(threads_suite());
}
