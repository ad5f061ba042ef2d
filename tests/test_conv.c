/* tests/test_conv.c: convolution and pooling.
 *
 * conv2d and conv1d against a direct (naive) convolution computed here in double, on
 * many random configurations (stride, padding, dilation, groups, bias, odd sizes):
 * forward values and the gradients of sum(y * dy) for a random dy, on every kernel
 * path: the AVX-512 kernel (where the machine has it), BLAS, the portable kernel.
 * Larger cases cross sample blocks, take the 1x1 path and split across threads
 * (bit-identical for any thread count). The products themselves are checked on
 * segmented matrices. Pooling: values, the argmax (first on ties, NaN wins),
 * padding, gradients. PyTorch golden values (tests/reference/conv.py). Errors. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad.h>

#include "kernels/im2col.h"

#include "tg_rng.h"
#include "tg_test.h"

#define EPS (TG_PRECISION_DOUBLE ? DBL_EPSILON : FLT_EPSILON)


/* ---- helpers ----------------------------------------------------------------------- */

static int64_t prod(int n, const int *s) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= s[i];
    return p;
}

/* got vs want, whose terms summed to mag in absolute value: any summation order, with
 * or without FMA, stays within a few (terms + 8) eps * mag. */
static bool close_to(double got, double want, double mag, int64_t terms) {
    return fabs(got - want) <= 4.0 * (double)(terms + 8) * EPS * mag + 1e-300;
}

/* ---- the direct convolution, in double --------------------------------------------- */

typedef struct cfg {
    int N, C, H, W, O, KH, KW, sh, sw, ph, pw, dh, dw, G;
    bool bias, one_d;
} cfg;

static int out_size(int n, int k, int s, int p, int d) {
    const int num = n + 2 * p - d * (k - 1) - 1;
    return num < 0 ? 0 : num / s + 1;
}
static int oh_of(const cfg *c) { return out_size(c->H, c->KH, c->sh, c->ph, c->dh); }
static int ow_of(const cfg *c) { return out_size(c->W, c->KW, c->sw, c->pw, c->dw); }

/* Applies f to every term w[o,ci,kh,kw] * x[n,c,ih,iw] of output (n,o,oh,ow). */
#define FOR_TERMS(c, BODY)                                                                         \
    do {                                                                                           \
        const int OH_ = oh_of(c), OW_ = ow_of(c), Cg_ = (c)->C / (c)->G, Og_ = (c)->O / (c)->G;    \
        for (int n = 0; n < (c)->N; n++)                                                           \
            for (int o = 0; o < (c)->O; o++)                                                       \
                for (int oh = 0; oh < OH_; oh++)                                                   \
                    for (int ow = 0; ow < OW_; ow++) {                                             \
                        const int64_t yi = (((int64_t)n * (c)->O + o) * OH_ + oh) * OW_ + ow;      \
                        for (int ci = 0; ci < Cg_; ci++)                                           \
                            for (int kh = 0; kh < (c)->KH; kh++)                                   \
                                for (int kw = 0; kw < (c)->KW; kw++) {                             \
                                    const int ih = oh * (c)->sh - (c)->ph + kh * (c)->dh;          \
                                    const int iw = ow * (c)->sw - (c)->pw + kw * (c)->dw;          \
                                    if (ih < 0 || ih >= (c)->H || iw < 0 || iw >= (c)->W)          \
                                        continue;                                                  \
                                    const int ch = o / Og_ * Cg_ + ci;                             \
                                    const int64_t xi =                                             \
                                        (((int64_t)n * (c)->C + ch) * (c)->H + ih) * (c)->W + iw;  \
                                    const int64_t wi =                                             \
                                        (((int64_t)o * Cg_ + ci) * (c)->KH + kh) * (c)->KW + kw;   \
                                    BODY                                                           \
                                }                                                                  \
                    }                                                                              \
    } while (0)

typedef struct ref {
    double *y, *ym, *dx, *dxm, *dw, *dwm, *db, *dbm;
} ref;

static ref reference(const cfg *c, const tg_real *x, const tg_real *w, const tg_real *b,
                     const tg_real *dy) {
    const int64_t ny = (int64_t)c->N * c->O * oh_of(c) * ow_of(c),
                  nx = (int64_t)c->N * c->C * c->H * c->W;
    const int64_t nw = (int64_t)c->O * (c->C / c->G) * c->KH * c->KW;
    ref r;
    r.y = calloc((size_t)ny + 1, sizeof(double)), r.ym = calloc((size_t)ny + 1, sizeof(double));
    r.dx = calloc((size_t)nx + 1, sizeof(double)), r.dxm = calloc((size_t)nx + 1, sizeof(double));
    r.dw = calloc((size_t)nw + 1, sizeof(double)), r.dwm = calloc((size_t)nw + 1, sizeof(double));
    r.db = calloc((size_t)c->O + 1, sizeof(double)),
    r.dbm = calloc((size_t)c->O + 1, sizeof(double));
    FOR_TERMS(c, {
        const double t = (double)w[wi] * x[xi];
        r.y[yi] += t;
        r.ym[yi] += fabs(t);
        r.dx[xi] += (double)w[wi] * dy[yi];
        r.dxm[xi] += fabs((double)w[wi] * dy[yi]);
        r.dw[wi] += (double)x[xi] * dy[yi];
        r.dwm[wi] += fabs((double)x[xi] * dy[yi]);
    });
    const int64_t P = (int64_t)oh_of(c) * ow_of(c);
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->O; o++)
            for (int64_t p = 0; p < P; p++) {
                const int64_t yi = ((int64_t)n * c->O + o) * P + p;
                if (b) {
                    r.y[yi] += b[o];
                    r.ym[yi] += fabs(b[o]);
                }
                r.db[o] += dy[yi];
                r.dbm[o] += fabs(dy[yi]);
            }
    return r;
}
static void ref_free(ref *r) {
    free(r->y), free(r->ym), free(r->dx), free(r->dxm), free(r->dw), free(r->dwm);
    free(r->db), free(r->dbm);
}

/* The kernel paths: 0 the AVX-512 kernel (where the machine has one), 1 BLAS (where the
 * build has it), 2 the portable kernel. */
static int cur_path = 0;
static void use_path(int path) {
    cur_path = path;
    tgk_conv_fast_enable(path == 0);
    tg_use_blas(path == 1);
}
static void restore_paths(void) {
    cur_path = 0;
    tgk_conv_fast_enable(true);
    tg_use_blas(true);
}
static const char *path_name(int path) {
    return path == 0 ? "fast kernel" : path == 1 ? "BLAS" : "portable kernel";
}

static void cfg_str(const cfg *c, char *buf, size_t size) {
    snprintf(
        buf, size,
        "%s x [%d,%d,%d,%d] w [%d,%d,%d,%d] stride [%d,%d] pad [%d,%d] dil [%d,%d] groups %d%s "
        "(%s)",
        c->one_d ? "conv1d" : "conv2d", c->N, c->C, c->H, c->W, c->O, c->C / c->G, c->KH, c->KW,
        c->sh, c->sw, c->ph, c->pw, c->dh, c->dw, c->G, c->bias ? " bias" : "",
        path_name(cur_path));
}

static void compare(const char *what, const char *desc, const tg_real *got, const double *want,
                    const double *mag, int64_t n, int64_t terms) {
    for (int64_t i = 0; i < n; i++)
        CHECK(close_to(got[i], want[i], mag[i], terms), "%s: %s[%lld] = %.9g, want %.9g", desc,
              what, (long long)i, (double)got[i], want[i]);
}

/* Runs one configuration through the library and checks y, dx, dw and db; with twice,
 * also that a second backward pass adds the same gradients again. */
