/* Space groups, standardisation and symmetry operations through spglib.
 * Reference space groups are the textbook ones (International Tables);
 * numbers for the noisy perovskite come from python3-spglib 2.0.2 on the
 * same input (standardize_cell(cell, symprec), numpy 1.24). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/neighbors.h"
#include "fuse2/structure.h"
#include "fuse2/symmetry.h"

static void set_lattice(fuse2_structure *s, double a, double b, double c)
{
    double lattice[3][3] = {{a, 0, 0}, {0, b, 0}, {0, 0, c}};
    memcpy(s->lattice, lattice, sizeof lattice);
}

/* Cubic SrTiO3, a = 3.905 A: Sr (0,0,0), Ti (1/2,1/2,1/2), O face centres. */
static void build_perovskite(fuse2_structure *s)
{
    ASSERT_OK(fuse2_structure_init(s, 5));
    set_lattice(s, 3.905, 3.905, 3.905);
    ASSERT_OK(fuse2_structure_add_atom(s, 38, (double[3]){0, 0, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 22, (double[3]){0.5, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0.5, 0.5, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0.5, 0, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0, 0.5, 0.5}));
}

/* The perovskite with fixed pseudo-random Cartesian noise of up to 0.9e-3 A
 * on every atom and up to 0.8e-3 A on every lattice component. */
static void build_noisy_perovskite(fuse2_structure *s)
{
    build_perovskite(s);
    const double noise[5][3] = {{0.0004, -0.0007, 0.0002},
                                {-0.0003, 0.0005, 0.0008},
                                {0.0009, 0.0001, -0.0006},
                                {-0.0005, -0.0008, 0.0003},
                                {0.0002, 0.0006, -0.0009}};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 3; k++) s->frac[i][k] += noise[i][k] / 3.905;
    const double lattice_noise[3][3] = {{0.0006, -0.0004, 0.0002},
                                        {0.0003, 0.0008, -0.0005},
                                        {-0.0007, 0.0001, 0.0004}};
    double lattice[3][3];
    memcpy(lattice, s->lattice, sizeof lattice);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) lattice[i][k] += lattice_noise[i][k];
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(s, lattice));
}

/* Rutile TiO2, P4_2/mnm (136): a = 4.5937, c = 2.9587 A, O at (u,u,0) with
 * u = 0.3057 and the images of Wyckoff 4f. */
static void build_rutile(fuse2_structure *s)
{
    const double u = 0.3057;
    ASSERT_OK(fuse2_structure_init(s, 6));
    set_lattice(s, 4.5937, 4.5937, 2.9587);
    ASSERT_OK(fuse2_structure_add_atom(s, 22, (double[3]){0, 0, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 22, (double[3]){0.5, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){u, u, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){1 - u, 1 - u, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0.5 + u, 0.5 - u, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0.5 - u, 0.5 + u, 0.5}));
}

static void assert_spacegroup(const fuse2_structure *s, double symprec, int number,
                              const char *international, const char *hall, int n_operations)
{
    fuse2_spacegroup sg;
    ASSERT_OK(fuse2_symmetry_spacegroup(s, symprec, &sg));
    assert_int_equal(sg.number, number);
    assert_string_equal(sg.international, international);
    if (hall) assert_string_equal(sg.hall, hall);
    assert_int_equal(sg.n_operations, n_operations);
}

/* NaCl conventional cell, a = 5.64 A: Fm-3m (225), 48 x 4 centring = 192
 * operations. */
static void test_rock_salt_is_fm3m_with_192_operations(void **state)
{
    (void)state;
    fuse2_structure s;
    test_rock_salt(&s, 5.64);
    assert_spacegroup(&s, 1e-5, 225, "Fm-3m", "-F 4 2 3", 192);
    fuse2_structure_free(&s);
}

static void test_space_group_does_not_depend_on_the_basis(void **state)
{
    (void)state;
    /* the same rock salt in the non-symmetric basis a, b + 2a, c - a + 3b:
     * still 225 with 192 operations (toolchain.md: 48 in the primitive cell) */
    const double a = 5.64;
    fuse2_structure s;
    test_rock_salt(&s, a);
    double skewed[3][3] = {{a, 0, 0}, {2 * a, a, 0}, {-a, 3 * a, a}};
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(&s, skewed));
    assert_spacegroup(&s, 1e-5, 225, "Fm-3m", "-F 4 2 3", 192);
    fuse2_structure_free(&s);
}

static void test_cubic_perovskite_is_pm3m_with_48_operations(void **state)
{
    (void)state;
    fuse2_structure s;
    build_perovskite(&s);
    assert_spacegroup(&s, 1e-5, 221, "Pm-3m", "-P 4 2 3", 48);
    fuse2_structure_free(&s);
}

