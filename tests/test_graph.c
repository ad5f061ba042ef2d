/* tests/test_graph.c: the graph itself: arena, reset, statistics, the tape, backward
 * semantics (shared inputs, diamonds, repeated passes, seeds), no-grad mode, wrapped
 * memory, names, the seeded generator. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <tapegrad.h>

#include "graph/internal.h"

#include "tg_test.h"

#define TOL (TG_PRECISION_DOUBLE ? 1e-12 : 1e-5)

static tg_tensor *vec(tg_graph *g, int n, const tg_real *v) {
    return tg_tensor_from(g, 1, (int[]){n}, v);
}

START_TEST(x_times_x_sums_both_uses) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = vec(g, 3, (tg_real[]){1, -2, 3});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_mul(g, x, x);
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){1, 1, 1}), 0);
    const tg_real want[] = {2, -4, 6};
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(tg_grad(x)[i], want[i], TOL);
    tg_graph_free(g);
}
END_TEST

START_TEST(diamond_accumulates_both_paths) {
    /* a -> b = exp(a), c = a * 3 -> d = b * c: dd/da = e^a * 3a + e^a * 3 */
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_scalar(g, 0.5);
    tg_set_requires_grad(a, true);
    tg_tensor *d = tg_mul(g, tg_exp(g, a), tg_mul(g, a, tg_scalar(g, 3)));
    ck_assert_int_eq(tg_backward(g, d), 0);
    double e = exp(0.5);
    ck_assert_double_eq_tol(tg_grad(a)[0], e * 1.5 + e * 3, 1e-5);
    tg_graph_free(g);
}
END_TEST

START_TEST(backward_twice_accumulates_leaves_only) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 2);
    tg_set_requires_grad(x, true);
    tg_tensor *h = tg_mul(g, x, x);      /* intermediate */
    tg_tensor *y = tg_mul(g, h, tg_scalar(g, 5)); /* y = 5 x^2, dy/dx = 20 */
    ck_assert_int_eq(tg_backward(g, y), 0);
    ck_assert_double_eq_tol(tg_grad(x)[0], 20, TOL);
    ck_assert_double_eq_tol(tg_grad(h)[0], 5, TOL);
    ck_assert_int_eq(tg_backward(g, y), 0);
    ck_assert_double_eq_tol(tg_grad(x)[0], 40, TOL); /* leaf: accumulated */
    ck_assert_double_eq_tol(tg_grad(h)[0], 5, TOL);  /* intermediate: recomputed */
    ck_assert_double_eq_tol(tg_grad(y)[0], 1, TOL);
    tg_zero_grad(x);
    ck_assert_double_eq(tg_grad(x)[0], 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(backward_from_is_a_vjp) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = vec(g, 2, (tg_real[]){1, 2});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_pow(g, x, 3); /* dy/dx = 3x^2 */
    ck_assert_int_eq(tg_backward_from(g, y, (tg_real[]){10, -1}), 0);
    ck_assert_double_eq_tol(tg_grad(x)[0], 30, TOL);
    ck_assert_double_eq_tol(tg_grad(x)[1], -12, TOL);
    tg_graph_free(g);
}
END_TEST

START_TEST(only_tensors_requiring_grad_get_one) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 2), *c = tg_scalar(g, 3);
    tg_set_requires_grad(x, true);
    tg_tensor *k = tg_mul(g, c, c); /* depends on nothing that requires a gradient */
    tg_tensor *y = tg_mul(g, x, k);
    ck_assert(tg_requires_grad(y));
    ck_assert(!tg_requires_grad(k));
    ck_assert_int_eq(tg_backward(g, y), 0);
    ck_assert_ptr_null(tg_grad(c));
    ck_assert_ptr_null(tg_grad(k));
    ck_assert_double_eq_tol(tg_grad(x)[0], 9, TOL);
    ck_assert_str_eq(tg_tensor_op(y), "mul");
    ck_assert_ptr_null(tg_tensor_op(x));
    tg_graph_free(g);
}
END_TEST

START_TEST(loss_that_needs_no_gradient_is_an_error) {
    tg_graph *g = tg_graph_new();
    tg_tensor *y = tg_mul(g, tg_scalar(g, 2), tg_scalar(g, 3));
    ck_assert_int_ne(tg_backward(g, y), 0);
    ck_assert_ptr_nonnull(strstr(tg_graph_error(g), "does not require a gradient"));
    tg_graph_free(g);
}
END_TEST

