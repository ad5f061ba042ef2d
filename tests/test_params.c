/* tests/test_params.c: the parameter store and initialisers. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "tg_test.h"

START_TEST(add_get_and_flat_layout) {
    tg_params *p = tg_params_new();
    tg_tensor *w = tg_params_add(p, "fc.weight", 2, (int[]){3, 5});
    tg_tensor *b = tg_params_add(p, "fc.bias", 1, (int[]){3});
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(tg_params_count(p), 2);
    ck_assert_int_eq(tg_params_numel(p), 18);
    ck_assert_ptr_eq(tg_params_get(p, "fc.bias"), b);
    ck_assert_ptr_null(tg_params_get(p, "nope"));
    ck_assert_str_eq(tg_params_name(p, 0), "fc.weight");
    ck_assert_str_eq(tg_name(w), "fc.weight");
    ck_assert_ptr_eq(tg_params_at(p, 1), b);
    ck_assert_ptr_null(tg_params_at(p, 2));
    ck_assert(tg_requires_grad(w));
    ck_assert_ptr_eq(tg_data(w), tg_params_values(p));
    ck_assert_uint_eq((uintptr_t)tg_data(b) % 64, 0);
    ck_assert_ptr_nonnull(tg_grad(w)); /* gradients exist from the start, zero */
    ck_assert_int_ge(tg_params_flat_len(p), 18);
    for (int64_t i = 0; i < tg_params_flat_len(p); i++) {
        ck_assert(tg_params_values(p)[i] == 0);
        ck_assert(tg_params_grads(p)[i] == 0);
    }
    tg_params_free(p);
}
END_TEST

START_TEST(growth_rebases_every_tensor) {
    tg_params *p = tg_params_new();
    tg_tensor *first = tg_params_add(p, "first", 1, (int[]){4});
    tg_data(first)[3] = 7;
    char name[32];
    for (int i = 0; i < 200; i++) { /* far beyond the first flat allocation */
        snprintf(name, sizeof name, "p%d", i);
        tg_tensor *t = tg_params_add(p, name, 2, (int[]){10, 10});
        ck_assert_ptr_nonnull(t);
        tg_data(t)[0] = (tg_real)i;
    }
    ck_assert_double_eq(tg_data(first)[3], 7);
    ck_assert_double_eq(tg_data(tg_params_get(p, "p123"))[0], 123);
    for (int i = 0; i < tg_params_count(p); i++) {
        tg_tensor *t = tg_params_at(p, i);
        ck_assert(tg_data(t) >= tg_params_values(p));
        ck_assert(tg_data(t) + tg_numel(t) <= tg_params_values(p) + tg_params_flat_len(p));
        ck_assert(tg_grad(t) - tg_params_grads(p) == tg_data(t) - tg_params_values(p));
    }
    tg_params_free(p);
}
END_TEST

START_TEST(gradients_accumulate_across_graph_resets) {
    tg_params *p = tg_params_new();
    tg_tensor *w = tg_params_add(p, "w", 1, (int[]){2});
    tg_data(w)[0] = 3;
    tg_data(w)[1] = -1;
    tg_graph *g = tg_graph_new();
    for (int step = 0; step < 3; step++) {
        tg_graph_reset(g);
        tg_tensor *x = tg_tensor_from(g, 1, (int[]){2}, (tg_real[]){2, 5});
        tg_tensor *loss = tg_sum(g, tg_mul(g, tg_mul(g, w, w), x), TG_ALL, false);
        ck_assert_int_eq(tg_backward(g, loss), 0);
    }
    /* d/dw sum(w^2 x) = 2 w x, three times */
    ck_assert_double_eq_tol(tg_grad(w)[0], 3 * 2 * 3 * 2, 1e-4);
    ck_assert_double_eq_tol(tg_grad(w)[1], 3 * 2 * -1 * 5, 1e-4);
    tg_params_zero_grad(p);
    ck_assert(tg_grad(w)[0] == 0);
    /* frozen parameter: no gradient accumulates */
    tg_set_requires_grad(w, false);
    tg_graph_reset(g);
    tg_tensor *y = tg_sum(g, tg_mul(g, w, tg_scalar(g, 2)), TG_ALL, false);
    ck_assert_int_ne(tg_backward(g, y), 0); /* nothing requires a gradient */
    ck_assert(tg_grad(w)[0] == 0);
    tg_graph_free(g);
    tg_params_free(p);
}
END_TEST