static void check_cfg(const cfg *c, uint64_t seed, bool twice) {
    rng_seed(seed);
    char desc[256];
    cfg_str(c, desc, sizeof desc);
    const int OH = oh_of(c), OW = ow_of(c), Cg = c->C / c->G;
    int xs[4] = {c->N, c->C, c->H, c->W}, ws[4] = {c->O, Cg, c->KH, c->KW};
    if (c->one_d) xs[2] = c->W, ws[2] = c->KW;
    const int nd = c->one_d ? 3 : 4;
    const int64_t nx = prod(4, (int[]){c->N, c->C, c->H, c->W});
    const int64_t nw = prod(4, (int[]){c->O, Cg, c->KH, c->KW});
    const int64_t ny = (int64_t)c->N * c->O * OH * OW;
    tg_real *x = rand_array(nx), *w = rand_array(nw), *b = rand_array(c->O), *dy = rand_array(ny);
    ref r = reference(c, x, w, c->bias ? b : NULL, dy);

    tg_graph *g = tg_graph_new();
    tg_tensor *tx = tg_tensor_from(g, nd, xs, x), *tw = tg_tensor_from(g, nd, ws, w);
    tg_tensor *tb = c->bias ? tg_tensor_from(g, 1, &c->O, b) : NULL;
    tg_set_requires_grad(tx, true);
    tg_set_requires_grad(tw, true);
    if (tb) tg_set_requires_grad(tb, true);
    tg_conv_opts o = {{c->sh, c->sw}, {c->ph, c->pw}, {c->dh, c->dw}, c->G};
    if (c->one_d) o = (tg_conv_opts){{c->sw, 0}, {c->pw, 0}, {c->dw, 0}, c->G};
    /* with twice, the input is an intermediate, -(-x): on the second pass its gradient
     * buffer is stale, and the rule may store into it instead of adding */
    tg_tensor *xin = twice ? tg_neg(g, tg_neg(g, tx)) : tx;
    tg_tensor *y = c->one_d ? tg_conv1d(g, xin, tw, tb, &o) : tg_conv2d(g, xin, tw, tb, &o);
    CHECK(y != NULL, "%s: %s", desc, tg_graph_error(g));
    CHECK(tg_ndim(y) == nd, "%s: ndim %d", desc, tg_ndim(y));
    CHECK(tg_numel(y) == ny, "%s: numel %lld, want %lld", desc, (long long)tg_numel(y),
          (long long)ny);
    const int64_t terms = (int64_t)Cg * c->KH * c->KW + 1;
    compare("y", desc, tg_data(y), r.y, r.ym, ny, terms);
    CHECK(tg_backward_from(g, y, dy) == 0, "%s: backward: %s", desc, tg_graph_error(g));
    const int64_t positions = (int64_t)c->N * OH * OW;
    if (nx > 0) compare("dx", desc, tg_grad(tx), r.dx, r.dxm, nx, c->O / c->G * c->KH * c->KW);
    if (nw > 0) compare("dw", desc, tg_grad(tw), r.dw, r.dwm, nw, positions);
    if (tb) compare("db", desc, tg_grad(tb), r.db, r.dbm, c->O, positions);
    if (twice) { /* gradients accumulate: a second pass doubles them */
        CHECK(tg_backward_from(g, y, dy) == 0, "%s: backward: %s", desc, tg_graph_error(g));
        double *v[6] = {r.dx, r.dxm, r.dw, r.dwm, r.db, r.dbm};
        const int64_t n[6] = {nx, nx, nw, nw, c->O, c->O};
        for (int k = 0; k < 6; k++)
            for (int64_t i = 0; i < n[k]; i++) v[k][i] *= 2;
        if (nx > 0)
            compare("dx (twice)", desc, tg_grad(tx), r.dx, r.dxm, nx,
                    2 * c->O / c->G * c->KH * c->KW);
        if (nw > 0) compare("dw (twice)", desc, tg_grad(tw), r.dw, r.dwm, nw, 2 * positions);
        if (tb) compare("db (twice)", desc, tg_grad(tb), r.db, r.dbm, c->O, 2 * positions);
    }
    tg_graph_free(g);
    ref_free(&r);
    free(x), free(w), free(b), free(dy);
}

/* A random configuration with an output of at least one element. */
static cfg random_cfg(bool one_d) {
    for (;;) {
        cfg c;
        c.one_d = one_d;
        c.G = rng_int(1, 3);
        c.C = c.G * rng_int(1, 3);
        c.O = c.G * rng_int(1, 3);
        c.N = rng_int(1, 3);
        c.H = one_d ? 1 : rng_int(1, 9);
        c.W = rng_int(1, 11);
        c.KH = one_d ? 1 : rng_int(1, 4);
        c.KW = rng_int(1, 4);
        c.sh = one_d ? 1 : rng_int(1, 3);
        c.sw = rng_int(1, 3);
        c.ph = one_d ? 0 : rng_int(0, 2);
        c.pw = rng_int(0, 2);
        c.dh = one_d ? 1 : rng_int(1, 2);
        c.dw = rng_int(1, 2);
        c.bias = rng_next() & 1;
        if (oh_of(&c) > 0 && ow_of(&c) > 0) return c;
    }
}

START_TEST(conv2d_random_configs_match_direct) {
    use_path(_i);
    rng_seed(1000 + (uint64_t)_i);
    for (int k = 0; k < 60; k++) {
        rng_seed(7777 * (uint64_t)k + 13);
        const cfg c = random_cfg(false);
        check_cfg(&c, 99 + (uint64_t)k, k % 4 == 0);
    }
    restore_paths();
}
END_TEST

START_TEST(conv1d_random_configs_match_direct) {
    use_path(_i);
    for (int k = 0; k < 40; k++) {
        rng_seed(5555 * (uint64_t)k + 7);
        const cfg c = random_cfg(true);
        check_cfg(&c, 199 + (uint64_t)k, k % 4 == 0);
    }
    restore_paths();
}
END_TEST

/* Named shapes: the fashion_cnn layers (smaller batch), several sample blocks, the 1x1
 * path, depthwise, wide strides, a kernel as large as the padded input. */
static const cfg named[] = {
    /* N  C  H   W   O  KH KW sh sw ph pw dh dw G  bias 1d */
    {3, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},
    {2, 8, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},
    {5, 16, 20, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, false}, /* two sample blocks */
    {3, 12, 7, 9, 10, 1, 1, 1, 1, 0, 0, 1, 1, 2, true, false},   /* 1x1: no columns */
    {2, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, true, false},     /* depthwise */
    {2, 4, 11, 13, 5, 5, 3, 3, 2, 2, 1, 1, 2, 1, true, false},
    {2, 3, 4, 4, 2, 6, 6, 1, 1, 1, 1, 1, 1, 1, true, false}, /* kernel = padded input */
    {1, 2, 1, 37, 3, 1, 4, 1, 3, 0, 2, 1, 1, 1, true, true}, /* conv1d, long */
    {4, 3, 1, 1, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, false}, /* 1x1 image */
    /* one input channel: dw as dy @ col^T with db in the same pass (dot products when
     * the rows are long) */
    {2, 1, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},
    {4, 1, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},
    /* Winograd forward, columns backward (3x3, stride 1, Cg Og / (Cg + Og) >= 8) */
    {2, 16, 7, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},
    {3, 16, 5, 8, 24, 3, 3, 1, 1, 0, 2, 1, 1, 1, true, false},
    {2, 32, 6, 5, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2, false, false},
    {7, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false}, /* two blocks */
    /* Winograd both ways (>= 12) */
    {2, 24, 6, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},
    {2, 32, 5, 5, 32, 3, 3, 1, 1, 0, 2, 1, 1, 1, true, false},
    {1, 24, 4, 4, 24, 3, 3, 1, 1, 3, 3, 1, 1, 1, true, false},    /* dx by the columns */
    {2, 64, 6, 6, 48, 3, 3, 1, 1, 1, 1, 1, 1, 2, true, false},    /* groups */
    {6, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 2, false, false}, /* two blocks, groups */
    {1, 24, 5, 20, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},   /* wide: a tile row a vector */
    {1, 24, 4, 16, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},   /* 8 tiles a row */
};

START_TEST(conv_named_shapes_match_direct) {
    use_path(_i);
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) check_cfg(&named[k], 31 + k, true);
    restore_paths();
}
END_TEST

/* Output, gradients and every bit of them agree for 1, 2 and 3 threads. */
START_TEST(conv_is_bit_identical_across_thread_counts) {
    /* the columns way, then Winograd */
    const cfg c = _i == 0 ? (cfg){5, 16, 20, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false}
                          : (cfg){5, 32, 12, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false};
    const int xs[4] = {c.N, c.C, c.H, c.W}, ws[4] = {c.O, c.C, c.KH, c.KW};
    rng_seed(4242);
    const int64_t nx = prod(4, xs), nw = prod(4, ws), ny = (int64_t)c.N * c.O * c.H * c.W;
    tg_real *x = rand_array(nx), *w = rand_array(nw), *b = rand_array(c.O), *dy = rand_array(ny);
    tg_real *keep[4] = {NULL};
    const int before = tg_get_num_threads();
    for (int t = 1; t <= 3; t++) {
        tg_set_num_threads(t);
        tg_graph *g = tg_graph_new();
        tg_tensor *tx = tg_tensor_from(g, 4, xs, x), *tw = tg_tensor_from(g, 4, ws, w);
        tg_tensor *tb = tg_tensor_from(g, 1, &c.O, b);
        tg_set_requires_grad(tx, true);
        tg_set_requires_grad(tw, true);
        tg_set_requires_grad(tb, true);
        const tg_conv_opts o = {{1, 1}, {1, 1}, {1, 1}, 1};
        tg_tensor *y = tg_conv2d(g, tx, tw, tb, &o);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(tg_backward_from(g, y, dy), 0);
        const tg_real *parts[4] = {tg_data(y), tg_grad(tx), tg_grad(tw), tg_grad(tb)};
        const int64_t sizes[4] = {ny, nx, nw, c.O};
        for (int k = 0; k < 4; k++) {
            if (t == 1) {
                keep[k] = malloc((size_t)sizes[k] * sizeof(tg_real));
                memcpy(keep[k], parts[k], (size_t)sizes[k] * sizeof(tg_real));
            } else {
                ck_assert_msg(!memcmp(keep[k], parts[k], (size_t)sizes[k] * sizeof(tg_real)),
                              "part %d differs between 1 and %d threads", k, t);
            }
        }
        tg_graph_free(g);
    }
    tg_set_num_threads(before);
    for (int k = 0; k < 4; k++) free(keep[k]);
    free(x), free(w), free(b), free(dy);
}
END_TEST

/* Only the inputs that require gradients get one; a conv in no-grad mode records
 * nothing; an empty batch works. */
