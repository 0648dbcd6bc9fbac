/* Periodic neighbour lists and shortest distances for any cell shape. The
 * reference is a brute-force loop over every image in a box that provably
 * holds the cutoff sphere (|x_k| <= rc / h_k for the fractional components of
 * any vector shorter than rc, h_k the plane spacings). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/neighbors.h"
#include "fuse2/structure.h"

/* A random cell (edges 2-8 A, angles 55-125 degrees) with natoms atoms,
 * some coordinates outside [0,1): the list must not assume wrapping. */
static void random_triclinic(fuse2_structure *s, int natoms)
{
    test_random_triclinic(s->lattice, 2.0, 8.0, 55, 125);
    test_add_random_atoms(s, natoms, 0.3);
}

typedef struct pair_entry {
    int j;
    double d;
} pair_entry;

static int compare_entries(const void *a, const void *b)
{
    const pair_entry *x = a, *y = b;
    if (x->j != y->j) return x->j - y->j;
    return (x->d > y->d) - (x->d < y->d);
}

/* All (j, d) around atom i with 0 < d <= rc from the brute-force box. */
static pair_entry *brute_force(const fuse2_structure *s, int i, double rc, int *count)
{
    double h[3];
    fuse2_lattice_plane_spacings(s->lattice, h);
    int range[3];
    for (int k = 0; k < 3; k++) {
        /* stored coordinates differ by < 2 (spread 0.3 each side): +3 covers it */
        range[k] = (int)ceil(rc / h[k]) + 3;
        if (range[k] < 6) range[k] = 6;
    }
    int cap = 1024, n = 0;
    pair_entry *e = malloc((size_t)cap * sizeof *e);
    double ri[3];
    fuse2_structure_cartesian(s, i, ri);
    for (int j = 0; j < s->natoms; j++) {
        double rj[3];
        fuse2_structure_cartesian(s, j, rj);
        for (int a = -range[0]; a <= range[0]; a++)
            for (int b = -range[1]; b <= range[1]; b++)
                for (int c = -range[2]; c <= range[2]; c++) {
                    double v[3];
                    for (int k = 0; k < 3; k++)
                        v[k] = rj[k] + a * s->lattice[0][k] + b * s->lattice[1][k] +
                               c * s->lattice[2][k] - ri[k];
                    double d = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
                    if (d > 1e-8 && d <= rc) {
                        if (n == cap) e = realloc(e, (size_t)(cap *= 2) * sizeof *e);
                        e[n].j = j;
                        e[n].d = d;
                        n++;
                    }
                }
    }
    qsort(e, (size_t)n, sizeof *e, compare_entries);
    *count = n;
    return e;
}

/* Compares the list of s with the brute force over `reference` (the same
 * crystal, possibly in another basis) and checks every stored vector against
 * r_j + n L - r_i. Returns the total number of entries. */
static int check_against_reference(const fuse2_structure *s, const fuse2_structure *reference,
                                   double rc)
{
    fuse2_neighbor_list list = {0};
    ASSERT_OK(fuse2_neighbor_list_build(&list, s, rc));
    assert_int_equal(list.natoms, s->natoms);
    assert_int_equal(list.offsets[s->natoms], list.count);
    for (int i = 0; i < s->natoms; i++) {
        int expected_n;
        pair_entry *expected = brute_force(reference, i, rc, &expected_n);
        int begin = list.offsets[i], end = list.offsets[i + 1];
        if (end - begin != expected_n)
            fail_msg("atom %d, cutoff %g: %d neighbours, brute force %d", i, rc, end - begin,
                     expected_n);
        pair_entry *got = malloc((size_t)(expected_n > 0 ? expected_n : 1) * sizeof *got);
        double ri[3];
        fuse2_structure_cartesian(s, i, ri);
        for (int e = begin; e < end; e++) {
            int j = list.index[e];
            double rj[3];
            fuse2_structure_cartesian(s, j, rj);
            double v[3];
            for (int k = 0; k < 3; k++)
                v[k] = rj[k] + list.image[e][0] * s->lattice[0][k] +
                       list.image[e][1] * s->lattice[1][k] + list.image[e][2] * s->lattice[2][k] -
                       ri[k];
            for (int k = 0; k < 3; k++) ASSERT_NEAR(list.vector[e][k], v[k], 1e-9);
            ASSERT_NEAR(list.distance[e],
                        sqrt(list.vector[e][0] * list.vector[e][0] +
                             list.vector[e][1] * list.vector[e][1] +
                             list.vector[e][2] * list.vector[e][2]),
                        1e-12);
            assert_true(list.distance[e] > 0 && list.distance[e] <= rc);
            got[e - begin].j = j;
            got[e - begin].d = list.distance[e];
        }
        qsort(got, (size_t)(end - begin), sizeof *got, compare_entries);
        for (int e = 0; e < expected_n; e++) {
            assert_int_equal(got[e].j, expected[e].j);
            ASSERT_NEAR(got[e].d, expected[e].d, 1e-9);
        }
        free(got);
        free(expected);
    }
    int total = list.count;
    fuse2_neighbor_list_free(&list);
    return total;
}

