/* POSCAR/CONTCAR reading (VASP 4/5, scale factors, Cartesian, selective
 * dynamics, velocities, errors) and writing (round trip). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "fuse2/structure.h"
#include "fuse2/structure_io.h"

static int count_species(const fuse2_structure *s, int z)
{
    int n = 0;
    for (int i = 0; i < s->natoms; i++) n += s->species[i] == z;
    return n;
}

static fuse2_status read_poscar_text(const char *file, const char *text, fuse2_structure *s)
{
    return fuse2_poscar_read(test_write_file(file, text), s);
}

static void test_reads_vasp5_poscar_with_species_labels(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_poscar_read(test_shared_path("testdata/vasp/nboc-relax/POSCAR"), &s));
    assert_int_equal(s.natoms, 32);
    assert_int_equal(count_species(&s, 41), 16); /* Nb */
    assert_int_equal(count_species(&s, 6), 8);   /* C */
    assert_int_equal(count_species(&s, 8), 8);   /* O */
    /* determinant of the lattice rows in the file (numpy.linalg.det) */
    ASSERT_NEAR(fuse2_structure_volume(&s), 784.0953184769393, 1e-9);
    ASSERT_NEAR(s.lattice[1][1], -5.8090211341468549, 1e-15);
    /* atom 5 (line 13 of the file) */
    ASSERT_NEAR(s.frac[4][0], 0.5905594448945575, 1e-15);
    ASSERT_NEAR(s.frac[4][1], 0.3082109666020640, 1e-15);
    ASSERT_NEAR(s.frac[4][2], 0.8987704114966215, 1e-15);
    /* "1.0000000000000000" wraps to 0 (atom 19) */
    ASSERT_NEAR(s.frac[18][0], 0.0, 1e-15);
    assert_int_equal(s.species[18], 6);
    fuse2_structure_free(&s);
}

static void test_reads_contcar_with_velocities(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_poscar_read(test_shared_path("testdata/vasp/nboc-relax/CONTCAR"), &s));
    assert_int_equal(s.natoms, 32);
    assert_int_equal(count_species(&s, 41), 16);
    assert_int_equal(count_species(&s, 6), 8);
    assert_int_equal(count_species(&s, 8), 8);
    /* OUTCAR's last "volume of cell :      666.74" */
    ASSERT_NEAR(fuse2_structure_volume(&s), 666.74, 0.005);
    /* numpy.linalg.det of the CONTCAR rows */
    ASSERT_NEAR(fuse2_structure_volume(&s), 666.740938425626, 1e-9);
    /* "-0.0000000000000000" reads as 0 */
    ASSERT_NEAR(s.frac[0][0], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[0][1], 0.0, 1e-15);
    ASSERT_NEAR(s.frac[18][2], 0.7018423843072183, 1e-15);
    ASSERT_NEAR(s.frac[31][1], 0.1798817032147798, 1e-15);
    fuse2_structure_free(&s);
}

static void test_reads_vasp4_species_from_comment_line(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_poscar_text("POSCAR", "Sr Ti O cubic perovskite\n3.905\n1 0 0\n0 1 0\n0 0 1\n"
                                         "1 1 3\nDirect\n0 0 0\n0.5 0.5 0.5\n0.5 0.5 0\n"
                                         "0.5 0 0.5\n0 0.5 0.5\n",
                               &s));
    assert_int_equal(s.natoms, 5);
    assert_int_equal(s.species[0], 38);
    assert_int_equal(s.species[1], 22);
    assert_int_equal(s.species[4], 8);
    ASSERT_NEAR(fuse2_structure_volume(&s), 3.905 * 3.905 * 3.905, 1e-12);
    fuse2_structure_free(&s);
}

static void test_vasp4_without_species_asks_for_the_species_line(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    assert_int_not_equal(read_poscar_text("POSCAR", "perovskite\n3.905\n1 0 0\n0 1 0\n0 0 1\n"
                                                    "1 1 3\nDirect\n0 0 0\n0.5 0.5 0.5\n"
                                                    "0.5 0.5 0\n0.5 0 0.5\n0 0.5 0.5\n",
                                          &s),
                         FUSE2_OK);
    test_assert_error_contains("POSCAR:6: no species line (VASP 4 format)");
    test_assert_error_contains("add a line with the element symbols");
    /* a formula is not a list of symbols */
    assert_int_not_equal(read_poscar_text("POSCAR", "SrTiO3\n3.905\n1 0 0\n0 1 0\n0 0 1\n"
                                                    "1 1 3\nDirect\n0 0 0\n0.5 0.5 0.5\n"
                                                    "0.5 0.5 0\n0.5 0 0.5\n0 0.5 0.5\n",
                                          &s),
                         FUSE2_OK);
    test_assert_error_contains("POSCAR:6: no species line");
}

