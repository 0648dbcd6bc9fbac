/* `fuse2 parse` as a user runs it on outputs of external codes: the GULP and
 * VASP reference runs of ../shared (directory and file), a Quantum ESPRESSO
 * scf of 2-atom Si and a LAMMPS relaxation of SrTiO3, both run here through
 * their calculators with keep_scratch (pw.x about 1 s, lmp well under 1 s),
 * doctored copies (a GULP run without its verdict, a truncated pw.x output),
 * the structure written with --structure, and the errors: a missing path
 * (exit 1), a directory without outputs (exit 1), usage (exit 2). */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/calc.h"
#include "fuse2/external.h"
#include "fuse2/lammps.h"
#include "fuse2/relax.h"
#include "fuse2/structure.h"
#include "fuse2/structure_io.h"

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return test_run_capture(line, NULL);
}

/* ---- GULP ---- */

static void test_gulp_reference_directory_and_file(void **state)
{
    (void)state;
    const char *dir = test_shared_path("testdata/gulp/ysrtio-icsd-3");
    char *out;
    int rc = test_run_cli(&out, "parse --code gulp '%s' --json", dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "\"code\": \"gulp\"");
    test_assert_contains(out, "\"status\": \"converged\"");
    test_assert_contains(out, "\"reason\": \"\"");
    test_assert_contains(out, "gulp.got\"");
    ASSERT_NEAR(test_json_number(out, "energy"), -247.28322670, 1e-8);
    ASSERT_NEAR(test_json_number(out, "energy_per_atom"), -247.28322670 / 6, 1e-8);
    assert_int_equal((int)test_json_number(out, "natoms"), 6);
    assert_int_equal((int)test_json_number(out, "steps"), 1);
    test_assert_contains(out, "\"cell\": {");
    test_assert_contains(out, "\"lattice\": [");
    /* GULP's final cell: a = b = 4.510281, c = 3.067830 */
    ASSERT_NEAR(test_json_number(out, "a"), 4.510281, 2e-6);
    ASSERT_NEAR(test_json_number(out, "c"), 3.067830, 2e-6);
    ASSERT_NEAR(test_json_number(out, "alpha"), 90.0, 1e-3);
    free(out);

    /* the output file itself, human text */
    rc = test_run_cli(&out, "parse --code gulp '%s/gulp.got'", dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "converged");
    test_assert_contains(out, "-247.28322670 eV");
    test_assert_contains(out, "6 atoms");
    test_assert_contains(out, "cell");
    free(out);
}

static void test_gulp_run_without_verdict_is_a_failed_run(void **state)
{
    (void)state;
    const char *src = test_shared_path("testdata/gulp/ysrtio-icsd-3/gulp.got");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/gulp-failed", test_tmpdir());
    assert_int_equal(sh("mkdir -p '%s' && grep -v 'Optimisation achieved' '%s' > '%s/gulp.got'", dir, src, dir), 0);
    char *out;
    int rc = test_run_cli(&out, "parse --code gulp '%s' --json", dir);
    assert_int_equal(rc, 3);
    test_assert_contains(out, "\"status\": \"unparsable\"");
    test_assert_contains(out, "without a verdict");
    free(out);

    /* GULP giving up: not converged, with its signature */
    assert_int_equal(sh("sed 's/\\*\\*\\*\\* Optimisation achieved \\*\\*\\*\\*/**** Too many failed attempts to "
                        "optimise ****/' '%s' > '%s/gulp.got'",
                        src, dir),
                     0);
    rc = test_run_cli(&out, "parse --code gulp '%s/gulp.got' --json", dir);
    assert_int_equal(rc, 3);
    test_assert_contains(out, "\"status\": \"not_converged\"");
    test_assert_contains(out, "\"signature\": \"");
    ASSERT_NEAR(test_json_number(out, "energy"), -247.28322670, 1e-8);
    free(out);
    rc = test_run_cli(&out, "parse --code gulp '%s/gulp.got'", dir);
    assert_int_equal(rc, 3);
    test_assert_contains(out, "not_converged");
    test_assert_contains(out, "reason");
    free(out);
}

/* ---- VASP ---- */

