/* CIF reading (syntax, numbers, symmetry expansion, merging, errors) and
 * writing (P1 and symmetrised round trips). */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "fuse2/elements.h"
#include "fuse2/structure.h"
#include "fuse2/structure_io.h"
#include "fuse2/symmetry.h"

static int count_species(const fuse2_structure *s, int z)
{
    int n = 0;
    for (int i = 0; i < s->natoms; i++) n += s->species[i] == z;
    return n;
}

/* Shortest periodic distance (Å) between fractional points in lattice L;
 * cells in these tests are not skewed, so the 27 images around the
 * rounded difference suffice. */
static double periodic_distance(const double L[3][3], const double a[3], const double b[3])
{
    double d[3], best = INFINITY;
    for (int k = 0; k < 3; k++) d[k] = a[k] - b[k] - round(a[k] - b[k]);
    for (int i = -1; i <= 1; i++)
        for (int j = -1; j <= 1; j++)
            for (int l = -1; l <= 1; l++) {
                double f[3] = {d[0] + i, d[1] + j, d[2] + l}, c2 = 0;
                for (int m = 0; m < 3; m++) {
                    double c = f[0] * L[0][m] + f[1] * L[1][m] + f[2] * L[2][m];
                    c2 += c * c;
                }
                best = fmin(best, sqrt(c2));
            }
    return best;
}

/* Every atom of a has an atom of the same species in b within tol (Å),
 * both measured in a's lattice (the cells were matched by parameters). */
static void assert_atoms_matched(const fuse2_structure *a, const fuse2_structure *b, double tol,
                                 const char *what)
{
    for (int i = 0; i < a->natoms; i++) {
        double best = INFINITY;
        for (int j = 0; j < b->natoms; j++)
            if (a->species[i] == b->species[j])
                best = fmin(best, periodic_distance(a->lattice, a->frac[i], b->frac[j]));
        if (!(best <= tol))
            fail_msg("%s: atom %d (Z=%d) at %.6f %.6f %.6f has no partner within %g A "
                     "(closest %g)",
                     what, i + 1, a->species[i], a->frac[i][0], a->frac[i][1], a->frac[i][2], tol,
                     best);
    }
}

static void assert_same_parameters(const double La[3][3], const double Lb[3][3], double tol)
{
    double pa[6], pb[6];
    fuse2_lattice_to_parameters(La, pa);
    fuse2_lattice_to_parameters(Lb, pb);
    for (int k = 0; k < 6; k++) ASSERT_NEAR(pa[k], pb[k], tol);
}

static fuse2_status read_cif_text(const char *file, const char *text, double tol,
                                  fuse2_structure *s)
{
    return fuse2_cif_read(test_write_file(file, text), tol, s);
}

/* ---- the shared ICSD CIFs against their POSCARs ---- */

static void test_every_shared_cif_matches_its_poscar(void **state)
{
    (void)state;
    glob_t found;
    int rc = glob(test_shared_path("testdata/gulp/ysrtio-icsd-*/*.cif"), 0, NULL, &found);
    assert_int_equal(rc, 0);
    assert_true(found.gl_pathc >= 5);
    for (size_t f = 0; f < found.gl_pathc; f++) {
        const char *cif_path = found.gl_pathv[f];
        char poscar_path[4096];
        snprintf(poscar_path, sizeof poscar_path, "%s", cif_path);
        strcpy(strrchr(poscar_path, '/') + 1, "POSCAR");

        fuse2_structure cif = {0}, poscar = {0};
        ASSERT_OK(fuse2_cif_read(cif_path, 0.0, &cif));
        ASSERT_OK(fuse2_poscar_read(poscar_path, &poscar));
        if (cif.natoms != poscar.natoms)
            fail_msg("%s: %d atoms, POSCAR has %d", cif_path, cif.natoms, poscar.natoms);
        for (int z = 1; z <= FUSE2_MAX_Z; z++)
            if (count_species(&cif, z) != count_species(&poscar, z))
                fail_msg("%s: %d atoms of Z=%d, POSCAR has %d", cif_path, count_species(&cif, z),
                         z, count_species(&poscar, z));
        double vc = fuse2_structure_volume(&cif), vp = fuse2_structure_volume(&poscar);
        ASSERT_NEAR(vc / vp, 1.0, 1e-3);
        /* cells matched by parameters, positions compared in the CIF's cell */
        double pc[6], pp[6];
        fuse2_lattice_to_parameters(cif.lattice, pc);
        fuse2_lattice_to_parameters(poscar.lattice, pp);
        for (int k = 0; k < 6; k++) ASSERT_NEAR(pc[k] / pp[k], 1.0, 1e-3);
        assert_atoms_matched(&cif, &poscar, 0.01, cif_path);
        assert_atoms_matched(&poscar, &cif, 0.01, cif_path);
        fuse2_structure_free(&cif);
        fuse2_structure_free(&poscar);
    }
    globfree(&found);
}

