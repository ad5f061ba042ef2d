/* tests/test_shape.c: reshape, transpose, permute, broadcast_to, concat and slice:
 * forward values, gradients (tg_backward_from with a seed, compared with values
 * computed by hand or by the naive reference loops below), 0-d and empty tensors,
 * negative axes, the large threaded and tiled paths, and error messages. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad.h>

#include "tg_test.h"

/* ---- helpers ------------------------------------------------------------------------ */

static tg_tensor *leaf(tg_graph *g, int ndim, const int *shape, const tg_real *data) {
    tg_tensor *t = tg_tensor_from(g, ndim, shape, data);
    ck_assert_ptr_nonnull(t);
    tg_set_requires_grad(t, true);
    return t;
}

/* v[i] = base + i * scale (exact in float for the sizes used here). */
static tg_real *ramp(tg_real *v, int64_t n, double base, double scale) {
    for (int64_t i = 0; i < n; i++) v[i] = (tg_real)(base + (double)i * scale);
    return v;
}

static int64_t prod(int n, const int *s) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= s[i];
    return p;
}

static void check_shape(const tg_tensor *t, int ndim, const int *shape) {
    expect_shape(t, ndim, shape);
    ck_assert_int_eq(tg_numel(t), prod(ndim, shape));
}

/* Copies and sums of small exact values: results must match exactly. */
static void check_vals(const tg_real *got, const tg_real *want, int64_t n) {
    ck_assert_ptr_nonnull(got);
    int64_t i = 0;
    while (i < n && got[i] == want[i]) i++; /* one assertion, not one per element */
    if (i < n)
        ck_abort_msg("element %lld: got %g, want %g", (long long)i, (double)got[i],
                     (double)want[i]);
}

static void check_error(tg_graph *g, const char *const *parts, int nparts) {
    const char *e = tg_graph_error(g);
    ck_assert_ptr_nonnull(e);
    for (int i = 0; i < nparts; i++)
        ck_assert_msg(strstr(e, parts[i]) != NULL, "error \"%s\" lacks \"%s\"", e, parts[i]);
}
#define CHECK_ERROR(g, ...)                                                                        \
    check_error((g), (const char *const[]){__VA_ARGS__},                                           \
                (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)))

/* y = x with axes permuted (y axis i = x axis perm[i]), by index arithmetic. */
static void ref_permute(int n, const int *xs, const int *perm, const tg_real *x, tg_real *y) {
    int64_t xst[8], s = 1;
    for (int i = n - 1; i >= 0; i--) {
        xst[i] = s;
        s *= xs[i];
    }
    int ys[8];
    for (int i = 0; i < n; i++) ys[i] = xs[perm[i]];
    for (int64_t o = 0; o < s; o++) {
        int64_t rem = o, off = 0;
        for (int i = n - 1; i >= 0; i--) {
            off += rem % ys[i] * xst[perm[i]];
            rem /= ys[i];
        }
        y[o] = x[off];
    }
}

static void inverse(int n, const int *perm, int *inv) {
    for (int i = 0; i < n; i++) inv[perm[i]] = i;
}

/* Checks tg_permute of a ramp of shape xs against the reference, forward and backward,
 * with the given thread count. */
static void permute_case(int n, const int *xs, const int *perm, int threads) {
    tg_set_num_threads(threads);
    tg_graph *g = tg_graph_new();
    const int64_t N = prod(n, xs);
    tg_real *x = malloc((size_t)N * sizeof *x), *want = malloc((size_t)N * sizeof *want);
    tg_real *seed = malloc((size_t)N * sizeof *seed);
    ck_assert(x && want && seed);
    tg_tensor *a = leaf(g, n, xs, ramp(x, N, 0, 1));
    tg_tensor *y = tg_permute(g, a, perm);
    int ys[8], inv[8];
    for (int i = 0; i < n; i++) ys[i] = xs[perm[i] < 0 ? perm[i] + n : perm[i]];
    check_shape(y, n, ys);
    int p[8];
    for (int i = 0; i < n; i++) p[i] = perm[i] < 0 ? perm[i] + n : perm[i];
    ref_permute(n, xs, p, x, want);
    check_vals(tg_data(y), want, N);
    /* d/dx sum(seed * permute(x)) = seed permuted back */
    ramp(seed, N, 1, 0.5);
    ck_assert_int_eq(tg_backward_from(g, y, seed), 0);
    inverse(n, p, inv);
    ref_permute(n, ys, inv, seed, want);
    check_vals(tg_grad(a), want, N);
    free(x), free(want), free(seed);
    tg_graph_free(g);
    tg_set_num_threads(0);
}

/* ---- reshape ------------------------------------------------------------------------ */

START_TEST(reshape_values_and_grad) {
    tg_graph *g = tg_graph_new();
    tg_real x[6], s[6];
    tg_tensor *a = leaf(g, 2, (int[]){2, 3}, ramp(x, 6, 0, 1));
    tg_tensor *y = tg_reshape(g, a, 2, (int[]){3, 2});
    check_shape(y, 2, (int[]){3, 2});
    check_vals(tg_data(y), x, 6);
    ck_assert_str_eq(tg_tensor_op(y), "reshape");
    ramp(s, 6, 1, 1);
    ck_assert_int_eq(tg_backward_from(g, y, s), 0);
    check_vals(tg_grad(a), s, 6); /* dx = dy, flat */
    ck_assert_int_eq(tg_backward_from(g, y, s), 0);
    const tg_real twice[] = {2, 4, 6, 8, 10, 12}; /* accumulated */
    check_vals(tg_grad(a), twice, 6);
    tg_graph_free(g);
}
END_TEST

START_TEST(reshape_infers_minus_one) {
    tg_graph *g = tg_graph_new();
    tg_real x[24];
    tg_tensor *a = tg_tensor_from(g, 3, (int[]){2, 3, 4}, ramp(x, 24, 0, 1));
    check_shape(tg_reshape(g, a, 2, (int[]){-1, 4}), 2, (int[]){6, 4});
    check_shape(tg_reshape(g, a, 2, (int[]){2, -1}), 2, (int[]){2, 12});
    check_shape(tg_reshape(g, a, 1, (int[]){-1}), 1, (int[]){24});
    tg_tensor *y = tg_reshape(g, a, 4, (int[]){2, -1, 2, 3});
    check_shape(y, 4, (int[]){2, 2, 2, 3});
    check_vals(tg_data(y), x, 24);
    ck_assert_ptr_null(tg_graph_error(g));
    tg_graph_free(g);
}
END_TEST