static const char *vasp_copy(void)
{
    static char dir[1024];
    if (dir[0]) return dir;
    const char *src = test_shared_path("testdata/vasp/nboc-relax");
    snprintf(dir, sizeof dir, "%s/nboc-relax", test_tmpdir());
    assert_int_equal(sh("mkdir -p '%s' && cp '%s'/OSZICAR '%s'/CONTCAR '%s'/POSCAR '%s'/INCAR '%s/' && "
                        "gzip -dc '%s/OUTCAR.gz' > '%s/OUTCAR' && gzip -dc '%s/vasprun.xml.gz' > '%s/vasprun.xml'",
                        dir, src, src, src, src, dir, src, dir, src, dir),
                     0);
    return dir;
}

static void test_vasp_relaxation_directory_and_outcar(void **state)
{
    (void)state;
    const char *dir = vasp_copy();
    char *out;
    char written[1024];
    snprintf(written, sizeof written, "%s/nboc-final.vasp", test_tmpdir());
    int rc = test_run_cli(&out, "parse --code vasp '%s' --json --structure '%s'", dir, written);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "\"status\": \"converged\"");
    ASSERT_NEAR(test_json_number(out, "energy"), -253.79850546, 1e-8);
    ASSERT_NEAR(test_json_number(out, "energy_per_atom"), -253.79850546 / 32, 1e-8);
    assert_int_equal((int)test_json_number(out, "natoms"), 32);
    assert_true(test_json_number(out, "steps") >= 1);
    test_assert_contains(out, "\"stress\": [");
    assert_true(test_json_number(out, "max_force") < 0.1);
    double volume = test_json_number(out, "volume");
    free(out);
    /* the written final structure reads back */
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_structure_read(written, FUSE2_FORMAT_AUTO, &s));
    assert_int_equal(s.natoms, 32);
    ASSERT_NEAR(fabs(fuse2_structure_volume(&s)), volume, 1e-6 * volume);
    fuse2_structure_free(&s);

    rc = test_run_cli(&out, "parse --code vasp '%s/OUTCAR'", dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "converged");
    test_assert_contains(out, "-253.79850546 eV");
    test_assert_contains(out, "32 atoms");
    free(out);
}

/* ---- Quantum ESPRESSO ---- */

static int have_pw(void)
{
    return access("/usr/bin/pw.x", X_OK) == 0 && access("/usr/share/espresso/pseudo/Si.pz-vbc.UPF", R_OK) == 0;
}

/* The one directory under base whose name starts with prefix. */
static void kept_dir(const char *base, const char *prefix, char *out, size_t size)
{
    DIR *d = opendir(base);
    if (!d) fail_msg("no scratch directory %s", base);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(out, size, "%s/%s", base, e->d_name);
            found++;
        }
    closedir(d);
    assert_int_equal(found, 1);
}