static int check_against_brute_force(const fuse2_structure *s, double rc)
{
    return check_against_reference(s, s, rc);
}

/* A copy of s in a basis M L (random unimodular M with large entries, from
 * products of elementary shears) with a plane spacing below 1 A: the same
 * crystal, with a basis where minimum image is useless. */
static void skewed_copy(const fuse2_structure *s, fuse2_structure *skewed)
{
    ASSERT_OK(fuse2_structure_copy(skewed, s));
    double lattice[3][3], h[3];
    do {
        memcpy(lattice, s->lattice, sizeof lattice);
        test_skew_lattice(lattice, 8, 2, NULL);
        fuse2_lattice_plane_spacings(lattice, h);
    } while (fmin(h[0], fmin(h[1], h[2])) >= 1.0);
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(skewed, lattice));
}

static void test_matches_brute_force_for_random_triclinic_cells(void **state)
{
    (void)state;
    test_rng_seed(11);
    for (int trial = 0; trial < 25; trial++) {
        fuse2_structure s;
        ASSERT_OK(fuse2_structure_init(&s, 0));
        random_triclinic(&s, test_uniform_int(1, 5));
        /* cutoffs from below the shortest distance to well beyond the cell */
        double rc = test_uniform(1.0, 11.0);
        check_against_brute_force(&s, rc);
        fuse2_structure_free(&s);
    }
}

static void test_matches_brute_force_for_very_skewed_cells(void **state)
{
    (void)state;
    test_rng_seed(12);
    /* the example from the brief: det 125, Niggli cell 5 x 5.10 x 5.39 */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 0));
    double lattice[3][3] = {{5, 0, 0}, {47, 5, 0}, {13, -29, 5}};
    memcpy(s.lattice, lattice, sizeof lattice);
    test_add_random_atoms(&s, 3, 0.2);
    int n = check_against_brute_force(&s, 7.5);
    /* density argument: ~3 * 3 * (4/3 pi 7.5^3) / 125 = 127 entries */
    assert_true(n > 60 && n < 250);
    fuse2_structure_free(&s);

    /* random bad bases of random crystals, against the brute force in the
     * compact basis: the lists must be the same */
    for (int trial = 0; trial < 12; trial++) {
        fuse2_structure skewed;
        ASSERT_OK(fuse2_structure_init(&s, 0));
        ASSERT_OK(fuse2_structure_init(&skewed, 0));
        random_triclinic(&s, test_uniform_int(1, 4));
        skewed_copy(&s, &skewed);
        check_against_reference(&skewed, &s, test_uniform(2.0, 8.0));
        fuse2_structure_free(&s);
        fuse2_structure_free(&skewed);
    }
}

static void test_matches_brute_force_for_very_short_cells(void **state)
{
    (void)state;
    test_rng_seed(13);
    /* a 1.3 A lattice vector and cutoffs several times longer than the cell */
    double params[][6] = {{1.3, 6.0, 5.0, 90, 90, 90},
                          {1.3, 1.5, 9.0, 70, 100, 115},
                          {1.2, 1.4, 1.6, 62, 75, 81}};
    for (size_t t = 0; t < sizeof params / sizeof params[0]; t++) {
        fuse2_structure s;
        ASSERT_OK(fuse2_structure_init(&s, 0));
        ASSERT_OK(fuse2_lattice_from_parameters(params[t], s.lattice));
        test_add_random_atoms(&s, t == 2 ? 1 : 2, 0.1);
        check_against_brute_force(&s, 6.55); /* not a multiple of a length */
        fuse2_structure_free(&s);
    }
}