START_TEST(conv_gradient_flags_and_empty_batch) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_randn(g, 4, (int[]){2, 3, 5, 5}, 0, 1);
    tg_tensor *w = tg_randn(g, 4, (int[]){4, 3, 3, 3}, 0, 1);
    tg_tensor *b = tg_randn(g, 1, (int[]){4}, 0, 1);
    tg_set_requires_grad(w, true);
    tg_tensor *y = tg_conv2d(g, x, w, b, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_shape(y)[2], 3);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y, TG_ALL, false)), 0);
    ck_assert_ptr_null(tg_grad(x));
    ck_assert_ptr_null(tg_grad(b));
    ck_assert_ptr_nonnull(tg_grad(w));
    /* no-grad mode */
    tg_graph_set_grad_enabled(g, false);
    tg_tensor *y2 = tg_conv2d(g, x, w, NULL, NULL);
    ck_assert_ptr_nonnull(y2);
    ck_assert(!tg_requires_grad(y2));
    tg_graph_set_grad_enabled(g, true);
    /* an empty batch: an empty output, and backward through it gives zero gradients */
    tg_tensor *e = tg_tensor_new(g, 4, (int[]){0, 3, 5, 5});
    tg_set_requires_grad(e, true);
    tg_tensor *ye = tg_conv2d(g, e, w, b, &(tg_conv_opts){{0, 0}, {1, 1}, {0, 0}, 0});
    ck_assert_ptr_nonnull(ye);
    ck_assert_int_eq(tg_numel(ye), 0);
    ck_assert_int_eq(tg_shape(ye)[1], 4);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, ye, TG_ALL, false)), 0);
    tg_graph_free(g);
}
END_TEST

/* ---- the products on segmented matrices -------------------------------------------- */

/* element (i, j) of a segmented matrix */
static tg_real *at(tg_real *p, int64_t ld, int64_t seg, int64_t sstride, int64_t i, int64_t j) {
    return p + i * ld + j / seg * sstride + j % seg;
}

START_TEST(products_on_segmented_matrices) {
    tgk_conv_fast_enable(_i == 0);
    tg_use_blas(_i == 1);
    rng_seed(77);
    const int shapes[][4] = {/* M, N, K, seg */
                             {8, 64, 16, 32},  {9, 50, 7, 10},   {17, 33, 300, 11}, {5, 7, 3, 1},
                             {24, 96, 40, 96}, {3, 40, 520, 40}, {1, 1, 1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], seg = shapes[s][3];
        const int nseg = (N + seg - 1) / seg;
        for (int variant = 0; variant < 4; variant++) {
            const bool ta = variant & 1, add = variant & 2;
            /* tgk_conv_mm: B [K, N] and C [M, N] segmented along N with gaps */
            const int64_t bss = (int64_t)K * seg + 3, css = (int64_t)M * seg + 5;
            tg_real *A = rand_array((int64_t)M * K), *B = rand_array(bss * nseg);
            tg_real *C = rand_array(css * nseg), *C0 = malloc((size_t)(css * nseg) * sizeof *C0);
            tg_real *bias = rand_array(M);
            memcpy(C0, C, (size_t)(css * nseg) * sizeof *C0);
            tgk_conv_mm(ta, M, N, K, A, ta ? M : K, (tgk_csmat){B, seg, seg, bss},
                        (tgk_smat){C, seg, seg, css}, add, add ? NULL : bias, 2);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double v = add ? *at(C0, seg, seg, css, i, j) : bias[i], m = fabs(v);
                    for (int p = 0; p < K; p++) {
                        const double a = ta ? A[(int64_t)p * M + i] : A[(int64_t)i * K + p];
                        const double t = a * *at(B, seg, seg, bss, p, j);
                        v += t;
                        m += fabs(t);
                    }
                    const double got = *at(C, seg, seg, css, i, j);
                    CHECK(close_to(got, v, m, K),
                          "mm M%d N%d K%d seg %d ta %d add %d: C[%d][%d] = %g, want %g", M, N, K,
                          seg, ta, add, i, j, got, v);
                }
            /* the gaps between segments are untouched */
            for (int64_t q = 0; q < css * nseg; q++)
                if (q % css >= (int64_t)M * seg) CHECK(C[q] == C0[q], "mm wrote into a gap");
            free(A), free(B), free(C), free(C0), free(bias);
        }
        /* tgk_conv_mm_nt: C[M, K'] += A[M, N] @ B[K', N]^T, the reduction N segmented */
        const int R = N, Mo = M, No = K % 37 + 1;
        const int64_t ass = (int64_t)Mo * seg + 2, bss = (int64_t)No * seg + 1;
        tg_real *A = rand_array(ass * nseg), *B = rand_array(bss * nseg);
        tg_real *C = rand_array((int64_t)Mo * No), *C0 = malloc((size_t)Mo * No * sizeof *C0);
        memcpy(C0, C, (size_t)Mo * No * sizeof *C0);
        double *asum = calloc((size_t)Mo, sizeof *asum);
        tgk_conv_mm_nt(Mo, No, R, (tgk_csmat){A, seg, seg, ass}, (tgk_csmat){B, seg, seg, bss}, C,
                       No, asum, 2);
        for (int i = 0; i < Mo; i++)
            for (int j = 0; j < No; j++) {
                double v = C0[i * No + j], m = fabs(v);
                for (int p = 0; p < R; p++) {
                    const double t =
                        (double)*at(A, seg, seg, ass, i, p) * *at(B, seg, seg, bss, j, p);
                    v += t;
                    m += fabs(t);
                }
                CHECK(close_to(C[i * No + j], v, m, R),
                      "mm_nt M%d N%d K%d seg %d: C[%d][%d] = %g, want %g", Mo, No, R, seg, i, j,
                      (double)C[i * No + j], v);
            }
        for (int i = 0; i < Mo; i++) { /* and the row sums of A */
            double v = 0, m = 0;
            for (int p = 0; p < R; p++)
                v += *at(A, seg, seg, ass, i, p), m += fabs(*at(A, seg, seg, ass, i, p));
            CHECK(close_to(asum[i], v, m, R), "mm_nt row sum %d = %g, want %g", i, asum[i], v);
        }
        free(A), free(B), free(C), free(C0), free(asum);
    }
    restore_paths();
}
END_TEST

/* ---- pooling ------------------------------------------------------------------------ */

typedef struct pcfg {
    int N, C, H, W, KH, KW, sh, sw, ph, pw; /* stride as given (0 = kernel) */
} pcfg;

static void pool_ref(const pcfg *p, const tg_real *x, bool max, double *y, int64_t *arg, int *OHp,
                     int *OWp) {
    const int sh = p->sh ? p->sh : p->KH, sw = p->sw ? p->sw : p->KW;
    const int OH = (p->H + 2 * p->ph - p->KH) / sh + 1, OW = (p->W + 2 * p->pw - p->KW) / sw + 1;
    *OHp = OH, *OWp = OW;
    for (int pl = 0; pl < p->N * p->C; pl++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                double best = -INFINITY, sum = 0;
                int64_t bi = -1;
                for (int kh = 0; kh < p->KH; kh++)
                    for (int kw = 0; kw < p->KW; kw++) {
                        const int ih = oh * sh - p->ph + kh, iw = ow * sw - p->pw + kw;
                        if (ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) continue;
                        const int64_t xi = ((int64_t)pl * p->H + ih) * p->W + iw;
                        sum += x[xi];
                        if (bi < 0 || x[xi] > best) best = x[xi], bi = xi;
                    }
                const int64_t yi = ((int64_t)pl * OH + oh) * OW + ow;
                y[yi] = max ? best : sum / (p->KH * p->KW);
                if (arg) arg[yi] = bi;
            }
}

static tg_tensor *run_pool(tg_graph *g, tg_tensor *x, const pcfg *p, bool max) {
    const tg_pool_opts o = {{p->KH, p->KW}, {p->sh, p->sw}, {p->ph, p->pw}};
    return max ? tg_max_pool2d(g, x, &o) : tg_avg_pool2d(g, x, &o);
}

START_TEST(pools_match_direct) {
    const bool max = _i == 0;
    for (int k = 0; k < 60; k++) {
        rng_seed(313 * (uint64_t)k + (uint64_t)_i);
        pcfg p;
        do {
            p = (pcfg){rng_int(1, 2),
                       rng_int(1, 3),
                       rng_int(1, 9),
                       rng_int(1, 9),
                       rng_int(1, 4),
                       rng_int(1, 4),
                       rng_int(0, 3),
                       rng_int(0, 3),
                       0,
                       0};
            p.ph = rng_int(0, p.KH / 2), p.pw = rng_int(0, p.KW / 2);
        } while (p.H + 2 * p.ph < p.KH || p.W + 2 * p.pw < p.KW);
        const int xs[4] = {p.N, p.C, p.H, p.W};
        const int64_t nx = prod(4, xs);
        tg_real *x = rand_array(nx); /* random reals: ties have probability 0 */
        double *y = malloc((size_t)nx * 4 * sizeof *y + 8);
        int64_t *arg = malloc((size_t)nx * 4 * sizeof *arg + 8);
        int OH, OW;
        pool_ref(&p, x, max, y, arg, &OH, &OW);
        const int64_t ny = (int64_t)p.N * p.C * OH * OW;
        tg_real *dy = rand_array(ny);
        tg_graph *g = tg_graph_new();
        tg_tensor *tx = tg_tensor_from(g, 4, xs, x);
        tg_set_requires_grad(tx, true);
        tg_tensor *ty = run_pool(g, tx, &p, max);
        CHECK(ty != NULL, "pool %d: %s", k, tg_graph_error(g));
        CHECK(tg_shape(ty)[2] == OH && tg_shape(ty)[3] == OW, "pool %d: shape", k);
        for (int64_t i = 0; i < ny; i++)
            CHECK(close_to(tg_data(ty)[i], y[i], fabs(y[i]) * 9, 9),
                  "pool %d: y[%lld] = %g, want %g", k, (long long)i, (double)tg_data(ty)[i], y[i]);
        ck_assert_int_eq(tg_backward_from(g, ty, dy), 0);
        /* the gradient: dy to the argmax, or dy / (KH KW) to every element in the window */
        double *dx = calloc((size_t)nx, sizeof *dx);
        const int sh = p.sh ? p.sh : p.KH, sw = p.sw ? p.sw : p.KW;
        for (int pl = 0; pl < p.N * p.C; pl++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    const int64_t yi = ((int64_t)pl * OH + oh) * OW + ow;
                    if (max) {
                        dx[arg[yi]] += dy[yi];
                        continue;
                    }
                    for (int kh = 0; kh < p.KH; kh++)
                        for (int kw = 0; kw < p.KW; kw++) {
                            const int ih = oh * sh - p.ph + kh, iw = ow * sw - p.pw + kw;
                            if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W)
                                dx[((int64_t)pl * p.H + ih) * p.W + iw] +=
                                    (double)dy[yi] / (p.KH * p.KW);
                        }
                }
        for (int64_t i = 0; i < nx; i++)
            CHECK(close_to(tg_grad(tx)[i], dx[i], fabs(dx[i]) + 4, 16),
                  "pool %d: dx[%lld] = %g, want %g", k, (long long)i, (double)tg_grad(tx)[i],
                  dx[i]);
        tg_graph_free(g);
        free(x), free(y), free(arg), free(dy), free(dx);
    }
}
END_TEST

