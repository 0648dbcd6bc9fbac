/* Structure core: cell parameters both ways, inverse and reciprocal lattice,
 * plane spacings, wrapping, validation, atom bookkeeping, formula. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/structure.h"

static int Z(const char *sym) { return fuse2_element_z_from_symbol(sym); }

static void test_cell_parameters_round_trip_in_ase_orientation(void **state)
{
    (void)state;
    const double p[6] = {5.1, 6.3, 7.7, 81.0, 97.5, 112.25};
    double L[3][3], back[6];
    ASSERT_OK(fuse2_lattice_from_parameters(p, L));
    /* a along x, b in the xy plane */
    ASSERT_NEAR(L[0][1], 0, 0);
    ASSERT_NEAR(L[0][2], 0, 0);
    ASSERT_NEAR(L[1][2], 0, 0);
    fuse2_lattice_to_parameters(L, back);
    for (int k = 0; k < 6; k++) ASSERT_NEAR(back[k], p[k], 1e-10);
    /* volume from the parameters: abc sqrt(1 - cos^2 a - cos^2 b - cos^2 g + 2 cos a cos b cos g) */
    double ca = cos(p[3] * M_PI / 180), cb = cos(p[4] * M_PI / 180), cg = cos(p[5] * M_PI / 180);
    double v = p[0] * p[1] * p[2] * sqrt(1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg);
    ASSERT_NEAR(fuse2_lattice_volume(L), v, 1e-9);
    /* exact right angles give exact zeros, as ASE does */
    const double cubic[6] = {4, 4, 4, 90, 90, 90};
    ASSERT_OK(fuse2_lattice_from_parameters(cubic, L));
    assert_true(L[1][0] == 0.0 && L[2][0] == 0.0 && L[2][1] == 0.0);
}

static void test_impossible_cells_are_errors(void **state)
{
    (void)state;
    double L[3][3];
    const double bad_angles[6] = {4, 4, 4, 150, 150, 90}; /* one of the spec's impossible triples */
    assert_int_equal(fuse2_lattice_from_parameters(bad_angles, L), FUSE2_ERR_ARG);
    test_assert_error_contains("impossible cell angles");
    const double zero_length[6] = {0, 4, 4, 90, 90, 90};
    assert_int_equal(fuse2_lattice_from_parameters(zero_length, L), FUSE2_ERR_ARG);
    const double straight[6] = {4, 4, 4, 180, 90, 90};
    assert_int_equal(fuse2_lattice_from_parameters(straight, L), FUSE2_ERR_ARG);
    const double nan_length[6] = {NAN, 4, 4, 90, 90, 90};
    assert_int_equal(fuse2_lattice_from_parameters(nan_length, L), FUSE2_ERR_ARG);
    double singular[3][3] = {{1, 0, 0}, {0, 1, 0}, {1, 1, 0}}, inv[3][3];
    assert_int_equal(fuse2_lattice_inverse(singular, inv), FUSE2_ERR_NUMERIC);
}

static void test_inverse_reciprocal_and_plane_spacings(void **state)
{
    (void)state;
    const double p[6] = {4.2, 5.5, 6.1, 75, 100, 115};
    double L[3][3], inv[3][3], B[3][3], h[3];
    ASSERT_OK(fuse2_lattice_from_parameters(p, L));
    ASSERT_OK(fuse2_lattice_inverse(L, inv));
    fuse2_lattice_reciprocal(L, B);
    fuse2_lattice_plane_spacings(L, h);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double li = 0, ab = 0;
            for (int k = 0; k < 3; k++) {
                li += L[i][k] * inv[k][j];
                ab += L[i][k] * B[j][k];
            }
            ASSERT_NEAR(li, i == j, 1e-12);          /* L L^-1 = I */
            ASSERT_NEAR(ab, 2 * M_PI * (i == j), 1e-12); /* a_i . b_j = 2 pi delta_ij */
        }
    /* plane spacing = 2 pi / |b_i| */
    for (int i = 0; i < 3; i++) {
        double bn = sqrt(B[i][0] * B[i][0] + B[i][1] * B[i][1] + B[i][2] * B[i][2]);
        ASSERT_NEAR(h[i], 2 * M_PI / bn, 1e-12);
    }
}