static void test_counts_coordination_shells_of_fcc(void **state)
{
    (void)state;
    /* fcc primitive cell, a = 4 A: shells at a/sqrt2 (12), a (6), a*sqrt(3/2)
     * (24), a*sqrt2 (12) - textbook coordination numbers */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 1));
    double a = 4.0;
    double lattice[3][3] = {{0, a / 2, a / 2}, {a / 2, 0, a / 2}, {a / 2, a / 2, 0}};
    memcpy(s.lattice, lattice, sizeof lattice);
    ASSERT_OK(fuse2_structure_add_atom(&s, 29, (double[3]){0, 0, 0}));
    fuse2_neighbor_list list = {0};
    double cutoffs[] = {a / sqrt(2) + 1e-6, a + 1e-6, a * sqrt(1.5) + 1e-6, a * sqrt(2) + 1e-6};
    int expected[] = {12, 18, 42, 54};
    for (int c = 0; c < 4; c++) {
        /* rebuilding the same list object reuses its buffers */
        ASSERT_OK(fuse2_neighbor_list_build(&list, &s, cutoffs[c]));
        assert_int_equal(list.count, expected[c]);
        for (int e = 0; e < list.count; e++) assert_int_equal(list.index[e], 0);
    }
    ASSERT_OK(fuse2_neighbor_list_build(&list, &s, a / sqrt(2) + 1e-6));
    for (int e = 0; e < list.count; e++) ASSERT_NEAR(list.distance[e], a / sqrt(2), 1e-12);
    fuse2_neighbor_list_free(&list);
    fuse2_structure_free(&s);
}

static void test_list_is_symmetric_and_independent_of_wrapping(void **state)
{
    (void)state;
    test_rng_seed(14);
    fuse2_structure s, shifted;
    ASSERT_OK(fuse2_structure_init(&s, 0));
    ASSERT_OK(fuse2_structure_init(&shifted, 0));
    random_triclinic(&s, 4);
    ASSERT_OK(fuse2_structure_copy(&shifted, &s));
    int shift[4][3] = {{3, -2, 0}, {0, 0, 0}, {-5, 1, 7}, {1, 1, -1}};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) shifted.frac[i][k] += shift[i][k];
    fuse2_neighbor_list a = {0}, b = {0};
    ASSERT_OK(fuse2_neighbor_list_build(&a, &s, 6.0));
    ASSERT_OK(fuse2_neighbor_list_build(&b, &shifted, 6.0));
    assert_int_equal(a.count, b.count);
    for (int e = 0; e < a.count; e++) {
        assert_int_equal(a.index[e], b.index[e]);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(a.vector[e][k], b.vector[e][k], 1e-9);
    }
    /* every i -> j entry has a j -> i partner with the opposite vector */
    for (int i = 0; i < a.natoms; i++)
        for (int e = a.offsets[i]; e < a.offsets[i + 1]; e++) {
            int j = a.index[e], found = 0;
            for (int f = a.offsets[j]; f < a.offsets[j + 1] && !found; f++)
                found = a.index[f] == i && fabs(a.vector[f][0] + a.vector[e][0]) < 1e-9 &&
                        fabs(a.vector[f][1] + a.vector[e][1]) < 1e-9 &&
                        fabs(a.vector[f][2] + a.vector[e][2]) < 1e-9;
            assert_true(found);
        }
    fuse2_neighbor_list_free(&a);
    fuse2_neighbor_list_free(&b);
    fuse2_structure_free(&s);
    fuse2_structure_free(&shifted);
}

