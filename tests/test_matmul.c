/* tests/test_matmul.c: the matrix-product kernels (portable and BLAS) and tg_matmul.
 *
 * Kernels: every transpose combination, alpha and beta (beta 0 must not read C), odd
 * edge sizes, padded leading dimensions, empty products, agreement of the portable
 * kernel and BLAS with a double-precision reference, and bit-identical results across
 * thread counts and tile positions. The op: forward values and gradients of every
 * shape case (2-D, batched, a broadcast operand on either side, empty), through BLAS
 * and through the portable kernel, and its error messages. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad.h>

#include "kernels/gemm.h"

#include "tg_rng.h"
#include "tg_test.h"

#define EPS (TG_PRECISION_DOUBLE ? DBL_EPSILON : FLT_EPSILON)


/* ---- helpers ----------------------------------------------------------------------- */

/* |got - want| <= 2 (K+4) eps * mag, mag = the sum of the absolute terms: a bound on
 * the rounding error of any summation order, with or without FMA. */
static bool close_to(double got, double want, double mag, int K) {
    return fabs(got - want) <= 2.0 * (K + 4) * EPS * mag + 1e-30;
}

/* C[i][j] of alpha*op(A)@op(B) + beta*C0 in double, and its magnitude. */
static void ref_elem(bool ta, bool tb, int K, double alpha, const tg_real *A, int lda,
                     const tg_real *B, int ldb, double beta, double c0, int i, int j, double *val,
                     double *mag) {
    double s = 0, m = 0;
    for (int p = 0; p < K; p++) {
        double a = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
        double b = tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
        s += a * b;
        m += fabs(a * b);
    }
    *val = alpha * s + (beta != 0 ? beta * c0 : 0);
    *mag = fabs(alpha) * m + (beta != 0 ? fabs(beta * c0) : 0);
}

typedef void (*gemm_fn)(bool, bool, int, int, int, tg_real, const tg_real *, int, const tg_real *,
                        int, tg_real, tg_real *, int);

/* Runs fn on random operands with padded leading dimensions and checks every element
 * of C against the reference, that the padding of C is untouched, and (beta == 0) that
 * NaNs already in C do not leak through. */
static void check_gemm(gemm_fn fn, const char *name, bool ta, bool tb, int M, int N, int K,
                       tg_real alpha, tg_real beta) {
    const int lda = (ta ? M : K) + rng_int(0, 2), ldb = (tb ? K : N) + rng_int(0, 2);
    const int ldc = N + rng_int(0, 2);
    const int arows = ta ? K : M, brows = tb ? N : K;
    tg_real *A = rand_array((size_t)arows * lda), *B = rand_array((size_t)brows * ldb);
    tg_real *C = rand_array((size_t)M * ldc), *C0 = malloc(((size_t)M * ldc + 1) * sizeof *C0);
    ck_assert_ptr_nonnull(C0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++)
            if (j >= N)
                C[(size_t)i * ldc + j] = (tg_real)7.25; /* padding sentinel */
            else if (beta == 0)
                C[(size_t)i * ldc + j] = (tg_real)NAN;
    memcpy(C0, C, (size_t)M * ldc * sizeof *C);
    fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < ldc; j++) {
            const tg_real got = C[(size_t)i * ldc + j];
            if (j >= N) {
                CHECK(got == (tg_real)7.25, "%s: padding of C written at [%d,%d]", name, i, j);
                continue;
            }
            double want, mag;
            ref_elem(ta, tb, K, alpha, A, lda, B, ldb, beta, C0[(size_t)i * ldc + j], i, j, &want,
                     &mag);
            CHECK(close_to(got, want, mag, K),
                  "%s(%c%c, M=%d N=%d K=%d, alpha=%g beta=%g): C[%d,%d] = %.9g, "
                  "want %.9g",
                  name, ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, (double)alpha, (double)beta, i, j,
                  (double)got, want);
        }
    }
    free(A);
    free(B);
    free(C);
    free(C0);
}

static const int edge_sizes[] = {1, 2, 3, 7, 17, 31, 64, 65, 129};
#define NEDGE ((int)(sizeof edge_sizes / sizeof edge_sizes[0]))

