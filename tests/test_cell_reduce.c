/* Niggli reduction of skewed cells (fuse2_structure_reduce_cell): the same
 * lattice and the same crystal in a compact, right-handed basis. Reference
 * Niggli metrics come from python3-spglib 2.0.2 (spglib.niggli_reduce on the
 * compact bases, eps 1e-5); they are unique for a lattice, whatever basis it
 * is given in. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/neighbors.h"
#include "fuse2/structure.h"

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static double longest_vector(const double lattice[3][3])
{
    double longest = 0;
    for (int i = 0; i < 3; i++) longest = fmax(longest, sqrt(dot3(lattice[i], lattice[i])));
    return longest;
}

/* Re-expresses s in the basis M L for a random unimodular M (elementary
 * shears), keeping every Cartesian position: the same crystal, a bad basis,
 * with a longest lattice vector in [min_longest, max_longest] A. Beyond
 * ~1000 A a skewed basis cannot hold positions to 1e-9 A in double precision
 * (the change of basis itself loses them), so the tests stay below that. */
static void skew_basis(fuse2_structure *s, int shears, int max_factor, double min_longest,
                       double max_longest)
{
    double lattice[3][3];
    do {
        memcpy(lattice, s->lattice, sizeof lattice);
        test_skew_lattice(lattice, shears, max_factor, NULL);
    } while (longest_vector(lattice) < min_longest || longest_vector(lattice) > max_longest);
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(s, lattice));
}

static void assert_metric(const double lattice[3][3], const double expected[6], double tol)
{
    /* A, B, C, b.c, c.a, a.b */
    ASSERT_NEAR(dot3(lattice[0], lattice[0]), expected[0], tol);
    ASSERT_NEAR(dot3(lattice[1], lattice[1]), expected[1], tol);
    ASSERT_NEAR(dot3(lattice[2], lattice[2]), expected[2], tol);
    ASSERT_NEAR(dot3(lattice[1], lattice[2]), expected[3], tol);
    ASSERT_NEAR(dot3(lattice[2], lattice[0]), expected[4], tol);
    ASSERT_NEAR(dot3(lattice[0], lattice[1]), expected[5], tol);
}

/* A Buckingham-like pair energy (eV) summed over the neighbour list: what a
 * calculator would see, so it must not depend on the basis. */
static double pair_energy(const fuse2_structure *s, double rc)
{
    fuse2_neighbor_list list = {0};
    ASSERT_OK(fuse2_neighbor_list_build(&list, s, rc));
    double e = 0;
    for (int k = 0; k < list.count; k++) {
        double r = list.distance[k];
        e += 0.5 * (1000.0 * exp(-r / 0.3) - 30.0 / pow(r, 6));
    }
    fuse2_neighbor_list_free(&list);
    return e;
}

/* Checks that `reduced` holds the crystal of `original`: same volume, right
 * handed, wrapped coordinates, each atom moved by a lattice vector only, and
 * the same interatomic distances up to rc. */
static void assert_same_crystal(const fuse2_structure *original, const fuse2_structure *reduced,
                                double rc)
{
    assert_int_equal(reduced->natoms, original->natoms);
    double v0 = fabs(fuse2_structure_volume(original));
    double v1 = fuse2_structure_volume(reduced);
    assert_true(v1 > 0);
    ASSERT_NEAR(v1, v0, 1e-9 * v0);
    double inverse[3][3];
    ASSERT_OK(fuse2_lattice_inverse(original->lattice, inverse));
    for (int i = 0; i < reduced->natoms; i++) {
        assert_int_equal(reduced->species[i], original->species[i]);
        double r0[3], r1[3];
        fuse2_structure_cartesian(original, i, r0);
        fuse2_structure_cartesian(reduced, i, r1);
        for (int k = 0; k < 3; k++) {
            assert_true(reduced->frac[i][k] >= 0.0 && reduced->frac[i][k] < 1.0);
            /* r1 - r0 in the original basis must be an integer vector */
            double n = (r1[0] - r0[0]) * inverse[0][k] + (r1[1] - r0[1]) * inverse[1][k] +
                       (r1[2] - r0[2]) * inverse[2][k];
            ASSERT_NEAR(n, nearbyint(n), 1e-7);
        }
    }
    int n0, n1;
    double *d0 = test_sorted_distances(original, rc, &n0);
    double *d1 = test_sorted_distances(reduced, rc, &n1);
    assert_int_equal(n0, n1);
    for (int k = 0; k < n0; k++) ASSERT_NEAR(d1[k], d0[k], 1e-9);
    free(d0);
    free(d1);
}