static void test_qe_scf_output_and_truncated_copy(void **state)
{
    (void)state;
    if (!have_pw()) {
        fprintf(stderr, "pw.x or Si.pz-vbc.UPF missing: skipped\n");
        skip();
    }
    char scratch[1024];
    snprintf(scratch, sizeof scratch, "%s/qe-scratch", test_tmpdir());
    fuse2_setting items[] = {{"scratch", scratch, "test"},
                             {"pseudopotentials", "Si Si.pz-vbc.UPF", "test"},
                             {"ecutwfc", "18", "test"},
                             {"kpoints", "4 4 4 0 0 0", "test"},
                             {"keep_scratch", "true", "test"}};
    fuse2_settings set = {5, items};
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    const double h = 5.43 / 2;
    const double L[3][3] = {{0, h, h}, {h, 0, h}, {h, h, 0}};
    memcpy(s.lattice, L, sizeof L);
    const double f0[3] = {0, 0, 0}, f1[3] = {0.25, 0.25, 0.25};
    ASSERT_OK(fuse2_structure_add_atom(&s, 14, f0));
    ASSERT_OK(fuse2_structure_add_atom(&s, 14, f1));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    char dir[2048];
    kept_dir(scratch, "qe-", dir, sizeof dir);

    char *out;
    int rc = test_run_cli(&out, "parse --code qe '%s' --json", dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "\"code\": \"qe\"");
    test_assert_contains(out, "\"status\": \"converged\"");
    test_assert_contains(out, "pw.out\"");
    ASSERT_NEAR(test_json_number(out, "energy"), r.energy, 1e-6);
    ASSERT_NEAR(test_json_number(out, "energy_per_atom"), r.energy / 2, 1e-6);
    assert_int_equal((int)test_json_number(out, "natoms"), 2);
    ASSERT_NEAR(test_json_number(out, "volume"), fabs(fuse2_structure_volume(&s)), 1e-3);
    ASSERT_NEAR(test_json_number(out, "alpha"), 60.0, 1e-3);
    free(out);

    /* the output file, text */
    rc = test_run_cli(&out, "parse --code qe '%s/pw.out'", dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "converged");
    test_assert_contains(out, "Si2, 2 atoms");
    free(out);

    /* the run died before "JOB DONE.": unparsable, exit 3, energy still shown */
    char cut[1024];
    snprintf(cut, sizeof cut, "%s/pw-truncated.out", test_tmpdir());
    assert_int_equal(sh("grep -v 'JOB DONE' '%s/pw.out' > '%s'", dir, cut), 0);
    rc = test_run_cli(&out, "parse --code qe '%s' --json", cut);
    assert_int_equal(rc, 3);
    test_assert_contains(out, "\"status\": \"unparsable\"");
    free(out);

    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* ---- LAMMPS ---- */

static void test_lammps_relaxation_directory(void **state)
{
    (void)state;
    if (test_run_capture("command -v lmp >/dev/null 2>&1", NULL) != 0)
        fail_msg("LAMMPS executable 'lmp' not found: install the Debian package `lammps`");
    char scratch[1024];
    snprintf(scratch, sizeof scratch, "%s/lammps-scratch", test_tmpdir());
    fuse2_setting items[] = {{"scratch", scratch, "test"},
                             {"pair_style", "buck/coul/long 10.0", "test"},
                             {"pair_coeff",
                              "* * 0.0 1.0 0.0\nSr O 1952.39 0.33685 19.22\nTi O 4590.7279 0.261 0.0\n"
                              "O O 1388.77 0.36262 175.0\n",
                              "test"},
                             {"charges", "Sr 2 Ti 4 O -2", "test"},
                             {"kspace_style", "ewald 1e-10", "test"},
                             {"keep_scratch", "true", "test"}};
    fuse2_settings set = {6, items};
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("lammps", &set, &calc));
    /* strained, sheared SrTiO3 with a lattice that is not lower triangular:
     * the parser maps LAMMPS' frame back to this one from fuse2_run.txt */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 5));
    const double L[3][3] = {{4.05, 0.08, -0.04}, {0.03, 3.85, 0.06}, {-0.05, 0.02, 3.98}};
    memcpy(s.lattice, L, sizeof L);
    const double f[5][3] = {{0.01, 0.02, -0.01}, {0.52, 0.49, 0.51}, {0.5, 0.47, 0.03}, {0.48, 0.02, 0.5},
                            {0.03, 0.5, 0.49}};
    const int z[5] = {38, 22, 8, 8, 8};
    for (int i = 0; i < 5; i++) ASSERT_OK(fuse2_structure_add_atom(&s, z[i], f[i]));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &r));
    if (r.status != FUSE2_RELAX_CONVERGED) fail_msg("lammps relaxation: %s", r.reason);
    char dir[2048];
    kept_dir(scratch, "lammps-", dir, sizeof dir);

    /* the library function without the input structure */
    fuse2_ext_output o;
    fuse2_ext_output_init(&o);
    ASSERT_OK(fuse2_lammps_parse_run(dir, NULL, &o));
    assert_int_equal(o.outcome, FUSE2_EXT_CONVERGED);
    assert_true(o.has_structure);
    assert_int_equal(o.structure.natoms, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(o.structure.species[i], z[i]);
    ASSERT_NEAR(o.energy, r.energy, 1e-9);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) ASSERT_NEAR(o.structure.lattice[a][b], s.lattice[a][b], 1e-9);
    fuse2_ext_output_free(&o);

    char *out;
    int rc = test_run_cli(&out, "parse --code lammps '%s' --json", dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "\"code\": \"lammps\"");
    test_assert_contains(out, "\"status\": \"converged\"");
    ASSERT_NEAR(test_json_number(out, "energy"), r.energy, 1e-6);
    ASSERT_NEAR(test_json_number(out, "energy_per_atom"), r.energy / 5, 1e-6);
    assert_int_equal((int)test_json_number(out, "natoms"), 5);
    assert_true(test_json_number(out, "steps") >= 1);
    ASSERT_NEAR(test_json_number(out, "volume"), fabs(fuse2_structure_volume(&s)), 1e-6);
    test_assert_contains(out, "\"formula\": \"");
    free(out);

    /* log.lammps names its directory; CIF written */
    char cif[1024];
    snprintf(cif, sizeof cif, "%s/srtio3-lammps.cif", test_tmpdir());
    rc = test_run_cli(&out, "parse --code lammps '%s/log.lammps' --structure '%s'", dir, cif);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    test_assert_contains(out, "converged");
    test_assert_contains(out, "5 atoms");
    free(out);
    fuse2_structure back = {0};
    ASSERT_OK(fuse2_structure_read(cif, FUSE2_FORMAT_AUTO, &back));
    assert_int_equal(back.natoms, 5);
    fuse2_structure_free(&back);

    /* a run that did not finish: the final files gone */
    assert_int_equal(sh("rm -f '%s/fuse2_final.txt'", dir), 0);
    rc = test_run_cli(&out, "parse --code lammps '%s' --json", dir);
    assert_int_equal(rc, 3);
    test_assert_contains(out, "\"status\": \"unparsable\"");
    test_assert_contains(out, "did not finish");
    free(out);

    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* ---- errors ---- */

