/* tests/test_vmath.c: the array kernels for e^x, sigmoid and tanh (kernels/vmath.h).
 *
 * Accuracy against double-precision libm over dense sweeps and random points, in ulps
 * of the result (an absolute bound in the subnormal range); the special values (NaN,
 * infinities, overflow and underflow edges, signed zeros); every element getting the
 * same bits wherever it sits in the array (tails of every length) and whichever
 * instruction set runs; and the exp, sigmoid and tanh ops using these kernels. In a
 * double build, or on a CPU without AVX2, the kernels are libm's and the same checks
 * hold. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <tapegrad.h>

#include "kernels/vmath.h"

#include "tg_test.h"

#define EPS (TG_PRECISION_DOUBLE ? DBL_EPSILON : FLT_EPSILON)
#define TINY (TG_PRECISION_DOUBLE ? DBL_MIN : FLT_MIN)


typedef void (*kernel)(const tg_real *, tg_real *, int64_t);

static double ref_exp(double x) { return exp(x); }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_tanh(double x) { return tanh(x); }

/* Error of got against want in units of the result's last place (a subnormal result:
 * in units of the smallest normal's last place). */
static double ulps(double got, double want) {
    const double scale = fabs(want) > TINY ? fabs(want) : TINY;
    return fabs(got - want) / (scale * EPS);
}

/* The worst error of k against ref over n points spread evenly over [lo, hi], plus
 * 100000 random ones there; every result must be within max_ulps. */
static void sweep(kernel k, double (*ref)(double), double lo, double hi, int n, double max_ulps,
                  const char *name) {
    const int nr = 100000, total = n + nr;
    tg_real *x = malloc((size_t)total * sizeof *x), *y = malloc((size_t)total * sizeof *y);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < n; i++) x[i] = (tg_real)(lo + (hi - lo) * i / (n - 1));
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < nr; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[n + i] = (tg_real)(lo + (hi - lo) * ((double)(s >> 11) / 9007199254740992.0));
    }
    k(x, y, total);
    double worst = 0;
    int at = 0;
    for (int i = 0; i < total; i++) {
        const double e = ulps(y[i], ref(x[i]));
        if (e > worst) worst = e, at = i;
    }
    if (getenv("VMATH_SHOW")) fprintf(stderr, "%-32s level %d: worst %.2f ulps at %.9g\n", name, tgk_vmath_level(), worst, (double)x[at]);
    CHECK(worst <= max_ulps, "%s: %.2f ulps at x = %.9g (got %.9g, want %.9g), level %d", name,
          worst, (double)x[at], (double)y[at], ref(x[at]), tgk_vmath_level());
    free(x);
    free(y);
}

static void all_levels(void (*body)(void)) {
    const int best = tgk_vmath_level();
    for (int l = best; l >= 0; l--) {
        tgk_vmath_force(l);
        body();
    }
    tgk_vmath_force(-1);
}

static void exp_accuracy_body(void) {
    sweep(tgk_exp, ref_exp, -20, 20, 400001, 1, "exp");
    sweep(tgk_exp, ref_exp, -87, 88.7, 400001, 1, "exp");
    sweep(tgk_exp, ref_exp, -1e-3, 1e-3, 10001, 1, "exp near 0");
    if (!TG_PRECISION_DOUBLE) /* subnormal results: within 1 ulp of FLT_MIN, absolutely */
        sweep(tgk_exp, ref_exp, -103.9, -87.4, 10001, 1, "exp subnormal");
}
START_TEST(exp_accuracy) { all_levels(exp_accuracy_body); }
END_TEST

static void sigmoid_accuracy_body(void) {
    sweep(tgk_sigmoid, ref_sigmoid, -30, 30, 400001, 2, "sigmoid");
    sweep(tgk_sigmoid, ref_sigmoid, -87, 87, 100001, 2, "sigmoid wide");
    sweep(tgk_sigmoid, ref_sigmoid, -1e-4, 1e-4, 10001, 2, "sigmoid near 0");
}
START_TEST(sigmoid_accuracy) { all_levels(sigmoid_accuracy_body); }
END_TEST

static void tanh_accuracy_body(void) {
    sweep(tgk_tanh, ref_tanh, -10, 10, 400001, 2, "tanh");
    sweep(tgk_tanh, ref_tanh, -0.7, 0.7, 100001, 2, "tanh around the switch at 0.625");
    sweep(tgk_tanh, ref_tanh, -1e-6, 1e-6, 10001, 2, "tanh near 0");
    sweep(tgk_tanh, ref_tanh, 1e-30, 1e-20, 1001, 2, "tanh tiny");
}
START_TEST(tanh_accuracy) { all_levels(tanh_accuracy_body); }
END_TEST

static bool same_bits(tg_real a, tg_real b) { return memcmp(&a, &b, sizeof a) == 0; }