/* ---- kernels ----------------------------------------------------------------------- */

/* Random sizes from the edge list, every transpose combination, beta 0 and 1,
 * through the portable kernel and through tgk_gemm (BLAS when built with it). */
START_TEST(gemm_edge_sizes_all_transposes) {
    const int t = _i; /* 0..7: transA, transB, beta */
    const bool ta = t & 1, tb = (t >> 1) & 1;
    const tg_real beta = (t >> 2) & 1 ? 1 : 0;
    rng_seed(100 + (uint64_t)t);
    for (int r = 0; r < 40; r++) {
        const int M = edge_sizes[rng_int(0, NEDGE - 1)], N = edge_sizes[rng_int(0, NEDGE - 1)];
        const int K = edge_sizes[rng_int(0, NEDGE - 1)];
        const tg_real alpha = r % 3 == 2 ? (tg_real)-0.75 : 1;
        check_gemm(tgk_gemm_portable, "portable", ta, tb, M, N, K, alpha, beta);
        check_gemm(tgk_gemm, "tgk_gemm", ta, tb, M, N, K, alpha, beta);
    }
    /* The extremes of the list, and every size along one dimension. */
    check_gemm(tgk_gemm_portable, "portable", ta, tb, 1, 1, 1, 1, beta);
    check_gemm(tgk_gemm_portable, "portable", ta, tb, 129, 129, 129, 1, beta);
    check_gemm(tgk_gemm, "tgk_gemm", ta, tb, 129, 129, 129, 1, beta);
    for (int s = 0; s < NEDGE; s++) {
        check_gemm(tgk_gemm_portable, "portable", ta, tb, edge_sizes[s], 5, 3, 1, beta);
        check_gemm(tgk_gemm_portable, "portable", ta, tb, 3, edge_sizes[s], 5, 1, beta);
        check_gemm(tgk_gemm_portable, "portable", ta, tb, 5, 3, edge_sizes[s], 1, beta);
    }
}
END_TEST

/* Deeper than one K slice (256 floats / 128 doubles) and wider than one block. */
START_TEST(gemm_deep_and_wide) {
    rng_seed(7);
    for (int t = 0; t < 4; t++) {
        check_gemm(tgk_gemm_portable, "portable", t & 1, t & 2, 9, 21, 600, 1, 1);
        check_gemm(tgk_gemm_portable, "portable", t & 1, t & 2, 150, 1100, 3, 1, 0);
    }
}
END_TEST

START_TEST(gemm_general_alpha_beta) {
    rng_seed(11);
    for (int t = 0; t < 4; t++) {
        check_gemm(tgk_gemm_portable, "portable", t & 1, t & 2, 13, 19, 23, (tg_real)-0.5,
                   (tg_real)2.5);
        check_gemm(tgk_gemm, "tgk_gemm", t & 1, t & 2, 13, 19, 23, (tg_real)-0.5, (tg_real)2.5);
        check_gemm(tgk_gemm_portable, "portable", t & 1, t & 2, 6, 33, 70, 2, (tg_real)-1);
    }
}
END_TEST

/* The portable kernel and BLAS agree with each other (to rounding) on the same data. */
START_TEST(gemm_portable_agrees_with_blas) {
    rng_seed(5);
    for (int r = 0; r < 40; r++) {
        const bool ta = r & 1, tb = r & 2;
        const int M = edge_sizes[rng_int(0, NEDGE - 1)], N = edge_sizes[rng_int(0, NEDGE - 1)];
        const int K = edge_sizes[rng_int(0, NEDGE - 1)];
        const tg_real beta = r & 4 ? 1 : 0;
        tg_real *A = rand_array((size_t)M * K), *B = rand_array((size_t)K * N);
        tg_real *C1 = rand_array((size_t)M * N), *C2 = malloc((size_t)M * N * sizeof *C2);
        ck_assert_ptr_nonnull(C2);
        memcpy(C2, C1, (size_t)M * N * sizeof *C1);
        const int lda = ta ? M : K, ldb = tb ? K : N;
        tgk_gemm_portable(ta, tb, M, N, K, 1, A, lda, B, ldb, beta, C1, N);
        tgk_gemm(ta, tb, M, N, K, 1, A, lda, B, ldb, beta, C2, N);
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                double mag = 0;
                for (int p = 0; p < K; p++)
                    mag += fabs((double)(ta ? A[p * lda + i] : A[i * lda + p]) *
                                (double)(tb ? B[j * ldb + p] : B[p * ldb + j]));
                mag += beta != 0 ? 1 : 0; /* |C| < 1 before the product */
                CHECK(close_to(C1[i * N + j], C2[i * N + j], 2 * mag, K),
                      "portable %.9g vs tgk_gemm %.9g at [%d,%d] of %dx%dx%d",
                      (double)C1[i * N + j], (double)C2[i * N + j], i, j, M, N, K);
            }
        }
        free(A);
        free(B);
        free(C1);
        free(C2);
    }
}
END_TEST