static void test_rutile_is_p42mnm(void **state)
{
    (void)state;
    fuse2_structure s;
    build_rutile(&s);
    /* 4/mmm point group: 16 operations in the primitive cell */
    assert_spacegroup(&s, 1e-5, 136, "P4_2/mnm", "-P 4n 2n", 16);
    fuse2_structure_free(&s);
}

/* Finds the atom of species z at fractional position f (mod 1) or -1. */
static int find_atom(const fuse2_structure *s, int z, const double f[3], double tol)
{
    for (int i = 0; i < s->natoms; i++) {
        if (s->species[i] != z) continue;
        int match = 1;
        for (int k = 0; k < 3 && match; k++) {
            double d = f[k] - s->frac[i][k];
            match = fabs(d - nearbyint(d)) < tol;
        }
        if (match) return i;
    }
    return -1;
}

static void test_operations_map_rutile_onto_itself(void **state)
{
    (void)state;
    fuse2_structure s;
    build_rutile(&s);
    int n = 0;
    int(*rot)[3][3] = NULL;
    double(*trans)[3] = NULL;
    ASSERT_OK(fuse2_symmetry_operations(&s, 1e-5, &n, &rot, &trans));
    assert_int_equal(n, 16);
    int with_half_translation = 0;
    for (int op = 0; op < n; op++) {
        int det = rot[op][0][0] * (rot[op][1][1] * rot[op][2][2] - rot[op][1][2] * rot[op][2][1]) -
                  rot[op][0][1] * (rot[op][1][0] * rot[op][2][2] - rot[op][1][2] * rot[op][2][0]) +
                  rot[op][0][2] * (rot[op][1][0] * rot[op][2][1] - rot[op][1][1] * rot[op][2][0]);
        assert_true(det == 1 || det == -1);
        if (fabs(trans[op][2] - 0.5) < 1e-8) with_half_translation++;
        /* x' = R x + t must land on an atom of the same species */
        for (int i = 0; i < s.natoms; i++) {
            double f[3];
            for (int k = 0; k < 3; k++)
                f[k] = rot[op][k][0] * s.frac[i][0] + rot[op][k][1] * s.frac[i][1] +
                       rot[op][k][2] * s.frac[i][2] + trans[op][k];
            assert_true(find_atom(&s, s.species[i], f, 1e-8) >= 0);
        }
    }
    /* the 4_2 screw and n glides: half of the operations carry (1/2,1/2,1/2) */
    assert_int_equal(with_half_translation, 8);
    free(rot);
    free(trans);
    fuse2_structure_free(&s);
}

static void test_equivalent_atoms_of_perovskite_form_three_orbits(void **state)
{
    (void)state;
    fuse2_structure s;
    build_perovskite(&s);
    int *eq = NULL;
    ASSERT_OK(fuse2_symmetry_equivalent_atoms(&s, 1e-5, &eq));
    /* Sr (1a), Ti (1b), O (3c) */
    assert_int_equal(eq[0], 0);
    assert_int_equal(eq[1], 1);
    assert_int_equal(eq[2], eq[3]);
    assert_int_equal(eq[3], eq[4]);
    assert_true(eq[2] >= 2 && eq[2] <= 4);
    free(eq);
    fuse2_structure_free(&s);
}

static void test_noisy_perovskite_is_pm3m_at_loose_tolerance_and_is_idealised(void **state)
{
    (void)state;
    fuse2_structure s;
    build_noisy_perovskite(&s);
    assert_spacegroup(&s, 1e-2, 221, "Pm-3m", NULL, 48);
    int changed = 0;
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-2, 0, 1, &changed));
    assert_int_equal(changed, 1);
    assert_int_equal(s.natoms, 5);
    /* python3-spglib: cubic, a = 3.905600044381 A; noise gone */
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            ASSERT_NEAR(s.lattice[i][k], i == k ? 3.905600044381 : 0.0, 1e-9);
    int n_o = 0;
    for (int i = 0; i < s.natoms; i++) {
        int halves = 0;
        for (int k = 0; k < 3; k++) {
            double x = s.frac[i][k];
            assert_true(fabs(x) < 1e-10 || fabs(x - 0.5) < 1e-10);
            halves += fabs(x - 0.5) < 1e-10;
        }
        /* Sr and Ti on (0,0,0)/(1/2,1/2,1/2), each O with two halves */
        if (s.species[i] == 8) {
            assert_int_equal(halves, 2);
            n_o++;
        } else {
            assert_true(halves == 0 || halves == 3);
        }
    }
    assert_int_equal(n_o, 3);
    assert_spacegroup(&s, 1e-8, 221, "Pm-3m", NULL, 48);
    fuse2_structure_free(&s);
}