static void test_reads_icsd_y2o3_with_charged_type_symbols(void **state)
{
    (void)state;
    /* ICSD 23811, Ia-3 (206), Z = 16: Y 8b + 24d, O 48e -> Y32 O48;
     * a = 10.604 A, V = 1192.36 A^3 (_cell_volume in the file) */
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_cif_read(test_shared_path("testdata/gulp/ysrtio-icsd-11/Y2O3_23811.cif"), 0.0,
                             &s));
    assert_int_equal(s.natoms, 80);
    assert_int_equal(count_species(&s, 39), 32);
    assert_int_equal(count_species(&s, 8), 48);
    ASSERT_NEAR(fuse2_structure_volume(&s), 1192.36, 0.01);
    fuse2_structure_free(&s);
}

/* ---- numbers ---- */

static void test_reads_uncertainties_in_numbers(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("uncertain.cif",
                            "data_u\n"
                            "_cell_length_a 3.7842(13)\n"
                            "_cell_length_b 4.5(2)\n"
                            "_cell_length_c 9.5146\n"
                            "_cell_angle_alpha 90.\n"
                            "_cell_angle_beta 90\n"
                            "_cell_angle_gamma 90.000(5)\n"
                            "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
                            "_atom_site_fract_z\n_atom_site_occupancy\n_atom_site_U_iso_or_equiv\n"
                            "Ti1 -.0328(2) 0.2081(2) 0.5 1. ?\n"
                            "O1 0.1234(5) +0.25 1.0e-1 . .\n",
                            0.0, &s));
    assert_int_equal(s.natoms, 2);
    double p[6];
    fuse2_lattice_to_parameters(s.lattice, p);
    ASSERT_NEAR(p[0], 3.7842, 1e-12);
    ASSERT_NEAR(p[1], 4.5, 1e-12);
    ASSERT_NEAR(p[2], 9.5146, 1e-12);
    for (int k = 3; k < 6; k++) ASSERT_NEAR(p[k], 90.0, 1e-12);
    assert_int_equal(s.species[0], 22);
    assert_int_equal(s.species[1], 8);
    ASSERT_NEAR(s.frac[0][0], 1.0 - 0.0328, 1e-12); /* wrapped into [0, 1) */
    ASSERT_NEAR(s.frac[0][1], 0.2081, 1e-12);
    ASSERT_NEAR(s.frac[1][0], 0.1234, 1e-12);
    ASSERT_NEAR(s.frac[1][1], 0.25, 1e-12);
    ASSERT_NEAR(s.frac[1][2], 0.1, 1e-12);
    fuse2_structure_free(&s);
}

/* ---- symmetry expansion ---- */

/* Fm-3m written out in full: the 48 signed permutation matrices (point
 * group m-3m) times the 4 F-centring translations = 192 operations. */
static char *fm3m_cif(void)
{
    size_t cap = 65536, used = 0;
    char *text = malloc(cap);
    used += (size_t)snprintf(text + used, cap - used,
                             "data_NaCl\n_symmetry_space_group_name_H-M 'F m -3 m'\n"
                             "_cell_length_a 5.6402\n_cell_length_b 5.6402\n"
                             "_cell_length_c 5.6402\n_cell_angle_alpha 90\n"
                             "_cell_angle_beta 90\n_cell_angle_gamma 90\n"
                             "loop_\n_symmetry_equiv_pos_as_xyz\n");
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const char *const centring[4][3] = {
        {"", "", ""}, {"", "+1/2", "+1/2"}, {"+1/2", "", "+1/2"}, {"+1/2", "+1/2", ""}};
    static const char axes[3] = {'x', 'y', 'z'};
    for (int c = 0; c < 4; c++)
        for (int p = 0; p < 6; p++)
            for (int signs = 0; signs < 8; signs++) {
                used += (size_t)snprintf(text + used, cap - used, "'");
                for (int r = 0; r < 3; r++)
                    used += (size_t)snprintf(text + used, cap - used, "%s%c%s%s",
                                             (signs >> r) & 1 ? "-" : "", axes[perms[p][r]],
                                             centring[c][r], r < 2 ? ", " : "'\n");
            }
    snprintf(text + used, cap - used,
             "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
             "_atom_site_fract_y\n_atom_site_fract_z\n"
             "Na1 Na 0 0 0\nCl1 Cl 0.5 0.5 0.5\n");
    return text;
}