/* M, N or K of 0, and alpha 0: C is only scaled by beta, A and B are not read. */
START_TEST(gemm_empty_and_alpha_zero) {
    gemm_fn fns[2] = {tgk_gemm_portable, tgk_gemm};
    for (int f = 0; f < 2; f++) {
        tg_real C[6] = {1, 2, 3, 4, 5, 6}, A[6], B[6];
        for (int i = 0; i < 6; i++) A[i] = B[i] = (tg_real)NAN;
        fns[f](false, false, 0, 3, 2, 1, A, 2, B, 3, 0, C, 3); /* M = 0: nothing */
        fns[f](false, false, 2, 0, 2, 1, A, 2, B, 1, 0, C, 3); /* N = 0: nothing */
        for (int i = 0; i < 6; i++) ck_assert(C[i] == i + 1);
        fns[f](false, false, 2, 3, 0, 1, A, 1, B, 3, 2, C, 3); /* K = 0: C = 2 C */
        for (int i = 0; i < 6; i++) ck_assert(C[i] == 2 * (i + 1));
        fns[f](false, false, 2, 3, 0, 1, A, 1, B, 3, 1, C, 3); /* K = 0, beta 1: C kept */
        for (int i = 0; i < 6; i++) ck_assert(C[i] == 2 * (i + 1));
        fns[f](true, true, 2, 3, 2, 0, A, 2, B, 2, (tg_real)0.5, C, 3); /* alpha 0 */
        for (int i = 0; i < 6; i++) ck_assert(C[i] == i + 1);
        for (int i = 0; i < 6; i++) C[i] = (tg_real)NAN;
        fns[f](false, false, 2, 3, 0, 1, A, 1, B, 3, 0, C, 3); /* K = 0, beta 0: zeros */
        for (int i = 0; i < 6; i++) ck_assert(C[i] == 0);
    }
    /* A 1 x 1 x 1 product. */
    tg_real a = 3, b = -2, c = (tg_real)NAN;
    tgk_gemm_portable(false, false, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1);
    ck_assert(c == -6);
    tgk_gemm_portable(true, true, 1, 1, 1, 2, &a, 1, &b, 1, 1, &c, 1);
    ck_assert(c == -18);
}
END_TEST

/* Each element is computed the same way wherever its tile falls and whichever thread
 * computes it: a product is bit-identical with 1 or 2 threads, and a band of rows
 * computed alone equals the same rows of the whole product. */
START_TEST(gemm_portable_is_deterministic) {
    const int M = 97, N = 83, K = 300; /* above the threading threshold */
    const int prev = tg_get_num_threads();
    rng_seed(3);
    tg_real *A = rand_array((size_t)M * K), *B = rand_array((size_t)K * N);
    tg_real *C1 = malloc((size_t)M * N * sizeof *C1), *C2 = malloc((size_t)M * N * sizeof *C2);
    ck_assert_ptr_nonnull(C1);
    ck_assert_ptr_nonnull(C2);
    for (int t = 0; t < 4; t++) {
        const bool ta = t & 1, tb = t & 2;
        const int lda = ta ? M : K, ldb = tb ? K : N;
        tg_set_num_threads(1);
        tgk_gemm_portable(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C1, N);
        tg_set_num_threads(2);
        tgk_gemm_portable(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C2, N);
        ck_assert_msg(memcmp(C1, C2, (size_t)M * N * sizeof *C1) == 0,
                      "1 and 2 threads differ (%c%c)", ta ? 'T' : 'N', tb ? 'T' : 'N');
        /* rows 5..17 and columns 3..40 on their own */
        const tg_real *As = ta ? A + 5 : A + (size_t)5 * lda;
        const tg_real *Bs = tb ? B + (size_t)3 * ldb : B + 3;
        tg_real part[13 * 38];
        tgk_gemm_portable(ta, tb, 13, 38, K, 1, As, lda, Bs, ldb, 0, part, 38);
        for (int i = 0; i < 13; i++)
            for (int j = 0; j < 38; j++)
                CHECK(part[i * 38 + j] == C1[(size_t)(i + 5) * N + j + 3],
                      "a sub-block differs from the whole product at [%d,%d]", i, j);
    }
    tg_set_num_threads(prev);
    free(A);
    free(B);
    free(C1);
    free(C2);
}
END_TEST