static void test_atoms_wrap_sort_and_formula(void **state)
{
    (void)state;
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 1)); /* grows as atoms are added */
    const double p[6] = {3.905, 3.905, 3.905, 90, 90, 90};
    ASSERT_OK(fuse2_lattice_from_parameters(p, s.lattice));
    const double f_o1[3] = {1.5, 0.5, -1e-17}, f_sr[3] = {0, 0, 0}, f_ti[3] = {0.5, 0.5, 0.5},
                 f_o2[3] = {0.5, -0.5, 0.5}, f_o3[3] = {0, 0.5, 2.5};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("O"), f_o1));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Sr"), f_sr));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("O"), f_o2));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Ti"), f_ti));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("O"), f_o3));
    assert_int_equal(s.natoms, 5);
    fuse2_structure_wrap_positions(&s);
    for (int i = 0; i < s.natoms; i++)
        for (int k = 0; k < 3; k++) assert_true(s.frac[i][k] >= 0.0 && s.frac[i][k] < 1.0);
    ASSERT_NEAR(s.frac[0][0], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[4][2], 0.5, 1e-15);
    char formula[64];
    fuse2_structure_formula(&s, formula, sizeof formula);
    assert_string_equal(formula, "O3SrTi");
    ASSERT_OK(fuse2_structure_sort_by_species(&s));
    const int order[5] = {8, 8, 8, 22, 38};
    for (int i = 0; i < 5; i++) assert_int_equal(s.species[i], order[i]);
    /* stable: the three O keep their order (0.5 0.5 0), (0.5 0.5 0.5), (0 0.5 0.5) */
    ASSERT_NEAR(s.frac[0][2], 0.0, 1e-15);
    ASSERT_NEAR(s.frac[1][0], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[1][2], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[2][0], 0.0, 1e-15);
    double cart[3];
    fuse2_structure_cartesian(&s, 3, cart); /* Ti at the cube centre */
    for (int k = 0; k < 3; k++) ASSERT_NEAR(cart[k], 3.905 / 2, 1e-12);
    fuse2_structure_remove_atom(&s, 0);
    assert_int_equal(s.natoms, 4);
    fuse2_structure_formula(&s, formula, sizeof formula);
    assert_string_equal(formula, "O2SrTi");
    fuse2_structure copy = {0};
    ASSERT_OK(fuse2_structure_copy(&copy, &s));
    assert_int_equal(copy.natoms, 4);
    assert_memory_equal(copy.frac, s.frac, 4 * sizeof *s.frac);
    fuse2_structure_free(&copy);
    fuse2_structure_free(&s);
}

static void test_validation_catches_bad_structures(void **state)
{
    (void)state;
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    assert_int_equal(fuse2_structure_validate(&s, "empty.cif"), FUSE2_ERR_ARG);
    test_assert_error_contains("empty.cif: no atoms");
    const double p[6] = {4, 4, 4, 90, 90, 90};
    ASSERT_OK(fuse2_lattice_from_parameters(p, s.lattice));
    const double f[3] = {0.1, 0.2, 0.3};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Na"), f));
    ASSERT_OK(fuse2_structure_validate(&s, "ok"));
    s.frac[0][1] = NAN;
    assert_int_equal(fuse2_structure_validate(&s, "nan.vasp"), FUSE2_ERR_NUMERIC);
    test_assert_error_contains("nan.vasp: atom 1 has a non-finite coordinate");
    s.frac[0][1] = 0.2;
    s.species[0] = 150;
    assert_int_equal(fuse2_structure_validate(&s, "x"), FUSE2_ERR_ARG);
    test_assert_error_contains("unknown atomic number 150");
    s.species[0] = Z("Na");
    memset(s.lattice[2], 0, sizeof s.lattice[2]);
    assert_int_equal(fuse2_structure_validate(&s, "flat"), FUSE2_ERR_ARG);
    test_assert_error_contains("volume");
    /* a left-handed basis is refused: readers turn such input right-handed */
    ASSERT_OK(fuse2_lattice_from_parameters(p, s.lattice));
    for (int k = 0; k < 3; k++) s.lattice[1][k] = -s.lattice[1][k];
    assert_int_equal(fuse2_structure_validate(&s, "left"), FUSE2_ERR_ARG);
    test_assert_error_contains("left-handed");
    fuse2_structure_free(&s);
}

static void test_changing_lattice_keeps_cartesian_positions(void **state)
{
    (void)state;
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    const double p[6] = {5, 6, 7, 80, 95, 105};
    ASSERT_OK(fuse2_lattice_from_parameters(p, s.lattice));
    const double f0[3] = {0.1, 0.7, 0.35}, f1[3] = {0.9, 0.05, 0.6};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Si"), f0));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("O"), f1));
    double before[2][3], after[3];
    for (int i = 0; i < 2; i++) fuse2_structure_cartesian(&s, i, before[i]);
    double L[3][3];
    memcpy(L, s.lattice, sizeof L);
    for (int k = 0; k < 3; k++) L[2][k] += L[0][k] - 2 * L[1][k]; /* same lattice, other basis */
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(&s, L));
    for (int i = 0; i < 2; i++) {
        fuse2_structure_cartesian(&s, i, after);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(after[k], before[i][k], 1e-12);
    }
    fuse2_structure_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cell_parameters_round_trip_in_ase_orientation),
        cmocka_unit_test(test_impossible_cells_are_errors),
        cmocka_unit_test(test_inverse_reciprocal_and_plane_spacings),
        cmocka_unit_test(test_atoms_wrap_sort_and_formula),
        cmocka_unit_test(test_validation_catches_bad_structures),
        cmocka_unit_test(test_changing_lattice_keeps_cartesian_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