START_TEST(max_pool_ties_nan_and_infinities) {
    tg_graph *g = tg_graph_new();
    /* one 2x2 window of equal values: the gradient goes to the first */
    const tg_real eq[] = {3, 3, 3, 3};
    tg_tensor *x = tg_tensor_from(g, 4, (int[]){1, 1, 2, 2}, eq);
    tg_set_requires_grad(x, true);
    const tg_pool_opts o2 = {{2, 2}, {0, 0}, {0, 0}};
    tg_tensor *y = tg_max_pool2d(g, x, &o2);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y, TG_ALL, false)), 0);
    ck_assert(tg_grad(x)[0] == 1 && tg_grad(x)[1] == 0 && tg_grad(x)[2] == 0 && tg_grad(x)[3] == 0);
    /* a tie between the second and the fourth: the second (row-major) wins */
    const tg_real tie[] = {1, 5, 2, 5};
    tg_tensor *x2 = tg_tensor_from(g, 4, (int[]){1, 1, 2, 2}, tie);
    tg_set_requires_grad(x2, true);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_max_pool2d(g, x2, &o2), TG_ALL, false)), 0);
    ck_assert(tg_grad(x2)[1] == 1 && tg_grad(x2)[3] == 0);
    /* NaN is the maximum (the last NaN, as PyTorch), and -inf everywhere keeps the first */
    const tg_real odd[] = {1, NAN, 2, NAN, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    tg_tensor *x3 = tg_tensor_from(g, 4, (int[]){2, 1, 2, 2}, odd);
    tg_set_requires_grad(x3, true);
    tg_tensor *y3 = tg_max_pool2d(g, x3, &o2);
    ck_assert(isnan(tg_data(y3)[0]));
    ck_assert(isinf(tg_data(y3)[1]) && tg_data(y3)[1] < 0);
    ck_assert_int_eq(tg_backward_from(g, y3, (tg_real[]){1, 1}), 0);
    ck_assert(tg_grad(x3)[3] == 1 && tg_grad(x3)[1] == 0 && tg_grad(x3)[4] == 1);
    /* padding is -inf: a window of negatives over the padding still picks a real one */
    const tg_real neg[] = {-5, -4, -3, -2};
    const tg_pool_opts o3 = {{3, 3}, {1, 1}, {1, 1}};
    tg_tensor *y4 = tg_max_pool2d(g, tg_tensor_from(g, 4, (int[]){1, 1, 2, 2}, neg), &o3);
    ck_assert_ptr_nonnull(y4);
    for (int i = 0; i < 4; i++) ck_assert(tg_data(y4)[i] == -2);
    /* average pooling counts the padding as zeros */
    tg_tensor *y5 = tg_avg_pool2d(g, tg_tensor_from(g, 4, (int[]){1, 1, 2, 2}, neg), &o3);
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(tg_data(y5)[i], -14.0 / 9, 1e-6);
    tg_graph_free(g);
}
END_TEST

START_TEST(global_avg_pool_values_and_gradient) {
    tg_graph *g = tg_graph_new();
    rng_seed(5);
    const int xs[4] = {2, 3, 4, 5};
    tg_real *x = rand_array(120);
    tg_tensor *tx = tg_tensor_from(g, 4, xs, x);
    tg_set_requires_grad(tx, true);
    tg_tensor *y = tg_global_avg_pool2d(g, tx);
    ck_assert_int_eq(tg_ndim(y), 2);
    ck_assert_int_eq(tg_shape(y)[0], 2);
    ck_assert_int_eq(tg_shape(y)[1], 3);
    const tg_real dy[6] = {1, 2, 3, 4, 5, 6};
    for (int pl = 0; pl < 6; pl++) {
        double s = 0;
        for (int i = 0; i < 20; i++) s += x[pl * 20 + i];
        ck_assert_double_eq_tol(tg_data(y)[pl], s / 20, 1e-6);
    }
    ck_assert_int_eq(tg_backward_from(g, y, dy), 0);
    for (int i = 0; i < 120; i++) ck_assert_double_eq_tol(tg_grad(tx)[i], dy[i / 20] / 20, 1e-7);
    tg_graph_free(g);
    free(x);
}
END_TEST

/* ---- PyTorch golden values ------------------------------------------------------------ */

/* ---- BEGIN GENERATED by tests/reference/conv.py (PyTorch 1.13.0a0, float64) ---- */
static const double gc_conv2d_y[] = {
    0.1337890625,  -0.576171875,  -3.6875,       0.533203125,   -1.7822265625, -2.9609375,
    2.548828125,   -4.0771484375, -1.5986328125, -0.4072265625, 2.9990234375,  -2.4501953125,
    1.478515625,   -0.939453125,  -5.0185546875, 3.0234375,     0.35546875,    -0.2509765625,
    -3.5263671875, 1.943359375,   -2.2490234375, -0.2841796875, 1.4638671875,  -3.1640625,
    -2.8271484375, 1.4306640625,  2.01171875,    -2.208984375,  3.990234375,   -1.74609375,
    -1.380859375,  0.8447265625,  3.84765625,    -3.5654296875, -1.0634765625, 3.46484375,
    -4.8896484375, 2.669921875,   3.2373046875,  -3.0087890625, -2.1337890625, 2.6064453125,
    0.369140625,   -2.2236328125, 3.8984375,     -2.19921875,   -1.615234375,  2.6083984375,
    -0.6728515625, -0.6357421875, -1.00390625,   1.2060546875,  -5.9619140625, -1.3837890625,
    0.5625,        -1.0537109375, -4.8203125,    1.0439453125,  0.2734375,     -3.59765625,
    3.330078125,   -6.6982421875, -2.2421875,    1.2841796875,  0.87109375,    -3.9140625,
    0.4755859375,  -0.9912109375, -2.931640625,  1.28515625,    -1.2841796875, -0.90234375,
    0.3544921875,  1.8544921875,  -2.41015625,   -2.9580078125, 3.125,         -3.01171875,
    -2.71484375,   1.8681640625,  2.5517578125,  -3.7880859375, 3.015625,      2.017578125,
    -5.421875,     2.7685546875,  1.7041015625,  -4.3212890625, 0.33984375,    -0.0458984375,
    -1.30078125,   -2.494140625,  3.2275390625,  -2.7021484375, 0.794921875,   0.83984375,
    0.6708984375,  1.455078125,   1.88671875,    2.0859375,     3.611328125,   2.10546875,
    0.5166015625,  1.2578125,     -2.810546875,  3.748046875,   -1.7294921875, -2.3173828125,
    3.7255859375,  3.1376953125,  1.2353515625,  1.0986328125,  2.927734375,   1.826171875,
    3.181640625,   0.935546875,   -3.583984375,  2.505859375,   1.466796875,   1.1748046875,
    0.7978515625,  -0.4599609375, -0.447265625,  -3.005859375,  -0.3544921875, -0.734375,
    -2.5986328125, 1.310546875,   -1.826171875,  -2.072265625,  1.861328125,   3.8623046875,
    -1.9990234375, 0.001953125,   -1.98046875,   -1.912109375,  -0.4521484375, -0.0908203125,
    -5.5029296875, -0.939453125,  1.3505859375,  -0.2431640625, 1.0966796875,  -3.037109375,
    -0.1865234375, 0.240234375,   -1.8115234375, 1.177734375,   2.74609375,    -3.453125,
    0.3876953125,  0.2978515625,  -0.3408203125, -1.8017578125, 1.474609375,   -1.1328125,
    -6.203125,     3.0302734375,  -0.1279296875, 1.3779296875,  -0.8046875,    0.1044921875,
    -2.193359375,  -0.228515625,  1.2626953125,  -5.1083984375, 1.3994140625,  1.318359375,
    1.5126953125,  1.6025390625,  4.01953125,    -2.853515625,  -0.5380859375, 1.77734375,
    1.1181640625,  0.69140625,    2.3388671875,  1.4619140625,  -4.900390625,  6.353515625,
    3.4931640625,  -0.9775390625, 3.27734375,    -0.31640625,   -1.8544921875, 0.517578125,
    3.91796875,    -2.1796875,    0.4375,        4.380859375,   -2.32421875,   2.5625,
    -0.861328125,  -1.1083984375, -5.96875,      1.3564453125,  0.9140625,     -0.94921875,
    0.6171875,     -3.6513671875, -1.9912109375, 1.220703125,   3.3125,        -8.326171875,
    0.2119140625,  0.4140625,     -4.96875,      1.2099609375,  0.505859375,   -1.3427734375,
    -2.9482421875, 1.2685546875,  -4.1767578125, 0.892578125,   -0.5537109375, -3.392578125,
    -2.2783203125, -0.3046875,    3.08203125,    -3.0546875,    -0.4765625,    3.427734375,
    -2.736328125,  1.751953125,   2.6142578125,  -1.546875,     -5.4462890625, 2.744140625,
    -1.6640625,    -5.7880859375, 3.3154296875,  2.0263671875,  -2.185546875,  1.0283203125,
    3.1748046875,  -2.7548828125, 1.1669921875,  0.3525390625,  -3.5712890625, 0.736328125,
    0.6142578125,  1.8720703125,  3.626953125,   2.12109375,    0.1416015625,  -0.51171875,
    1.9345703125,  -1.302734375,  -0.494140625,  -0.9453125,    3.7890625,     3.201171875,
    3.0869140625,  4.677734375,   0.080078125,   0.7958984375,  2.978515625,   0.171875,
    -3.4833984375, 2.6064453125,  1.591796875,   -0.275390625,  1.7607421875,  1.84765625,
    0.380859375,   -0.4033203125, -0.375,        -0.7548828125, -1.6083984375, -1.1357421875,
    -3.9091796875, 1.326171875,   -0.1923828125, 1.740234375,   -2.037109375,  -0.0361328125,
    -2.8662109375, -2.5703125,    1.2021484375,  -1.7607421875, -2.845703125,  -0.3056640625,
    1.3203125,     -0.2734375,    1.6376953125,  -2.6083984375, -1.0537109375, 0.49609375};