START_TEST(blas_switch) {
    ck_assert(tg_use_blas(false) == false);
    ck_assert(tg_use_blas(true) == tg_has_blas());
    ck_assert(tgk_blas_available() == tg_has_blas());
}
END_TEST

/* ---- tg_matmul: forward ------------------------------------------------------------ */

/* One shape case: a is [ba,m,k] (2-D when ba == 0), b is [bb,k,n] (2-D when bb == 0). */
typedef struct mm_case {
    int ba, bb, m, k, n;
} mm_case;

static const mm_case cases[] = {
    {0, 0, 4, 5, 6}, /* [m,k] @ [k,n] */
    {3, 3, 4, 5, 6}, /* [B,m,k] @ [B,k,n] */
    {3, 0, 4, 5, 6}, /* [B,m,k] @ [k,n]: one gemm of [B*m,k] @ [k,n] */
    {3, 1, 2, 7, 3}, /* [B,m,k] @ [1,k,n] */
    {0, 3, 4, 5, 6}, /* [m,k] @ [B,k,n] */
    {1, 2, 5, 3, 4}, /* [1,m,k] @ [B,k,n] */
    {1, 1, 3, 3, 3}, /* [1,m,k] @ [1,k,n] */
    {2, 0, 17, 33, 19}, {0, 2, 1, 1, 1}, {2, 2, 0, 3, 2}, /* empty: m = 0 */
    {0, 0, 3, 0, 2},                                      /* empty inner dimension: zeros */
    {2, 0, 3, 4, 0},                                      /* n = 0 */
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static int batch_of(const mm_case *c) {
    int ba = c->ba ? c->ba : 1, bb = c->bb ? c->bb : 1;
    return ba == 1 ? bb : ba;
}

static tg_tensor *make_operand(tg_graph *g, int batch, int r, int c) {
    const size_t n = (size_t)(batch ? batch : 1) * r * c;
    tg_real *v = rand_array(n);
    tg_tensor *t = batch ? tg_tensor_from(g, 3, (int[]){batch, r, c}, v)
                         : tg_tensor_from(g, 2, (int[]){r, c}, v);
    free(v);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Element [i][j] of batch item s of op(X) for an operand of this case. */
static double at(tg_tensor *t, int s, int i, int j, int rows, int cols) {
    const int nb = tg_ndim(t) == 3 ? tg_shape(t)[0] : 1;
    return tg_data(t)[((size_t)(nb == 1 ? 0 : s) * rows + i) * cols + j];
}

static void check_forward(const mm_case *c) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = make_operand(g, c->ba, c->m, c->k), *b = make_operand(g, c->bb, c->k, c->n);
    tg_tensor *y = tg_matmul(g, a, b);
    ck_assert_msg(y != NULL, "%s", tg_graph_error(g));
    const int B = batch_of(c);
    if (c->ba == 0 && c->bb == 0) {
        ck_assert_int_eq(tg_ndim(y), 2);
    } else {
        ck_assert_int_eq(tg_ndim(y), 3);
        ck_assert_int_eq(tg_shape(y)[0], B);
    }
    ck_assert_int_eq(tg_shape(y)[tg_ndim(y) - 2], c->m);
    ck_assert_int_eq(tg_shape(y)[tg_ndim(y) - 1], c->n);
    ck_assert_str_eq(tg_tensor_op(y), "matmul");
    for (int s = 0; s < B; s++)
        for (int i = 0; i < c->m; i++)
            for (int j = 0; j < c->n; j++) {
                double want = 0, mag = 0;
                for (int p = 0; p < c->k; p++) {
                    double v = at(a, s, i, p, c->m, c->k) * at(b, s, p, j, c->k, c->n);
                    want += v;
                    mag += fabs(v);
                }
                const tg_real got = tg_data(y)[((size_t)s * c->m + i) * c->n + j];
                CHECK(close_to(got, want, mag, c->k),
                      "case %d/%d %dx%dx%d: y[%d,%d,%d] = %g, want %g", c->ba, c->bb, c->m, c->k,
                      c->n, s, i, j, (double)got, want);
            }
    tg_graph_free(g);
}

START_TEST(matmul_forward_cases) {
    rng_seed(21);
    for (int blas = 1; blas >= 0; blas--) {
        tg_use_blas(blas);
        for (int i = 0; i < NCASES; i++) check_forward(&cases[i]);
    }
    tg_use_blas(true);
}
END_TEST

START_TEST(matmul_known_values) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_from(g, 2, (int[]){2, 2}, (tg_real[]){1, 2, 3, 4});
    tg_tensor *b = tg_tensor_from(g, 2, (int[]){2, 3}, (tg_real[]){5, 6, 7, 8, 9, 10});
    tg_tensor *y = tg_matmul(g, a, b);
    const tg_real want[] = {21, 24, 27, 47, 54, 61};
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < 6; i++) ck_assert(tg_data(y)[i] == want[i]);
    /* [2,1,2] @ [2,3]: each batch row against the same b */
    tg_tensor *a3 = tg_tensor_from(g, 3, (int[]){2, 1, 2}, (tg_real[]){1, 2, 3, 4});
    tg_tensor *y3 = tg_matmul(g, a3, b);
    ck_assert_ptr_nonnull(y3);
    ck_assert_int_eq(tg_ndim(y3), 3);
    for (int i = 0; i < 6; i++) ck_assert(tg_data(y3)[i] == want[i]);
    /* empty inner dimension: zeros of [2,3] */
    tg_tensor *e =
        tg_matmul(g, tg_tensor_new(g, 2, (int[]){2, 0}), tg_tensor_new(g, 2, (int[]){0, 3}));
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(tg_numel(e), 6);
    for (int i = 0; i < 6; i++) ck_assert(tg_data(e)[i] == 0);
    tg_graph_free(g);
}
END_TEST