static void test_reads_cartesian_with_scale(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    /* scale 2: cell 4 x 5 x 6 A; Cartesian (1,1,1) * 2 = (2,2,2) A ->
     * fractions (1/2, 2/5, 1/3) */
    ASSERT_OK(read_poscar_text("POSCAR", "orthorhombic\n 2.0\n2 0 0\n0 2.5 0\n0 0 3\nAl\n1\n"
                                         "cartesian\n1 1 1\n",
                               &s));
    ASSERT_NEAR(s.lattice[0][0], 4.0, 1e-15);
    ASSERT_NEAR(s.lattice[2][2], 6.0, 1e-15);
    ASSERT_NEAR(s.frac[0][0], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[0][1], 0.4, 1e-15);
    ASSERT_NEAR(s.frac[0][2], 1.0 / 3.0, 1e-15);
    /* diamond in the fcc primitive cell: Cartesian a/4 (1,1,1) is (1/4,1/4,1/4)
     * in fractions of (0,a/2,a/2), (a/2,0,a/2), (a/2,a/2,0) */
    ASSERT_OK(read_poscar_text("POSCAR", "C diamond\n3.567\n0 0.5 0.5\n0.5 0 0.5\n0.5 0.5 0\nC\n2\n"
                                         "Kartesian\n0 0 0\n0.25 0.25 0.25\n",
                               &s));
    for (int k = 0; k < 3; k++) ASSERT_NEAR(s.frac[1][k], 0.25, 1e-14);
    ASSERT_NEAR(fuse2_structure_volume(&s), 3.567 * 3.567 * 3.567 / 4.0, 1e-12);
    fuse2_structure_free(&s);
}

static void test_negative_scale_is_the_cell_volume(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    /* unscaled volume 1 A^3, target 125 A^3 -> factor 5 */
    ASSERT_OK(read_poscar_text("POSCAR", "volume\n-125.0\n1 0 0\n0 2 0\n0 0 0.5\nSi\n1\nDirect\n"
                                         "0.1 0.2 0.3\n",
                               &s));
    ASSERT_NEAR(fuse2_structure_volume(&s), 125.0, 1e-10);
    ASSERT_NEAR(s.lattice[0][0], 5.0, 1e-12);
    ASSERT_NEAR(s.lattice[1][1], 10.0, 1e-12);
    ASSERT_NEAR(s.lattice[2][2], 2.5, 1e-12);
    ASSERT_NEAR(s.frac[0][2], 0.3, 1e-15);
    fuse2_structure_free(&s);
}

static void test_three_scale_factors_scale_cartesian_axes(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    /* rows (1,0.5,0), (0,1,0), (0,0,1) scaled by (2,3,4): (2,1.5,0), (0,3,0),
     * (0,0,4); Cartesian (0.5,0.5,0.25) -> (1,1.5,1) = 0.5 a + 0.25 b + 0.25 c */
    ASSERT_OK(read_poscar_text("POSCAR", "vasp6\n2.0 3.0 4.0\n1 0.5 0\n0 1 0\n0 0 1\nSi\n1\n"
                                         "Cartesian\n0.5 0.5 0.25\n",
                               &s));
    ASSERT_NEAR(s.lattice[0][1], 1.5, 1e-15);
    ASSERT_NEAR(s.lattice[1][1], 3.0, 1e-15);
    ASSERT_NEAR(s.lattice[2][2], 4.0, 1e-15);
    ASSERT_NEAR(s.frac[0][0], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[0][1], 0.25, 1e-15);
    ASSERT_NEAR(s.frac[0][2], 0.25, 1e-15);
    fuse2_structure_free(&s);
}

static void test_accepts_selective_dynamics_and_trailing_labels(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_poscar_text("POSCAR", "relax\r\n1.0\r\n4 0 0\r\n0 4 0\r\n0 0 4\r\n  Sr_sv Ti_pv O\r\n"
                                         "  1 1 1\r\nSelective dynamics\r\nDirect\r\n"
                                         "0 0 0 F F F Sr\r\n0.5 0.5 0.5 T T T ! Ti\r\n"
                                         "0.5 0.5 -0.0000 T T F O1\r\n",
                               &s));
    assert_int_equal(s.natoms, 3);
    assert_int_equal(s.species[0], 38);
    assert_int_equal(s.species[1], 22);
    assert_int_equal(s.species[2], 8);
    ASSERT_NEAR(s.frac[1][2], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[2][2], 0.0, 1e-15);
    fuse2_structure_free(&s);
}