START_TEST(reshape_0d_and_empty) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = leaf(g, 1, (int[]){1}, (tg_real[]){7});
    tg_tensor *s = tg_reshape(g, a, 0, NULL); /* [1] -> 0-d */
    check_shape(s, 0, NULL);
    ck_assert(tg_item(s) == 7);
    tg_tensor *b = tg_reshape(g, s, 3, (int[]){1, -1, 1}); /* 0-d -> [1,1,1] */
    check_shape(b, 3, (int[]){1, 1, 1});
    ck_assert_int_eq(tg_backward_from(g, b, (tg_real[]){3}), 0);
    check_vals(tg_grad(a), (tg_real[]){3}, 1);

    tg_tensor *e = leaf(g, 2, (int[]){0, 3}, (tg_real[]){0});
    check_shape(tg_reshape(g, e, 2, (int[]){3, 0}), 2, (int[]){3, 0});
    check_shape(tg_reshape(g, e, 2, (int[]){-1, 3}), 2, (int[]){0, 3});
    check_shape(tg_reshape(g, e, 3, (int[]){5, -1, 2}), 3, (int[]){5, 0, 2});
    tg_tensor *ye = tg_reshape(g, e, 1, (int[]){0});
    check_shape(ye, 1, (int[]){0});
    ck_assert_int_eq(tg_backward_from(g, ye, (tg_real[]){0}), 0);
    ck_assert_ptr_null(tg_graph_error(g));
    /* [0,-1] could be any width */
    ck_assert_ptr_null(tg_reshape(g, e, 2, (int[]){0, -1}));
    CHECK_ERROR(g, "reshape", "[0,3]", "[0,-1]", "ambiguous");
    tg_graph_free(g);
}
END_TEST

START_TEST(reshape_errors) {
    tg_real x[6] = {0};
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    ck_assert_ptr_null(tg_reshape(g, a, 2, (int[]){4, 2}));
    ck_assert_str_eq(tg_graph_error(g),
                     "reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
    /* sticky: a later bad call keeps the first message, a good one returns NULL */
    ck_assert_ptr_null(tg_reshape(g, a, 1, (int[]){7}));
    ck_assert_ptr_null(tg_reshape(g, a, 1, (int[]){6}));
    ck_assert_str_eq(tg_graph_error(g),
                     "reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)");

    tg_graph_reset(g);
    a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    ck_assert_ptr_null(tg_reshape(g, a, 2, (int[]){-1, -1}));
    CHECK_ERROR(g, "reshape", "-1", "[2,3]", "[-1,-1]");

    tg_graph_reset(g);
    a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    ck_assert_ptr_null(tg_reshape(g, a, 2, (int[]){-2, -3}));
    CHECK_ERROR(g, "reshape", "negative", "[-2,-3]", "[2,3]");

    tg_graph_reset(g);
    a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    ck_assert_ptr_null(tg_reshape(g, a, 2, (int[]){4, -1}));
    CHECK_ERROR(g, "reshape", "[2,3]", "6 elements", "[4,-1]");

    tg_graph_reset(g);
    a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    ck_assert_ptr_null(tg_reshape(g, a, 2, (int[]){0, -1}));
    ck_assert_str_eq(tg_graph_error(g), "reshape: cannot reshape [2,3] (6 elements) to [0,-1]");

    tg_graph_reset(g);
    a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    ck_assert_ptr_null(tg_reshape(g, a, 9, (int[]){1, 1, 1, 1, 1, 1, 1, 1, 6}));
    CHECK_ERROR(g, "reshape", "ndim 9");

    tg_graph_reset(g);
    a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    ck_assert_ptr_null(tg_reshape(g, a, 2, NULL));
    CHECK_ERROR(g, "reshape", "NULL");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);

    tg_graph_reset(g);
    a = tg_tensor_from(g, 2, (int[]){2, 3}, x);
    /* the product overflows: still a clean error */
    ck_assert_ptr_null(tg_reshape(g, a, 4, (int[]){1 << 30, 1 << 30, 1 << 30, 1 << 30}));
    CHECK_ERROR(g, "reshape", "[2,3]", "cannot reshape");

    tg_graph_reset(g);
    ck_assert_ptr_null(tg_reshape(g, NULL, 1, (int[]){6}));
    CHECK_ERROR(g, "reshape", "NULL");
    ck_assert_ptr_null(tg_reshape(NULL, a, 1, (int[]){6}));
    tg_graph_free(g);
}
END_TEST

/* ---- transpose ---------------------------------------------------------------------- */

START_TEST(transpose_2d) {
    tg_graph *g = tg_graph_new();
    tg_real x[6];
    tg_tensor *a = leaf(g, 2, (int[]){2, 3}, ramp(x, 6, 0, 1));
    tg_tensor *y = tg_transpose(g, a, 0, 1);
    check_shape(y, 2, (int[]){3, 2});
    check_vals(tg_data(y), (tg_real[]){0, 3, 1, 4, 2, 5}, 6);
    ck_assert_str_eq(tg_tensor_op(y), "transpose");
    /* dx = dy^T */
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){10, 20, 30, 40, 50, 60}), 0);
    check_vals(tg_grad(a), (tg_real[]){10, 30, 50, 20, 40, 60}, 6);
    /* the same through negative axes */
    tg_tensor *z = tg_transpose(g, a, -1, -2);
    check_vals(tg_data(z), tg_data(y), 6);
    tg_graph_free(g);
}
END_TEST