START_TEST(leaf_loss_is_seeded) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 4);
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(g, x), 0);
    ck_assert_int_eq(tg_backward(g, x), 0);
    ck_assert_double_eq(tg_grad(x)[0], 2);
    tg_graph_free(g);
}
END_TEST

START_TEST(long_chain_needs_no_recursion) {
    /* 10^6 nodes: the sort uses an explicit stack, so this cannot overflow the C stack. */
    const int n = 1000000;
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 1);
    tg_set_requires_grad(x, true);
    tg_tensor *y = x;
    /* Alternate *2 and *0.5: exact in binary floating point, so the value and the
     * gradient stay exactly 1 through every one of the 10^6 roundings. */
    tg_tensor *two = tg_scalar(g, 2), *half = tg_scalar(g, 0.5);
    for (int i = 0; i < n; i++) y = tg_mul(g, y, i % 2 ? half : two);
    ck_assert_ptr_nonnull(y);
    tg_stats st;
    ck_assert_int_eq(tg_graph_stats(g, &st), TG_OK);
    ck_assert_int_eq(st.nodes, n);
    ck_assert_int_eq(tg_backward(g, y), 0);
    ck_assert_double_eq(tg_item(y), 1);
    ck_assert_double_eq(tg_grad(x)[0], 1);
    ck_assert_ptr_null(tg_grad(two)); /* constants: no gradient asked for */
    tg_graph_free(g);
}
END_TEST

/* One "training step" of a fixed size: build, backward, read. */
static void step(tg_graph *g, tg_real *w) {
    tg_graph_reset(g);
    tg_tensor *x = tg_randn(g, 2, (int[]){64, 32}, 0, 1);
    tg_tensor *wt = tg_tensor_wrap(g, 1, (int[]){32}, w);
    tg_set_requires_grad(wt, true);
    tg_tensor *y = tg_mul(g, tg_exp(g, tg_mul(g, x, wt)), x);
    tg_real seed[64 * 32];
    for (int i = 0; i < 64 * 32; i++) seed[i] = 1;
    ck_assert_int_eq(tg_backward_from(g, y, seed), 0);
    for (int i = 0; i < 32; i++) w[i] -= (tg_real)1e-4 * tg_grad(wt)[i];
}

START_TEST(steady_state_step_does_not_allocate) {
    tg_graph *g = tg_graph_new();
    tg_real w[32];
    for (int i = 0; i < 32; i++) w[i] = (tg_real)0.01 * (tg_real)i;
    step(g, w); /* warm-up: the arena and the tape grow to their working size */
    step(g, w);
    tg_stats before, after;
    tg_graph_stats(g, &before);
    uint64_t mallocs = tg_alloc_count();
    for (int i = 0; i < 100; i++) step(g, w);
    ck_assert_uint_eq(tg_alloc_count() - mallocs, 0);
    tg_graph_stats(g, &after);
    ck_assert_uint_eq(after.arena_reserved, before.arena_reserved);
    ck_assert_int_eq(after.arena_blocks, before.arena_blocks);
    ck_assert_int_eq(after.nodes, before.nodes); /* the tape does not grow across resets */
    ck_assert_uint_eq(after.arena_used, before.arena_used);
    tg_graph_free(g);
}
END_TEST

START_TEST(arena_grows_by_chaining_and_reset_keeps_blocks) {
    tg_graph *g = tg_graph_new();
    tg_stats st;
    /* 64 MiB in tensors of 1 MiB: far beyond the first block. */
    for (int i = 0; i < 64; i++)
        ck_assert_ptr_nonnull(tg_tensor_new(g, 1, (int[]){(int)(1 << 20) / (int)sizeof(tg_real)}));
    /* one tensor larger than any block so far */
    ck_assert_ptr_nonnull(tg_tensor_new(g, 2, (int[]){4096, 8192}));
    tg_graph_stats(g, &st);
    ck_assert_int_gt(st.arena_blocks, 1);
    ck_assert_uint_ge(st.arena_used, (size_t)64 << 20);
    ck_assert_uint_ge(st.arena_peak, st.arena_used);
    size_t reserved = st.arena_reserved, peak = st.arena_peak;
    tg_graph_reset(g);
    tg_graph_stats(g, &st);
    ck_assert_uint_eq(st.arena_used, 0);
    ck_assert_uint_eq(st.arena_reserved, reserved);
    ck_assert_uint_eq(st.arena_peak, peak);
    ck_assert_int_eq(st.tensors, 0);
    uint64_t mallocs = tg_alloc_count();
    for (int i = 0; i < 64; i++) tg_tensor_new(g, 1, (int[]){(int)(1 << 20) / (int)sizeof(tg_real)});
    ck_assert_uint_eq(tg_alloc_count(), mallocs);
    tg_graph_free(g);
}
END_TEST