static void test_left_handed_cell_keeps_the_atoms(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    /* b and c swapped: negative triple product */
    ASSERT_OK(read_poscar_text("POSCAR", "left\n1.0\n3 0 0\n0 0 5\n0 4 0\nNa Cl\n1 1\nCartesian\n"
                                         "0.3 0.4 0.5\n1.5 2 2.5\n",
                               &s));
    ASSERT_NEAR(fuse2_structure_volume(&s), 60.0, 1e-12);
    /* the basis becomes -a, -b, -c; each atom stays on its lattice site,
     * i.e. moves by a whole lattice vector at most (here a + b + c = (3,4,5)) */
    double cart[3];
    fuse2_structure_cartesian(&s, 0, cart);
    ASSERT_NEAR(cart[0] + 3.0, 0.3, 1e-12);
    ASSERT_NEAR(cart[1] + 4.0, 0.4, 1e-12);
    ASSERT_NEAR(cart[2] + 5.0, 0.5, 1e-12);
    fuse2_structure_cartesian(&s, 1, cart);
    ASSERT_NEAR(cart[0] + 3.0, 1.5, 1e-12);
    ASSERT_NEAR(cart[1] + 4.0, 2.0, 1e-12);
    ASSERT_NEAR(cart[2] + 5.0, 2.5, 1e-12);
    assert_int_equal(s.species[1], 17);
    fuse2_structure_free(&s);
}

static void expect_poscar_error(const char *file, const char *text, const char *needle)
{
    fuse2_structure s = {0};
    if (read_poscar_text(file, text, &s) == FUSE2_OK)
        fail_msg("%s: expected an error containing \"%s\"", file, needle);
    test_assert_error_contains(needle);
    assert_int_equal(s.natoms, 0);
}

#define HEAD "t\n1.0\n4 0 0\n0 4 0\n0 0 4\n"

static void test_rejects_bad_input_with_file_and_line(void **state)
{
    (void)state;
    expect_poscar_error("POSCAR_counts", HEAD "Sr Ti O\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n",
                        "POSCAR_counts:7: 2 atom counts do not match the 3 species on line 6");
    expect_poscar_error("POSCAR_short", HEAD "Sr Ti O\n1 1 3\nDirect\n0 0 0\n0.5 0.5 0.5\n"
                                             "0.5 0.5 0\n",
                        "POSCAR_short:12: file ends where atom 4 (O) was expected");
    expect_poscar_error("POSCAR_nomode", HEAD "Sr\n1\n",
                        "POSCAR_nomode:8: file ends where 'Direct' or 'Cartesian' was expected");
    expect_poscar_error("POSCAR_nocounts", HEAD "Sr\n",
                        "POSCAR_nocounts:7: file ends where the atom counts were expected");
    expect_poscar_error("POSCAR_nolattice", "t\n1.0\n4 0 0\n0 4 0\n",
                        "POSCAR_nolattice:5: file ends where lattice vector 3 was expected");
    expect_poscar_error("POSCAR_word", "t\n1.0\n4 0 0\n1.0 abc 0\n0 0 4\nSr\n1\nDirect\n0 0 0\n",
                        "POSCAR_word:4: 'abc' is not a number (lattice vector 2)");
    expect_poscar_error("POSCAR_nan", HEAD "Sr Ti\n1 1\nDirect\n0 0 0\n0.5 NaN 0.5\n",
                        "POSCAR_nan:10: 'NaN' is not a finite number (atom 2 (Ti))");
    expect_poscar_error("POSCAR_species", HEAD "Sr Xx O\n1 1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n"
                                               "0 0.5 0\n",
                        "POSCAR_species:6: unknown element 'Xx'");
    expect_poscar_error("POSCAR_flat", "t\n1.0\n4 0 0\n0 4 0\n4 4 0\nSr\n1\nDirect\n0 0 0\n",
                        "POSCAR_flat:3: lattice vectors span zero volume");
    expect_poscar_error("POSCAR_two", HEAD "Sr\n1\nDirect\n0.5 0.5\n",
                        "POSCAR_two:9: expected 3 numbers for atom 1 (Sr), got 2");
    expect_poscar_error("POSCAR_mode", HEAD "Sr\n1\nFractional\n0 0 0\n",
                        "POSCAR_mode:8: expected 'Direct' or 'Cartesian', got 'Fractional'");
    expect_poscar_error("POSCAR_empty", "", "POSCAR_empty: file is empty");
    expect_poscar_error("POSCAR_count", HEAD "Sr Ti\n1 1.5\nDirect\n0 0 0\n",
                        "POSCAR_count:7: atom count '1.5' is not an integer");
    expect_poscar_error("POSCAR_zero", HEAD "Sr Ti\n1 0\nDirect\n0 0 0\n",
                        "POSCAR_zero:7: atom count 0 must be positive");
    expect_poscar_error("POSCAR_scale", "t\nscale\n4 0 0\n0 4 0\n0 0 4\nSr\n1\nDirect\n0 0 0\n",
                        "POSCAR_scale:2: expected the scale factor, got 'scale'");
    expect_poscar_error("POSCAR_scale0", "t\n0.0\n4 0 0\n0 4 0\n0 0 4\nSr\n1\nDirect\n0 0 0\n",
                        "POSCAR_scale0:2: scale factor 0 is invalid");
    expect_poscar_error("POSCAR_scale3", "t\n1 -1 1\n4 0 0\n0 4 0\n0 0 4\nSr\n1\nDirect\n0 0 0\n",
                        "POSCAR_scale3:2: scale factor -1 is invalid");
}