START_TEST(transpose_3d_negative_axes) {
    tg_graph *g = tg_graph_new();
    tg_real x[24], s[24], want[24];
    tg_tensor *a = leaf(g, 3, (int[]){2, 3, 4}, ramp(x, 24, 0, 1));
    tg_tensor *y = tg_transpose(g, a, -1, 0); /* = permute {2, 1, 0} */
    check_shape(y, 3, (int[]){4, 3, 2});
    ref_permute(3, (int[]){2, 3, 4}, (int[]){2, 1, 0}, x, want);
    check_vals(tg_data(y), want, 24);
    ramp(s, 24, -3, 0.25);
    ck_assert_int_eq(tg_backward_from(g, y, s), 0);
    ref_permute(3, (int[]){4, 3, 2}, (int[]){2, 1, 0}, s, want);
    check_vals(tg_grad(a), want, 24);

    tg_tensor *m = tg_transpose(g, a, 1, -1); /* = permute {0, 2, 1} */
    check_shape(m, 3, (int[]){2, 4, 3});
    ref_permute(3, (int[]){2, 3, 4}, (int[]){0, 2, 1}, x, want);
    check_vals(tg_data(m), want, 24);
    tg_graph_free(g);
}
END_TEST

START_TEST(transpose_same_axis_0d_and_empty) {
    tg_graph *g = tg_graph_new();
    tg_real x[6];
    tg_tensor *a = leaf(g, 2, (int[]){2, 3}, ramp(x, 6, 0, 1));
    tg_tensor *y = tg_transpose(g, a, 1, -1); /* the same axis: a copy */
    check_shape(y, 2, (int[]){2, 3});
    check_vals(tg_data(y), x, 6);
    ck_assert_ptr_ne(tg_data(y), tg_data(a));

    tg_tensor *s = leaf(g, 0, NULL, (tg_real[]){4});
    tg_tensor *t = tg_transpose(g, s, 0, -1); /* 0-d: dims 0 and -1 accepted */
    check_shape(t, 0, NULL);
    ck_assert(tg_item(t) == 4);
    ck_assert_int_eq(tg_backward_from(g, t, (tg_real[]){2.5}), 0);
    check_vals(tg_grad(s), (tg_real[]){2.5}, 1);

    tg_tensor *e = tg_tensor_new(g, 3, (int[]){2, 0, 3});
    check_shape(tg_transpose(g, e, 0, 2), 3, (int[]){3, 0, 2});
    ck_assert_ptr_null(tg_graph_error(g));
    tg_graph_free(g);
}
END_TEST

START_TEST(transpose_large_tiled_threaded) {
    /* [300,257]: not a multiple of the tile, above the threading threshold */
    for (int th = 1; th <= 4; th += 3) {
        permute_case(2, (int[]){300, 257}, (int[]){1, 0}, th);
        permute_case(3, (int[]){3, 130, 91}, (int[]){0, 2, 1}, th);
        permute_case(2, (int[]){2, 40000}, (int[]){1, 0}, th); /* thin planes */
        permute_case(2, (int[]){40000, 2}, (int[]){1, 0}, th);
    }
}
END_TEST

START_TEST(transpose_errors) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_transpose(g, a, 2, 0));
    ck_assert_str_eq(tg_graph_error(g), "transpose: dims (2, 0) out of range for shape [2,3]");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_AXIS);
    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_transpose(g, a, 0, -3));
    CHECK_ERROR(g, "transpose", "-3", "[2,3]");
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_transpose(g, tg_scalar(g, 1), 0, 1));
    CHECK_ERROR(g, "transpose", "(0, 1)", "[]");
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_transpose(g, NULL, 0, 1));
    CHECK_ERROR(g, "transpose", "NULL");
    tg_graph_free(g);
}
END_TEST

/* ---- permute ------------------------------------------------------------------------ */

START_TEST(permute_3d_and_4d) {
    permute_case(3, (int[]){2, 3, 4}, (int[]){2, 0, 1}, 1);
    permute_case(3, (int[]){2, 3, 4}, (int[]){1, 2, 0}, 1);
    permute_case(3, (int[]){2, 3, 4}, (int[]){0, 1, 2}, 1); /* identity */
    permute_case(4, (int[]){2, 3, 4, 5}, (int[]){3, 1, 0, 2}, 1);
    permute_case(4, (int[]){2, 3, 4, 5}, (int[]){-1, 1, 0, -2}, 1); /* the same, negative */
    permute_case(4, (int[]){2, 3, 4, 5}, (int[]){0, 1, 3, 2}, 1);   /* tiled planes */
    permute_case(4, (int[]){1, 3, 1, 5}, (int[]){2, 3, 0, 1}, 1);   /* size-1 axes */
    permute_case(5, (int[]){2, 1, 3, 2, 2}, (int[]){4, 2, 0, 3, 1}, 1);
}
END_TEST

START_TEST(permute_4d_values_by_hand) {
    /* y[l,j,i,k] = x[i,j,k,l] for perm {3,1,0,2}: spot-check a few elements */
    tg_graph *g = tg_graph_new();
    tg_real x[120];
    tg_tensor *a = tg_tensor_from(g, 4, (int[]){2, 3, 4, 5}, ramp(x, 120, 0, 1));
    tg_tensor *y = tg_permute(g, a, (int[]){3, 1, 0, 2});
    check_shape(y, 4, (int[]){5, 3, 2, 4});
    ck_assert_str_eq(tg_tensor_op(y), "permute");
    const tg_real *v = tg_data(y);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 5; l++)
                    ck_assert(v[((l * 3 + j) * 2 + i) * 4 + k] == x[((i * 3 + j) * 4 + k) * 5 + l]);
    tg_graph_free(g);
}
END_TEST

START_TEST(permute_large_threaded) {
    const int s4[] = {8, 16, 32, 20}; /* 81920 elements */
    for (int th = 1; th <= 4; th += 3) {
        permute_case(4, s4, (int[]){0, 2, 1, 3}, th);
        permute_case(4, s4, (int[]){0, 1, 3, 2}, th);
        permute_case(4, s4, (int[]){3, 2, 1, 0}, th);
        permute_case(4, s4, (int[]){2, 0, 3, 1}, th);
    }
}
END_TEST