static void test_errors_and_usage(void **state)
{
    (void)state;
    char *out;
    /* a missing path: exit 1, named */
    assert_int_equal(test_run_cli(&out, "parse --code gulp /nonexistent/gulp.got"), 1);
    test_assert_contains(out, "/nonexistent/gulp.got");
    test_assert_contains(out, "no such file");
    free(out);
    assert_int_equal(test_run_cli(&out, "parse --code vasp /nonexistent/run --json"), 1);
    test_assert_contains(out, "/nonexistent/run");
    free(out);
    /* a directory without the code's outputs: exit 1 */
    char empty[1024];
    snprintf(empty, sizeof empty, "%s/empty-run", test_tmpdir());
    assert_int_equal(sh("mkdir -p '%s'", empty), 0);
    const char *codes[] = {"gulp", "vasp", "qe", "lammps"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(test_run_cli(&out, "parse --code %s '%s'", codes[i], empty), 1);
        test_assert_contains(out, "empty-run");
        free(out);
    }
    /* compressed outputs are not read: said so, with the command to run */
    char packed[1024];
    snprintf(packed, sizeof packed, "%s/packed-run", test_tmpdir());
    const char *src = test_shared_path("testdata/vasp/nboc-relax");
    assert_int_equal(sh("mkdir -p '%s' && cp '%s/OUTCAR.gz' '%s/vasprun.xml.gz' '%s/'", packed, src, src, packed), 0);
    assert_int_equal(test_run_cli(&out, "parse --code vasp '%s'", packed), 1);
    test_assert_contains(out, "OUTCAR.gz found");
    test_assert_contains(out, "vasprun.xml.gz found");
    test_assert_contains(out, "decompress it first (gunzip -k");
    free(out);
    /* with CONTCAR and OSZICAR beside them (the shared run as stored) */
    assert_int_equal(test_run_cli(&out, "parse --code vasp '%s' --json", src), 1);
    test_assert_contains(out, "OUTCAR.gz found but no OUTCAR");
    free(out);
    /* a compressed file named directly, for any code */
    assert_int_equal(test_run_cli(&out, "parse --code vasp '%s/OUTCAR.gz'", packed), 1);
    test_assert_contains(out, "is compressed (.gz): decompress it first");
    free(out);
    assert_int_equal(test_run_cli(&out, "parse --code gulp '%s/OUTCAR.gz'", packed), 1);
    test_assert_contains(out, "is compressed");
    free(out);
    /* usage: exit 2 */
    assert_int_equal(test_run_cli(&out, "parse '%s'", empty), 2);
    test_assert_contains(out, "--code");
    free(out);
    assert_int_equal(test_run_cli(&out, "parse --code castep '%s'", empty), 2);
    test_assert_contains(out, "castep");
    free(out);
    assert_int_equal(test_run_cli(&out, "parse --code gulp"), 2);
    free(out);
    assert_int_equal(test_run_cli(&out, "parse --code gulp '%s' --frobnicate", empty), 2);
    free(out);
    /* help */
    assert_int_equal(test_run_cli(&out, "parse --help"), 0);
    test_assert_contains(out, "usage: fuse2 parse");
    free(out);
    assert_int_equal(test_run_cli(&out, "--help"), 0);
    test_assert_contains(out, "parse");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gulp_reference_directory_and_file),
        cmocka_unit_test(test_gulp_run_without_verdict_is_a_failed_run),
        cmocka_unit_test(test_vasp_relaxation_directory_and_outcar),
        cmocka_unit_test(test_qe_scf_output_and_truncated_copy),
        cmocka_unit_test(test_lammps_relaxation_directory),
        cmocka_unit_test(test_errors_and_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
