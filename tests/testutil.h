/* Helpers shared by the cmocka tests. */
#ifndef FUSE2_TESTUTIL_H
#define FUSE2_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fuse2/error.h"

/* Fails the test with the fuse2 error message if expr does not return FUSE2_OK. */
#define ASSERT_OK(expr)                                                          \
    do {                                                                         \
        fuse2_status assert_ok_status_ = (expr);                                 \
        if (assert_ok_status_ != FUSE2_OK)                                       \
            fail_msg("%s failed: %s\n%s", #expr, fuse2_error_message(),          \
                     fuse2_error_trace());                                       \
    } while (0)

/* Asserts |a - b| <= tol with a readable message. */
#define ASSERT_NEAR(a, b, tol)                                                   \
    do {                                                                         \
        double an_a_ = (a), an_b_ = (b), an_t_ = (tol);                          \
        if (!(fabs(an_a_ - an_b_) <= an_t_))                                     \
            fail_msg("%s = %.12g, expected %s = %.12g (tolerance %g, diff %g)",  \
                     #a, an_a_, #b, an_b_, an_t_, fabs(an_a_ - an_b_));          \
    } while (0)

/* $FUSE2_SHARED_DIR/relative (the read-only ../shared tree). */
const char *test_shared_path(const char *relative);
/* A fresh temporary directory for this test process (removed at exit). */
const char *test_tmpdir(void);
/* Writes text to a file in test_tmpdir() and returns its path. */
const char *test_write_file(const char *name, const char *text);
/* Checks that the current fuse2 error message contains `needle`. */
void test_assert_error_contains(const char *needle);
/* Runs a shell command, captures stdout to *out (malloc'ed), returns exit code. */
int test_run_capture(const char *command, char **out);

#endif