START_TEST(permute_random_against_reference) {
    /* random shapes of 1 to 6 axes (sizes 1 to 7, so some axes merge or drop) and
     * random permutations, every path of the kernel against the reference */
    uint64_t r = 12345;
#define NEXT() (r = r * 6364136223846793005u + 1442695040888963407u, (int)(r >> 33))
    for (int c = 0; c < 300; c++) {
        int n = 1 + NEXT() % 6, xs[8], perm[8];
        for (int i = 0; i < n; i++) {
            xs[i] = 1 + NEXT() % 7;
            perm[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = NEXT() % (i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        permute_case(n, xs, perm, 1 + c % 2);
    }
#undef NEXT
}
END_TEST

START_TEST(permute_0d_and_empty) {
    tg_graph *g = tg_graph_new();
    tg_tensor *s = leaf(g, 0, NULL, (tg_real[]){3});
    tg_tensor *y = tg_permute(g, s, NULL); /* 0-d: empty perm, NULL allowed */
    check_shape(y, 0, NULL);
    ck_assert(tg_item(y) == 3);
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){-1}), 0);
    check_vals(tg_grad(s), (tg_real[]){-1}, 1);
    tg_tensor *e = leaf(g, 3, (int[]){2, 0, 3}, (tg_real[]){0});
    tg_tensor *ye = tg_permute(g, e, (int[]){2, 1, 0});
    check_shape(ye, 3, (int[]){3, 0, 2});
    ck_assert_int_eq(tg_backward_from(g, ye, (tg_real[]){0}), 0);
    ck_assert_ptr_null(tg_graph_error(g));
    tg_graph_free(g);
}
END_TEST

START_TEST(permute_errors) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 3, (int[]){2, 3, 4});
    ck_assert_ptr_null(tg_permute(g, a, (int[]){0, 2, 0}));
    ck_assert_str_eq(tg_graph_error(g),
                     "permute: axis 0 repeated in perm [0,2,0] for shape [2,3,4]");
    tg_graph_reset(g);
    a = tg_tensor_new(g, 3, (int[]){2, 3, 4});
    ck_assert_ptr_null(tg_permute(g, a, (int[]){0, -1, 2})); /* -1 is 2: a repeat */
    CHECK_ERROR(g, "permute", "repeated", "[0,-1,2]", "[2,3,4]");
    tg_graph_reset(g);
    a = tg_tensor_new(g, 3, (int[]){2, 3, 4});
    ck_assert_ptr_null(tg_permute(g, a, (int[]){0, 1, 3}));
    CHECK_ERROR(g, "permute", "axis 3 out of range", "[0,1,3]", "[2,3,4]");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_AXIS);
    tg_graph_reset(g);
    a = tg_tensor_new(g, 3, (int[]){2, 3, 4});
    ck_assert_ptr_null(tg_permute(g, a, (int[]){-4, 1, 2}));
    CHECK_ERROR(g, "permute", "-4", "[2,3,4]");
    tg_graph_reset(g);
    a = tg_tensor_new(g, 3, (int[]){2, 3, 4});
    ck_assert_ptr_null(tg_permute(g, a, NULL));
    CHECK_ERROR(g, "permute", "NULL", "[2,3,4]");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    tg_graph_free(g);
}
END_TEST

/* ---- broadcast_to ------------------------------------------------------------------- */

START_TEST(broadcast_row) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = leaf(g, 1, (int[]){3}, (tg_real[]){1, 2, 3});
    tg_tensor *y = tg_broadcast_to(g, a, 2, (int[]){2, 3});
    check_shape(y, 2, (int[]){2, 3});
    check_vals(tg_data(y), (tg_real[]){1, 2, 3, 1, 2, 3}, 6);
    ck_assert_str_eq(tg_tensor_op(y), "broadcast_to");
    /* dx[j] = sum_i dy[i,j] */
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 2, 3, 10, 20, 30}), 0);
    check_vals(tg_grad(a), (tg_real[]){11, 22, 33}, 3);
    tg_graph_free(g);
}
END_TEST

START_TEST(broadcast_column) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = leaf(g, 2, (int[]){2, 1}, (tg_real[]){5, 7});
    tg_tensor *y = tg_broadcast_to(g, a, 2, (int[]){2, 4});
    check_shape(y, 2, (int[]){2, 4});
    check_vals(tg_data(y), (tg_real[]){5, 5, 5, 5, 7, 7, 7, 7}, 8);
    /* dx[i] = sum_j dy[i,j] */
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 2, 3, 4, 5, 6, 7, 8}), 0);
    check_vals(tg_grad(a), (tg_real[]){10, 26}, 2);
    tg_graph_free(g);
}
END_TEST

START_TEST(broadcast_0d_3d_same_and_empty) {
    tg_graph *g = tg_graph_new();
    tg_tensor *s = leaf(g, 0, NULL, (tg_real[]){2});
    tg_tensor *y = tg_broadcast_to(g, s, 2, (int[]){2, 2});
    check_vals(tg_data(y), (tg_real[]){2, 2, 2, 2}, 4);
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 2, 3, 4}), 0);
    check_vals(tg_grad(s), (tg_real[]){10}, 1);

    /* [3,1] -> [2,3,4]: a new leading axis and a stretched last one */
    tg_tensor *c = leaf(g, 2, (int[]){3, 1}, (tg_real[]){1, 2, 3});
    tg_tensor *z = tg_broadcast_to(g, c, 3, (int[]){2, 3, 4});
    check_shape(z, 3, (int[]){2, 3, 4});
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) ck_assert(tg_data(z)[(i * 3 + j) * 4 + k] == j + 1);
    tg_real seed[24];
    ck_assert_int_eq(tg_backward_from(g, z, ramp(seed, 24, 0, 1)), 0);
    /* dx[j] = sum over i, k of dy[i,j,k] */
    tg_real want[3] = {0, 0, 0};
    for (int i = 0; i < 24; i++) want[i / 4 % 3] += seed[i];
    check_vals(tg_grad(c), want, 3);

    /* same shape: a copy, dx = dy */
    tg_tensor *d = leaf(g, 1, (int[]){2}, (tg_real[]){1, 2});
    tg_tensor *w = tg_broadcast_to(g, d, 1, (int[]){2});
    check_vals(tg_data(w), (tg_real[]){1, 2}, 2);
    ck_assert_int_eq(tg_backward_from(g, w, (tg_real[]){3, 4}), 0);
    check_vals(tg_grad(d), (tg_real[]){3, 4}, 2);

    /* 1 -> 0 is allowed (an empty result); its gradient is zero */
    tg_tensor *e = leaf(g, 2, (int[]){1, 3}, (tg_real[]){1, 2, 3});
    tg_tensor *ye = tg_broadcast_to(g, e, 2, (int[]){0, 3});
    check_shape(ye, 2, (int[]){0, 3});
    ck_assert_int_eq(tg_backward_from(g, ye, (tg_real[]){0}), 0);
    check_vals(tg_grad(e), (tg_real[]){0, 0, 0}, 3);
    ck_assert_ptr_null(tg_graph_error(g));
    tg_graph_free(g);
}
END_TEST