static const double gc_conv2d_dx[] = {
    -0.8515625,    0.8876953125,  2.4375,        -0.0859375,    0.7060546875,  -1.34375,
    0.0966796875,  2.912109375,   2.1279296875,  0.3017578125,  -2.6611328125, -0.03515625,
    -0.578125,     -3.0068359375, -1.8359375,    0.1875,        2.1162109375,  -1.0703125,
    0.169921875,   2.0380859375,  -0.1669921875, -2.087890625,  -2.1142578125, 0.0380859375,
    -0.3046875,    0.4873046875,  -1.5625,       0.1767578125,  1.7265625,     -0.796875,
    0.58203125,    -1.2705078125, -2.0810546875, 0.9921875,     2.076171875,   0.318359375,
    -0.2890625,    -1.6259765625, -1.447265625,  -2.12109375,   -1.46875,      0.888671875,
    0.728515625,   1.244140625,   0.0546875,     1.138671875,   0.70703125,    0.46484375,
    -0.943359375,  0.65625,       2.06640625,    1.2978515625,  2.234375,      0.234375,
    0.875,         1.958984375,   0.201171875,   -1.6513671875, -2.4619140625, 0.611328125,
    -0.1494140625, -0.447265625,  -0.5556640625, -0.095703125,  -0.48828125,   1.58203125,
    2.728515625,   -1.3720703125, -1.5888671875, -1.0478515625, -1.4541015625, -1.197265625,
    -3.6689453125, -0.4619140625, 1.6083984375,  1.689453125,   -0.5029296875, -0.1376953125,
    2.7939453125,  -1.4013671875, 2.7392578125,  2.9013671875,  -1.4833984375, 2.751953125,
    -0.083984375,  -0.4765625,    1.59375,       1.6748046875,  -0.517578125,  -3.6572265625,
    -4.4052734375, 2.125,         1.0771484375,  -0.8232421875, 1.728515625,   0.20703125,
    2.236328125,   -0.427734375,  -1.6708984375, -2.345703125,  0.10546875,    3.2197265625,
    -1.515625,     1.9833984375,  0.4619140625,  -1.8173828125, 1.5869140625,  -4.2919921875,
    -2.783203125,  -0.2373046875, 0.224609375,   -0.8291015625, 0.2958984375,  2.083984375,
    -0.7099609375, 1.841796875,   0.3203125,     -1.958984375,  1.4453125,     -1.40234375,
    -1.234375,     0.5048828125,  2.0546875,     -0.46875,      -2.8974609375, -1.7265625,
    -0.005859375,  -0.0322265625, -0.4375,       0.19921875,    2.0673828125,  -0.1376953125,
    -0.9609375,    0.7783203125,  2.328125,      -0.1953125,    0.5966796875,  -1.453125,
    0.0673828125,  2.8828125,     2.0986328125,  0.2724609375,  -2.6904296875, -0.064453125,
    -0.6875,       -3.1162109375, -1.9453125,    0.078125,      2.0068359375,  -1.1796875,
    0.376953125,   -1.4755859375, -2.2861328125, 0.787109375,   1.302734375,   0.11328125,
    0.626953125,   -0.8994140625, -0.341796875,  -1.205078125,  0.39453125,    1.8046875,
    0.5234375,     -1.3291015625, -2.1396484375, 0.93359375,    2.017578125,   0.259765625,
    -0.02734375,   -1.3642578125, -1.185546875,  -1.859375,     -1.20703125,   1.150390625,
    0.669921875,   1.185546875,   -0.00390625,   1.080078125,   0.6484375,     0.40625,
    -0.12890625,   1.6572265625,  -0.53515625,   -3.6748046875, -0.4677734375, 1.6025390625,
    -0.7353515625, -1.42578125,   -1.5478515625, 2.7822265625,  -1.4130859375, 2.7275390625,
    -0.1435546875, -0.44140625,   -0.5498046875, -0.08984375,   -0.482421875,  1.587890625,
    2.740234375,   -1.3603515625, -1.5771484375, -1.0361328125, -1.4423828125, -1.185546875,
    -3.6630859375, -0.4560546875, 1.6142578125,  1.6953125,     -0.4970703125, -0.1318359375,
    -4.20703125,   -2.12890625,   1.275390625,   -1.572265625,  1.9267578125,  0.4052734375,
    1.1171875,     1.86328125,    0.71484375,    -2.70703125,   -0.1611328125, 0.30078125,
    -4.3486328125, 2.181640625,   1.1337890625,  -0.7666015625, 1.78515625,    0.263671875,
    2.16015625,    -0.50390625,   -1.7470703125, -2.421875,     0.029296875,   3.1435546875,
    -1.458984375,  2.0400390625,  0.5185546875,  -1.7607421875, 1.6435546875,  -4.2353515625};
static const double gc_conv2d_dw[] = {
    3.3125,        -0.9580078125, 4.87890625,    0.0361328125,  0.060546875,   0.62109375,
    -1.099609375,  -4.072265625,  -2.771484375,  4.6103515625,  3.9658203125,  -3.3642578125,
    0.375,         0.2724609375,  -1.3271484375, -2.94921875,   0.0595703125,  -0.80078125,
    -3.5078125,    -1.2705078125, 2.236328125,   4.6923828125,  0.4208984375,  -3.21484375,
    -1.046875,     4.3447265625,  -7.72265625,   -4.32421875,   -0.7939453125, 0.5244140625,
    -3.3583984375, 3.3310546875,  12.169921875,  -3.845703125,  -3.9765625,    3.7548828125,
    0.59765625,    0.34375,       -5.046875,     8.4970703125,  0.529296875,   1.5068359375,
    0.236328125,   -0.6142578125, -3.58984375,   -7.28125,      3.9384765625,  -0.7958984375,
    1.75,          3.390625,      1.986328125,   4.447265625,   4.2392578125,  1.5224609375,
    -0.734375,     -2.7216796875, -2.298828125,  -0.685546875,  0.41015625,    3.25390625,
    -2.212890625,  1.51171875,    3.9990234375,  -2.8232421875, 0.181640625,   -3.0087890625,
    3.41015625,    -1.6083984375, 0.12890625,    5.720703125,   -0.6552734375, 1.71484375};
static const double gc_conv2d_db[] = {-0.46875, 0.8125, -0.9375, 3.375, -1.40625, -0.125};
static const double gc_conv2d_same_y[] = {
    -2.7109375,    1.5791015625,  -1.4443359375, 0.36328125,    2.455078125,   0.109375,
    2.5693359375,  -1.0947265625, 0.234375,      -2.7939453125, -0.9912109375, 1.93359375,
    3.255859375,   -3.82421875,   -1.3583984375, -1.0712890625, 4.42578125,    1.93359375,
    -1.078125,     1.119140625,   -0.9619140625, -4.1796875,    -1.5244140625, -0.908203125,
    1.787109375,   0.568359375,   -3.69140625,   2.08984375,    -1.1279296875, -1.09765625,
    0.556640625,   -2.7607421875, 2.5400390625,  3.2939453125,  -6.27734375,   0.630859375,
    -1.330078125,  -0.275390625,  2.869140625,   1.65625,       -2.01953125,   1.9609375,
    -2.5263671875, 6.0234375,     -1.48828125,   -4.1689453125, 1.67578125,    -0.65625,
    1.1611328125,  -0.1142578125, -0.0478515625, 3.333984375,   -2.7568359375, -1.4443359375,
    -2.9189453125, -1.326171875,  6.12890625,    -3.1826171875, -0.1796875,    1.3671875,
    2.947265625,   3.9033203125,  -0.0087890625, -3.068359375,  5.9970703125,  -2.357421875,
    -0.4482421875, -4.6416015625, -1.79296875,   2.9501953125,  0.115234375,   -0.9453125,
    0.998046875,   -2.603515625,  -1.1533203125, 5.1279296875,  -2.9892578125, -3.197265625,
    -1.0859375,    -4.193359375,  1.3359375,     2.5078125,     -2.4775390625, 3.2900390625,
    -0.93359375,   -1.8984375,    -0.7265625,    0.06640625,    4.26953125,    1.7138671875,
    -2.107421875,  2.5751953125,  -4.494140625,  1.982421875,   -0.3505859375, 0.990234375,
    0.2236328125,  -2.1396484375, -2.19921875,   -1.40625,      -4.1181640625, 2.9189453125,
    0.7255859375,  0.4873046875,  3.0625,        -4.4033203125, 1.6767578125,  -2.521484375,
    1.3369140625,  -0.57421875,   0.0341796875,  -3.71484375,   2.9560546875,  0.548828125,
    3.5751953125,  -2.095703125,  0.2763671875,  -1.708984375,  3.03125,       1.2685546875,
    0.1923828125,  3.3271484375,  -1.4052734375, -1.0224609375, -2.7236328125, -3.748046875,
    1.9248046875,  -1.0068359375, -2.044921875,  4.021484375,   -1.46875,      -1.470703125,
    0.720703125,   -2.59375,      3.3779296875,  1.013671875,   -2.1083984375, 3.458984375,
    -3.9736328125, 2.3955078125,  -0.986328125,  1.220703125,   1.34375,       1.8701171875};