START_TEST(bad_input_is_an_error) {
    tg_params *p = tg_params_new();
    ck_assert_ptr_null(tg_params_add(NULL, "a", 0, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tg_params_add"));
    ck_assert_ptr_null(tg_params_add(p, NULL, 0, NULL));
    ck_assert_ptr_null(tg_params_add(p, "", 0, NULL));
    ck_assert_ptr_nonnull(tg_params_add(p, "a", 0, NULL));
    ck_assert_ptr_null(tg_params_add(p, "a", 0, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "exists already"));
    ck_assert_ptr_null(tg_params_add(p, "b", 2, (int[]){3, -1}));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "[3,-1]"));
    ck_assert_ptr_null(tg_params_add(p, "c", 9, (int[]){1, 1, 1, 1, 1, 1, 1, 1, 1}));
    ck_assert_ptr_null(tg_params_add(p, "d", 2, NULL));
    ck_assert_ptr_null(tg_params_add(p, "e", 3, (int[]){1 << 30, 1 << 30, 1 << 30}));
    char longname[200];
    memset(longname, 'x', sizeof longname);
    longname[199] = '\0';
    ck_assert_ptr_null(tg_params_add(p, longname, 0, NULL));
    ck_assert_int_eq(tg_params_count(p), 1); /* failures leave the store unchanged */
    tg_set_name(tg_params_get(p, "a"), "renamed");
    ck_assert_str_eq(tg_name(tg_params_get(p, "a")), "a");
    ck_assert_int_eq(tg_params_count(NULL), 0);
    tg_params_free(NULL);
    tg_params_free(p);
}
END_TEST

static void moments(const tg_real *x, int64_t n, double *mean, double *std, double *lo,
                    double *hi) {
    double s = 0, ss = 0;
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        *lo = fmin(*lo, x[i]);
        *hi = fmax(*hi, x[i]);
    }
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(ss / (double)n);
}

START_TEST(initialisers_have_the_right_scale) {
    tg_params *p = tg_params_new();
    tg_tensor *w = tg_params_add(p, "w", 2, (int[]){200, 300}); /* fan_in 300, fan_out 200 */
    tg_rng *r = tg_params_rng(p);
    double mean, std, lo, hi;
    const int64_t n = tg_numel(w);

    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_HE_UNIFORM, 0, 0, r), TG_OK);
    moments(tg_data(w), n, &mean, &std, &lo, &hi);
    double bound = sqrt(6.0 / 300);
    ck_assert_double_le(hi, bound);
    ck_assert_double_ge(lo, -bound);
    ck_assert_double_eq_tol(std, bound / sqrt(3.0), 0.02 * bound);

    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_HE_NORMAL, 0, 0, r), TG_OK);
    moments(tg_data(w), n, &mean, &std, &lo, &hi);
    ck_assert_double_eq_tol(std, sqrt(2.0 / 300), 0.02 * sqrt(2.0 / 300));
    ck_assert_double_lt(fabs(mean), 0.01);

    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_XAVIER_UNIFORM, 0, 0, r), TG_OK);
    moments(tg_data(w), n, &mean, &std, &lo, &hi);
    bound = sqrt(6.0 / 500);
    ck_assert_double_le(hi, bound);
    ck_assert_double_eq_tol(std, bound / sqrt(3.0), 0.02 * bound);

    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_XAVIER_NORMAL, 2, 0, r), TG_OK); /* gain 2 */
    moments(tg_data(w), n, &mean, &std, &lo, &hi);
    ck_assert_double_eq_tol(std, 2 * sqrt(2.0 / 500), 0.04 * sqrt(2.0 / 500));

    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_UNIFORM, -3, -2, r), TG_OK);
    moments(tg_data(w), n, &mean, &std, &lo, &hi);
    ck_assert(lo >= -3 && hi < -2);
    ck_assert_double_eq_tol(mean, -2.5, 0.01);

    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_NORMAL, 5, 0.5, r), TG_OK);
    moments(tg_data(w), n, &mean, &std, &lo, &hi);
    ck_assert_double_eq_tol(mean, 5, 0.01);
    ck_assert_double_eq_tol(std, 0.5, 0.01);

    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_CONSTANT, 0.25, 0, NULL), TG_OK);
    ck_assert(tg_data(w)[n - 1] == (tg_real)0.25);
    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_ZEROS, 0, 0, NULL), TG_OK);
    ck_assert(tg_data(w)[7] == 0);

    /* errors leave the tensor as it was */
    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_UNIFORM, 1, 0, r), TG_ERR_ARG);
    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_NORMAL, 0, -1, r), TG_ERR_ARG);
    ck_assert_int_eq(tg_init_tensor(w, TG_INIT_HE_NORMAL, 0, 0, NULL), TG_ERR_NULL);
    ck_assert_int_eq(tg_init_tensor(w, (tg_init)99, 0, 0, r), TG_ERR_ARG);
    ck_assert_int_eq(tg_init_tensor(NULL, TG_INIT_ZEROS, 0, 0, r), TG_ERR_NULL);
    tg_tensor *s = tg_params_add(p, "s", 0, NULL);
    ck_assert_int_eq(tg_init_tensor(s, TG_INIT_HE_UNIFORM, 0, 0, r), TG_ERR_ARG);
    ck_assert(tg_data(w)[7] == 0);
    ck_assert_str_eq(tg_init_name(TG_INIT_HE_UNIFORM), "he_uniform");
    ck_assert_str_eq(tg_init_name((tg_init)-1), "unknown");
    tg_params_free(p);
}
END_TEST