/* ---- tg_matmul: gradients ---------------------------------------------------------- */

/* dA[s][i][p] = sum_j dY[s][i][j] B[s][p][j]; dB[s][p][j] = sum_i A[s][i][p] dY[s][i][j];
 * a broadcast operand sums over the batch. Checked after `passes` backward passes
 * (leaf gradients accumulate). */
static void check_grads(const mm_case *c, bool grad_a, bool grad_b, int passes) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = make_operand(g, c->ba, c->m, c->k), *b = make_operand(g, c->bb, c->k, c->n);
    tg_set_requires_grad(a, grad_a);
    tg_set_requires_grad(b, grad_b);
    tg_tensor *y = tg_matmul(g, a, b);
    ck_assert_msg(y != NULL, "%s", tg_graph_error(g));
    tg_real *dy = rand_array((size_t)tg_numel(y));
    for (int r = 0; r < passes; r++)
        ck_assert_msg(tg_backward_from(g, y, dy) == 0, "%s", tg_graph_error(g));
    const int B = batch_of(c), na = c->ba > 1 ? c->ba : 1, nb = c->bb > 1 ? c->bb : 1;
    if (!grad_a) ck_assert_ptr_null(tg_grad(a));
    if (!grad_b) ck_assert_ptr_null(tg_grad(b));
    if (grad_a && tg_numel(a) > 0) {
        ck_assert_ptr_nonnull(tg_grad(a));
        for (int t = 0; t < na; t++)
            for (int i = 0; i < c->m; i++)
                for (int p = 0; p < c->k; p++) {
                    double want = 0, mag = 0;
                    for (int s = 0; s < B; s++) {
                        if (na > 1 && s != t) continue;
                        for (int j = 0; j < c->n; j++) {
                            double v =
                                dy[((size_t)s * c->m + i) * c->n + j] * at(b, s, p, j, c->k, c->n);
                            want += v;
                            mag += fabs(v);
                        }
                    }
                    const tg_real got = tg_grad(a)[((size_t)t * c->m + i) * c->k + p];
                    CHECK(close_to(got, passes * want, passes * mag, B * c->n),
                          "case %d/%d: dA[%d,%d,%d] = %g, want %g", c->ba, c->bb, t, i, p,
                          (double)got, passes * want);
                }
    }
    if (grad_b && tg_numel(b) > 0) {
        ck_assert_ptr_nonnull(tg_grad(b));
        for (int t = 0; t < nb; t++)
            for (int p = 0; p < c->k; p++)
                for (int j = 0; j < c->n; j++) {
                    double want = 0, mag = 0;
                    for (int s = 0; s < B; s++) {
                        if (nb > 1 && s != t) continue;
                        for (int i = 0; i < c->m; i++) {
                            double v =
                                at(a, s, i, p, c->m, c->k) * dy[((size_t)s * c->m + i) * c->n + j];
                            want += v;
                            mag += fabs(v);
                        }
                    }
                    const tg_real got = tg_grad(b)[((size_t)t * c->k + p) * c->n + j];
                    CHECK(close_to(got, passes * want, passes * mag, B * c->m),
                          "case %d/%d: dB[%d,%d,%d] = %g, want %g", c->ba, c->bb, t, p, j,
                          (double)got, passes * want);
                }
    }
    free(dy);
    tg_graph_free(g);
}