static const double gc_conv2d_same_dx[] = {
    3.546875,      6.5810546875,   -10.46875,      7.7197265625,   -7.3408203125, 1.2646484375,
    7.271484375,   -12.6181640625, 4.966796875,    6.6376953125,   -8.4580078125, 6.7841796875,
    -4.1533203125, -3.9189453125,  12.33984375,    -16.3017578125, 9.1455078125,  1.1689453125,
    -6.7685546875, 12.263671875,   -5.484375,      1.8701171875,   11.119140625,  -10.1298828125,
    5.9619140625,  -3.4765625,     -7.39453125,    12.1796875,     -9.16796875,   2.34765625,
    3.431640625,   -6.404296875,   6.400390625,    -0.498046875,   -5.123046875,  4.1162109375,
    1.771484375,   -6.099609375,   8.44140625,     -11.30859375,   5.2216796875,  0.9404296875,
    -7.1865234375, 6.509765625,    3.7041015625,   -5.8271484375,  9.8388671875,  -7.2021484375,
    0.5205078125,  7.10546875,     -11.4248046875, 9.072265625,    -4.248046875,  1.009765625,
    7.8486328125,  -12.380859375,  3.3798828125,   4.7421875,      -11.609375,    7.5166015625,
    -6.2314453125, 0.529296875,    7.7646484375,   -11.4287109375, 5.9423828125,  -2.9326171875,
    -1.3828125,    7.33203125,     -5.1083984375,  -0.498046875,   6.3857421875,  -3.69921875,
    -1.2353515625, 9.353515625,    -14.517578125,  4.806640625,    1.3017578125,  -4.97265625,
    6.4892578125,  -0.412109375,   -5.2314453125,  10.7890625,     -16.291015625, 6.0927734375,
    3.1103515625,  -7.919921875,   12.2685546875,  -9.98046875,    2.2509765625,  5.87109375,
    -9.8359375,    10.4326171875,  4.5712890625,   -9.2470703125,  13.1201171875, -10.4541015625,
    1.751953125,   6.05078125,     -12.314453125,  12.4208984375,  -4.9970703125, -1.771484375,
    4.6015625,     -11.0439453125, 2.896484375,    6.322265625,    -6.35546875,   5.44140625};
static const double gc_conv2d_same_dw[] = {
    18.4609375,     -10.0927734375, -1.8388671875, -6.3994140625, -8.044921875,  14.5,
    -8.521484375,   17.5458984375,  -7.509765625,  -4.263671875,  10.92578125,   -9.5078125,
    18.201171875,   -12.728515625,  -1.6767578125, -8.0732421875, -4.7109375,    10.5517578125,
    -9.369140625,   3.431640625,    0.916015625,   -1.7197265625, 7.6904296875,  -11.3173828125,
    10.4677734375,  -10.958984375,  0.6689453125,  -2.11328125,   -9.296875,     18.98828125,
    -11.3642578125, 14.59375,       -6.14453125,   3.8095703125,  0.3291015625,  -8.908203125,
    14.779296875,   -7.8798828125,  -6.6572265625, -3.90234375,   -10.65625,     22.396484375,
    -8.79296875,    18.52734375,    -6.3603515625, -5.83984375,   13.4296875,    -9.2841796875,
    23.357421875,   -10.8037109375, -4.3828125,    -5.765625,     -7.322265625,  14.185546875,
    -9.42578125,    14.4228515625,  -6.4111328125, 3.5634765625,  -1.037109375,  -10.4013671875,
    7.046875,       -11.48828125,   6.8388671875,  -3.7841796875, -8.6875,       18.548828125,
    -11.0390625,    19.265625,      -6.3876953125, 6.49609375,    -3.703125,     -8.58984375,
    19.4765625,     -9.4423828125,  -2.0546875,    -5.84375,      -8.8369140625, 18.2763671875,
    -8.453125,      19.427734375,   -6.0205078125, 0.5966796875,  1.6728515625,  -8.697265625,
    14.3232421875,  -13.3525390625, 7.12890625,    -7.3349609375, -2.37109375,   3.830078125,
    -9.275390625,   11.62890625,    -4.1767578125, 0.958984375,   2.2978515625,  -10.921875,
    6.62890625,     -11.724609375,  7.1787109375,  -1.5283203125, -8.7275390625, 14.8369140625,
    -10.984375,     15.4853515625,  -5.859375,     3.7314453125,  -1.4697265625, -8.228515625};
static const double gc_conv1d_y[] = {
    2.9033203125,  3.4130859375,  -3.0615234375, -1.3896484375, -2.4833984375, 1.5126953125,
    0.482421875,   2.189453125,   -1.1240234375, 2.353515625,   1.4482421875,  2.2880859375,
    -4.021484375,  -0.953125,     -2.376953125,  -3.447265625,  2.8623046875,  2.5556640625,
    -1.5400390625, -0.5712890625, -1.451171875,  -0.634765625,  3.4052734375,  -2.8798828125,
    -0.2421875,    -0.251953125,  2.5927734375,  -3.5625,       2.3125,        -0.48828125,
    -1.4208984375, -1.37890625,   2.826171875,   -4.525390625,  -1.11328125,   -0.9794921875,
    -1.087890625,  -0.068359375,  2.5615234375,  -1.6435546875};
static const double gc_conv1d_dx[] = {
    -1.6689453125, 0, 1.24609375,    0, 4.8193359375, 0, -5.626953125, 0, 0.1171875,
    1.376953125,   0, 2.361328125,   0, -3.814453125, 0, 3.5556640625, 0, -0.326171875,
    1.486328125,   0, 1.58203125,    0, -3.828125,    0, 4.3076171875, 0, 1.314453125,
    -0.7958984375, 0, -3.1650390625, 0, 1.2607421875, 0, 4.833984375,  0, -3.921875,
    -3.4873046875, 0, 1.04296875,    0, 2.255859375,  0, -3.919921875, 0, 3.25390625,
    -3.3369140625, 0, 2.314453125,   0, 1.640625,     0, -3.76953125,  0, 2.283203125};
static const double gc_conv1d_dw[] = {
    -4.3271484375, 0.7021484375,  2.056640625,   1.9443359375,  0.8115234375,  -4.5703125,
    -2.2041015625, -0.12109375,   2.3486328125,  -4.58203125,   -0.0029296875, -1.22265625,
    2.146484375,   3.8037109375,  -3.4140625,    -2.3974609375, -1.767578125,  -1.248046875,
    -4.8369140625, 0.0498046875,  -1.5654296875, 2.3486328125,  3.5751953125,  -3.2998046875,
    -2.5908203125, -1.4248046875, -0.6767578125, 2.486328125,   3.3232421875,  -3.044921875,
    -0.291015625,  -3.8525390625, 3.634765625,   2.3310546875,  -0.32421875,   -3.705078125};
static const double gc_conv1d_db[] = {1.09375, 1.3125, -1.5, 1.75};
static const double gc_max_pool_y[] = {1.375,   1.375,  0.8125,  1.09375, 1.25,    1.40625,
                                       0.96875, 1.125,  1.40625, 0.5625,  0.84375, 1.28125,
                                       1.4375,  1.4375, 0.875,   1.15625, 1.3125,  1.46875,
                                       1.03125, 1.1875, 1.46875, 0.625,   0.90625, 1.34375};
static const double gc_max_pool_dx[] = {
    0, -0.75,   0, 0, 0,        0, 1,      0, 0, 0,        0, -0.15625, 0,
    0, -0.875,  0, 0, 0,        0, 1.4375, 0, 0, 1,        0, 0,        0,
    0, -0.4375, 0, 0, 0,        0, 0,      0, 0, 1.15625,  0, -1.15625, 0,
    0, 0,       0, 0, -0.28125, 0, 0,      0, 0, -0.28125, 0, 0,        0,
    0, -1.4375, 0, 0, 0.875,    0, 0,      0, 0, 0.15625,  0, 0,        -1.5625,
    0, 0,       0, 0, 1.3125,   0, 0,      0, 0, -1.28125, 0, 0,        -0.125,
    0, 0.59375, 0, 0, 0,        0};