static void test_write_read_round_trip_groups_species(void **state)
{
    (void)state;
    static const double lattice[3][3] = {
        {5.123456789012, 0.1, -0.2}, {0.3, 6.234567890123, 0.4}, {-0.5, 0.6, 7.345678901234}};
    static const double frac[5][3] = {{0.1, 0.2, 0.3},
                                      {0.123456789012345, 0.987654321098765, 0.5},
                                      {0.9, 0.05, 0.45},
                                      {0.33, 0.66, 0.99},
                                      {0.0, 0.5, 0.25}};
    static const int z[5] = {8, 38, 8, 22, 38};
    fuse2_structure s = {0}, back = {0};
    ASSERT_OK(fuse2_structure_init(&s, 5));
    memcpy(s.lattice, lattice, sizeof lattice);
    for (int i = 0; i < 5; i++) ASSERT_OK(fuse2_structure_add_atom(&s, z[i], frac[i]));

    char path[4096];
    snprintf(path, sizeof path, "%s/POSCAR_out", test_tmpdir());
    ASSERT_OK(fuse2_poscar_write(path, &s, "round\ntrip"));
    ASSERT_OK(fuse2_poscar_read(path, &back));
    assert_int_equal(back.natoms, 5);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(back.lattice[i][k], lattice[i][k], 1e-8);
    /* grouped by first appearance: O (atoms 0, 2), Sr (1, 4), Ti (3) */
    static const int order[5] = {0, 2, 1, 4, 3};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(back.species[i], z[order[i]]);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(back.frac[i][k], frac[order[i]][k], 1e-8);
    }
    char *text = NULL;
    ASSERT_OK(fuse2_text_file_read(path, &text));
    assert_non_null(strstr(text, "round trip\n1.0\n"));
    assert_non_null(strstr(text, "O   Sr   Ti\n"));
    assert_non_null(strstr(text, "2    2    1\nDirect\n"));
    free(text);
    fuse2_structure_free(&s);
    fuse2_structure_free(&back);
}

static void test_write_read_round_trip_of_the_contcar(void **state)
{
    (void)state;
    fuse2_structure s = {0}, back = {0};
    ASSERT_OK(fuse2_poscar_read(test_shared_path("testdata/vasp/nboc-relax/CONTCAR"), &s));
    char path[4096];
    snprintf(path, sizeof path, "%s/CONTCAR_copy", test_tmpdir());
    ASSERT_OK(fuse2_poscar_write(path, &s, NULL));
    ASSERT_OK(fuse2_poscar_read(path, &back));
    assert_int_equal(back.natoms, s.natoms);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(back.lattice[i][k], s.lattice[i][k], 1e-12);
    for (int i = 0; i < s.natoms; i++) {
        assert_int_equal(back.species[i], s.species[i]);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(back.frac[i][k], s.frac[i][k], 1e-12);
    }
    fuse2_structure_free(&s);
    fuse2_structure_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_vasp5_poscar_with_species_labels),
        cmocka_unit_test(test_reads_contcar_with_velocities),
        cmocka_unit_test(test_reads_vasp4_species_from_comment_line),
        cmocka_unit_test(test_vasp4_without_species_asks_for_the_species_line),
        cmocka_unit_test(test_reads_cartesian_with_scale),
        cmocka_unit_test(test_negative_scale_is_the_cell_volume),
        cmocka_unit_test(test_three_scale_factors_scale_cartesian_axes),
        cmocka_unit_test(test_accepts_selective_dynamics_and_trailing_labels),
        cmocka_unit_test(test_left_handed_cell_keeps_the_atoms),
        cmocka_unit_test(test_rejects_bad_input_with_file_and_line),
        cmocka_unit_test(test_write_read_round_trip_groups_species),
        cmocka_unit_test(test_write_read_round_trip_of_the_contcar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
