/* GULP geometry reading, format detection and read/write dispatch. */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "fuse2/elements.h"
#include "fuse2/structure.h"
#include "fuse2/structure_io.h"

static int count_species(const fuse2_structure *s, int z)
{
    int n = 0;
    for (int i = 0; i < s->natoms; i++) n += s->species[i] == z;
    return n;
}

static void assert_parameters(const fuse2_structure *s, const double expected[6], double tol)
{
    double p[6];
    fuse2_lattice_to_parameters(s->lattice, p);
    for (int k = 0; k < 6; k++) ASSERT_NEAR(p[k], expected[k], tol);
}

static fuse2_status read_gulp_text(const char *file, const char *text, fuse2_structure *s)
{
    return fuse2_gulp_structure_read(test_write_file(file, text), s);
}

/* ---- GULP ---- */

static void test_reads_every_shared_gulp_input_and_restart(void **state)
{
    (void)state;
    static const char *const patterns[2] = {"testdata/gulp/ysrtio-icsd-*/gulp.gin",
                                            "testdata/gulp/ysrtio-icsd-*/temp.res"};
    int files = 0;
    for (int p = 0; p < 2; p++) {
        glob_t found;
        assert_int_equal(glob(test_shared_path(patterns[p]), 0, NULL, &found), 0);
        for (size_t f = 0; f < found.gl_pathc; f++, files++) {
            char poscar_path[4096];
            snprintf(poscar_path, sizeof poscar_path, "%s", found.gl_pathv[f]);
            strcpy(strrchr(poscar_path, '/') + 1, "POSCAR");
            fuse2_structure gulp = {0}, poscar = {0};
            ASSERT_OK(fuse2_gulp_structure_read(found.gl_pathv[f], &gulp));
            ASSERT_OK(fuse2_poscar_read(poscar_path, &poscar));
            /* the GULP runs relaxed the POSCAR's structure: same atoms */
            if (gulp.natoms != poscar.natoms)
                fail_msg("%s: %d atoms, POSCAR has %d", found.gl_pathv[f], gulp.natoms,
                         poscar.natoms);
            for (int z = 1; z <= FUSE2_MAX_Z; z++)
                assert_int_equal(count_species(&gulp, z), count_species(&poscar, z));
            /* relaxation changes the volume by a few per cent, not more */
            ASSERT_NEAR(fuse2_structure_volume(&gulp) / fuse2_structure_volume(&poscar), 1.0,
                        0.2);
            for (int i = 0; i < gulp.natoms; i++)
                for (int k = 0; k < 3; k++)
                    assert_true(gulp.frac[i][k] >= 0.0 && gulp.frac[i][k] < 1.0);
            fuse2_structure_free(&gulp);
            fuse2_structure_free(&poscar);
        }
        globfree(&found);
    }
    assert_int_equal(files, 10);
}

static void test_reads_anatase_gulp_files_exactly(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_gulp_structure_read(test_shared_path("testdata/gulp/ysrtio-icsd-1/gulp.gin"),
                                        &s));
    assert_int_equal(s.natoms, 12);
    assert_int_equal(count_species(&s, 8), 8);
    assert_int_equal(count_species(&s, 22), 4);
    /* the `cell` line of the file */
    const double gin[6] = {3.708961, 3.708822, 10.111715, 90, 90, 90};
    assert_parameters(&s, gin, 1e-12);
    /* line 17: "O core 0.0000000 0.0000000 0.2081000" */
    ASSERT_NEAR(s.frac[0][2], 0.2081, 1e-15);
    /* line 19: "O core 1.0000000 0.5000000 0.4580516": 1.0 wraps to 0 */
    ASSERT_NEAR(s.frac[2][0], 0.0, 1e-15);
    ASSERT_NEAR(s.frac[2][2], 0.4580516, 1e-15);

    ASSERT_OK(fuse2_gulp_structure_read(test_shared_path("testdata/gulp/ysrtio-icsd-1/temp.res"),
                                        &s));
    assert_int_equal(s.natoms, 12);
    const double res[6] = {3.708796, 3.708796, 10.112436, 90, 90, 90};
    assert_parameters(&s, res, 1e-12);
    /* the last core line, "Ti core 0.5000000 0.0000000 0.7566397" */
    assert_int_equal(s.species[11], 22);
    ASSERT_NEAR(s.frac[11][0], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[11][2], 0.7566397, 1e-15);
    fuse2_structure_free(&s);

    /* Y2O3 input: a slightly non-orthogonal cell */
    ASSERT_OK(fuse2_gulp_structure_read(
        test_shared_path("testdata/gulp/ysrtio-icsd-11/gulp.gin"), &s));
    const double y2o3[6] = {11.083258, 11.081636, 11.082714, 90.000811, 90.006295, 89.999896};
    assert_parameters(&s, y2o3, 1e-9);
    assert_int_equal(count_species(&s, 39), 32);
    fuse2_structure_free(&s);
}