START_TEST(matmul_gradients_cases) {
    rng_seed(31);
    for (int blas = 1; blas >= 0; blas--) {
        tg_use_blas(blas);
        for (int i = 0; i < NCASES; i++) check_grads(&cases[i], true, true, 1);
    }
    tg_use_blas(true);
}
END_TEST

START_TEST(matmul_gradients_accumulate_and_skip) {
    rng_seed(41);
    for (int i = 0; i < NCASES; i++) {
        check_grads(&cases[i], true, true, 2);
        check_grads(&cases[i], true, false, 1);
        check_grads(&cases[i], false, true, 1);
    }
}
END_TEST

/* x @ x: both uses add into the one gradient, dX = dY @ X^T + X^T @ dY. */
START_TEST(matmul_gradient_shared_input) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_tensor_from(g, 2, (int[]){2, 2}, (tg_real[]){1, 2, 3, 4});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_matmul(g, x, x);
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 0, 0, 0}), 0);
    /* dY = e00: dY @ X^T = [[1,3],[0,0]], X^T @ dY = [[1,0],[2,0]] */
    const tg_real want[] = {2, 3, 2, 0};
    for (int i = 0; i < 4; i++) ck_assert(tg_grad(x)[i] == want[i]);
    tg_graph_free(g);
}
END_TEST

/* A product big enough for the blocked paths and threads, through the whole op. */
START_TEST(matmul_larger_blas_vs_portable) {
    rng_seed(51);
    tg_graph *g = tg_graph_new();
    tg_tensor *a = make_operand(g, 2, 70, 90), *b = make_operand(g, 0, 90, 50);
    tg_set_requires_grad(a, true);
    tg_set_requires_grad(b, true);
    tg_real *dy = rand_array(2 * 70 * 50);
    tg_real *out[2], *ga[2], *gb[2];
    for (int blas = 0; blas < 2; blas++) {
        tg_use_blas(blas);
        tg_zero_grad(a);
        tg_zero_grad(b);
        tg_tensor *y = tg_matmul(g, a, b);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(tg_backward_from(g, y, dy), 0);
        out[blas] = tg_data(y);
        ga[blas] = malloc(sizeof(tg_real) * 2 * 70 * 90);
        gb[blas] = malloc(sizeof(tg_real) * 90 * 50);
        memcpy(ga[blas], tg_grad(a), sizeof(tg_real) * 2 * 70 * 90);
        memcpy(gb[blas], tg_grad(b), sizeof(tg_real) * 90 * 50);
    }
    tg_use_blas(true);
    /* magnitudes of all terms are below K (entries in [-1,1)) */
    for (int i = 0; i < 2 * 70 * 50; i++)
        CHECK(close_to(out[0][i], out[1][i], 2 * 90, 90), "y[%d] differs", i);
    for (int i = 0; i < 2 * 70 * 90; i++)
        CHECK(close_to(ga[0][i], ga[1][i], 2 * 50, 50), "dA[%d] differs", i);
    for (int i = 0; i < 90 * 50; i++)
        CHECK(close_to(gb[0][i], gb[1][i], 2 * 140, 140), "dB[%d] differs", i);
    for (int i = 0; i < 2; i++) {
        free(ga[i]);
        free(gb[i]);
    }
    free(dy);
    tg_graph_free(g);
}
END_TEST