static void test_expands_rock_salt_from_192_operations(void **state)
{
    (void)state;
    char *text = fm3m_cif();
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("nacl.cif", text, 0.0, &s));
    free(text);
    /* rock salt: Na on 4a, Cl on 4b of Fm-3m (ITA) */
    assert_int_equal(s.natoms, 8);
    assert_int_equal(count_species(&s, 11), 4);
    assert_int_equal(count_species(&s, 17), 4);
    static const double na[4][3] = {{0, 0, 0}, {0, 0.5, 0.5}, {0.5, 0, 0.5}, {0.5, 0.5, 0}};
    static const double cl[4][3] = {{0.5, 0.5, 0.5}, {0.5, 0, 0}, {0, 0.5, 0}, {0, 0, 0.5}};
    fuse2_structure expected = {0};
    ASSERT_OK(fuse2_structure_init(&expected, 8));
    memcpy(expected.lattice, s.lattice, sizeof s.lattice);
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(fuse2_structure_add_atom(&expected, 11, na[i]));
        ASSERT_OK(fuse2_structure_add_atom(&expected, 17, cl[i]));
    }
    assert_atoms_matched(&expected, &s, 1e-9, "NaCl");
    ASSERT_NEAR(fuse2_structure_volume(&s), 5.6402 * 5.6402 * 5.6402, 1e-9);
    fuse2_structure_free(&s);
    fuse2_structure_free(&expected);
}

/* P4/mmm (ITA 123), its 16 operations as listed in the International Tables. */
static const char P4MMM_OPS[] = "loop_\n_symmetry_equiv_pos_as_xyz\n"
                                "'x, y, z'\n'-x, -y, z'\n'-y, x, z'\n'y, -x, z'\n"
                                "'-x, y, -z'\n'x, -y, -z'\n'y, x, -z'\n'-y, -x, -z'\n"
                                "'-x, -y, -z'\n'x, y, -z'\n'y, -x, -z'\n'-y, x, -z'\n"
                                "'x, -y, z'\n'-x, y, z'\n'-y, -x, z'\n'y, x, z'\n";

static void test_expands_p4mmm_wyckoff_multiplicities(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text,
             "data_p4mmm\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 6\n"
             "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n%s"
             "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\n"
             "Sr1 0 0 0\nTi1 0 0 0.25\nO1 0.3 0 0\nC1 0.1 0.2 0.3\n",
             P4MMM_OPS);
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("p4mmm.cif", text, 0.0, &s));
    /* Wyckoff 1a, 2g (0,0,z), 4j (x,0,0) and the general 16u */
    assert_int_equal(count_species(&s, 38), 1);
    assert_int_equal(count_species(&s, 22), 2);
    assert_int_equal(count_species(&s, 8), 4);
    assert_int_equal(count_species(&s, 6), 16);
    assert_int_equal(s.natoms, 23);
    /* 4j: (x,0,0) (-x,0,0) (0,x,0) (0,-x,0) */
    static const double o[4][3] = {{0.3, 0, 0}, {0.7, 0, 0}, {0, 0.3, 0}, {0, 0.7, 0}};
    for (int k = 0; k < 4; k++) {
        int hit = 0;
        for (int i = 0; i < s.natoms; i++)
            if (s.species[i] == 8 && periodic_distance(s.lattice, s.frac[i], o[k]) < 1e-9) hit = 1;
        assert_true(hit);
    }
    fuse2_structure_free(&s);
}