static void test_noisy_perovskite_is_p1_at_tight_tolerance_and_keeps_its_noise(void **state)
{
    (void)state;
    fuse2_structure s;
    build_noisy_perovskite(&s);
    assert_spacegroup(&s, 1e-5, 1, "P1", NULL, 1);
    double volume = fuse2_structure_volume(&s);
    int n_before, n_after;
    double *before = test_sorted_distances(&s, 4.5, &n_before);
    int changed = 0;
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-5, 0, 1, &changed));
    assert_int_equal(changed, 1);
    assert_int_equal(s.natoms, 5);
    /* spglib's reduced triclinic cell; python3-spglib gives the rows
     * (3.905400064014, 0, 0), (-5.000460818333e-4, 3.905599993593, 0),
     * (-4.000435229151e-4, -1.000973066459e-4, 3.905800021756) */
    const double expected[3][3] = {{3.905400064014, 0, 0},
                                    {-5.000460818333e-4, 3.905599993593, 0},
                                    {-4.000435229151e-4, -1.000973066459e-4, 3.905800021756}};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.lattice[i][k], expected[i][k], 1e-9);
    ASSERT_NEAR(fuse2_structure_volume(&s), volume, 1e-9);
    /* the same crystal (rotated): every interatomic distance is kept */
    double *after = test_sorted_distances(&s, 4.5, &n_after);
    assert_int_equal(n_before, n_after);
    for (int i = 0; i < n_before; i++) ASSERT_NEAR(after[i], before[i], 1e-9);
    /* and the noise is still there: the six Ti-O bonds range from 1.951500087
     * to 1.953900409 A (numpy, on the noisy input) instead of being equal */
    fuse2_neighbor_list list = {0};
    ASSERT_OK(fuse2_neighbor_list_build(&list, &s, 2.2));
    int ti = 0;
    while (s.species[ti] != 22) ti++;
    assert_int_equal(list.offsets[ti + 1] - list.offsets[ti], 6);
    double shortest = INFINITY, longest = 0;
    for (int e = list.offsets[ti]; e < list.offsets[ti + 1]; e++) {
        shortest = fmin(shortest, list.distance[e]);
        longest = fmax(longest, list.distance[e]);
    }
    ASSERT_NEAR(shortest, 1.9515000871124757, 1e-9);
    ASSERT_NEAR(longest, 1.953900409437492, 1e-9);
    fuse2_neighbor_list_free(&list);
    free(before);
    free(after);
    fuse2_structure_free(&s);
}

static void test_keep_natoms_refuses_conventional_fcc_cell(void **state)
{
    (void)state;
    /* one-atom primitive fcc copper, a = 3.615 A */
    const double a = 3.615;
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 1));
    double lattice[3][3] = {{0, a / 2, a / 2}, {a / 2, 0, a / 2}, {a / 2, a / 2, 0}};
    memcpy(s.lattice, lattice, sizeof lattice);
    ASSERT_OK(fuse2_structure_add_atom(&s, 29, (double[3]){0.1, 0.2, 0.3}));
    int changed = 1;
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-5, 0, 1, &changed));
    assert_int_equal(changed, 0);
    assert_int_equal(s.natoms, 1);
    assert_memory_equal(s.lattice, lattice, sizeof lattice);
    ASSERT_NEAR(s.frac[0][0], 0.1, 0);
    ASSERT_NEAR(s.frac[0][2], 0.3, 0);

    /* without keep_natoms: the 4-atom cubic cell */
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-5, 0, 0, &changed));
    assert_int_equal(changed, 1);
    assert_int_equal(s.natoms, 4);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.lattice[i][k], i == k ? a : 0.0, 1e-12);
    assert_spacegroup(&s, 1e-5, 225, "Fm-3m", NULL, 192);

    /* and back to one atom with to_primitive */
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-5, 1, 0, &changed));
    assert_int_equal(changed, 1);
    assert_int_equal(s.natoms, 1);
    ASSERT_NEAR(fabs(fuse2_structure_volume(&s)), a * a * a / 4, 1e-10);
    assert_true(fuse2_structure_volume(&s) > 0);
    ASSERT_NEAR(fuse2_periodic_distance(&s, 0, 0), a / sqrt(2), 1e-10);
    fuse2_structure_free(&s);
}