START_TEST(same_seed_same_weights) {
    tg_real *copy = NULL;
    for (int run = 0; run < 2; run++) {
        tg_params *p = tg_params_new();
        tg_params_seed(p, 1234);
        tg_tensor *a = tg_params_add(p, "a", 2, (int[]){64, 32});
        tg_tensor *b = tg_params_add(p, "b", 1, (int[]){64});
        tg_init_tensor(a, TG_INIT_HE_NORMAL, 0, 0, tg_params_rng(p));
        tg_init_tensor(b, TG_INIT_UNIFORM, -1, 1, tg_params_rng(p));
        size_t bytes = (size_t)tg_params_flat_len(p) * sizeof(tg_real);
        if (!copy) {
            copy = malloc(bytes);
            memcpy(copy, tg_params_values(p), bytes);
        } else {
            ck_assert_mem_eq(copy, tg_params_values(p), bytes);
        }
        tg_params_free(p);
    }
    free(copy);
}
END_TEST

START_TEST(penalties_skip_frozen_parameters) {
    tg_params *p = tg_params_new();
    tg_tensor *w = tg_params_add(p, "w", 1, (int[]){2});
    tg_tensor *stat = tg_params_add(p, "running_var", 1, (int[]){2});
    tg_data(w)[0] = 3, tg_data(w)[1] = -4;
    tg_data(stat)[0] = 100, tg_data(stat)[1] = 100;
    tg_set_requires_grad(stat, false);
    tg_graph *g = tg_graph_new();
    ck_assert_double_eq_tol(tg_item(tg_l2_penalty(g, p, 0.5)), 0.5 * 25, 1e-4);
    ck_assert_double_eq_tol(tg_item(tg_l1_penalty(g, p, 2)), 2 * 7, 1e-4);
    tg_graph_free(g);
    tg_params_free(p);
}
END_TEST

int main(void) {
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, add_get_and_flat_layout);
    tcase_add_test(tc, growth_rebases_every_tensor);
    tcase_add_test(tc, gradients_accumulate_across_graph_resets);
    tcase_add_test(tc, bad_input_is_an_error);
    tcase_add_test(tc, initialisers_have_the_right_scale);
    tcase_add_test(tc, same_seed_same_weights);
    tcase_add_test(tc, penalties_skip_frozen_parameters);
    suite_add_tcase(s, tc);
    return tg_test_run(s);
}