static void test_reads_symmetry_operation_forms(void **state)
{
    (void)state;
    /* P6_1 (ITA 169) with its operations spelled in several legal ways */
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("p61.cif",
                            "data_p61\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 12\n"
                            "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 120\n"
                            "loop_\n_symmetry_equiv_pos_site_id\n_symmetry_equiv_pos_as_xyz\n"
                            "1 'x, y, z'\n"
                            "2 '-y, x-y, 1/3+z'\n"
                            "3 \"-x+y,-x,z+2/3\"\n"
                            "4 '-X, -Y, Z+0.5'\n"
                            "5 '+y, -x+y, z+5/6'\n"
                            "6 x-y,x,z+1/6\n"
                            "loop_\n_atom_site_type_symbol\n_atom_site_fract_x\n"
                            "_atom_site_fract_y\n_atom_site_fract_z\n"
                            "Si 0.1 0.2 0.05\n",
                            0.0, &s));
    assert_int_equal(s.natoms, 6);
    /* the six images, computed by hand (python check) from the operations */
    static const double expected[6][3] = {{0.1, 0.2, 0.05},
                                          {0.8, 0.9, 0.383333333333333},
                                          {0.1, 0.9, 0.716666666666667},
                                          {0.9, 0.8, 0.55},
                                          {0.2, 0.1, 0.883333333333333},
                                          {0.9, 0.1, 0.216666666666667}};
    for (int k = 0; k < 6; k++) {
        int hit = 0;
        for (int i = 0; i < s.natoms; i++)
            if (periodic_distance(s.lattice, s.frac[i], expected[k]) < 1e-9) hit = 1;
        if (!hit) fail_msg("image %d missing", k + 1);
    }
    /* hexagonal volume sqrt(3)/2 a^2 c */
    ASSERT_NEAR(fuse2_structure_volume(&s), 259.80762113533154, 1e-9);
    fuse2_structure_free(&s);
}

static void test_reads_both_symop_tag_names(void **state)
{
    (void)state;
    static const char *const tags[3] = {"_symmetry_equiv_pos_as_xyz",
                                        "_space_group_symop_operation_xyz",
                                        "_space_group_symop.operation_xyz"};
    for (int t = 0; t < 3; t++) {
        char text[2048];
        snprintf(text, sizeof text,
                 "data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n"
                 "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
                 "loop_\n_space_group_symop_id\n%s\n1 'x, y, z'\n2 'x+1/2, y+1/2, z+1/2'\n"
                 "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
                 "_atom_site_fract_z\nFe1 0 0 0\n",
                 tags[t]);
        fuse2_structure s = {0};
        ASSERT_OK(read_cif_text("tags.cif", text, 0.0, &s));
        /* body centring doubles the single site */
        assert_int_equal(s.natoms, 2);
        double centre[3] = {0.5, 0.5, 0.5};
        ASSERT_NEAR(periodic_distance(s.lattice, s.frac[1], centre), 0.0, 1e-12);
        fuse2_structure_free(&s);
    }
}

/* ---- merging ---- */

static void test_merges_duplicate_sites_within_tolerance(void **state)
{
    (void)state;
    /* a = 5 A: 0.001 in fractions is 0.005 A; 0.9995 and 0.0 are 0.0025 A
     * apart across the cell face */
    const char *text = "data_dup\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"
                       "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
                       "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
                       "_atom_site_fract_z\n"
                       "Cu1 0.25 0.25 0.25\nCu2 0.251 0.25 0.25\n"
                       "Cu3 0.9995 0.5 0.5\nCu4 0.0 0.5 0.5\n";
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("dup.cif", text, 0.0, &s)); /* default 0.01 A */
    assert_int_equal(s.natoms, 2);
    ASSERT_OK(read_cif_text("dup.cif", text, 0.004, &s));
    assert_int_equal(s.natoms, 3); /* the 0.005 A pair survives, 0.0025 A merges */
    ASSERT_OK(read_cif_text("dup.cif", text, 0.001, &s));
    assert_int_equal(s.natoms, 4);
    fuse2_structure_free(&s);
}

static void test_merges_images_in_a_skewed_cell(void **state)
{
    (void)state;
    /* gamma = 20 degrees: (0.999, 0.999, 0) meets the origin through the
     * (-1,-1,0) image at |0.001 (a + b)| = 0.001 * 2*4 cos(10 deg) A
     * = 0.0078785 A: merged at 0.01 A, kept at 0.0075 A */
    const char *text = "data_skew\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n"
                       "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 20\n"
                       "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
                       "_atom_site_fract_z\nAu1 0 0 0\nAu2 0.999 0.999 0\n";
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("skew.cif", text, 0.0, &s));
    assert_int_equal(s.natoms, 1);
    ASSERT_OK(read_cif_text("skew.cif", text, 0.0075, &s));
    assert_int_equal(s.natoms, 2);
    fuse2_structure_free(&s);
}