static const double gc_avg_pool_y[] = {0.21875,
                                       0.078125,
                                       -0.40104166666666669,
                                       0.125,
                                       0.041666666666666664,
                                       0.30208333333333331,
                                       -0.41666666666666669,
                                       -0.098958333333333329,
                                       -0.026041666666666668,
                                       0.16666666666666666,
                                       -0.046875,
                                       -0.16666666666666666,
                                       -0.09375,
                                       0.03125,
                                       0.32291666666666669,
                                       -0.234375,
                                       0.083333333333333329,
                                       -0.19270833333333334,
                                       0.33854166666666669,
                                       -0.010416666666666666,
                                       -0.34375,
                                       -0.036458333333333336,
                                       -0.010416666666666666,
                                       0.067708333333333329,
                                       -0.296875,
                                       0.13020833333333334,
                                       -0.083333333333333329,
                                       0.067708333333333329,
                                       0.140625,
                                       -0.005208333333333333,
                                       -0.21875,
                                       0,
                                       0.072916666666666671,
                                       0.36458333333333331,
                                       -0.35416666666666669,
                                       -0.067708333333333329,
                                       0.026041666666666668,
                                       0.19791666666666666,
                                       -0.28125,
                                       -0.067708333333333329};
static const double gc_avg_pool_dx[] = {-0.052083333333333343,
                                        -0.171875,
                                        -0.171875,
                                        0.21354166666666669,
                                        0.21354166666666669,
                                        0.093749999999999986,
                                        0.067708333333333329,
                                        -0.36458333333333337,
                                        -0.36458333333333337,
                                        0.21354166666666669,
                                        0.21354166666666669,
                                        0.28645833333333331,
                                        -0.14583333333333334,
                                        -0.072916666666666671,
                                        -0.072916666666666671,
                                        0,
                                        0,
                                        0.072916666666666671,
                                        0.14583333333333334,
                                        -0.28645833333333331,
                                        -0.28645833333333331,
                                        -0.21354166666666669,
                                        -0.21354166666666669,
                                        0.36458333333333337,
                                        0.026041666666666671,
                                        -0.093749999999999986,
                                        -0.093749999999999986,
                                        -0.21354166666666669,
                                        -0.21354166666666669,
                                        0.171875,
                                        0.078125,
                                        -0.041666666666666671,
                                        -0.041666666666666671,
                                        -0.16145833333333331,
                                        -0.16145833333333331,
                                        0.22395833333333331,
                                        0.010416666666666671,
                                        0.083333333333333329,
                                        0.083333333333333329,
                                        -0.34895833333333331,
                                        -0.34895833333333331,
                                        0.22916666666666666,
                                        0.30208333333333331,
                                        -0.13020833333333331,
                                        -0.13020833333333331,
                                        -0.057291666666666657,
                                        -0.057291666666666657,
                                        0.015625,
                                        0.088541666666666657,
                                        0.16145833333333331,
                                        0.16145833333333331,
                                        -0.27083333333333337,
                                        -0.27083333333333337,
                                        -0.19791666666666666,
                                        0.15625,
                                        0.036458333333333329,
                                        0.036458333333333329,
                                        -0.083333333333333343,
                                        -0.083333333333333343,
                                        -0.203125};
/* ---- END GENERATED ---- */

/* The inputs of conv.py: value(i, seed) */
static tg_tensor *golden_input(tg_graph *g, int nd, const int *shape, int seed) {
    tg_tensor *t = tg_tensor_new(g, nd, shape);
    for (int64_t i = 0; i < tg_numel(t); i++)
        tg_data(t)[i] = (tg_real)((double)((i * 37 + seed * 11) % 97 - 48) / 32.0);
    tg_set_requires_grad(t, true);
    return t;
}

static void golden_check(const char *what, const tg_real *got, const double *want, int64_t n) {
    const double tol = TG_PRECISION_DOUBLE ? 1e-12 : 2e-5;
    for (int64_t i = 0; i < n; i++)
        CHECK(fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i])), "%s[%lld] = %.9g, PyTorch %.9g",
              what, (long long)i, (double)got[i], want[i]);
}

/* up(i) for the seeded upstream gradient of conv.py */
static tg_real *golden_up(const tg_tensor *y, int seed) {
    tg_real *up = malloc((size_t)tg_numel(y) * sizeof *up);
    for (int64_t i = 0; i < tg_numel(y); i++)
        up[i] = (tg_real)((double)((i * 37 + seed * 11) % 97 - 48) / 32.0);
    return up;
}

START_TEST(conv_and_pools_match_pytorch) {
    use_path(_i);
    tg_graph *g = tg_graph_new();
    struct {
        const char *name;
        int nd, xs[4], ws[4];
        bool bias;
        tg_conv_opts o;
        const double *y, *dx, *dw, *db;
        int64_t ny;
    } cases[] = {
        {"conv2d",
         4,
         {2, 4, 5, 6},
         {6, 2, 3, 2},
         true,
         {{2, 1}, {1, 2}, {1, 2}, 2},
         gc_conv2d_y,
         gc_conv2d_dx,
         gc_conv2d_dw,
         gc_conv2d_db,
         sizeof gc_conv2d_y / sizeof(double)},
        {"conv2d same",
         4,
         {1, 3, 6, 6},
         {4, 3, 3, 3},
         false,
         {{0, 0}, {1, 1}, {0, 0}, 0},
         gc_conv2d_same_y,
         gc_conv2d_same_dx,
         gc_conv2d_same_dw,
         NULL,
         sizeof gc_conv2d_same_y / sizeof(double)},
        {"conv1d",
         3,
         {2, 3, 9},
         {4, 3, 3},
         true,
         {{2, 0}, {2, 0}, {2, 0}, 0},
         gc_conv1d_y,
         gc_conv1d_dx,
         gc_conv1d_dw,
         gc_conv1d_db,
         sizeof gc_conv1d_y / sizeof(double)},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tg_tensor *x = golden_input(g, cases[k].nd, cases[k].xs, 1);
        tg_tensor *w = golden_input(g, cases[k].nd, cases[k].ws, 2);
        tg_tensor *b = cases[k].bias ? golden_input(g, 1, cases[k].ws, 3) : NULL;
        tg_tensor *y = cases[k].nd == 4 ? tg_conv2d(g, x, w, b, &cases[k].o)
                                        : tg_conv1d(g, x, w, b, &cases[k].o);
        ck_assert_msg(y != NULL, "%s: %s", cases[k].name, tg_graph_error(g));
        ck_assert_int_eq(tg_numel(y), cases[k].ny);
        golden_check(cases[k].name, tg_data(y), cases[k].y, cases[k].ny);
        tg_real *up = golden_up(y, 4);
        ck_assert_int_eq(tg_backward_from(g, y, up), 0);
        golden_check("dx", tg_grad(x), cases[k].dx, tg_numel(x));
        golden_check("dw", tg_grad(w), cases[k].dw, tg_numel(w));
        if (b) golden_check("db", tg_grad(b), cases[k].db, tg_numel(b));
        free(up);
    }
    /* pools */
    tg_tensor *xm = golden_input(g, 4, (int[]){1, 2, 7, 6}, 5);
    tg_tensor *ym = tg_max_pool2d(g, xm, &(tg_pool_opts){{3, 3}, {2, 2}, {1, 1}});
    ck_assert_int_eq(tg_numel(ym), sizeof gc_max_pool_y / sizeof(double));
    golden_check("max_pool2d", tg_data(ym), gc_max_pool_y, tg_numel(ym));
    tg_real *up = golden_up(ym, 6);
    ck_assert_int_eq(tg_backward_from(g, ym, up), 0);
    golden_check("max_pool2d dx", tg_grad(xm), gc_max_pool_dx, tg_numel(xm));
    free(up);
    tg_tensor *xa = golden_input(g, 4, (int[]){2, 1, 5, 6}, 5);
    tg_tensor *ya = tg_avg_pool2d(g, xa, &(tg_pool_opts){{3, 2}, {1, 2}, {1, 1}});
    ck_assert_int_eq(tg_numel(ya), sizeof gc_avg_pool_y / sizeof(double));
    golden_check("avg_pool2d", tg_data(ya), gc_avg_pool_y, tg_numel(ya));
    up = golden_up(ya, 6);
    ck_assert_int_eq(tg_backward_from(g, ya, up), 0);
    golden_check("avg_pool2d dx", tg_grad(xa), gc_avg_pool_dx, tg_numel(xa));
    free(up);
    tg_graph_free(g);
    restore_paths();
}
END_TEST

/* ---- errors --------------------------------------------------------------------------- */

/* Runs op on a fresh graph; expects NULL, status st and a message starting with msg. */
typedef tg_tensor *(*op_fn)(tg_graph *g, void *arg);
static void expect_error(op_fn fn, void *arg, tg_status st, const char *msg) {
    tg_graph *g = tg_graph_new();
    tg_tensor *y = fn(g, arg);
    ck_assert_msg(y == NULL, "expected an error: %s", msg);
    ck_assert_msg(tg_graph_status(g) == st, "status %d, want %d (%s): %s", tg_graph_status(g), st,
                  msg, tg_graph_error(g));
    ck_assert_msg(tg_graph_error(g) && !strncmp(tg_graph_error(g), msg, strlen(msg)),
                  "message \"%s\", want it to start with \"%s\"", tg_graph_error(g), msg);
    tg_graph_free(g);
}

typedef struct conv_arg {
    int xn, xs[4], wn, ws[4], bn;
    tg_conv_opts o;
    bool null_opts, one_d;
} conv_arg;