static void test_left_handed_input_gives_right_handed_standard_cell(void **state)
{
    (void)state;
    fuse2_structure s;
    build_perovskite(&s);
    for (int k = 0; k < 3; k++) s.lattice[1][k] = -s.lattice[1][k]; /* mirror image basis */
    assert_true(fuse2_structure_volume(&s) < 0);
    assert_spacegroup(&s, 1e-5, 221, "Pm-3m", NULL, 48);
    int changed = 0;
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-5, 0, 0, &changed));
    assert_int_equal(changed, 1);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.lattice[i][k], i == k ? 3.905 : 0.0, 1e-12);
    ASSERT_NEAR(fuse2_structure_min_distance(&s), 3.905 / 2, 1e-12); /* Ti-O */
    fuse2_structure_free(&s);
}

static void test_rock_salt_to_primitive_gives_two_atom_cell(void **state)
{
    (void)state;
    fuse2_structure s;
    test_rock_salt(&s, 5.64);
    int changed = 0;
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-5, 1, 0, &changed));
    assert_int_equal(changed, 1);
    assert_int_equal(s.natoms, 2);
    ASSERT_NEAR(fuse2_structure_volume(&s), 5.64 * 5.64 * 5.64 / 4, 1e-9);
    assert_true(s.species[0] != s.species[1]);
    ASSERT_NEAR(fuse2_structure_min_distance(&s), 2.82, 1e-10);
    fuse2_structure_free(&s);
}

static void test_spglib_failure_leaves_structure_unchanged_without_error(void **state)
{
    (void)state;
    /* two oxygen atoms 1e-7 A apart: spglib reports "too close distance" */
    fuse2_structure s, copy;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    ASSERT_OK(fuse2_structure_init(&copy, 2));
    set_lattice(&s, 4, 4, 4);
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (double[3]){0.25, 0.25, 0.25}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (double[3]){0.25, 0.25, 0.25 + 2.5e-8}));
    ASSERT_OK(fuse2_structure_copy(&copy, &s));
    int changed = 1;
    ASSERT_OK(fuse2_symmetry_standardize(&s, 1e-5, 0, 0, &changed));
    assert_int_equal(changed, 0);
    assert_int_equal(s.natoms, 2);
    assert_memory_equal(s.lattice, copy.lattice, sizeof s.lattice);
    assert_memory_equal(s.frac, copy.frac, 2 * sizeof s.frac[0]);
    /* asking for the space group of it is an error with spglib's reason */
    fuse2_spacegroup sg;
    assert_int_equal(fuse2_symmetry_spacegroup(&s, 1e-5, &sg), FUSE2_ERR_LIBRARY);
    test_assert_error_contains("too close");
    fuse2_structure_free(&s);
    fuse2_structure_free(&copy);
}

static void test_rejects_invalid_input(void **state)
{
    (void)state;
    fuse2_structure s;
    build_perovskite(&s);
    fuse2_spacegroup sg;
    int changed;
    assert_int_equal(fuse2_symmetry_spacegroup(&s, 0.0, &sg), FUSE2_ERR_ARG);
    test_assert_error_contains("tolerance");
    assert_int_equal(fuse2_symmetry_standardize(&s, -1e-3, 0, 0, &changed), FUSE2_ERR_ARG);
    double flat[3][3] = {{3, 0, 0}, {0, 3, 0}, {3, 3, 0}};
    memcpy(s.lattice, flat, sizeof flat);
    assert_int_equal(fuse2_symmetry_standardize(&s, 1e-5, 0, 0, &changed), FUSE2_ERR_NUMERIC);
    test_assert_error_contains("singular");
    s.natoms = 0;
    set_lattice(&s, 3, 3, 3);
    int *eq = NULL;
    assert_int_equal(fuse2_symmetry_equivalent_atoms(&s, 1e-5, &eq), FUSE2_ERR_ARG);
    test_assert_error_contains("no atoms");
    assert_null(eq);
    fuse2_structure_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rock_salt_is_fm3m_with_192_operations),
        cmocka_unit_test(test_space_group_does_not_depend_on_the_basis),
        cmocka_unit_test(test_cubic_perovskite_is_pm3m_with_48_operations),
        cmocka_unit_test(test_rutile_is_p42mnm),
        cmocka_unit_test(test_operations_map_rutile_onto_itself),
        cmocka_unit_test(test_equivalent_atoms_of_perovskite_form_three_orbits),
        cmocka_unit_test(test_noisy_perovskite_is_pm3m_at_loose_tolerance_and_is_idealised),
        cmocka_unit_test(test_noisy_perovskite_is_p1_at_tight_tolerance_and_keeps_its_noise),
        cmocka_unit_test(test_keep_natoms_refuses_conventional_fcc_cell),
        cmocka_unit_test(test_left_handed_input_gives_right_handed_standard_cell),
        cmocka_unit_test(test_rock_salt_to_primitive_gives_two_atom_cell),
        cmocka_unit_test(test_spglib_failure_leaves_structure_unchanged_without_error),
        cmocka_unit_test(test_rejects_invalid_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