static void test_rejects_different_elements_on_one_place(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    assert_int_not_equal(read_cif_text("clash.cif",
                                       "data_c\n_cell_length_a 5\n_cell_length_b 5\n"
                                       "_cell_length_c 5\n_cell_angle_alpha 90\n"
                                       "_cell_angle_beta 90\n_cell_angle_gamma 90\n"
                                       "loop_\n_symmetry_equiv_pos_as_xyz\n'x,y,z'\n'-x,-y,-z'\n"
                                       "loop_\n_atom_site_label\n_atom_site_fract_x\n"
                                       "_atom_site_fract_y\n_atom_site_fract_z\n"
                                       "Na1 0.25 0.25 0.25\n" /* line 17 */
                                       "Cl1 0.75 0.75 0.75\n", /* line 18: inversion image of Na1 */
                                       0.0, &s),
                         FUSE2_OK);
    test_assert_error_contains("clash.cif:18: site 'Cl1' (Cl) overlaps site 'Na1' (Na)");
    fuse2_structure_free(&s);
}

/* ---- syntax ---- */

static void test_skips_quoted_strings_text_fields_and_comments(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text(
        "syntax.cif",
        "# a comment with _cell_length_a 99\n"
        "data_first # trailing comment\n"
        "_publ_section_title\n"
        ";\n"
        "Text field with loop_ and _cell_length_a 99 and 'quotes\n"
        "data_not_a_block\n"
        ";\n"
        "_journal_name_full 'J. O'Neil's Crystals'\n"
        "_chemical_name_common \"a 'quoted' name\"\n"
        "_cell_length_a 4.1 _cell_length_b 4.2\n"
        "_cell_length_c\n"
        ";\n"
        "4.3\n"
        ";\n"
        "_cell_angle_alpha 90 _cell_angle_beta 90 _cell_angle_gamma 90\n"
        "loop_ _atom_site_label _atom_site_type_symbol\n"
        "   _atom_site_fract_x _atom_site_fract_y\n"
        "   _atom_site_fract_z _atom_site_occupancy\n"
        "K1 K 0.1 0.2\n"
        "   0.3 1.0 K2\n"
        "   K 0.6 0.7 0.8 1.0\n"
        "loop_\n_atom_site_aniso_label\n_atom_site_aniso_U_11\nK1 0.01\nK2 0.02\n"
        "data_second\n_cell_length_a 1\n",
        0.0, &s));
    /* the text field's '4.3' is a value like any other */
    double p[6];
    fuse2_lattice_to_parameters(s.lattice, p);
    ASSERT_NEAR(p[0], 4.1, 1e-12);
    ASSERT_NEAR(p[1], 4.2, 1e-12);
    ASSERT_NEAR(p[2], 4.3, 1e-12);
    assert_int_equal(s.natoms, 2);
    ASSERT_NEAR(s.frac[0][2], 0.3, 1e-12);
    ASSERT_NEAR(s.frac[1][0], 0.6, 1e-12);
    fuse2_structure_free(&s);
}

/* ---- errors, each with file:line ---- */

#define CELL_LINES                                                                      \
    "_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"                           \
    "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
#define SITE_HEADER                                                                     \
    "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"            \
    "_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\n"
/* data_ line 1, cell lines 2-7, header lines 8-14, first site line 15 */

static void expect_cif_error(const char *file, const char *text, const char *needle)
{
    fuse2_structure s = {0};
    fuse2_status status = read_cif_text(file, text, 0.0, &s);
    if (status == FUSE2_OK) fail_msg("%s: expected an error containing \"%s\"", file, needle);
    test_assert_error_contains(needle);
    assert_int_equal(s.natoms, 0); /* untouched on error */
    fuse2_structure_free(&s);
}

static void test_rejects_partial_occupancy(void **state)
{
    (void)state;
    expect_cif_error("partial.cif",
                     "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 0 0 1.0\n"
                     "Sr1 Sr 0.5 0.5 0.5 0.5(1)\n",
                     "partial.cif:16: site 'Sr1' has partial occupancy 0.5; disordered "
                     "structures are not supported");
    /* 0.9995 is full within the 1e-3 tolerance */
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("nearly.cif", "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 0 0 0.9995\n",
                            0.0, &s));
    assert_int_equal(s.natoms, 1);
    fuse2_structure_free(&s);
}