static void test_skewed_example_reduces_to_its_niggli_cell(void **state)
{
    (void)state;
    test_rng_seed(1);
    /* a = (5,0,0), b = (47,5,0), c = (13,-29,5): volume 125 A^3; Niggli cell
     * (5,0,0), (0,1,5), (-2,-5,0): A = 25, B = 26, C = 29, b.c = -5,
     * c.a = -10, a.b = 0 (python3-spglib) */
    fuse2_structure s, original;
    ASSERT_OK(fuse2_structure_init(&s, 4));
    ASSERT_OK(fuse2_structure_init(&original, 4));
    double lattice[3][3] = {{5, 0, 0}, {47, 5, 0}, {13, -29, 5}};
    memcpy(s.lattice, lattice, sizeof lattice);
    test_add_random_atoms(&s, 4, 0.0);
    ASSERT_OK(fuse2_structure_copy(&original, &s));
    ASSERT_OK(fuse2_structure_reduce_cell(&s));
    const double metric[6] = {25, 26, 29, -5, -10, 0};
    assert_metric(s.lattice, metric, 1e-10);
    ASSERT_NEAR(fuse2_structure_volume(&s), 125.0, 1e-10);
    assert_same_crystal(&original, &s, 8.0);
    /* compact: the smallest plane spacing went from 0.086 A to over 4 A */
    double h0[3], h1[3];
    fuse2_lattice_plane_spacings(original.lattice, h0);
    fuse2_lattice_plane_spacings(s.lattice, h1);
    assert_true(fmin(h0[0], fmin(h0[1], h0[2])) < 0.1);
    assert_true(fmin(h1[0], fmin(h1[1], h1[2])) > 4.0);
    ASSERT_NEAR(pair_energy(&s, 9.0), pair_energy(&original, 9.0),
                1e-9 * fabs(pair_energy(&original, 9.0)));
    fuse2_structure_free(&s);
    fuse2_structure_free(&original);
}

static void test_any_basis_of_a_lattice_reduces_to_the_same_metric(void **state)
{
    (void)state;
    test_rng_seed(2);
    /* compact basis (4.2,0,0), (1.1,5.3,0), (-0.7,0.9,6.1); its Niggli metric
     * from python3-spglib: A = 17.64, B = 29.3, C = 38.51, b.c = -4.0,
     * c.a = -2.94, a.b = -4.62 */
    const double metric[6] = {17.64, 29.3, 38.51, -4.0, -2.94, -4.62};
    for (int trial = 0; trial < 40; trial++) {
        fuse2_structure s, original;
        ASSERT_OK(fuse2_structure_init(&s, 6));
        ASSERT_OK(fuse2_structure_init(&original, 6));
        double lattice[3][3] = {{4.2, 0, 0}, {1.1, 5.3, 0}, {-0.7, 0.9, 6.1}};
        memcpy(s.lattice, lattice, sizeof lattice);
        test_add_random_atoms(&s, 1 + trial % 6, 0.0);
        skew_basis(&s, 4 + trial % 8, 1 + trial % 4, 0, 1000);
        ASSERT_OK(fuse2_structure_copy(&original, &s));
        ASSERT_OK(fuse2_structure_reduce_cell(&s));
        assert_metric(s.lattice, metric, 1e-8);
        assert_same_crystal(&original, &s, 7.0);
        fuse2_structure_free(&s);
        fuse2_structure_free(&original);
    }
}