START_TEST(broadcast_large_threaded) {
    for (int th = 1; th <= 4; th += 3) {
        tg_set_num_threads(th);
        tg_graph *g = tg_graph_new();
        static tg_real col[300];
        tg_tensor *a = leaf(g, 2, (int[]){300, 1}, ramp(col, 300, 0, 1));
        tg_tensor *y = tg_broadcast_to(g, a, 3, (int[]){2, 300, 129});
        check_shape(y, 3, (int[]){2, 300, 129});
        tg_real *want = malloc(2 * 300 * 129 * sizeof *want);
        for (int64_t i = 0; i < 2 * 300 * 129; i++) want[i] = (tg_real)(i / 129 % 300);
        check_vals(tg_data(y), want, 2 * 300 * 129);
        /* dx[j] = sum over i, k of dy[i,j,k] = 2 * 129 for a seed of ones */
        for (int64_t i = 0; i < 2 * 300 * 129; i++) want[i] = 1;
        ck_assert_int_eq(tg_backward_from(g, y, want), 0);
        for (int j = 0; j < 300; j++) want[j] = 2 * 129;
        check_vals(tg_grad(a), want, 300);
        free(want);
        tg_graph_free(g);
    }
    tg_set_num_threads(0);
}
END_TEST

START_TEST(broadcast_errors) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 1, (int[]){3});
    ck_assert_ptr_null(tg_broadcast_to(g, a, 2, (int[]){2, 4}));
    ck_assert_str_eq(tg_graph_error(g), "broadcast_to: cannot broadcast [3] to [2,4]");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_broadcast_to(g, a, 1, (int[]){3})); /* fewer axes */
    CHECK_ERROR(g, "broadcast_to", "[2,3]", "[3]");
    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 1});
    ck_assert_ptr_null(tg_broadcast_to(g, a, 2, (int[]){-1, 4}));
    CHECK_ERROR(g, "broadcast_to", "[2,1]", "[-1,4]");
    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 1});
    ck_assert_ptr_null(tg_broadcast_to(g, a, 2, NULL));
    CHECK_ERROR(g, "broadcast_to", "NULL");
    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 1});
    ck_assert_ptr_null(tg_broadcast_to(g, a, 9, (int[]){1, 1, 1, 1, 1, 1, 1, 2, 1}));
    CHECK_ERROR(g, "broadcast_to", "ndim 9");
    tg_graph_free(g);
}
END_TEST

/* ---- concat ------------------------------------------------------------------------- */

START_TEST(concat_three_middle_axis) {
    tg_graph *g = tg_graph_new();
    tg_real xa[6], xb[12], xc[18];
    tg_tensor *a = leaf(g, 3, (int[]){2, 1, 3}, ramp(xa, 6, 100, 1));
    tg_tensor *b = leaf(g, 3, (int[]){2, 2, 3}, ramp(xb, 12, 200, 1));
    tg_tensor *c = tg_tensor_from(g, 3, (int[]){2, 3, 3}, ramp(xc, 18, 300, 1)); /* no grad */
    for (int axis = 1; axis >= -2; axis -= 3) {
        tg_zero_grad(a), tg_zero_grad(b);
        tg_tensor *y = tg_concat(g, 3, (tg_tensor *[]){a, b, c}, axis);
        check_shape(y, 3, (int[]){2, 6, 3});
        ck_assert_str_eq(tg_tensor_op(y), "concat");
        const tg_real want[36] = {100, 101, 102, 200, 201, 202, 203, 204, 205, 300, 301, 302,
                                  303, 304, 305, 306, 307, 308, 103, 104, 105, 206, 207, 208,
                                  209, 210, 211, 309, 310, 311, 312, 313, 314, 315, 316, 317};
        check_vals(tg_data(y), want, 36);
        /* each input's gradient is its slice of the seed */
        tg_real s[36];
        ck_assert_int_eq(tg_backward_from(g, y, ramp(s, 36, 0, 1)), 0);
        check_vals(tg_grad(a), (tg_real[]){0, 1, 2, 18, 19, 20}, 6);
        check_vals(tg_grad(b), (tg_real[]){3, 4, 5, 6, 7, 8, 21, 22, 23, 24, 25, 26}, 12);
        ck_assert_ptr_null(tg_grad(c));
    }
    tg_graph_free(g);
}
END_TEST

START_TEST(concat_first_last_axis_single_repeat_empty) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = leaf(g, 2, (int[]){2, 2}, (tg_real[]){1, 2, 3, 4});
    tg_tensor *b = leaf(g, 2, (int[]){2, 1}, (tg_real[]){5, 6});
    tg_tensor *y = tg_concat(g, 2, (tg_tensor *[]){a, b}, -1);
    check_shape(y, 2, (int[]){2, 3});
    check_vals(tg_data(y), (tg_real[]){1, 2, 5, 3, 4, 6}, 6);
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 2, 3, 4, 5, 6}), 0);
    check_vals(tg_grad(a), (tg_real[]){1, 2, 4, 5}, 4);
    check_vals(tg_grad(b), (tg_real[]){3, 6}, 2);

    /* the same tensor twice along axis 0: both slices accumulate into it */
    tg_zero_grad(a);
    tg_tensor *r = tg_concat(g, 2, (tg_tensor *[]){a, a}, 0);
    check_shape(r, 2, (int[]){4, 2});
    check_vals(tg_data(r), (tg_real[]){1, 2, 3, 4, 1, 2, 3, 4}, 8);
    ck_assert_int_eq(tg_backward_from(g, r, (tg_real[]){1, 2, 3, 4, 10, 20, 30, 40}), 0);
    check_vals(tg_grad(a), (tg_real[]){11, 22, 33, 44}, 4);

    /* one input: a copy */
    tg_tensor *one = tg_concat(g, 1, &b, 0);
    check_shape(one, 2, (int[]){2, 1});
    check_vals(tg_data(one), (tg_real[]){5, 6}, 2);

    /* an empty input contributes nothing */
    tg_tensor *e = leaf(g, 2, (int[]){2, 0}, (tg_real[]){0});
    tg_tensor *ye = tg_concat(g, 3, (tg_tensor *[]){e, b, e}, 1);
    check_shape(ye, 2, (int[]){2, 1});
    check_vals(tg_data(ye), (tg_real[]){5, 6}, 2);
    ck_assert_int_eq(tg_backward_from(g, ye, (tg_real[]){1, 1}), 0);
    tg_tensor *ee = tg_concat(g, 2, (tg_tensor *[]){e, e}, 1);
    check_shape(ee, 2, (int[]){2, 0});
    ck_assert_ptr_null(tg_graph_error(g));
    tg_graph_free(g);
}
END_TEST

