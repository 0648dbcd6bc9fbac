/* Helpers shared by the cmocka tests. */
#ifndef FUSE2_TESTUTIL_H
#define FUSE2_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fuse2/builtin.h"
#include "fuse2/calc.h"
#include "fuse2/error.h"
#include "fuse2/structure.h"

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
/* The whole file as a NUL-terminated string (malloc'ed), NULL if it cannot be opened. */
char *test_read_file(const char *path);
/* Checks that the current fuse2 error message contains `needle`. */
void test_assert_error_contains(const char *needle);
/* Runs a shell command, captures stdout to *out (malloc'ed), returns exit code. */
int test_run_capture(const char *command, char **out);
/* Runs the fuse2 CLI ($FUSE2_CLI, set by ctest) with the arguments of fmt,
 * stderr merged into stdout; *out and the exit code as test_run_capture. */
int test_run_cli(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The number after "key": in a JSON text (fails the test if missing). */
double test_json_number(const char *text, const char *key);
/* Fails the test unless needle occurs in text. */
void test_assert_contains(const char *text, const char *needle);

/* ---- random numbers ----
 * All test randomness comes from one Philox stream of include/fuse2/rng.h per
 * test process, keyed by (seed, walker 0, step 0, a test-only purpose). The
 * same seed gives the same sequence on every machine and run, so a failure
 * seen once is seen again. Tests that draw numbers call test_rng_seed first,
 * so their numbers do not depend on which tests ran before them (e.g. with a
 * cmocka test filter). Before any test_rng_seed the stream has seed 0. */
void test_rng_seed(uint64_t seed);
/* Uniform in [lo, hi) (53 random bits). */
double test_uniform(double lo, double hi);
/* Uniform integer in [lo, hi], both ends included, without modulo bias. */
int test_uniform_int(int lo, int hi);

/* ---- structures ---- */
/* qsort comparator for doubles, ascending. */
int test_compare_doubles(const void *a, const void *b);
/* The distances of every neighbour-list entry of s within rc (A), sorted
 * ascending: each pair twice, as i-j and j-i. *n entries, malloc'ed. */
double *test_sorted_distances(const fuse2_structure *s, double rc, int *n);
/* Appends natoms atoms at uniform random fractional coordinates in
 * [-spread, 1 + spread) (spread > 0: coordinates outside the cell), species
 * cycling through O, Na, Cl (Z = 8, 11, 17). */
void test_add_random_atoms(fuse2_structure *s, int natoms, double spread);
/* A random triclinic lattice with lengths a, b, c uniform in [len_lo, len_hi)
 * A and angles uniform in [angle_lo, angle_hi) degrees, drawn again until the
 * angles are possible and the cell is not flat (volume > 0.3 abc). */
void test_random_triclinic(double lattice[3][3], double len_lo, double len_hi, double angle_lo,
                           double angle_hi);
/* Replaces the rows by M L for a random unimodular integer M: `shears`
 * elementary shears row_i += k row_j, i != j, k uniform in [-max_factor,
 * max_factor]. The same lattice in a (usually) badly skewed basis. If
 * `transform` is not NULL the same row operations are applied to it (start
 * from the identity to get M). */
void test_skew_lattice(double lattice[3][3], int shears, int max_factor,
                       long long transform[3][3]);
/* Initialises s as the 8-atom conventional rock-salt (NaCl) cell of cubic
 * edge a (A): Na on the fcc sites, each Cl at its Na + (1/2, 0, 0), wrapped
 * into [0, 1); atoms ordered Na, Cl, Na, Cl, ... */
void test_rock_salt(fuse2_structure *s, double a);

/* ---- calculators ----
 * A fuse2_calc handle around an existing builtin calculator (for fuse2_relax
 * and other code that takes a fuse2_calc). The handle does not own b:
 * fuse2_calc_destroy on it only clears it; destroy b yourself. */
void test_calc_from_builtin(fuse2_builtin *b, fuse2_calc *out);

#endif