static tg_tensor *conv_call(tg_graph *g, void *p) {
    const conv_arg *a = p;
    tg_tensor *x = tg_tensor_new(g, a->xn, a->xs), *w = tg_tensor_new(g, a->wn, a->ws);
    tg_tensor *b = a->bn ? tg_tensor_new(g, 1, &a->bn) : NULL;
    const tg_conv_opts *o = a->null_opts ? NULL : &a->o;
    return a->one_d ? tg_conv1d(g, x, w, b, o) : tg_conv2d(g, x, w, b, o);
}

typedef struct pool_arg {
    int xn, xs[4];
    tg_pool_opts o;
    bool null_opts;
    int kind; /* 0 max, 1 avg, 2 global */
} pool_arg;

static tg_tensor *pool_call(tg_graph *g, void *p) {
    const pool_arg *a = p;
    tg_tensor *x = tg_tensor_new(g, a->xn, a->xs);
    const tg_pool_opts *o = a->null_opts ? NULL : &a->o;
    return a->kind == 0   ? tg_max_pool2d(g, x, o)
           : a->kind == 1 ? tg_avg_pool2d(g, x, o)
                          : tg_global_avg_pool2d(g, x);
}

START_TEST(conv_errors) {
    const tg_conv_opts d = {{0, 0}, {0, 0}, {0, 0}, 0};
    conv_arg a = {4, {2, 3, 8, 8}, 4, {8, 4, 3, 3}, 0, d, false, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE,
                 "conv2d: input has 3 channels but weight [8,4,3,3] expects 4 (groups 1)");
    a = (conv_arg){4, {2, 6, 8, 8}, 4, {8, 2, 3, 3}, 0, {{0, 0}, {0, 0}, {0, 0}, 4}, false, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE,
                 "conv2d: input channels 6 (x [2,6,8,8]) are not divisible by groups 4");
    a = (conv_arg){4, {2, 6, 8, 8}, 4, {8, 2, 3, 3}, 0, {{0, 0}, {0, 0}, {0, 0}, 3}, false, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE,
                 "conv2d: output channels 8 (weight [8,2,3,3]) are not divisible by groups 3");
    a = (conv_arg){4, {2, 6, 8, 8}, 4, {6, 3, 3, 3}, 0, {{0, 0}, {0, 0}, {0, 0}, 3}, false, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE,
                 "conv2d: input has 6 channels but weight [6,3,3,3] expects 9 (groups 3)");
    a = (conv_arg){4, {1, 2, 2, 2}, 4, {3, 2, 3, 3}, 0, d, false, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE, "conv2d: output size would be 0x0: input [1,2,2,2]");
    a = (conv_arg){4, {1, 2, 5, 5}, 4, {3, 2, 3, 3}, 0, {{1, 1}, {0, 0}, {3, 1}, 1}, false, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE, "conv2d: output size would be -1x3");
    a = (conv_arg){4, {1, 2, 5, 5}, 4, {3, 2, 3, 3}, 0, {{1, -2}, {0, 0}, {0, 0}, 0}, false, false};
    expect_error(conv_call, &a, TG_ERR_ARG,
                 "conv2d: stride must be positive (or 0 for the default 1), got [1,-2]");
    a.o = (tg_conv_opts){{0, 0}, {-1, 0}, {0, 0}, 0};
    expect_error(conv_call, &a, TG_ERR_ARG, "conv2d: padding must be >= 0, got [-1,0]");
    a.o = (tg_conv_opts){{0, 0}, {0, 0}, {0, -3}, 0};
    expect_error(conv_call, &a, TG_ERR_ARG, "conv2d: dilation must be positive");
    a.o = (tg_conv_opts){{0, 0}, {0, 0}, {0, 0}, -1};
    expect_error(conv_call, &a, TG_ERR_ARG, "conv2d: groups must be positive");
    a = (conv_arg){4, {1, 2, 5, 5}, 4, {3, 2, 3, 3}, 4, d, true, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE,
                 "conv2d: bias [4] does not fit weight [3,2,3,3] (want [3])");
    a = (conv_arg){3, {1, 2, 5}, 4, {3, 2, 3, 3}, 0, d, true, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE, "conv2d: x must be [N,C,H,W]");
    a = (conv_arg){4, {1, 2, 5, 5}, 4, {3, 2, 0, 3}, 0, d, true, false};
    expect_error(conv_call, &a, TG_ERR_SHAPE, "conv2d: weight [3,2,0,3] has an empty kernel");
    /* conv1d */
    a = (conv_arg){3, {2, 3, 8}, 3, {4, 2, 3}, 0, d, true, true};
    expect_error(conv_call, &a, TG_ERR_SHAPE,
                 "conv1d: input has 3 channels but weight [4,2,3] expects 2 (groups 1)");
    a = (conv_arg){4, {2, 3, 8, 8}, 3, {4, 3, 3}, 0, d, true, true};
    expect_error(conv_call, &a, TG_ERR_SHAPE, "conv1d: x must be [N,C,L]");
    a = (conv_arg){3, {2, 3, 2}, 3, {4, 3, 3}, 0, d, true, true};
    expect_error(conv_call, &a, TG_ERR_SHAPE, "conv1d: output length would be 0");
    a = (conv_arg){3, {2, 3, 8}, 3, {4, 3, 3}, 0, {{-1, 0}, {0, 0}, {0, 0}, 0}, false, true};
    expect_error(conv_call, &a, TG_ERR_ARG,
                 "conv1d: stride must be positive (or 0 for the default 1), got -1");
    /* NULL inputs and NULL graphs */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_tensor_new(g, 4, (int[]){1, 1, 3, 3});
    ck_assert_ptr_null(tg_conv2d(g, x, NULL, NULL, NULL));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    ck_assert_ptr_null(tg_conv2d(g, x, x, NULL, NULL)); /* sticky: NULL again */
    tg_graph_free(g);
    ck_assert_ptr_null(tg_conv2d(NULL, NULL, NULL, NULL, NULL));
    ck_assert_ptr_null(tg_conv1d(NULL, NULL, NULL, NULL, NULL));
}
END_TEST

START_TEST(pool_errors) {
    pool_arg a = {4, {1, 2, 5, 5}, {{2, 2}, {0, 0}, {0, 0}}, true, 0};
    expect_error(pool_call, &a, TG_ERR_NULL, "max_pool2d: opts is NULL");
    a = (pool_arg){4, {1, 2, 5, 5}, {{0, 2}, {0, 0}, {0, 0}}, false, 1};
    expect_error(pool_call, &a, TG_ERR_ARG, "avg_pool2d: kernel must be positive, got [0,2]");
    a = (pool_arg){4, {1, 2, 5, 5}, {{2, 2}, {-1, 0}, {0, 0}}, false, 0};
    expect_error(pool_call, &a, TG_ERR_ARG, "max_pool2d: stride must be positive");
    a = (pool_arg){4, {1, 2, 5, 5}, {{3, 3}, {0, 0}, {2, 1}}, false, 0};
    expect_error(pool_call, &a, TG_ERR_ARG,
                 "max_pool2d: padding must be between 0 and half the kernel, got padding [2,1] "
                 "for kernel [3,3]");
    a = (pool_arg){4, {1, 2, 2, 5}, {{3, 3}, {0, 0}, {0, 0}}, false, 1};
    expect_error(pool_call, &a, TG_ERR_SHAPE,
                 "avg_pool2d: output size would be 0: input [1,2,2,5]");
    a = (pool_arg){3, {2, 5, 5}, {{2, 2}, {0, 0}, {0, 0}}, false, 0};
    expect_error(pool_call, &a, TG_ERR_SHAPE, "max_pool2d: x must be [N,C,H,W], got [2,5,5]");
    a = (pool_arg){2, {2, 5}, {{0, 0}, {0, 0}, {0, 0}}, false, 2};
    expect_error(pool_call, &a, TG_ERR_SHAPE, "global_avg_pool2d: x must be [N,C,H,W], got [2,5]");
    a = (pool_arg){4, {2, 5, 0, 3}, {{0, 0}, {0, 0}, {0, 0}}, false, 2};
    expect_error(pool_call, &a, TG_ERR_SHAPE, "global_avg_pool2d: x [2,5,0,3] has empty planes");
    ck_assert_ptr_null(tg_max_pool2d(NULL, NULL, NULL));
    ck_assert_ptr_null(tg_avg_pool2d(NULL, NULL, NULL));
    ck_assert_ptr_null(tg_global_avg_pool2d(NULL, NULL));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, conv2d_random_configs_match_direct, 0, 3);
    tcase_add_loop_test(tc, conv1d_random_configs_match_direct, 0, 3);
    tcase_add_loop_test(tc, conv_named_shapes_match_direct, 0, 3);
    tcase_add_loop_test(tc, conv_is_bit_identical_across_thread_counts, 0, 2);
    tcase_add_test(tc, conv_gradient_flags_and_empty_batch);
    tcase_add_loop_test(tc, products_on_segmented_matrices, 0, 3);
    tcase_add_loop_test(tc, conv_and_pools_match_pytorch, 0, 3);
    tcase_add_test(tc, conv_errors);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("pool");
    tcase_set_timeout(tp, 300);
    tcase_add_loop_test(tp, pools_match_direct, 0, 2);
    tcase_add_test(tp, max_pool_ties_nan_and_infinities);
    tcase_add_test(tp, global_avg_pool_values_and_gradient);
    tcase_add_test(tp, pool_errors);
    suite_add_tcase(s, tp);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
