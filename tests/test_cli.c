/* The fuse2 command-line tool as a user runs it: JSON output names, exit
 * codes, files written, clear errors for bad input. */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_energy_json_has_the_documented_fields(void **state)
{
    (void)state;
    char *out;
    const char *dir = test_shared_path("testdata/gulp/ysrtio-icsd-3");
    int rc = test_run_cli(&out, "energy '%s/gulp.gin' --library '%s/lib2.lib' --c6 --json", dir, dir);
    assert_int_equal(rc, 0);
    /* GULP's "Total lattice energy" for this run: -247.28317495 eV */
    ASSERT_NEAR(test_json_number(out, "energy"), -247.28317495, 1e-5);
    ASSERT_NEAR(test_json_number(out, "energy_per_atom"), -247.28317495 / 6, 1e-5);
    assert_int_equal((int)test_json_number(out, "natoms"), 6);
    assert_non_null(strstr(out, "\"components\": {"));
    ASSERT_NEAR(test_json_number(out, "short_range"), 45.56066955, 1e-5);
    ASSERT_NEAR(test_json_number(out, "dispersion"), -10.71718166, 1e-5);
    ASSERT_NEAR(test_json_number(out, "coulomb"), -282.12666285, 1e-5);
    assert_non_null(strstr(out, "\"coulomb_real\""));
    assert_non_null(strstr(out, "\"coulomb_recip\""));
    free(out);
}

static void test_relax_writes_structure_and_reports_status(void **state)
{
    (void)state;
    char *out;
    const char *dir = test_shared_path("testdata/gulp/ysrtio-icsd-3");
    char outfile[512];
    snprintf(outfile, sizeof outfile, "%s/rutile-relaxed.cif", test_tmpdir());
    int rc = test_run_cli(&out, "relax '%s/POSCAR' --library '%s/lib2.lib' --c6 -o '%s' --json --fmax 1e-4",
                 dir, dir, outfile);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, "\"status\": \"converged\""));
    assert_non_null(strstr(out, "\"reason\": \"\""));
    assert_true(test_json_number(out, "steps") >= 1);
    assert_non_null(strstr(out, "\"cell\": {"));
    assert_non_null(strstr(out, "\"alpha\""));
    /* GULP's relaxed rutile: -247.28322670 eV, P4_2/mnm */
    ASSERT_NEAR(test_json_number(out, "energy"), -247.28322670, 1e-3);
    assert_int_equal((int)test_json_number(out, "number"), 136);
    free(out);
    /* the written file reads back with the same energy */
    rc = test_run_cli(&out, "energy '%s' --library '%s/lib2.lib' --c6 --json", outfile, dir);
    assert_int_equal(rc, 0);
    ASSERT_NEAR(test_json_number(out, "energy"), -247.28322670, 1e-3);
    free(out);
}

static void test_symmetry_reports_space_group(void **state)
{
    (void)state;
    char *out;
    int rc = test_run_cli(&out, "symmetry '%s' --json",
                 test_shared_path("testdata/gulp/ysrtio-icsd-11/Y2O3_23811.cif"));
    assert_int_equal(rc, 0);
    assert_int_equal((int)test_json_number(out, "number"), 206);
    free(out);
}

static void test_help_for_every_command(void **state)
{
    (void)state;
    const char *cmds[] = {"energy", "relax", "symmetry"};
    for (int i = 0; i < 3; i++) {
        char *out;
        assert_int_equal(test_run_cli(&out, "%s --help", cmds[i]), 0);
        assert_non_null(strstr(out, "usage: fuse2"));
        free(out);
    }
    char *out;
    assert_int_equal(test_run_cli(&out, "--help"), 0);
    free(out);
}

static void test_bad_input_gives_clear_error_and_exit_code(void **state)
{
    (void)state;
    char *out;
    const char *lib = test_shared_path("potentials/lib2.lib");
    /* missing file: exit 1 and the file is named */
    assert_int_equal(test_run_cli(&out, "energy /nonexistent/x.cif --library '%s'", lib), 1);
    assert_non_null(strstr(out, "/nonexistent/x.cif"));
    free(out);
    /* malformed POSCAR: exit 1 with file and line */
    const char *bad = test_write_file("POSCAR", "bad\n1.0\n4 0 0\n0 4 0\n0 0 4\nSr O\n1 1\nDirect\n0 0 0\n0.5 0.5\n");
    assert_int_equal(test_run_cli(&out, "energy '%s' --library '%s'", bad, lib), 1);
    assert_non_null(strstr(out, "POSCAR:10"));
    free(out);
    /* element without a charge in the library */
    const char *nacl = test_write_file("NaCl.vasp", "NaCl\n1.0\n5.6 0 0\n0 5.6 0\n0 0 5.6\nNa Cl\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n");
    assert_int_equal(test_run_cli(&out, "energy '%s' --library '%s'", nacl, lib), 1);
    assert_non_null(strstr(out, "no charge"));
    free(out);
    /* usage errors: exit 2 */
    assert_int_equal(test_run_cli(&out, "energy '%s'", nacl), 2);
    assert_non_null(strstr(out, "--library"));
    free(out);
    assert_int_equal(test_run_cli(&out, "relax '%s' --library '%s' --fmax abc -o x.cif", nacl, lib), 2);
    free(out);
    assert_int_equal(test_run_cli(&out, "frobnicate"), 2);
    free(out);
}

/* A Ti-O pair inside lib2.lib's rmin (1.2 A) has no repulsion left: energy
 * reports it, relax fails with that reason and exit status 3. */
static void test_collapsed_structure_is_reported_not_relaxed(void **state)
{
    (void)state;
    char *out;
    const char *lib = test_shared_path("potentials/lib2.lib");
    const char *poscar = test_write_file("TiO2-collapsed.vasp",
                                         "TiO2\n1.0\n10 0 0\n0 10 0\n0 0 10\nTi O\n1 2\nDirect\n"
                                         "0.5 0.5 0.5\n0.61 0.5 0.5\n0.39 0.5 0.5\n");
    assert_int_equal(test_run_cli(&out, "energy '%s' --library '%s' --json", poscar, lib), 0);
    assert_non_null(strstr(out, "\"unphysical\": \"collapse: Ti1 and O"));
    free(out);
    char outfile[512];
    snprintf(outfile, sizeof outfile, "%s/collapsed-out.cif", test_tmpdir());
    assert_int_equal(test_run_cli(&out, "relax '%s' --library '%s' -o '%s' --json", poscar, lib, outfile), 3);
    assert_non_null(strstr(out, "\"status\": \"failed\""));
    assert_non_null(strstr(out, "inside the Ti-O barrier"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_energy_json_has_the_documented_fields),
        cmocka_unit_test(test_relax_writes_structure_and_reports_status),
        cmocka_unit_test(test_symmetry_reports_space_group),
        cmocka_unit_test(test_help_for_every_command),
        cmocka_unit_test(test_bad_input_gives_clear_error_and_exit_code),
        cmocka_unit_test(test_collapsed_structure_is_reported_not_relaxed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