static void test_rejects_bad_input_with_file_and_line(void **state)
{
    (void)state;
    expect_cif_error("nan.cif", "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 nan 0 1\n",
                     "nan.cif:15: 'nan' is not a finite number (_atom_site_fract_y)");
    expect_cif_error("inf.cif", "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 0 inf 1\n",
                     "inf.cif:15: 'inf' is not a finite number");
    expect_cif_error("word.cif", "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 0.5x 0 1\n",
                     "word.cif:15: '0.5x' is not a number (_atom_site_fract_y)");
    expect_cif_error("element.cif",
                     "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 0 0 1\nQq1 Qq 0.5 0 0 1\n",
                     "element.cif:16: unknown element 'Qq' (site 'Qq1')");
    expect_cif_error("unknownxyz.cif", "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 ? 0 1\n",
                     "unknownxyz.cif:15: site 'Ti1' has an unknown coordinate");
    expect_cif_error("empty.cif", "", "empty.cif: file is empty");
    expect_cif_error("comments.cif", "# nothing\n# here\n", "comments.cif: file is empty");
    expect_cif_error("nodata.cif", "_cell_length_a 5\n", "nodata.cif:1: no data_ block");
    expect_cif_error("noatoms.cif", "data_p\n" CELL_LINES, "noatoms.cif: no atoms");
    expect_cif_error("emptyloop.cif", "data_p\n" CELL_LINES SITE_HEADER, "emptyloop.cif: no atoms");
    expect_cif_error("angles.cif",
                     "data_p\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"
                     "_cell_angle_alpha 120\n_cell_angle_beta 120\n_cell_angle_gamma 120\n"
                     SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "angles.cif:5: impossible cell angles 120 120 120");
    expect_cif_error("flat.cif",
                     "data_p\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"
                     "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 180\n"
                     SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "flat.cif:7: _cell_angle_gamma is 180 (must be below 180 degrees)");
    expect_cif_error("zerolength.cif",
                     "data_p\n_cell_length_a 0\n_cell_length_b 5\n_cell_length_c 5\n"
                     "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
                     SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "zerolength.cif:2: _cell_length_a is 0 (must be > 0)");
    expect_cif_error("missingcell.cif",
                     "data_p\n_cell_length_a 5\n_cell_length_b 5\n"
                     "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
                     SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "missingcell.cif: _cell_length_c is missing");
    expect_cif_error("unknowncell.cif",
                     "data_p\n_cell_length_a ?\n_cell_length_b 5\n_cell_length_c 5\n"
                     "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
                     SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "unknowncell.cif:2: _cell_length_a is unknown ('?')");
    expect_cif_error("quote.cif", "data_p\n_chemical_name 'open\n" CELL_LINES,
                     "quote.cif:2: quoted string '...' is not closed");
    expect_cif_error("field.cif", "data_p\n_publ_title\n;\nnever closed\n",
                     "field.cif:3: text field (';') is never closed");
    expect_cif_error("rows.cif", "data_p\n" CELL_LINES SITE_HEADER "Ti1 Ti 0 0 0 1\nO1 O 0.5\n",
                     "rows.cif:8: loop has 9 values for 6 tags");
    expect_cif_error("symop.cif",
                     "data_p\n" CELL_LINES "loop_\n_symmetry_equiv_pos_as_xyz\n'x, y, z'\n"
                     "'x, y'\n" SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "symop.cif:11: symmetry operation 'x, y' does not have 3 comma-separated");
    expect_cif_error("symop2.cif",
                     "data_p\n" CELL_LINES "loop_\n_symmetry_equiv_pos_as_xyz\n'x, y, z'\n"
                     "'x, x, z'\n" SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "symop2.cif:11: symmetry operation 'x, x, z' is not a rotation");
    expect_cif_error("symop3.cif",
                     "data_p\n" CELL_LINES "loop_\n_symmetry_equiv_pos_as_xyz\n'x, y, z'\n"
                     "'x, y, w'\n" SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "symop3.cif:11: cannot read symmetry operation 'x, y, w'");
    /* huge coefficients once overflowed the integer rotation (undefined
     * behaviour); they are not symmetry operations */
    expect_cif_error("symop4.cif",
                     "data_p\n" CELL_LINES "loop_\n_symmetry_equiv_pos_as_xyz\n'x, y, z'\n"
                     "'-y+1/2, 12345678901234567890x, z'\n" SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "symop4.cif:11: cannot read symmetry operation");
    expect_cif_error("symop5.cif",
                     "data_p\n" CELL_LINES "loop_\n_symmetry_equiv_pos_as_xyz\n'x, y, z'\n"
                     "'x+1e999, y, z'\n" SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "symop5.cif:11: cannot read symmetry operation");
    expect_cif_error("nosymops.cif",
                     "data_p\n" CELL_LINES "_symmetry_space_group_name_H-M 'I 4/m m m'\n"
                     SITE_HEADER "Ti1 Ti 0 0 0 1\n",
                     "nosymops.cif:8: space group 'I 4/m m m' without symmetry operations");
    expect_cif_error("stray.cif", "data_p\n" CELL_LINES "'stray value'\n",
                     "stray.cif:8: value 'stray value' does not follow a tag");
}