static void test_reduction_is_idempotent(void **state)
{
    (void)state;
    test_rng_seed(3);
    fuse2_structure s, once;
    ASSERT_OK(fuse2_structure_init(&s, 5));
    ASSERT_OK(fuse2_structure_init(&once, 5));
    double params[6] = {4.7, 5.9, 7.3, 77, 101, 64};
    ASSERT_OK(fuse2_lattice_from_parameters(params, s.lattice));
    test_add_random_atoms(&s, 5, 0.0);
    skew_basis(&s, 10, 3, 50, 1000);
    ASSERT_OK(fuse2_structure_reduce_cell(&s));
    ASSERT_OK(fuse2_structure_copy(&once, &s));
    ASSERT_OK(fuse2_structure_reduce_cell(&s));
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.lattice[i][k], once.lattice[i][k], 1e-12);
    for (int i = 0; i < s.natoms; i++)
        for (int k = 0; k < 3; k++) {
            double d = s.frac[i][k] - once.frac[i][k];
            ASSERT_NEAR(d - nearbyint(d), 0.0, 1e-12);
        }
    fuse2_structure_free(&s);
    fuse2_structure_free(&once);
}

static void test_reduced_cubic_cell_is_left_alone(void **state)
{
    (void)state;
    /* cubic SrTiO3 (a = 3.905 A) is already Niggli-reduced */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 5));
    double lattice[3][3] = {{3.905, 0, 0}, {0, 3.905, 0}, {0, 0, 3.905}};
    memcpy(s.lattice, lattice, sizeof lattice);
    double frac[5][3] = {{0, 0, 0}, {0.5, 0.5, 0.5}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    int z[5] = {38, 22, 8, 8, 8};
    for (int i = 0; i < 5; i++) ASSERT_OK(fuse2_structure_add_atom(&s, z[i], frac[i]));
    ASSERT_OK(fuse2_structure_reduce_cell(&s));
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.lattice[i][k], lattice[i][k], 1e-14);
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.frac[i][k], frac[i][k], 1e-14);
    fuse2_structure_free(&s);
}

static void test_left_handed_cell_becomes_right_handed(void **state)
{
    (void)state;
    test_rng_seed(4);
    fuse2_structure s, original;
    ASSERT_OK(fuse2_structure_init(&s, 3));
    ASSERT_OK(fuse2_structure_init(&original, 3));
    double params[6] = {5.1, 6.2, 4.3, 95, 85, 110};
    ASSERT_OK(fuse2_lattice_from_parameters(params, s.lattice));
    test_add_random_atoms(&s, 3, 0.0);
    skew_basis(&s, 8, 2, 30, 1000);
    double mirrored[3][3];
    memcpy(mirrored, s.lattice, sizeof mirrored);
    for (int k = 0; k < 3; k++) mirrored[1][k] = -mirrored[1][k];
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(&s, mirrored));
    assert_true(fuse2_structure_volume(&s) < 0);
    ASSERT_OK(fuse2_structure_copy(&original, &s));
    ASSERT_OK(fuse2_structure_reduce_cell(&s));
    assert_same_crystal(&original, &s, 7.0); /* includes volume > 0 */
    fuse2_structure_free(&s);
    fuse2_structure_free(&original);
}

/* x rounded to a multiple of 2^-bits. */
static double on_dyadic_grid(double x, int bits)
{
    return ldexp(nearbyint(ldexp(x, bits)), -bits);
}

/* Puts `compact` into `skewed` in the basis L' = M L of a random unimodular
 * M with a longest vector in [min_longest, max_longest] A, with no rounding:
 * the two are exactly the same crystal. A change of basis in floating point
 * (fuse2_structure_set_lattice_keep_cartesian) loses up to ~1e-9 A in such
 * bases, as |f| reaches 1e4, which a 1e-9 A comparison with the compact cell
 * would then blame on the reduction. Here the compact cell is first moved
 * onto dyadic grids (lattice entries multiples of 2^-24 A, fractions of
 * 2^-20: shifts of at most ~4e-6 A, and the moved cell is the reference), so
 * M L and f' = f M^-1 with small integers are exact. */