START_TEST(concat_many_inputs) {
    /* more inputs than fit in a node's inline arguments */
    enum { N = 20 };
    tg_graph *g = tg_graph_new();
    tg_tensor *ts[N];
    for (int i = 0; i < N; i++)
        ts[i] = leaf(g, 2, (int[]){1, 2}, (tg_real[]){(tg_real)i, (tg_real)-i});
    tg_tensor *y = tg_concat(g, N, ts, 0);
    check_shape(y, 2, (int[]){N, 2});
    for (int i = 0; i < N; i++) {
        ck_assert(tg_data(y)[2 * i] == i);
        ck_assert(tg_data(y)[2 * i + 1] == -i);
    }
    tg_real s[2 * N];
    ck_assert_int_eq(tg_backward_from(g, y, ramp(s, 2 * N, 0, 1)), 0);
    for (int i = 0; i < N; i++) check_vals(tg_grad(ts[i]), s + 2 * i, 2);
    tg_graph_free(g);
}
END_TEST

START_TEST(concat_large_threaded) {
    for (int th = 1; th <= 4; th += 3) {
        tg_set_num_threads(th);
        tg_graph *g = tg_graph_new();
        enum { R = 200, C1 = 150, C2 = 170 };
        tg_real *x1 = malloc(R * C1 * sizeof *x1), *x2 = malloc(R * C2 * sizeof *x2);
        tg_real *s = malloc(R * (C1 + C2) * sizeof *s);
        tg_tensor *a = leaf(g, 2, (int[]){R, C1}, ramp(x1, R * C1, 0, 1));
        tg_tensor *b = leaf(g, 2, (int[]){R, C2}, ramp(x2, R * C2, -1, -1));
        tg_tensor *y = tg_concat(g, 2, (tg_tensor *[]){a, b}, 1);
        check_shape(y, 2, (int[]){R, C1 + C2});
        for (int i = 0; i < R; i++) {
            check_vals(tg_data(y) + i * (C1 + C2), x1 + i * C1, C1);
            check_vals(tg_data(y) + i * (C1 + C2) + C1, x2 + i * C2, C2);
        }
        ck_assert_int_eq(tg_backward_from(g, y, ramp(s, R * (C1 + C2), 0, 1)), 0);
        for (int i = 0; i < R; i++) {
            check_vals(tg_grad(a) + i * C1, s + i * (C1 + C2), C1);
            check_vals(tg_grad(b) + i * C2, s + i * (C1 + C2) + C1, C2);
        }
        free(x1), free(x2), free(s);
        tg_graph_free(g);
    }
    tg_set_num_threads(0);
}
END_TEST

START_TEST(concat_errors) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 3, (int[]){2, 1, 5});
    tg_tensor *b = tg_tensor_new(g, 3, (int[]){2, 4, 3});
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *[]){a, b}, 1));
    ck_assert_str_eq(tg_graph_error(g), "concat: input 2 has shape [2,4,3] but input 1 has "
                                        "[2,1,5]: all dimensions except axis 1 must agree");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);

    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 3});
    b = tg_tensor_new(g, 3, (int[]){2, 3, 1});
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *[]){a, b}, 0));
    CHECK_ERROR(g, "concat", "[2,3,1]", "[2,3]");

    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_concat(g, 3, (tg_tensor *[]){a, NULL, a}, 0));
    ck_assert_str_eq(tg_graph_error(g), "concat: input 2 of 3 is NULL");

    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_concat(g, 0, (tg_tensor *[]){a}, 0));
    CHECK_ERROR(g, "concat", "n = 0");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);

    tg_graph_reset(g);
    ck_assert_ptr_null(tg_concat(g, 2, NULL, 0));
    CHECK_ERROR(g, "concat", "NULL");

    tg_graph_reset(g);
    tg_tensor *s = tg_scalar(g, 1);
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *[]){s, s}, 0));
    CHECK_ERROR(g, "concat", "0-d", "[]");

    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *[]){a, a}, 2));
    ck_assert_str_eq(tg_graph_error(g), "concat: axis 2 out of range for shape [2,3]");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_AXIS);

    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *[]){a, a}, -3));
    CHECK_ERROR(g, "concat", "-3", "[2,3]");

    /* inputs from another graph */
    tg_graph_reset(g);
    tg_graph *h = tg_graph_new();
    a = tg_tensor_new(g, 1, (int[]){2});
    tg_tensor *o = tg_tensor_new(h, 1, (int[]){2});
    ck_assert_ptr_null(tg_concat(g, 2, (tg_tensor *[]){a, o}, 0));
    CHECK_ERROR(g, "concat", "another graph");
    tg_graph_free(h);

    ck_assert_ptr_null(tg_concat(NULL, 1, (tg_tensor *[]){a}, 0));
    tg_graph_free(g);
}
END_TEST

/* ---- slice -------------------------------------------------------------------------- */

/* slice of ramp(10) along its only axis: values and the scattered gradient */
static void slice_1d(int start, int stop, int step, int n, const tg_real *want) {
    tg_graph *g = tg_graph_new();
    tg_real x[10], seed[10], dx[10] = {0};
    tg_tensor *a = leaf(g, 1, (int[]){10}, ramp(x, 10, 0, 1));
    tg_tensor *y = tg_slice(g, a, 0, start, stop, step);
    check_shape(y, 1, (int[]){n});
    check_vals(tg_data(y), want, n);
    ck_assert_int_eq(tg_backward_from(g, y, ramp(seed, n, 1, 1)), 0);
    for (int i = 0; i < n; i++) dx[(int)want[i]] += seed[i];
    check_vals(tg_grad(a), dx, 10);
    ck_assert_ptr_null(tg_graph_error(g));
    tg_graph_free(g);
}