static void test_reads_gulp_variants(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_gulp_text("variants.gin",
                             "opti conp\n"
                             "title\n"
                             "cell with fractional words inside the title\n"
                             "end\n"
                             "cell 4.0 5.0 6.0 90 90 90\n"
                             "frac\n"
                             "Sr core 0 0 0\n"
                             "Ti c 1/2 1/2 1/2 4.0 1.0 0.0\n"
                             "O 3/4 -1/3 0.25\n"
                             "O2 core 0.5 0.5 0.0 # a comment\n"
                             "\n"
                             "species\n"
                             "O core -2.0\n"
                             "buck\n"
                             "O core O core 1388.77 0.36262 175.0 0.0 12.0\n",
                             &s));
    assert_int_equal(s.natoms, 4);
    const double params[6] = {4, 5, 6, 90, 90, 90};
    assert_parameters(&s, params, 1e-12);
    assert_int_equal(s.species[0], 38);
    assert_int_equal(s.species[1], 22);
    assert_int_equal(s.species[2], 8);
    assert_int_equal(s.species[3], 8);
    ASSERT_NEAR(s.frac[1][0], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[2][0], 0.75, 1e-15);
    ASSERT_NEAR(s.frac[2][1], 2.0 / 3.0, 1e-15); /* -1/3 wrapped */
    fuse2_structure_free(&s);
}

static void test_reads_gulp_vectors_and_cartesian(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_gulp_text("vectors.gin",
                             "single\n"
                             "vectors\n"
                             "  4.0 0.0 0.0\n"
                             "  0.0 5.0 0.0\n"
                             "  1.0 0.0 6.0\n"
                             "cartesian 1\n"
                             "Na core 1.0 2.5 3.0\n"
                             "Cl core 0.0 0.0 0.0\n"
                             "dump temp.res\n",
                             &s));
    assert_int_equal(s.natoms, 2);
    ASSERT_NEAR(s.lattice[2][0], 1.0, 1e-15);
    ASSERT_NEAR(s.lattice[2][2], 6.0, 1e-15);
    /* (1, 2.5, 3) = 0.125 a + 0.5 b + 0.5 c with c = (1, 0, 6) */
    ASSERT_NEAR(s.frac[0][0], 0.125, 1e-15);
    ASSERT_NEAR(s.frac[0][1], 0.5, 1e-15);
    ASSERT_NEAR(s.frac[0][2], 0.5, 1e-15);
    fuse2_structure_free(&s);
}

static void test_reads_only_the_first_gulp_configuration(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(read_gulp_text("two.gin",
                             "cell\n3 3 3 90 90 90\nfractional\nNa core 0 0 0\n"
                             "cell\n4 4 4 90 90 90\nfractional\nK core 0 0 0\nCl core 0.5 0.5 0.5\n",
                             &s));
    assert_int_equal(s.natoms, 1);
    assert_int_equal(s.species[0], 11);
    ASSERT_NEAR(fuse2_structure_volume(&s), 27.0, 1e-12);
    fuse2_structure_free(&s);
}

static void expect_gulp_error(const char *file, const char *text, const char *needle)
{
    fuse2_structure s = {0};
    if (read_gulp_text(file, text, &s) == FUSE2_OK)
        fail_msg("%s: expected an error containing \"%s\"", file, needle);
    test_assert_error_contains(needle);
    assert_int_equal(s.natoms, 0);
}

