/* tests/tg_test.h: what every Check suite here shares.
 *
 * CHECK(cond, fmt, ...): fails the test with the message when cond is false. For checks
 * inside element loops: ck_assert records every passing check (a write to the parent
 * process in fork mode), which costs more than most of the values being checked.
 * tg_test_run(suite): runs a suite, frees the runner, and gives main's exit status.
 * expect_shape, expect_same_shape: shape assertions on tensors. */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <check.h>
#include <stdlib.h>

#include <tapegrad.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                                                    \
    } while (0)

static inline int tg_test_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Asserts that t is not NULL and has exactly ndim dimensions of the given sizes. */
static inline void expect_shape(const tg_tensor *t, int ndim, const int *shape) {
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_ndim(t), ndim);
    for (int i = 0; i < ndim; i++) ck_assert_int_eq(tg_shape(t)[i], shape[i]);
}

/* Asserts that a and b are not NULL and have the same shape. */
static inline void expect_same_shape(const tg_tensor *a, const tg_tensor *b) {
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(tg_ndim(a), tg_ndim(b));
    for (int i = 0; i < tg_ndim(a); i++) ck_assert_int_eq(tg_shape(a)[i], tg_shape(b)[i]);
}

#endif