static void test_periodic_distance_where_minimum_image_fails(void **state)
{
    (void)state;
    /* The lattice a = (5,0,0), b = (47,5,0), c = (13,-29,5) is the lattice of
     * (5,0,0), (0,1,5), (-2,-5,0). Atom 1 sits at Cartesian (2.5,2.5,2.5):
     * fractional (-32.76, 3.4, 0.5). The minimum-image convention (round the
     * fractional difference to (0.24, 0.4, 0.5)) gives |(26.5, -12.5, 2.5)| =
     * sqrt(864.75) = 29.41 A; the true shortest distance is sqrt(12.75) =
     * 3.5707 A, and the shortest lattice vector is 5 A (numpy brute force
     * over +-6 images of the compact basis). */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    double lattice[3][3] = {{5, 0, 0}, {47, 5, 0}, {13, -29, 5}};
    memcpy(s.lattice, lattice, sizeof lattice);
    ASSERT_OK(fuse2_structure_add_atom(&s, 11, (double[3]){0, 0, 0}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 17, (double[3]){-32.76, 3.4, 0.5}));
    double f[3], mic[3];
    for (int k = 0; k < 3; k++) f[k] = s.frac[1][k] - nearbyint(s.frac[1][k]);
    for (int k = 0; k < 3; k++)
        mic[k] = f[0] * lattice[0][k] + f[1] * lattice[1][k] + f[2] * lattice[2][k];
    double mic_distance = sqrt(mic[0] * mic[0] + mic[1] * mic[1] + mic[2] * mic[2]);
    ASSERT_NEAR(mic_distance, sqrt(864.75), 1e-9); /* what minimum image would say */
    ASSERT_NEAR(fuse2_periodic_distance(&s, 0, 1), sqrt(12.75), 1e-10);
    ASSERT_NEAR(fuse2_periodic_distance(&s, 1, 0), sqrt(12.75), 1e-10);
    ASSERT_NEAR(fuse2_periodic_distance(&s, 0, 0), 5.0, 1e-10);
    ASSERT_NEAR(fuse2_periodic_distance(&s, 1, 1), 5.0, 1e-10);
    ASSERT_NEAR(fuse2_structure_min_distance(&s), sqrt(12.75), 1e-10);
    assert_true(isnan(fuse2_periodic_distance(&s, 0, 2)));
    fuse2_structure_free(&s);
}

static void test_periodic_distance_matches_brute_force_in_skewed_cells(void **state)
{
    (void)state;
    test_rng_seed(15);
    for (int trial = 0; trial < 10; trial++) {
        fuse2_structure s, skewed;
        ASSERT_OK(fuse2_structure_init(&s, 0));
        ASSERT_OK(fuse2_structure_init(&skewed, 0));
        random_triclinic(&s, 3);
        skewed_copy(&s, &skewed);
        /* in the compact basis the shortest i-j distance is below
         * (|a|+|b|+|c|)/2 (round the fractional difference), so a brute force
         * to that radius finds it */
        double radius = 0.1;
        for (int k = 0; k < 3; k++)
            radius += 0.5 * sqrt(s.lattice[k][0] * s.lattice[k][0] +
                                 s.lattice[k][1] * s.lattice[k][1] +
                                 s.lattice[k][2] * s.lattice[k][2]);
        double global = INFINITY;
        for (int i = 0; i < 3; i++) {
            int n;
            pair_entry *e = brute_force(&s, i, radius, &n);
            for (int j = 0; j < 3; j++) {
                double best = INFINITY;
                for (int m = 0; m < n; m++)
                    if (e[m].j == j) best = fmin(best, e[m].d);
                /* the change of basis itself costs ~1e-11 A of precision */
                ASSERT_NEAR(fuse2_periodic_distance(&skewed, i, j), best, 1e-8);
                ASSERT_NEAR(fuse2_periodic_distance(&s, i, j), best, 1e-9);
                global = fmin(global, best);
            }
            free(e);
        }
        ASSERT_NEAR(fuse2_structure_min_distance(&skewed), global, 1e-8);
        fuse2_structure_free(&s);
        fuse2_structure_free(&skewed);
    }
}