/* Steps of two shapes in turn (a training step, then an evaluation step with batches
 * four times larger, as the examples run them) share one chain of blocks: after one
 * step of each, neither adds a block. The arena is driven directly (tg__alloc), so the
 * sizes are exact: with these, an arena that added a block whenever the next one was
 * too small grew from 5.5 to 10 MiB over the rounds. */
static void shaped_step(tg_graph *g, int scale) {
    static const size_t kib[] = {64, 192, 64, 768};
    tg_graph_reset(g);
    for (int i = 0; i < 4; i++) ck_assert_ptr_nonnull(tg__alloc(g, (size_t)scale * kib[i] * 1024));
}
START_TEST(alternating_shapes_share_the_arena) {
    tg_graph *g = tg_graph_new();
    tg_stats st;
    shaped_step(g, 1);
    shaped_step(g, 4);
    tg_graph_stats(g, &st);
    const size_t reserved = st.arena_reserved;
    const int64_t blocks = st.arena_blocks;
    const uint64_t allocs = tg_alloc_count();
    for (int round = 0; round < 5; round++) {
        shaped_step(g, 1);
        shaped_step(g, 4);
    }
    tg_graph_stats(g, &st);
    ck_assert_msg(st.arena_reserved == reserved && st.arena_blocks == blocks,
                  "the arena grew from %zu bytes in %lld blocks to %zu in %lld", reserved,
                  (long long)blocks, st.arena_reserved, (long long)st.arena_blocks);
    ck_assert_uint_eq(tg_alloc_count(), allocs);
    tg_graph_free(g);
}
END_TEST

START_TEST(data_is_aligned_and_zeroed) {
    tg_graph *g = tg_graph_new();
    for (int n = 1; n < 40; n += 7) {
        tg_tensor *t = tg_tensor_new(g, 2, (int[]){n, 3});
        ck_assert_uint_eq((uintptr_t)tg_data(t) % 64, 0);
        for (int i = 0; i < 3 * n; i++) ck_assert(tg_data(t)[i] == 0);
    }
    tg_tensor *e = tg_tensor_new(g, 2, (int[]){0, 5});
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(tg_numel(e), 0);
    tg_tensor *s = tg_scalar(g, 7);
    ck_assert_int_eq(tg_ndim(s), 0);
    ck_assert_int_eq(tg_numel(s), 1);
    ck_assert_double_eq(tg_item(s), 7);
    tg_tensor *f = tg_full(g, 1, (int[]){3}, 2.5);
    ck_assert_double_eq(tg_data(f)[2], 2.5);
    tg_tensor *o = tg_ones(g, 1, (int[]){2});
    ck_assert_double_eq(tg_data(o)[1], 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(no_grad_mode_records_nothing) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_scalar(g, 2);
    tg_set_requires_grad(x, true);
    ck_assert(tg_graph_set_grad_enabled(g, false) == true);
    tg_tensor *y = tg_mul(g, x, x);
    ck_assert_double_eq_tol(tg_item(y), 4, TOL);
    ck_assert(!tg_requires_grad(y));
    tg_stats st;
    tg_graph_stats(g, &st);
    ck_assert_int_eq(st.nodes, 0);
    ck_assert_int_ne(tg_backward(g, y), 0);
    tg_graph_reset(g);
    ck_assert(!tg_graph_grad_enabled(g)); /* the mode survives a reset */
    tg_graph_set_grad_enabled(g, true);
    tg_graph_free(g);
}
END_TEST

START_TEST(wrap_uses_caller_memory) {
    tg_graph *g = tg_graph_new();
    tg_real mine[4] = {1, 2, 3, 4};
    tg_tensor *w = tg_tensor_wrap(g, 2, (int[]){2, 2}, mine);
    ck_assert_ptr_eq(tg_data(w), mine);
    mine[3] = 10;
    tg_tensor *y = tg_add(g, w, w);
    ck_assert_double_eq_tol(tg_data(y)[3], 20, TOL);
    tg_set_requires_grad(w, true);
    tg_tensor *z = tg_mul(g, w, tg_scalar(g, 2));
    ck_assert_int_eq(tg_backward_from(g, z, (tg_real[]){1, 1, 1, 1}), 0);
    ck_assert_double_eq_tol(tg_grad(w)[0], 2, TOL);
    tg_graph_free(g);
}
END_TEST

START_TEST(names_are_copied_and_cut) {
    tg_graph *g = tg_graph_new();
    tg_tensor *t = tg_scalar(g, 1);
    char buf[100];
    memset(buf, 'a', sizeof buf);
    buf[99] = '\0';
    tg_set_name(t, buf);
    buf[0] = 'b';
    ck_assert_uint_eq(strlen(tg_name(t)), 63);
    ck_assert_int_eq(tg_name(t)[0], 'a');
    tg_set_name(t, "w1");
    ck_assert_str_eq(tg_name(t), "w1");
    tg_set_name(t, NULL);
    ck_assert_ptr_null(tg_name(t));
    tg_graph_free(g);
}
END_TEST

START_TEST(seeded_generator_repeats) {
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_seed(g1, 42);
    tg_seed(g2, 42);
    tg_tensor *a = tg_randn(g1, 1, (int[]){1000}, 0, 1);
    tg_tensor *b = tg_randn(g2, 1, (int[]){1000}, 0, 1);
    ck_assert_mem_eq(tg_data(a), tg_data(b), 1000 * sizeof(tg_real));
    double mean = 0, var = 0;
    for (int i = 0; i < 1000; i++) mean += tg_data(a)[i];
    mean /= 1000;
    for (int i = 0; i < 1000; i++) var += (tg_data(a)[i] - mean) * (tg_data(a)[i] - mean);
    var /= 1000;
    ck_assert_double_lt(fabs(mean), 0.1);
    ck_assert_double_lt(fabs(var - 1), 0.15);
    tg_tensor *u = tg_rand(g1, 1, (int[]){1000}, -2, 3);
    for (int i = 0; i < 1000; i++) {
        ck_assert_double_ge(tg_data(u)[i], -2);
        ck_assert_double_lt(tg_data(u)[i], 3);
    }
    tg_seed(g2, 43);
    tg_tensor *c = tg_randn(g2, 1, (int[]){1000}, 0, 1);
    ck_assert(memcmp(tg_data(a), tg_data(c), 1000 * sizeof(tg_real)) != 0);
    tg_graph_free(g1);
    tg_graph_free(g2);
}
END_TEST

START_TEST(reset_clears_error_and_graph_works_again) {
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_add(g, tg_ones(g, 1, (int[]){2}), tg_ones(g, 1, (int[]){3})));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
    tg_graph_reset(g);
    ck_assert_ptr_null(tg_graph_error(g));
    ck_assert_ptr_nonnull(tg_add(g, tg_ones(g, 1, (int[]){2}), tg_ones(g, 1, (int[]){2})));
    tg_graph_free(g);
}
END_TEST