static void specials_body(void) {
    const tg_real inf = (tg_real)INFINITY, nan_ = (tg_real)NAN;
    const tg_real big = TG_PRECISION_DOUBLE ? 800 : 200;
    const tg_real x[] = {nan_, inf, -inf, 0, (tg_real)-0.0, 1, -1, big, -big,
                         TG_PRECISION_DOUBLE ? 710 : (tg_real)88.8, (tg_real)88.7,
                         TG_PRECISION_DOUBLE ? -746 : -104, (tg_real)1e-30, (tg_real)-1e-30};
    enum { N = sizeof x / sizeof x[0] };
    tg_real e[N], s[N], t[N];
    tgk_exp(x, e, N);
    tgk_sigmoid(x, s, N);
    tgk_tanh(x, t, N);
    const int l = tgk_vmath_level();
    ck_assert_msg(isnan(e[0]) && isnan(s[0]) && isnan(t[0]), "NaN in, NaN out (level %d)", l);
    ck_assert(e[1] == inf && s[1] == 1 && t[1] == 1);
    ck_assert(e[2] == 0 && s[2] == 0 && t[2] == -1);
    ck_assert(e[3] == 1 && s[3] == (tg_real)0.5 && same_bits(t[3], 0));
    ck_assert(e[4] == 1 && s[4] == (tg_real)0.5 && same_bits(t[4], (tg_real)-0.0));
    ck_assert(fabs(e[5] - exp(1.0)) <= 2 * EPS * exp(1.0) && fabs(e[6] - exp(-1.0)) <= 2 * EPS);
    ck_assert(e[7] == inf && s[7] == 1 && t[7] == 1);
    ck_assert(e[8] == 0 && s[8] == 0 && t[8] == -1);
    ck_assert_msg(e[9] == inf, "e^%g overflows (level %d)", (double)x[9], l);
    ck_assert_msg(isfinite(e[10]) && e[10] > 3e38 * (TG_PRECISION_DOUBLE ? 0 : 1),
                  "e^88.7 is finite, got %g (level %d)", (double)e[10], l);
    ck_assert_msg(e[11] == 0, "e^%g underflows to 0, got %g", (double)x[11], (double)e[11]);
    ck_assert(e[12] == 1 && s[12] == (tg_real)0.5 && t[12] == x[12]);
    ck_assert(e[13] == 1 && s[13] == (tg_real)0.5 && t[13] == x[13]);
}
START_TEST(special_values) { all_levels(specials_body); }
END_TEST

/* Every element's bits are the same alone, at any position of an array of any length,
 * and at every vector level (the libm level aside, which is another function). */
START_TEST(position_and_level_independent) {
    const kernel ks[] = {tgk_exp, tgk_sigmoid, tgk_tanh};
    enum { N = 67 };
    tg_real x[N], full[N], part[N], one, ref[N];
    for (int i = 0; i < N; i++) x[i] = (tg_real)(((i * 37) % N) - N / 2) * (tg_real)0.173;
    for (int k = 0; k < 3; k++) {
        tgk_vmath_force(-1);
        const int best = tgk_vmath_level();
        ks[k](x, ref, N);
        for (int l = best; l >= (best > 0 ? 1 : 0); l--) {
            tgk_vmath_force(l);
            ks[k](x, full, N);
            for (int i = 0; i < N; i++)
                CHECK(same_bits(full[i], ref[i]), "kernel %d: level %d differs at %d", k, l, i);
            for (int len = 1; len <= 33; len++)
                for (int off = 0; off + len <= N; off += 7) {
                    ks[k](x + off, part, len);
                    for (int i = 0; i < len; i++)
                        CHECK(same_bits(part[i], ref[off + i]),
                              "kernel %d level %d: element %d of a run of %d at %d differs", k, l,
                              i, len, off);
                }
            for (int i = 0; i < N; i++) {
                ks[k](x + i, &one, 1);
                CHECK(same_bits(one, ref[i]), "kernel %d level %d: element %d alone", k, l, i);
            }
        }
    }
    tgk_vmath_force(-1);
}
END_TEST

/* The ops compute with these kernels: their outputs equal the kernels' bits. */
START_TEST(ops_use_the_kernels) {
    tg_graph *g = tg_graph_new();
    enum { N = 1000 };
    tg_real x[N], want[N];
    for (int i = 0; i < N; i++) x[i] = (tg_real)(i - N / 2) * (tg_real)0.013;
    tg_tensor *t = tg_tensor_from(g, 1, (int[]){N}, x);
    ck_assert_ptr_nonnull(t);
    tg_tensor *ys[3] = {tg_exp(g, t), tg_sigmoid(g, t), tg_tanh(g, t)};
    const kernel ks[] = {tgk_exp, tgk_sigmoid, tgk_tanh};
    for (int k = 0; k < 3; k++) {
        ck_assert_ptr_nonnull(ys[k]);
        ks[k](x, want, N);
        const tg_real *got = tg_data(ys[k]);
        for (int i = 0; i < N; i++) CHECK(same_bits(got[i], want[i]), "op %d at %d", k, i);
    }
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("vmath");
    TCase *c = tcase_create("kernels");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, exp_accuracy);
    tcase_add_test(c, sigmoid_accuracy);
    tcase_add_test(c, tanh_accuracy);
    tcase_add_test(c, special_values);
    tcase_add_test(c, position_and_level_independent);
    tcase_add_test(c, ops_use_the_kernels);
    suite_add_tcase(s, c);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