START_TEST(slice_python_semantics) {
    slice_1d(2, 9, 3, 3, (tg_real[]){2, 5, 8});
    slice_1d(2, 8, 3, 2, (tg_real[]){2, 5});
    slice_1d(0, 10, 1, 10, (tg_real[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    slice_1d(-3, -1, 1, 2, (tg_real[]){7, 8});
    slice_1d(-3, 10, 2, 2, (tg_real[]){7, 9});
    slice_1d(-100, 100, 4, 3, (tg_real[]){0, 4, 8}); /* clipped */
    slice_1d(8, 100, 1, 2, (tg_real[]){8, 9});
    slice_1d(5, 2, 1, 0, NULL);    /* empty */
    slice_1d(0, -100, 1, 0, NULL); /* empty */
    slice_1d(10, 20, 1, 0, NULL);  /* empty */
    slice_1d(4, 5, 100, 1, (tg_real[]){4});
    slice_1d(-1, 10, 1, 1, (tg_real[]){9});
}
END_TEST

START_TEST(slice_2d_3d_negative_axis) {
    tg_graph *g = tg_graph_new();
    tg_real x[15];
    tg_tensor *a = leaf(g, 2, (int[]){3, 5}, ramp(x, 15, 0, 1));
    tg_tensor *y = tg_slice(g, a, -1, 1, 5, 2); /* columns 1 and 3 */
    check_shape(y, 2, (int[]){3, 2});
    check_vals(tg_data(y), (tg_real[]){1, 3, 6, 8, 11, 13}, 6);
    ck_assert_str_eq(tg_tensor_op(y), "slice");
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 2, 3, 4, 5, 6}), 0);
    check_vals(tg_grad(a), (tg_real[]){0, 1, 0, 2, 0, 0, 3, 0, 4, 0, 0, 5, 0, 6, 0}, 15);

    tg_tensor *r = tg_slice(g, a, 0, -2, 3, 1); /* rows 1, 2 */
    check_shape(r, 2, (int[]){2, 5});
    check_vals(tg_data(r), x + 5, 10);

    /* [2,5,3] along the middle axis, every other row from -4 */
    tg_real z[30], want[12], s[12], dz[30] = {0};
    tg_tensor *c = leaf(g, 3, (int[]){2, 5, 3}, ramp(z, 30, 0, 1));
    tg_tensor *w = tg_slice(g, c, 1, -4, 5, 2); /* rows 1, 3 */
    check_shape(w, 3, (int[]){2, 2, 3});
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
            for (int l = 0; l < 3; l++) want[(i * 2 + k) * 3 + l] = z[(i * 5 + 1 + 2 * k) * 3 + l];
    check_vals(tg_data(w), want, 12);
    ck_assert_int_eq(tg_backward_from(g, w, ramp(s, 12, 1, 1)), 0);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
            for (int l = 0; l < 3; l++) dz[(i * 5 + 1 + 2 * k) * 3 + l] = s[(i * 2 + k) * 3 + l];
    check_vals(tg_grad(c), dz, 30);

    /* an empty slice in the middle: shape [2,0,3]; backward leaves dz untouched */
    tg_tensor *e = tg_slice(g, c, 1, 3, 3, 1);
    check_shape(e, 3, (int[]){2, 0, 3});
    ck_assert_int_eq(tg_backward_from(g, e, (tg_real[]){0}), 0);
    check_vals(tg_grad(c), dz, 30);
    ck_assert_ptr_null(tg_graph_error(g));
    tg_graph_free(g);
}
END_TEST

START_TEST(slice_large_threaded) {
    enum { R = 1200, C = 64, ROWS = (R - 1 + 2) / 3 };
    for (int th = 1; th <= 4; th += 3) {
        tg_set_num_threads(th);
        tg_graph *g = tg_graph_new();
        tg_real *x = malloc(R * C * sizeof *x);
        tg_tensor *a = leaf(g, 2, (int[]){R, C}, ramp(x, R * C, 0, 1));
        tg_tensor *y = tg_slice(g, a, 0, 1, R, 3); /* rows 1, 4, ... */
        check_shape(y, 2, (int[]){ROWS, C});
        for (int k = 0; k < ROWS; k++) check_vals(tg_data(y) + k * C, x + (1 + 3 * k) * C, C);
        tg_tensor *col = tg_slice(g, a, 1, 5, C, 7); /* 9 columns */
        check_shape(col, 2, (int[]){R, 9});
        tg_real *want = malloc(R * C * sizeof *want);
        for (int i = 0; i < R; i++)
            for (int k = 0; k < 9; k++) want[i * 9 + k] = x[i * C + 5 + 7 * k];
        check_vals(tg_data(col), want, R * 9);
        tg_tensor *big = tg_reshape(g, a, 1, (int[]){-1});
        tg_tensor *z = tg_slice(g, big, 0, 0, R * C, 2); /* single elements, threaded */
        tg_real *s = malloc(R * C / 2 * sizeof *s);
        ck_assert_int_eq(tg_backward_from(g, z, ramp(s, R * C / 2, 1, 1)), 0);
        for (int i = 0; i < R * C; i++) want[i] = i % 2 ? 0 : s[i / 2];
        check_vals(tg_grad(a), want, R * C);
        free(x), free(s), free(want);
        tg_graph_free(g);
    }
    tg_set_num_threads(0);
}
END_TEST

