/* tests/tg_test.h: what every Check suite here shares.
 *
 * CHECK(cond, fmt, ...): fails the test with the message when cond is false. For checks
 * inside element loops: ck_assert records every passing check (a write to the parent
 * process in fork mode), which costs more than most of the values being checked.
 * tg_test_run(suite): runs a suite, frees the runner, and gives main's exit status. */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <check.h>
#include <stdlib.h>

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

#endif