static void test_rejects_bad_gulp_input_with_file_and_line(void **state)
{
    (void)state;
    expect_gulp_error("shell.gin",
                      "cell\n4 4 4 90 90 90\nfractional\nMg core 0 0 0\nO core 0.5 0.5 0.5\n"
                      "O shel 0.5 0.5 0.5\n",
                      "shell.gin:6: shell model not supported");
    expect_gulp_error("label.gin", "cell\n4 4 4 90 90 90\nfractional\nMg core 0 0 0\n"
                                   "Qx core 0.5 0.5 0.5\n",
                      "label.gin:5: unknown element label 'Qx'");
    expect_gulp_error("number.gin", "cell\n4 4 4 90 90 90\nfractional\nMg core 0 0.5x 0\n",
                      "number.gin:4: '0.5x' is not a number (fractional coordinates)");
    expect_gulp_error("nan.gin", "cell\n4 4 4 90 90 90\nfractional\nMg core 0 nan 0\n",
                      "nan.gin:4: 'nan' is not a finite number");
    expect_gulp_error("few.gin", "cell\n4 4 4 90 90 90\nfractional\nMg core 0 0\n",
                      "few.gin:4: expected 3 numbers for fractional coordinates, got 2");
    expect_gulp_error("cellshort.gin", "cell\n4 4 4 90 90\nfractional\nMg core 0 0 0\n",
                      "cellshort.gin:2: expected 6 numbers for the cell");
    expect_gulp_error("cellend.gin", "opti\ncell\n", "cellend.gin:3: file ends after 'cell'");
    expect_gulp_error("angles.gin", "cell\n4 4 4 90 90 190\nfractional\nMg core 0 0 0\n",
                      "angles.gin:2: cell angle 190 is not below 180");
    expect_gulp_error("nocell.gin", "fractional\nMg core 0 0 0\n", "nocell.gin: no 'cell'");
    expect_gulp_error("noatoms.gin", "opti\ncell\n4 4 4 90 90 90\nspecies\nMg core 2.0\n",
                      "noatoms.gin: no atoms");
    expect_gulp_error("flat.gin", "vectors\n1 0 0\n0 1 0\n1 1 0\nfractional\nMg 0 0 0\n",
                      "flat.gin:4: the cell has zero volume");
    expect_gulp_error("space.gin", "cell\n4 4 4 90 90 90\nfractional\nMg core 0 0 0\n"
                                   "space\n225\n",
                      "space.gin:6: GULP space-group input");
    expect_gulp_error("coreword.gin", "cell\n4 4 4 90 90 90\nfractional\nMg bogus 0 0 0\n",
                      "coreword.gin:4: expected 'core' or coordinates after 'Mg'");
    expect_gulp_error("empty.gin", "", "empty.gin: no 'cell' or 'vectors' found");
}

/* ---- detection ---- */

static void test_detects_format_from_file_name(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        fuse2_structure_format fmt;
    } cases[] = {
        {"/nowhere/a.cif", FUSE2_FORMAT_CIF},        {"B.CIF", FUSE2_FORMAT_CIF},
        {"dir/POSCAR", FUSE2_FORMAT_POSCAR},         {"POSCAR_relaxed", FUSE2_FORMAT_POSCAR},
        {"x/CONTCAR", FUSE2_FORMAT_POSCAR},          {"best.vasp", FUSE2_FORMAT_POSCAR},
        {"y.poscar", FUSE2_FORMAT_POSCAR},           {"run/gulp.gin", FUSE2_FORMAT_GULP},
        {"temp.res", FUSE2_FORMAT_GULP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fuse2_structure_format fmt = FUSE2_FORMAT_AUTO;
        ASSERT_OK(fuse2_structure_detect_format(cases[i].path, &fmt));
        if (fmt != cases[i].fmt)
            fail_msg("%s: detected %d, expected %d", cases[i].path, (int)fmt, (int)cases[i].fmt);
    }
}

static void test_detects_format_from_content(void **state)
{
    (void)state;
    fuse2_structure_format fmt = FUSE2_FORMAT_AUTO;
    ASSERT_OK(fuse2_structure_detect_format(
        test_write_file("one.txt", "# CIF\ndata_x\n_cell_length_a 4\n"), &fmt));
    assert_int_equal(fmt, FUSE2_FORMAT_CIF);
    ASSERT_OK(fuse2_structure_detect_format(
        test_write_file("two.txt", "opti conp\ncell\n4 4 4 90 90 90\nfrac\nNa core 0 0 0\n"),
        &fmt));
    assert_int_equal(fmt, FUSE2_FORMAT_GULP);
    ASSERT_OK(fuse2_structure_detect_format(
        test_write_file("three.txt", "NaCl\n5.64\n1 0 0\n0 1 0\n0 0 1\nNa Cl\n1 1\nDirect\n"
                                     "0 0 0\n0.5 0.5 0.5\n"),
        &fmt));
    assert_int_equal(fmt, FUSE2_FORMAT_POSCAR);
    assert_int_not_equal(fuse2_structure_detect_format(
                             test_write_file("four.txt", "just some notes\nnothing else\n"), &fmt),
                         FUSE2_OK);
    test_assert_error_contains("four.txt: unknown structure format");
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/missing.txt", test_tmpdir());
    assert_int_equal(fuse2_structure_detect_format(missing, &fmt), FUSE2_ERR_IO);
    test_assert_error_contains("missing.txt: cannot open");
}

/* ---- dispatch ---- */