static void test_p1_symbol_without_operations_is_p1(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_cif_text("p1.cif",
                            "data_p\n" CELL_LINES "_symmetry_space_group_name_H-M 'P 1'\n"
                            "_symmetry_Int_Tables_number 1\n" SITE_HEADER
                            "Ti1 Ti 0.1 0.2 0.3 1\n",
                            0.0, &s));
    assert_int_equal(s.natoms, 1);
    ASSERT_NEAR(s.frac[0][2], 0.3, 1e-15);
    fuse2_structure_free(&s);
}

/* ---- writing ---- */

static void make_triclinic(fuse2_structure *s)
{
    /* arbitrary triclinic cell and positions, not from any file */
    static const double lattice[3][3] = {
        {5.1234567891, 0.0, 0.0}, {0.8123456789, 6.2345678912, 0.0}, {-1.1, 0.7654321, 7.0123}};
    static const double frac[5][3] = {{0.1, 0.2, 0.3},
                                      {0.123456789012, 0.987654321098, 0.555555555555},
                                      {0.9, 0.05, 0.45},
                                      {0.33, 0.66, 0.99},
                                      {0.0, 0.5, 0.25}};
    static const int z[5] = {38, 8, 22, 8, 8};
    ASSERT_OK(fuse2_structure_init(s, 5));
    memcpy(s->lattice, lattice, sizeof lattice);
    for (int i = 0; i < 5; i++) ASSERT_OK(fuse2_structure_add_atom(s, z[i], frac[i]));
}

static void test_p1_write_read_round_trip(void **state)
{
    (void)state;
    fuse2_structure s = {0}, back = {0};
    make_triclinic(&s);
    char path[4096];
    snprintf(path, sizeof path, "%s/p1_out.cif", test_tmpdir());
    ASSERT_OK(fuse2_cif_write(path, &s, "my title", 0, 0.0));
    ASSERT_OK(fuse2_cif_read(path, 0.0, &back));
    assert_int_equal(back.natoms, s.natoms);
    assert_same_parameters(s.lattice, back.lattice, 1e-8);
    for (int i = 0; i < s.natoms; i++) {
        assert_int_equal(back.species[i], s.species[i]);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(back.frac[i][k], s.frac[i][k], 1e-8);
    }
    ASSERT_NEAR(fuse2_structure_volume(&back), fuse2_structure_volume(&s), 1e-8);

    char *text = NULL;
    ASSERT_OK(fuse2_text_file_read(path, &text));
    assert_non_null(strstr(text, "data_my_title\n"));
    assert_non_null(strstr(text, "'P 1'"));
    assert_non_null(strstr(text, "'x, y, z'"));
    assert_non_null(strstr(text, "\nSr1 "));
    assert_non_null(strstr(text, "\nO1 "));
    assert_non_null(strstr(text, "\nO3 "));
    assert_non_null(strstr(text, "\nTi1 "));
    free(text);
    fuse2_structure_free(&s);
    fuse2_structure_free(&back);
}

static void test_symmetrised_write_read_round_trip(void **state)
{
    (void)state;
    /* Sr2TiO4 (ICSD 194713, I4/mmm = 139, 4 distinct sites) */
    fuse2_structure s = {0}, standard = {0}, back = {0};
    ASSERT_OK(fuse2_poscar_read(test_shared_path("testdata/gulp/ysrtio-icsd-4/POSCAR"), &s));
    ASSERT_OK(fuse2_structure_copy(&standard, &s));
    int changed = 0;
    ASSERT_OK(fuse2_symmetry_standardize(&standard, 1e-3, 0, 0, &changed));

    char path[4096];
    snprintf(path, sizeof path, "%s/sym_out.cif", test_tmpdir());
    ASSERT_OK(fuse2_cif_write(path, &s, NULL, 1, 1e-3));
    ASSERT_OK(fuse2_cif_read(path, 0.0, &back));
    assert_int_equal(back.natoms, 14);
    assert_int_equal(back.natoms, standard.natoms);
    assert_int_equal(count_species(&back, 38), 4);
    assert_int_equal(count_species(&back, 22), 2);
    assert_int_equal(count_species(&back, 8), 8);
    assert_same_parameters(standard.lattice, back.lattice, 1e-8);
    /* fractional coordinates do not depend on the cell's orientation */
    for (int i = 0; i < standard.natoms; i++) {
        int hit = 0;
        for (int j = 0; j < back.natoms; j++) {
            if (back.species[j] != standard.species[i]) continue;
            double worst = 0;
            for (int k = 0; k < 3; k++) {
                double d = back.frac[j][k] - standard.frac[i][k];
                worst = fmax(worst, fabs(d - round(d)));
            }
            if (worst < 1e-8) hit = 1;
        }
        if (!hit) fail_msg("standardised atom %d not reproduced", i + 1);
    }

    char *text = NULL;
    ASSERT_OK(fuse2_text_file_read(path, &text));
    assert_non_null(strstr(text, "'I4/mmm'"));
    assert_non_null(strstr(text, "_symmetry_Int_Tables_number       139\n"));
    /* 4/mmm has 16 point operations, doubled by I centring */
    assert_non_null(strstr(text, "\n  32 '"));
    assert_null(strstr(text, "\n  33 '"));
    /* four distinct sites: Sr1, Ti1 and two oxygens */
    assert_non_null(strstr(text, "\nSr1 "));
    assert_null(strstr(text, "\nSr2 "));
    assert_non_null(strstr(text, "\nO2 "));
    assert_null(strstr(text, "\nO3 "));
    free(text);
    fuse2_structure_free(&s);
    fuse2_structure_free(&standard);
    fuse2_structure_free(&back);
}