/* ---- tg_matmul: errors ------------------------------------------------------------- */

static void expect_error(int an, const int *as, int bn, const int *bs, const char *msg) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, an, as), *b = tg_tensor_new(g, bn, bs);
    ck_assert_ptr_null(tg_matmul(g, a, b));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
    ck_assert_str_eq(tg_graph_error(g), msg);
    ck_assert_str_eq(tg_last_error(), msg);
    /* sticky: a valid product on the graph now fails and keeps the first message */
    tg_tensor *x = tg_tensor_new(g, 2, (int[]){2, 2});
    ck_assert_ptr_null(x);
    tg_graph_free(g);
}

START_TEST(matmul_errors) {
    expect_error(2, (int[]){2, 3}, 2, (int[]){4, 5},
                 "matmul: inner dimensions differ: [2,3] @ [4,5]");
    expect_error(3, (int[]){2, 3, 4}, 2, (int[]){5, 6},
                 "matmul: inner dimensions differ: [2,3,4] @ [5,6]");
    expect_error(3, (int[]){2, 3, 4}, 3, (int[]){3, 4, 5},
                 "matmul: batch dimensions differ: [2,3,4] @ [3,4,5]");
    expect_error(1, (int[]){3}, 2, (int[]){3, 2},
                 "matmul: operands must be 2-D or 3-D, got [3] @ [3,2]");
    expect_error(2, (int[]){2, 3}, 4, (int[]){1, 1, 3, 2},
                 "matmul: operands must be 2-D or 3-D, got [2,3] @ [1,1,3,2]");
    expect_error(0, NULL, 2, (int[]){1, 1}, "matmul: operands must be 2-D or 3-D, got [] @ [1,1]");

    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_tensor_new(g, 2, (int[]){2, 2});
    ck_assert_ptr_null(tg_matmul(g, a, NULL));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "matmul"));
    tg_graph_free(g);

    ck_assert_ptr_null(tg_matmul(NULL, NULL, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "matmul"));

    /* inputs from another graph */
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_tensor *x = tg_tensor_new(g1, 2, (int[]){2, 2}), *w = tg_tensor_new(g2, 2, (int[]){2, 2});
    ck_assert_ptr_null(tg_matmul(g1, x, w));
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g1), "matmul"));
    tg_graph_free(g1);
    tg_graph_free(g2);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("matmul");
    TCase *k = tcase_create("kernels");
    tcase_add_loop_test(k, gemm_edge_sizes_all_transposes, 0, 8);
    tcase_add_test(k, gemm_deep_and_wide);
    tcase_add_test(k, gemm_general_alpha_beta);
    tcase_add_test(k, gemm_portable_agrees_with_blas);
    tcase_add_test(k, gemm_empty_and_alpha_zero);
    tcase_add_test(k, gemm_portable_is_deterministic);
    tcase_add_test(k, blas_switch);
    suite_add_tcase(s, k);

    TCase *o = tcase_create("op");
    tcase_add_test(o, matmul_forward_cases);
    tcase_add_test(o, matmul_known_values);
    tcase_add_test(o, matmul_gradients_cases);
    tcase_add_test(o, matmul_gradients_accumulate_and_skip);
    tcase_add_test(o, matmul_gradient_shared_input);
    tcase_add_test(o, matmul_larger_blas_vs_portable);
    tcase_add_test(o, matmul_errors);
    suite_add_tcase(s, o);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