static void test_min_distance_of_rock_salt_and_coincident_atoms(void **state)
{
    (void)state;
    /* NaCl, a = 5.64 A: nearest Na-Cl distance a/2 = 2.82 A */
    fuse2_structure s;
    const double a = 5.64;
    test_rock_salt(&s, a);
    ASSERT_NEAR(fuse2_structure_min_distance(&s), a / 2, 1e-12);
    /* Na-Na: a/sqrt2 */
    ASSERT_NEAR(fuse2_periodic_distance(&s, 0, 2), a / sqrt(2), 1e-12);
    /* the same crystal in a skewed basis of the same lattice */
    double skewed[3][3] = {{a, 0, 0}, {3 * a, a, 0}, {-2 * a, 5 * a, a}};
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(&s, skewed));
    ASSERT_NEAR(fuse2_structure_min_distance(&s), a / 2, 1e-10);
    /* two atoms on top of each other */
    double f[3];
    memcpy(f, s.frac[3], sizeof f);
    f[0] += 2.0;
    ASSERT_OK(fuse2_structure_add_atom(&s, 11, f));
    ASSERT_NEAR(fuse2_structure_min_distance(&s), 0.0, 1e-10);
    fuse2_structure_free(&s);
}

static void test_rejects_bad_cutoff_and_singular_lattice(void **state)
{
    (void)state;
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 1));
    double lattice[3][3] = {{3, 0, 0}, {0, 3, 0}, {0, 0, 3}};
    memcpy(s.lattice, lattice, sizeof lattice);
    ASSERT_OK(fuse2_structure_add_atom(&s, 1, (double[3]){0, 0, 0}));
    fuse2_neighbor_list list = {0};
    assert_int_equal(fuse2_neighbor_list_build(&list, &s, 0.0), FUSE2_ERR_ARG);
    test_assert_error_contains("cutoff");
    assert_int_equal(fuse2_neighbor_list_build(&list, &s, NAN), FUSE2_ERR_ARG);
    double flat[3][3] = {{3, 0, 0}, {0, 3, 0}, {3, 3, 0}};
    memcpy(s.lattice, flat, sizeof flat);
    assert_int_equal(fuse2_neighbor_list_build(&list, &s, 4.0), FUSE2_ERR_NUMERIC);
    test_assert_error_contains("singular");
    assert_true(isnan(fuse2_periodic_distance(&s, 0, 0)));
    fuse2_neighbor_list_free(&list);
    fuse2_structure_free(&s);
}

static void test_large_cell_with_long_cutoff(void **state)
{
    (void)state;
    test_rng_seed(16);
    /* 200 atoms, 15 A: the sizes the calculators use; checked against the
     * brute force for a few atoms and for the total count by symmetry */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 200));
    double params[6] = {14.1, 15.3, 16.2, 80, 95, 105};
    ASSERT_OK(fuse2_lattice_from_parameters(params, s.lattice));
    test_add_random_atoms(&s, 200, 0.0);
    fuse2_neighbor_list list = {0};
    ASSERT_OK(fuse2_neighbor_list_build(&list, &s, 15.0));
    /* expected count ~ N^2 * (4/3 pi rc^3) / V */
    double v = fuse2_structure_volume(&s);
    double estimate = 200.0 * 200.0 * 4.0 / 3.0 * M_PI * 15.0 * 15.0 * 15.0 / v;
    assert_true(list.count > 0.9 * estimate && list.count < 1.1 * estimate);
    for (int i = 0; i < 200; i += 67) {
        int n;
        pair_entry *e = brute_force(&s, i, 15.0, &n);
        assert_int_equal(list.offsets[i + 1] - list.offsets[i], n);
        free(e);
    }
    fuse2_neighbor_list_free(&list);
    fuse2_structure_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_brute_force_for_random_triclinic_cells),
        cmocka_unit_test(test_matches_brute_force_for_very_skewed_cells),
        cmocka_unit_test(test_matches_brute_force_for_very_short_cells),
        cmocka_unit_test(test_counts_coordination_shells_of_fcc),
        cmocka_unit_test(test_list_is_symmetric_and_independent_of_wrapping),
        cmocka_unit_test(test_periodic_distance_where_minimum_image_fails),
        cmocka_unit_test(test_periodic_distance_matches_brute_force_in_skewed_cells),
        cmocka_unit_test(test_min_distance_of_rock_salt_and_coincident_atoms),
        cmocka_unit_test(test_rejects_bad_cutoff_and_singular_lattice),
        cmocka_unit_test(test_large_cell_with_long_cutoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