static void test_symmetrised_write_of_a_hexagonal_group(void **state)
{
    (void)state;
    /* the P6_1 structure from above: operations with 1/6 translations and
     * x-y rows must survive write -> read */
    fuse2_structure s = {0}, back = {0}, standard = {0};
    ASSERT_OK(read_cif_text("p61b.cif",
                            "data_p61\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 12\n"
                            "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 120\n"
                            "loop_\n_symmetry_equiv_pos_as_xyz\n"
                            "'x, y, z'\n'-y, x-y, z+1/3'\n'-x+y, -x, z+2/3'\n'-x, -y, z+1/2'\n"
                            "'y, -x+y, z+5/6'\n'x-y, x, z+1/6'\n"
                            "loop_\n_atom_site_type_symbol\n_atom_site_fract_x\n"
                            "_atom_site_fract_y\n_atom_site_fract_z\nSi 0.1 0.2 0.05\n"
                            "O 0.3 0.1 0.2\n",
                            0.0, &s));
    assert_int_equal(s.natoms, 12);
    ASSERT_OK(fuse2_structure_copy(&standard, &s));
    int changed = 0;
    ASSERT_OK(fuse2_symmetry_standardize(&standard, 1e-4, 0, 0, &changed));
    char path[4096];
    snprintf(path, sizeof path, "%s/p61_out.cif", test_tmpdir());
    ASSERT_OK(fuse2_cif_write(path, &s, "P61 test", 1, 1e-4));
    ASSERT_OK(fuse2_cif_read(path, 0.0, &back));
    assert_int_equal(back.natoms, 12);
    assert_same_parameters(standard.lattice, back.lattice, 1e-8);
    assert_atoms_matched(&standard, &back, 1e-8, "P6_1");
    char *text = NULL;
    ASSERT_OK(fuse2_text_file_read(path, &text));
    assert_non_null(strstr(text, "_symmetry_Int_Tables_number       169\n"));
    free(text);
    fuse2_structure_free(&s);
    fuse2_structure_free(&standard);
    fuse2_structure_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shared_cif_matches_its_poscar),
        cmocka_unit_test(test_reads_icsd_y2o3_with_charged_type_symbols),
        cmocka_unit_test(test_reads_uncertainties_in_numbers),
        cmocka_unit_test(test_expands_rock_salt_from_192_operations),
        cmocka_unit_test(test_expands_p4mmm_wyckoff_multiplicities),
        cmocka_unit_test(test_reads_symmetry_operation_forms),
        cmocka_unit_test(test_reads_both_symop_tag_names),
        cmocka_unit_test(test_merges_duplicate_sites_within_tolerance),
        cmocka_unit_test(test_merges_images_in_a_skewed_cell),
        cmocka_unit_test(test_rejects_different_elements_on_one_place),
        cmocka_unit_test(test_skips_quoted_strings_text_fields_and_comments),
        cmocka_unit_test(test_rejects_partial_occupancy),
        cmocka_unit_test(test_rejects_bad_input_with_file_and_line),
        cmocka_unit_test(test_p1_symbol_without_operations_is_p1),
        cmocka_unit_test(test_p1_write_read_round_trip),
        cmocka_unit_test(test_symmetrised_write_read_round_trip),
        cmocka_unit_test(test_symmetrised_write_of_a_hexagonal_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