static void exact_skewed_copy(fuse2_structure *compact, fuse2_structure *skewed, int shears,
                              int max_factor, double min_longest, double max_longest)
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            compact->lattice[i][k] = on_dyadic_grid(compact->lattice[i][k], 24);
    for (int a = 0; a < compact->natoms; a++)
        for (int k = 0; k < 3; k++) compact->frac[a][k] = on_dyadic_grid(compact->frac[a][k], 20);
    double lattice[3][3];
    long long m[3][3];
    do {
        memcpy(lattice, compact->lattice, sizeof lattice);
        const long long identity[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
        memcpy(m, identity, sizeof m);
        test_skew_lattice(lattice, shears, max_factor, m);
    } while (longest_vector(lattice) < min_longest || longest_vector(lattice) > max_longest);
    /* M^-1 = adjugate(M) det(M), det = +-1; its entries stay below 2^20 here
     * (|M_ij| < ~400), so each f_i (M^-1)_ik needs fewer than 53 bits */
    long long det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    assert_true(det == 1 || det == -1);
    long long inverse[3][3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            int r0 = (k + 1) % 3, r1 = (k + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            inverse[i][k] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) * det;
        }
    ASSERT_OK(fuse2_structure_copy(skewed, compact));
    memcpy(skewed->lattice, lattice, sizeof lattice);
    for (int a = 0; a < compact->natoms; a++)
        for (int k = 0; k < 3; k++) {
            double f = 0;
            for (int i = 0; i < 3; i++) f += compact->frac[a][i] * (double)inverse[i][k];
            skewed->frac[a][k] = f;
        }
}

static void test_extremely_skewed_random_cells_reduce(void **state)
{
    (void)state;
    test_rng_seed(5);
    /* lattice vectors 100 to 1000 A long for cells of ~150 A^3 (spglib's
     * Niggli loop alone gives up on about 1 % of such bases). The reference
     * is the compact cell the skewed basis was made from. */
    for (int trial = 0; trial < 10; trial++) {
        fuse2_structure s, compact;
        ASSERT_OK(fuse2_structure_init(&s, 8));
        ASSERT_OK(fuse2_structure_init(&compact, 8));
        test_random_triclinic(compact.lattice, 3, 7, 70, 110);
        test_add_random_atoms(&compact, 8, 0.0);
        exact_skewed_copy(&compact, &s, 14, 4, 100, 1000);
        ASSERT_OK(fuse2_structure_reduce_cell(&s));
        /* the Niggli cell holds the three shortest independent vectors:
         * none longer than the longest compact one */
        for (int i = 0; i < 3; i++)
            assert_true(sqrt(dot3(s.lattice[i], s.lattice[i])) <=
                        longest_vector(compact.lattice) + 1e-9);
        assert_same_crystal(&compact, &s, 6.0);
        fuse2_structure_free(&s);
        fuse2_structure_free(&compact);
    }
}

static void test_rejects_singular_and_non_finite_lattices(void **state)
{
    (void)state;
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 1));
    double flat[3][3] = {{3, 0, 0}, {0, 3, 0}, {3, 3, 0}};
    memcpy(s.lattice, flat, sizeof flat);
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (double[3]){0, 0, 0}));
    assert_int_equal(fuse2_structure_reduce_cell(&s), FUSE2_ERR_NUMERIC);
    test_assert_error_contains("singular");
    s.lattice[2][2] = NAN;
    assert_int_equal(fuse2_structure_reduce_cell(&s), FUSE2_ERR_NUMERIC);
    test_assert_error_contains("not finite");
    fuse2_structure_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skewed_example_reduces_to_its_niggli_cell),
        cmocka_unit_test(test_any_basis_of_a_lattice_reduces_to_the_same_metric),
        cmocka_unit_test(test_reduction_is_idempotent),
        cmocka_unit_test(test_reduced_cubic_cell_is_left_alone),
        cmocka_unit_test(test_left_handed_cell_becomes_right_handed),
        cmocka_unit_test(test_extremely_skewed_random_cells_reduce),
        cmocka_unit_test(test_rejects_singular_and_non_finite_lattices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