START_TEST(slice_errors) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 2, (int[]){3, 5});
    ck_assert_ptr_null(tg_slice(g, a, 1, 0, 5, 0));
    ck_assert_str_eq(tg_graph_error(g), "slice: step 0 must be >= 1 (shape [3,5], axis 1)");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);
    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){3, 5});
    ck_assert_ptr_null(tg_slice(g, a, 0, 3, 0, -1));
    CHECK_ERROR(g, "slice", "step -1", "[3,5]");
    tg_graph_reset(g);
    a = tg_tensor_new(g, 2, (int[]){3, 5});
    ck_assert_ptr_null(tg_slice(g, a, 2, 0, 1, 1));
    ck_assert_str_eq(tg_graph_error(g), "slice: axis 2 out of range for shape [3,5]");
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_AXIS);
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_slice(g, tg_scalar(g, 1), 0, 0, 1, 1));
    CHECK_ERROR(g, "slice", "[]");
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_slice(g, NULL, 0, 0, 1, 1));
    CHECK_ERROR(g, "slice", "NULL");
    tg_graph_free(g);
}
END_TEST

/* ---- together ----------------------------------------------------------------------- */

START_TEST(chain_of_shape_ops) {
    /* x [2,3] -> transpose [3,2] -> concat with itself [3,4] -> slice cols 1..3 [3,2]
     * -> reshape [6] -> broadcast_to [2,6]; the gradient by hand:
     * y[r, 2i + j] = z[i, 1 + j] where z = [xT, xT]: z[i,1] = x[1,i], z[i,2] = x[0,i] */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = leaf(g, 2, (int[]){2, 3}, (tg_real[]){1, 2, 3, 4, 5, 6});
    tg_tensor *t = tg_transpose(g, x, 0, 1);
    tg_tensor *z = tg_concat(g, 2, (tg_tensor *[]){t, t}, 1);
    tg_tensor *s = tg_slice(g, z, 1, 1, 3, 1);
    tg_tensor *r = tg_reshape(g, s, 1, (int[]){-1});
    tg_tensor *y = tg_broadcast_to(g, r, 2, (int[]){2, 6});
    check_shape(y, 2, (int[]){2, 6});
    check_vals(tg_data(y), (tg_real[]){4, 1, 5, 2, 6, 3, 4, 1, 5, 2, 6, 3}, 12);
    tg_real seed[12];
    ck_assert_int_eq(tg_backward_from(g, y, ramp(seed, 12, 1, 1)), 0);
    /* d r[k] = seed[k] + seed[6 + k] = 2k + 8; x[1,i] gets r[2i], x[0,i] gets r[2i+1] */
    check_vals(tg_grad(x), (tg_real[]){10, 14, 18, 8, 12, 16}, 6);
    tg_graph_free(g);
}
END_TEST

START_TEST(no_grad_mode_records_nothing) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = leaf(g, 2, (int[]){2, 3}, (tg_real[]){1, 2, 3, 4, 5, 6});
    tg_graph_set_grad_enabled(g, false);
    tg_tensor *ys[6];
    ys[0] = tg_reshape(g, a, 1, (int[]){6});
    ys[1] = tg_transpose(g, a, 0, 1);
    ys[2] = tg_permute(g, a, (int[]){1, 0});
    ys[3] = tg_broadcast_to(g, a, 3, (int[]){2, 2, 3});
    ys[4] = tg_concat(g, 2, (tg_tensor *[]){a, a}, 0);
    ys[5] = tg_slice(g, a, 1, 0, 3, 2);
    for (int i = 0; i < 6; i++) {
        ck_assert_ptr_nonnull(ys[i]);
        ck_assert(!tg_requires_grad(ys[i]));
        ck_assert_ptr_null(tg_tensor_op(ys[i]));
    }
    tg_graph_free(g);
}
END_TEST

START_TEST(graph_in_error_returns_null) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 2, (int[]){2, 3});
    ck_assert_ptr_null(tg_slice(g, a, 5, 0, 1, 1));
    const char *first = "slice: axis 5 out of range for shape [2,3]";
    ck_assert_str_eq(tg_graph_error(g), first);
    ck_assert_ptr_null(tg_reshape(g, a, 1, (int[]){6}));
    ck_assert_ptr_null(tg_transpose(g, a, 0, 1));
    ck_assert_ptr_null(tg_permute(g, a, (int[]){1, 0}));
    ck_assert_ptr_null(tg_broadcast_to(g, a, 2, (int[]){2, 3}));
    ck_assert_ptr_null(tg_concat(g, 1, &a, 0));
    ck_assert_ptr_null(tg_concat(g, 0, NULL, 0));
    ck_assert_ptr_null(tg_slice(g, a, 0, 0, 1, 1));
    ck_assert_str_eq(tg_graph_error(g), first);
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("shape");
    TCase *tc = tcase_create("reshape");
    tcase_add_test(tc, reshape_values_and_grad);
    tcase_add_test(tc, reshape_infers_minus_one);
    tcase_add_test(tc, reshape_0d_and_empty);
    tcase_add_test(tc, reshape_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("transpose");
    tcase_add_test(tc, transpose_2d);
    tcase_add_test(tc, transpose_3d_negative_axes);
    tcase_add_test(tc, transpose_same_axis_0d_and_empty);
    tcase_add_test(tc, transpose_large_tiled_threaded);
    tcase_add_test(tc, transpose_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("permute");
    tcase_add_test(tc, permute_3d_and_4d);
    tcase_add_test(tc, permute_4d_values_by_hand);
    tcase_add_test(tc, permute_large_threaded);
    tcase_add_test(tc, permute_random_against_reference);
    tcase_add_test(tc, permute_0d_and_empty);
    tcase_add_test(tc, permute_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("broadcast_to");
    tcase_add_test(tc, broadcast_row);
    tcase_add_test(tc, broadcast_column);
    tcase_add_test(tc, broadcast_0d_3d_same_and_empty);
    tcase_add_test(tc, broadcast_large_threaded);
    tcase_add_test(tc, broadcast_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("concat");
    tcase_add_test(tc, concat_three_middle_axis);
    tcase_add_test(tc, concat_first_last_axis_single_repeat_empty);
    tcase_add_test(tc, concat_many_inputs);
    tcase_add_test(tc, concat_large_threaded);
    tcase_add_test(tc, concat_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("slice");
    tcase_add_test(tc, slice_python_semantics);
    tcase_add_test(tc, slice_2d_3d_negative_axis);
    tcase_add_test(tc, slice_large_threaded);
    tcase_add_test(tc, slice_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("together");
    tcase_add_test(tc, chain_of_shape_ops);
    tcase_add_test(tc, no_grad_mode_records_nothing);
    tcase_add_test(tc, graph_in_error_returns_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