START_TEST(every_op_is_registered) {
    ck_assert_int_gt(tg__op_count(), 0);
    for (int i = 0; i < tg__op_count(); i++) {
        const tg_op *op = tg__op_at(i);
        ck_assert_ptr_nonnull(op);
        ck_assert_ptr_nonnull(op->name);
        ck_assert_msg(op->backward != NULL, "op %s has no gradient rule", op->name);
        for (int j = 0; j < i; j++) ck_assert_str_ne(op->name, tg__op_at(j)->name);
    }
    ck_assert_ptr_null(tg__op_at(-1));
    ck_assert_ptr_null(tg__op_at(tg__op_count()));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, x_times_x_sums_both_uses);
    tcase_add_test(tc, diamond_accumulates_both_paths);
    tcase_add_test(tc, backward_twice_accumulates_leaves_only);
    tcase_add_test(tc, backward_from_is_a_vjp);
    tcase_add_test(tc, only_tensors_requiring_grad_get_one);
    tcase_add_test(tc, loss_that_needs_no_gradient_is_an_error);
    tcase_add_test(tc, leaf_loss_is_seeded);
    tcase_add_test(tc, long_chain_needs_no_recursion);
    tcase_add_test(tc, steady_state_step_does_not_allocate);
    tcase_add_test(tc, arena_grows_by_chaining_and_reset_keeps_blocks);
    tcase_add_test(tc, alternating_shapes_share_the_arena);
    tcase_add_test(tc, data_is_aligned_and_zeroed);
    tcase_add_test(tc, no_grad_mode_records_nothing);
    tcase_add_test(tc, wrap_uses_caller_memory);
    tcase_add_test(tc, names_are_copied_and_cut);
    tcase_add_test(tc, seeded_generator_repeats);
    tcase_add_test(tc, reset_clears_error_and_graph_works_again);
    tcase_add_test(tc, every_op_is_registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return tg_test_run(suite());
}