static void test_reads_shared_files_through_auto_detection(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int natoms;
    } cases[] = {
        /* atom counts from the POSCAR count lines and the GULP core lines */
        {"testdata/gulp/ysrtio-icsd-3/Rutile_9161.cif", 6},
        {"testdata/gulp/ysrtio-icsd-5/Sr3Ti2O7_20294.cif", 24},
        {"testdata/gulp/ysrtio-icsd-5/POSCAR", 24},
        {"testdata/gulp/ysrtio-icsd-4/gulp.gin", 14},
        {"testdata/gulp/ysrtio-icsd-11/temp.res", 80},
        {"testdata/vasp/nboc-relax/CONTCAR", 32},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fuse2_structure s = {0};
        ASSERT_OK(fuse2_structure_read(test_shared_path(cases[i].file), FUSE2_FORMAT_AUTO, &s));
        assert_int_equal(s.natoms, cases[i].natoms);
        fuse2_structure_free(&s);
    }
    /* an explicit format wins over the name */
    const char *path = test_write_file("structure.dat", "cell\n3 3 3 90 90 90\nfrac\nNa 0 0 0\n");
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_GULP, &s));
    assert_int_equal(s.natoms, 1);
    assert_int_not_equal(fuse2_structure_read(path, FUSE2_FORMAT_CIF, &s), FUSE2_OK);
    test_assert_error_contains("structure.dat:1: no data_ block");
    assert_int_equal(s.natoms, 1); /* unchanged on error */
    fuse2_structure_free(&s);
}

static void test_writes_by_file_name(void **state)
{
    (void)state;
    fuse2_structure s = {0}, back = {0};
    ASSERT_OK(fuse2_structure_read(test_shared_path("testdata/gulp/ysrtio-icsd-4/POSCAR"),
                                   FUSE2_FORMAT_AUTO, &s));
    const char *dir = test_tmpdir();
    char path[4096];

    snprintf(path, sizeof path, "%s/out.cif", dir);
    ASSERT_OK(fuse2_structure_write(path, FUSE2_FORMAT_AUTO, &s, 0, 0.0));
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, &back));
    assert_int_equal(back.natoms, 14);
    ASSERT_NEAR(fuse2_structure_volume(&back), fuse2_structure_volume(&s), 1e-8);

    snprintf(path, sizeof path, "%s/POSCAR_out", dir);
    ASSERT_OK(fuse2_structure_write(path, FUSE2_FORMAT_AUTO, &s, 0, 0.0));
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, &back));
    assert_int_equal(back.natoms, 14);
    ASSERT_NEAR(back.lattice[2][2], 12.5975, 1e-12);

    /* symmetrised POSCAR: the standardised conventional I4/mmm cell, 14 atoms */
    snprintf(path, sizeof path, "%s/sym.vasp", dir);
    ASSERT_OK(fuse2_structure_write(path, FUSE2_FORMAT_AUTO, &s, 1, 1e-3));
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, &back));
    assert_int_equal(back.natoms, 14);
    ASSERT_NEAR(fuse2_structure_volume(&back), 190.289629411776, 1e-6); /* a^2 c of the CIF */

    snprintf(path, sizeof path, "%s/out.gin", dir);
    assert_int_equal(fuse2_structure_write(path, FUSE2_FORMAT_AUTO, &s, 0, 0.0),
                     FUSE2_ERR_UNSUPPORTED);
    test_assert_error_contains("out.gin: writing GULP geometry is not supported");
    snprintf(path, sizeof path, "%s/out.xyz", dir);
    assert_int_not_equal(fuse2_structure_write(path, FUSE2_FORMAT_AUTO, &s, 0, 0.0), FUSE2_OK);
    test_assert_error_contains("out.xyz: cannot tell the format from the name");
    snprintf(path, sizeof path, "%s/no/such/dir/out.cif", dir);
    assert_int_equal(fuse2_structure_write(path, FUSE2_FORMAT_AUTO, &s, 0, 0.0), FUSE2_ERR_IO);
    test_assert_error_contains("out.cif: cannot open for writing");
    fuse2_structure_free(&s);
    fuse2_structure_free(&back);
}

static void test_text_file_read_rejects_binary(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/binary.cif", test_tmpdir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("data_\0\x1f\x8b", 1, 8, f);
    fclose(f);
    fuse2_structure s = {0};
    assert_int_not_equal(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, &s), FUSE2_OK);
    test_assert_error_contains("binary.cif: not a text file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_every_shared_gulp_input_and_restart),
        cmocka_unit_test(test_reads_anatase_gulp_files_exactly),
        cmocka_unit_test(test_reads_gulp_variants),
        cmocka_unit_test(test_reads_gulp_vectors_and_cartesian),
        cmocka_unit_test(test_reads_only_the_first_gulp_configuration),
        cmocka_unit_test(test_rejects_bad_gulp_input_with_file_and_line),
        cmocka_unit_test(test_detects_format_from_file_name),
        cmocka_unit_test(test_detects_format_from_content),
        cmocka_unit_test(test_reads_shared_files_through_auto_detection),
        cmocka_unit_test(test_writes_by_file_name),
        cmocka_unit_test(test_text_file_read_rejects_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
