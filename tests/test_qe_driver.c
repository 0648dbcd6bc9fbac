/* The "qe" calculator with the real pw.x (Debian's 6.7, calculators.md §8):
 * a vc-relax of 2-atom diamond Si through fuse2_relax, scf single points
 * (the stress sign on a compressed cell, forces on a displaced atom), nstep
 * running out (pw.x exit status 3 -> not converged, not a crash), and the
 * output parser on doctored copies of a real output (error block, truncation,
 * NaN, alat-unit cell). About 3 s of pw.x in all. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "fuse2/external.h"
#include "fuse2/qe.h"
#include "fuse2/relax.h"

#define PSEUDO_DIR "/usr/share/espresso/pseudo"

static int have_pw(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/Si.pz-vbc.UPF", PSEUDO_DIR);
    return access("/usr/bin/pw.x", X_OK) == 0 && access(path, R_OK) == 0;
}

#define REQUIRE_PW()                                                                                                  \
    do {                                                                                                              \
        if (!have_pw()) {                                                                                             \
            fprintf(stderr, "pw.x or Si.pz-vbc.UPF missing: skipped\n");                                              \
            skip();                                                                                                   \
        }                                                                                                             \
    } while (0)

/* Diamond Si in the primitive fcc cell: lattice a/2 (0 1 1), (1 0 1), (1 1 0). */
static void silicon(fuse2_structure *s, double a, double shift)
{
    ASSERT_OK(fuse2_structure_init(s, 2));
    double h = a / 2;
    double L[3][3] = {{0, h, h}, {h, 0, h}, {h, h, 0}};
    memcpy(s->lattice, L, sizeof L);
    double f0[3] = {0, 0, 0}, f1[3] = {0.25 + shift, 0.25, 0.25 - shift};
    ASSERT_OK(fuse2_structure_add_atom(s, 14, f0));
    ASSERT_OK(fuse2_structure_add_atom(s, 14, f1));
}

/* Settings with a scratch directory of its own under the test directory. */
typedef struct settings_buf {
    fuse2_setting items[16];
    int n;
    char scratch[512];
} settings_buf;

static void settings_add(settings_buf *b, const char *key, const char *value)
{
    assert_true(b->n < 16);
    static char origins[64][32];
    static int next;
    char *origin = origins[next++ % 64];
    snprintf(origin, sizeof origins[0], "test.yaml:%d", b->n + 1);
    b->items[b->n++] = (fuse2_setting){key, value, origin};
}

static fuse2_settings base_settings(settings_buf *b, const char *scratch_name)
{
    memset(b, 0, sizeof *b);
    snprintf(b->scratch, sizeof b->scratch, "%s/%s", test_tmpdir(), scratch_name);
    settings_add(b, "scratch", b->scratch);
    settings_add(b, "pseudopotentials", "Si Si.pz-vbc.UPF");
    settings_add(b, "ecutwfc", "18");
    settings_add(b, "kpoints", "4 4 4 0 0 0");
    return (fuse2_settings){b->n, b->items};
}

static fuse2_settings settings_of(settings_buf *b) { return (fuse2_settings){b->n, b->items}; }

/* The one kept run directory under scratch ("qe-XXXXXX"). */
static void kept_dir(const char *scratch, char *out, size_t size)
{
    DIR *d = opendir(scratch);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "qe-", 3)) {
            snprintf(out, size, "%s/%s", scratch, e->d_name);
            found++;
        }
    closedir(d);
    assert_int_equal(found, 1);
}

/* ---- the vc-relax, run once and shared by the tests that need it ---- */

static int vc_done;
static fuse2_structure vc_final;
static fuse2_relax_result vc_result;
static char vc_dir[1024];

static void run_vc_relax(void)
{
    if (vc_done) return;
    settings_buf b;
    base_settings(&b, "vc");
    settings_add(&b, "keep_scratch", "true");
    /* the default fmax 0.01 eV/A and smax 1e-4 eV/A^3 apply */
    fuse2_settings set = settings_of(&b);
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    silicon(&vc_final, 5.43, 0);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result_init(&vc_result);
    ASSERT_OK(fuse2_relax(&calc, &vc_final, &opt, &vc_result));
    fuse2_calc_destroy(&calc);
    kept_dir(b.scratch, vc_dir, sizeof vc_dir);
    vc_done = 1;
}

static void test_vc_relax(void **state)
{
    (void)state;
    REQUIRE_PW();
    run_vc_relax();
    if (vc_result.status != FUSE2_RELAX_CONVERGED) fail_msg("vc-relax: %s", vc_result.reason);
    /* calculators.md §8: -15.8307 Ry after the final SCF (-15.83065993 Ry
     * with pw.x's default thresholds; ours are tighter) */
    ASSERT_NEAR(vc_result.energy, -15.8307 * FUSE2_QE_RY_EV, 0.002 * FUSE2_QE_RY_EV);
    ASSERT_NEAR(vc_result.energy_per_atom, vc_result.energy / 2, 1e-12);
    assert_true(vc_result.steps >= 2);
    /* LDA shrinks the cell a little: a = sqrt(2) |a_1| about 5.39 A */
    double len = sqrt(vc_final.lattice[0][0] * vc_final.lattice[0][0] +
                      vc_final.lattice[0][1] * vc_final.lattice[0][1] +
                      vc_final.lattice[0][2] * vc_final.lattice[0][2]);
    double a = len * sqrt(2.0);
    if (!(a > 5.36 && a < 5.42)) fail_msg("relaxed a = %.4f A", a);
    assert_true(fabs(fuse2_structure_volume(&vc_final)) < 5.43 * 5.43 * 5.43 / 4);
    /* the geometry stays diamond */
    ASSERT_NEAR(vc_final.frac[1][0] - vc_final.frac[0][0], 0.25, 1e-6);
    /* final stress and forces of the final SCF came back, near zero */
    assert_true(vc_result.max_force < 0.01);
    for (int k = 0; k < 3; k++) assert_true(fabs(vc_result.final.stress[k][k]) < 5e-4);

    /* the input that was written */
    char path[1200];
    snprintf(path, sizeof path, "%s/pw.in", vc_dir);
    char *in = test_read_file(path);
    assert_non_null(in);
    assert_non_null(strstr(in, "calculation = 'vc-relax'"));
    assert_non_null(strstr(in, "nstep = 1000"));
    assert_non_null(strstr(in, "cell_dofree = 'all'"));
    assert_non_null(strstr(in, "press = 0"));
    assert_non_null(strstr(in, "K_POINTS automatic\n4 4 4 0 0 0"));
    assert_non_null(strstr(in, "Si  28.085"));
    /* fmax 0.01 eV/A in Ry/bohr */
    assert_non_null(strstr(in, "forc_conv_thr = 3.889"));
    free(in);
}

/* The output alone, as `fuse2 parse --code qe` will read it. */
static void test_parse_real_output(void **state)
{
    (void)state;
    REQUIRE_PW();
    run_vc_relax();
    char path[1200];
    snprintf(path, sizeof path, "%s/pw.out", vc_dir);
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    fuse2_qe_summary sum;
    ASSERT_OK(fuse2_qe_output_parse_ex(path, NULL, &out, &sum));
    assert_int_equal(out.outcome, FUSE2_EXT_CONVERGED);
    assert_string_equal(sum.version, "6.7MaX");
    assert_int_equal(sum.nat, 2);
    assert_true(sum.bfgs_converged && sum.bfgs_end && sum.final_scf && sum.job_done);
    /* the final SCF (fresh basis) differs from the BFGS enthalpy a little;
     * the reported energy is the final SCF's */
    assert_true(isfinite(sum.final_enthalpy_ry));
    assert_true(fabs(sum.energy_ry - sum.final_enthalpy_ry) < 0.005);
    assert_true(sum.energy_ry != sum.final_enthalpy_ry);
    ASSERT_NEAR(out.energy, sum.energy_ry * FUSE2_QE_RY_EV, 1e-9);
    ASSERT_NEAR(out.energy, vc_result.energy, 1e-9);
    assert_int_equal(out.ionic_steps, sum.scf_energies);
    /* without the input: species from the labels, cell and positions from
     * the last blocks */
    assert_true(out.has_structure);
    assert_int_equal(out.structure.natoms, 2);
    assert_int_equal(out.structure.species[0], 14);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) ASSERT_NEAR(out.structure.lattice[r][c], vc_final.lattice[r][c], 1e-12);
    assert_true(out.has_forces && out.has_stress);
    fuse2_ext_output_free(&out);
}

/* ---- doctored copies of the real output ---- */

static char *real_output(void)
{
    run_vc_relax();
    char path[1200];
    snprintf(path, sizeof path, "%s/pw.out", vc_dir);
    char *text = test_read_file(path);
    assert_non_null(text);
    return text;
}

static void parse_text(const char *text, fuse2_ext_output *out)
{
    fuse2_ext_output_init(out);
    ASSERT_OK(fuse2_qe_output_parse_string(text, "doctored pw.out", NULL, out, NULL));
}

static void test_parse_failures(void **state)
{
    (void)state;
    REQUIRE_PW();
    char *text = real_output();
    size_t len = strlen(text);
    char *buf = malloc(len + 4096);
    assert_non_null(buf);
    fuse2_ext_output out;

    /* an error block after the second SCF, where pw.x stops */
    const char *second = strstr(strstr(text, "!    total energy") + 1, "!    total energy");
    assert_non_null(second);
    size_t head = (size_t)(second - text);
    memcpy(buf, text, head);
    strcpy(buf + head,
           "\n %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n"
           "     Error in routine cdiaghg (181):\n"
           "     S matrix not positive definite\n"
           " %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n"
           "\n     stopping ...\n");
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_CRASHED);
    assert_string_equal(out.signature, "cdiaghg");
    assert_string_equal(out.reason, "Error in routine cdiaghg (181): S matrix not positive definite");
    fuse2_ext_output_free(&out);

    /* BFGS converged on the last cycle nstep allowed: the final SCF at the
     * relaxed structure is announced but never run (pw.x exits 3) */
    const char *final_scf = strstr(text, "Final scf calculation at the relaxed structure");
    if (final_scf) {
        const char *last_bang = strstr(final_scf, "!    total energy");
        assert_non_null(last_bang);
        size_t cut = (size_t)(last_bang - text);
        memcpy(buf, text, cut);
        const char *eol = strchr(last_bang, '\n');
        strcpy(buf + cut, eol ? eol + 1 : "");
        parse_text(buf, &out);
        assert_int_equal(out.outcome, FUSE2_EXT_NOT_CONVERGED);
        assert_string_equal(out.signature, "max_steps");
        assert_non_null(strstr(out.reason, "before the final SCF"));
        fuse2_ext_output_free(&out);
    } else {
        fail_msg("the real vc-relax output has no final SCF");
    }

    /* truncated in the middle of the relaxation: no JOB DONE */
    memcpy(buf, text, len / 2);
    buf[len / 2] = '\0';
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_UNPARSABLE);
    assert_non_null(strstr(out.reason, "JOB DONE"));
    assert_true(isfinite(out.energy)); /* the last energy found is still reported */
    fuse2_ext_output_free(&out);

    /* truncated before the first energy */
    const char *first = strstr(text, "!    total energy");
    memcpy(buf, text, (size_t)(first - text));
    buf[first - text] = '\0';
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_UNPARSABLE);
    fuse2_ext_output_free(&out);

    /* a missing file */
    fuse2_ext_output_init(&out);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such/pw.out", test_tmpdir());
    ASSERT_OK(fuse2_qe_output_parse(missing, NULL, &out));
    assert_int_equal(out.outcome, FUSE2_EXT_UNPARSABLE);
    assert_non_null(strstr(out.reason, "cannot open"));
    fuse2_ext_output_free(&out);

    /* NaN in the last energy */
    strcpy(buf, text);
    char *last = NULL;
    for (char *p = strstr(buf, "!    total energy"); p; p = strstr(p + 1, "!    total energy")) last = p;
    char *eq = strchr(last, '=');
    memcpy(eq + 1, "              NaN", 17); /* "     -15.83065993" */
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_NON_FINITE);
    assert_true(isnan(out.energy));
    fuse2_ext_output_free(&out);
    /* Fortran's overflow, garbled digits */
    memcpy(eq + 1, "  ***************", 17);
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_NON_FINITE);
    fuse2_ext_output_free(&out);
    memcpy(eq + 1, "     -15.8x065993", 17);
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_NON_FINITE);
    fuse2_ext_output_free(&out);
    /* a NaN force */
    strcpy(buf, text);
    char *force = NULL;
    for (char *p = strstr(buf, "   force ="); p; p = strstr(p + 1, "   force =")) force = p;
    force += 3;
    char *num = force + strlen("force =");
    while (*num == ' ') num++;
    size_t width = strcspn(num, " \n");
    memset(num, ' ', width - 3);
    memcpy(num + width - 3, "NaN", 3);
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_NON_FINITE);
    assert_false(out.has_forces);
    fuse2_ext_output_free(&out);
    /* a garbled force: the same */
    memcpy(num + width - 3, "1x3", 3);
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_NON_FINITE);
    fuse2_ext_output_free(&out);

    /* SCF not converged: crashed, not merely not converged */
    strcpy(buf, text);
    char *conv = strstr(buf, "     convergence has been achieved in");
    assert_non_null(conv);
    const char *msg = "     convergence NOT achieved after 100 iterations: stopping";
    size_t keep = (size_t)(conv - buf);
    strcpy(buf + keep, msg);
    strcat(buf, "\n\n   JOB DONE.\n");
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_CRASHED);
    assert_string_equal(out.signature, "scf_not_converged");
    fuse2_ext_output_free(&out);

    free(buf);
    free(text);
}

/* "CELL_PARAMETERS (alat= x)" means units of alat in bohr. */
static void test_parse_alat_cell(void **state)
{
    (void)state;
    REQUIRE_PW();
    char *text = real_output();
    size_t len = strlen(text);
    char *buf = malloc(len + 4096);
    assert_non_null(buf);
    char *last = NULL;
    for (char *p = strstr(text, "CELL_PARAMETERS (angstrom)"); p; p = strstr(p + 1, "CELL_PARAMETERS (angstrom)"))
        last = p;
    assert_non_null(last);
    const double alat = 10.2; /* bohr */
    size_t head = (size_t)(last - text);
    memcpy(buf, text, head);
    int n = sprintf(buf + head, "CELL_PARAMETERS (alat= %.8f)\n", alat);
    for (int r = 0; r < 3; r++)
        n += sprintf(buf + head + n, " %14.9f %14.9f %14.9f\n", vc_final.lattice[r][0] / (alat * FUSE2_QE_BOHR_A),
                     vc_final.lattice[r][1] / (alat * FUSE2_QE_BOHR_A),
                     vc_final.lattice[r][2] / (alat * FUSE2_QE_BOHR_A));
    const char *after = last;
    for (int k = 0; k < 4; k++) after = strchr(after, '\n') + 1;
    strcpy(buf + head + n, after);
    fuse2_ext_output out;
    parse_text(buf, &out);
    assert_int_equal(out.outcome, FUSE2_EXT_CONVERGED);
    assert_true(out.has_structure);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) ASSERT_NEAR(out.structure.lattice[r][c], vc_final.lattice[r][c], 1e-8);
    fuse2_ext_output_free(&out);
    free(buf);
    free(text);
}

/* ---- single points ---- */

/* A compressed cell (a = 5.2 A; pw.x prints P = +132 kbar) with the second
 * atom displaced: the project's stress is negative on the diagonal, and the
 * displaced atom is pulled back. */
static void test_scf_stress_and_forces(void **state)
{
    (void)state;
    REQUIRE_PW();
    settings_buf b;
    fuse2_settings set = base_settings(&b, "scf");
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    fuse2_structure s;
    silicon(&s, 5.2, 0.01);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    assert_true(isfinite(r.energy));
    ASSERT_NEAR(r.energy_per_atom, r.energy / 2, 1e-12);
    double P = -(r.stress[0][0] + r.stress[1][1] + r.stress[2][2]) / 3;
    /* about +130 kbar = 0.08 eV/A^3 of pressure */
    if (!(P * FUSE2_QE_EV_A3_IN_KBAR > 80 && P * FUSE2_QE_EV_A3_IN_KBAR < 200))
        fail_msg("pressure %.2f kbar", P * FUSE2_QE_EV_A3_IN_KBAR);
    for (int k = 0; k < 3; k++) assert_true(r.stress[k][k] < 0);
    ASSERT_NEAR(r.stress[0][1], r.stress[1][0], 1e-6);
    /* restoring force on atom 2, equal and opposite on atom 1 */
    double disp[3];
    for (int k = 0; k < 3; k++)
        disp[k] = 0.01 * s.lattice[0][k] - 0.01 * s.lattice[2][k]; /* Cartesian displacement */
    double dot = 0, fnorm = 0;
    for (int k = 0; k < 3; k++) {
        dot += r.forces[1][k] * disp[k];
        fnorm += r.forces[1][k] * r.forces[1][k];
        ASSERT_NEAR(r.forces[0][k], -r.forces[1][k], 1e-5);
    }
    assert_true(sqrt(fnorm) > 0.05); /* eV/A: a real force, not noise */
    assert_true(dot < 0);
    /* a successful run leaves no scratch directory behind */
    DIR *d = opendir(b.scratch);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) assert_true(strncmp(e->d_name, "qe-", 3) != 0);
    closedir(d);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* nstep runs out: pw.x exits with status 3, which is a not-converged
 * relaxation with a usable geometry, not a crash. */
static void test_max_steps(void **state)
{
    (void)state;
    REQUIRE_PW();
    settings_buf b;
    base_settings(&b, "nstep");
    settings_add(&b, "nstep", "1");
    settings_add(&b, "keep_scratch", "on");
    fuse2_settings set = settings_of(&b);
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    fuse2_structure s;
    silicon(&s, 5.43, 0.01);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.pressure = 0.1; /* eV/A^3 = 160.2176634 kbar */
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &r));
    if (r.status != FUSE2_RELAX_MAX_STEPS) fail_msg("status %s: %s", fuse2_relax_status_name(r.status), r.reason);
    assert_non_null(strstr(r.reason, "not_converged"));
    assert_true(isfinite(r.energy));
    ASSERT_NEAR(r.enthalpy, r.energy + 0.1 * fabs(fuse2_structure_volume(&s)), 1e-9);
    char dir[1024], path[1200];
    kept_dir(b.scratch, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pw.in", dir);
    char *in = test_read_file(path);
    assert_non_null(in);
    assert_non_null(strstr(in, "press = 160.2176634\n"));
    assert_non_null(strstr(in, "nstep = 1\n"));
    free(in);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* Stand-ins for pw.x: an error that only reached the CRASH file (raised on
 * a rank other than the first), and exit status 3 without the nstep
 * message (not a max-steps run: a crash). */
static void test_fake_runs(void **state)
{
    (void)state;
    if (access(PSEUDO_DIR "/Si.pz-vbc.UPF", R_OK) != 0) skip();
    settings_buf b;
    base_settings(&b, "fake");
    /* the YAML list form of kpoints: [2, 2, 3] */
    b.items[3] = (fuse2_setting){"kpoints.0", "2", "test.yaml:4"};
    settings_add(&b, "kpoints.1", "2");
    settings_add(&b, "kpoints.2", "3");
    settings_add(&b, "command",
                 "echo '     Program PWSCF v.6.7MaX starts on  3Dec2026'; "
                 "printf ' %%%%%%%%\n     task #         1\n     from cdiaghg : error #       181\n"
                 "     S matrix not positive definite\n %%%%%%%%\n' > CRASH; exit 1");
    fuse2_settings set = settings_of(&b);
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    fuse2_structure s;
    silicon(&s, 5.43, 0);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    assert_int_equal(fuse2_calc_compute(&calc, &s, &r), FUSE2_ERR_EXTERNAL);
    test_assert_error_contains("crashed: Error in routine cdiaghg (181): S matrix not positive definite");
    fuse2_calc_destroy(&calc);
    /* a failed run keeps its directory: the scf input is there */
    char dir[1024], path[1200];
    kept_dir(b.scratch, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pw.in", dir);
    char *in = test_read_file(path);
    assert_non_null(in);
    assert_non_null(strstr(in, "calculation = 'scf'"));
    assert_null(strstr(in, "&ions"));
    assert_null(strstr(in, "&cell"));
    assert_null(strstr(in, "nstep"));
    assert_non_null(strstr(in, "K_POINTS automatic\n2 2 3 0 0 0"));
    free(in);

    base_settings(&b, "fake3");
    settings_add(&b, "command", "echo 'JOB DONE.'; exit 3");
    set = settings_of(&b);
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result rr;
    fuse2_relax_result_init(&rr);
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &rr));
    assert_int_equal(rr.status, FUSE2_RELAX_FAILED);
    assert_non_null(strstr(rr.reason, "crashed: qe: exit code 3"));
    fuse2_relax_result_free(&rr);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* ---- settings ---- */

static void test_settings_errors(void **state)
{
    (void)state;
    fuse2_calc calc;
    settings_buf b;
    fuse2_settings set;

    /* the common keys are all accepted */
    const fuse2_calc_ops *ops = fuse2_calc_find("qe");
    assert_non_null(ops);
    for (const char *const *k = fuse2_ext_common_keys; *k; k++) {
        if (!fuse2_calc_key_known(ops, *k)) fail_msg("common key '%s' not accepted by qe", *k);
    }

    if (access(PSEUDO_DIR "/Si.pz-vbc.UPF", R_OK) != 0) {
        fprintf(stderr, "pseudopotentials missing: settings checks that need them skipped\n");
        return;
    }
    /* a pseudopotential file that does not exist: at create(), naming it */
    memset(&b, 0, sizeof b);
    settings_add(&b, "ecutwfc", "18");
    settings_add(&b, "pseudopotentials", "Si Si.pz-vbc.UPF O O.missing.UPF");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("test.yaml:2");
    test_assert_error_contains(PSEUDO_DIR "/O.missing.UPF");
    test_assert_error_contains("for O");

    /* no pseudopotentials at all, no ecutwfc */
    memset(&b, 0, sizeof b);
    settings_add(&b, "ecutwfc", "18");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("'pseudopotentials' setting is required");
    memset(&b, 0, sizeof b);
    settings_add(&b, "pseudopotentials", "Si Si.pz-vbc.UPF");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("'ecutwfc'");

    /* kpoints and kspacing together; a bad mesh */
    base_settings(&b, "bad");
    settings_add(&b, "kspacing", "0.3");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("choose one");
    base_settings(&b, "bad");
    b.items[3].value = "4 4 0";
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("test.yaml:4");

    /* extra namelist text: a key the driver owns, a line that is no entry */
    base_settings(&b, "bad");
    settings_add(&b, "system", "nspin = 1\nnat = 3\n");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("test.yaml:5: 'system' line 2: nat is set by the qe driver");
    base_settings(&b, "bad");
    settings_add(&b, "system.nat", "3");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("test.yaml:5: 'system.nat': nat is set by the qe driver");
    base_settings(&b, "bad");
    settings_add(&b, "kpoints.0", "2");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("'kpoints' is given twice");
    base_settings(&b, "bad");
    settings_add(&b, "pseudopotentials.Si", "Si.pbe-rrkj.UPF");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("Si is given twice");
    base_settings(&b, "bad");
    settings_add(&b, "electrons", "conv_thr = 1d-8\n/\n");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("expected one \"key = value\" entry");
    base_settings(&b, "bad");
    settings_add(&b, "calculation", "md");
    set = settings_of(&b);
    assert_int_equal(fuse2_calc_create("qe", &set, &calc), FUSE2_ERR_ARG);
    test_assert_error_contains("vc-relax or relax");

    /* an element without a pseudopotential: when its structure is written */
    base_settings(&b, "noel");
    set = settings_of(&b);
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    fuse2_structure s;
    silicon(&s, 5.43, 0);
    s.species[1] = 8;
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    assert_int_equal(fuse2_calc_compute(&calc, &s, &r), FUSE2_ERR_ARG);
    test_assert_error_contains("no pseudopotential for O");
    test_assert_error_contains("test.yaml:2");
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* The written input for extra namelist text, smearing, masses, kspacing
 * and a fixed cell, checked by pw.x itself reading it (a relax). */
static void test_input_options(void **state)
{
    (void)state;
    REQUIRE_PW();
    settings_buf b;
    memset(&b, 0, sizeof b);
    snprintf(b.scratch, sizeof b.scratch, "%s/opts", test_tmpdir());
    settings_add(&b, "scratch", b.scratch);
    settings_add(&b, "keep_scratch", "yes");
    /* YAML mappings arrive flattened: pseudopotentials: {Si: ...} */
    settings_add(&b, "pseudopotentials.Si", "Si.pz-vbc.UPF");
    settings_add(&b, "ecutwfc", "16");
    settings_add(&b, "kspacing", "0.5");
    settings_add(&b, "smearing", "mv");
    settings_add(&b, "degauss", "0.02");
    settings_add(&b, "masses.Si", "28.0");
    settings_add(&b, "electrons", "! tighter SCF\nconv_thr = 1.0d-9,\n");
    settings_add(&b, "electrons.mixing_beta", "0.5");
    settings_add(&b, "ions", "ion_dynamics = 'bfgs'\n");
    settings_add(&b, "control.prefix", "si");
    settings_add(&b, "system.nosym", "false");
    fuse2_settings set = settings_of(&b);
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("qe", &set, &calc));
    fuse2_structure s;
    silicon(&s, 5.43, 0.01);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.fixed_cell = 1;
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &r));
    if (r.status != FUSE2_RELAX_CONVERGED) fail_msg("relax: %s", r.reason);
    /* the atom went back to the diamond site; the cell did not move */
    ASSERT_NEAR(s.frac[1][0] - s.frac[0][0], 0.25, 2e-3);
    ASSERT_NEAR(s.lattice[0][1], 5.43 / 2, 1e-12);
    char dir[1024], path[1200];
    kept_dir(b.scratch, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pw.in", dir);
    char *in = test_read_file(path);
    assert_non_null(in);
    assert_non_null(strstr(in, "calculation = 'relax'"));
    assert_null(strstr(in, "&cell"));
    assert_non_null(strstr(in, "prefix = 'si'"));
    assert_null(strstr(in, "prefix = 'fuse2'"));
    assert_non_null(strstr(in, "occupations = 'smearing'\n  smearing = 'mv'\n  degauss = 0.02"));
    assert_non_null(strstr(in, "&electrons\n  conv_thr = 1.0d-9\n  mixing_beta = 0.5\n/"));
    assert_non_null(strstr(in, "  nosym = .false.\n/"));
    assert_non_null(strstr(in, "&ions\n  ion_dynamics = 'bfgs'\n/"));
    assert_non_null(strstr(in, "Si  28.000000 Si.pz-vbc.UPF"));
    /* kspacing 0.5: |b| = 2 pi sqrt(3) / 5.43 = 2.004 1/A -> 5 points */
    assert_non_null(strstr(in, "K_POINTS automatic\n5 5 5 0 0 0"));
    free(in);

    /* the output alone: relax prints no cell, so it comes from the header
     * ("crystal axes", alat units with 6 decimals) */
    snprintf(path, sizeof path, "%s/pw.out", dir);
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    ASSERT_OK(fuse2_qe_output_parse(path, NULL, &out));
    assert_int_equal(out.outcome, FUSE2_EXT_CONVERGED);
    assert_true(out.has_structure);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(out.structure.lattice[i][k], s.lattice[i][k], 2e-5);
    for (int k = 0; k < 3; k++) ASSERT_NEAR(out.structure.frac[1][k], s.frac[1][k], 1e-9);
    fuse2_ext_output_free(&out);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

int main(void)
{
    /* pw.x and OpenBLAS threads would fight over the two cores */
    setenv("OMP_NUM_THREADS", "1", 0);
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_fake_runs),
        cmocka_unit_test(test_vc_relax),
        cmocka_unit_test(test_parse_real_output),
        cmocka_unit_test(test_parse_failures),
        cmocka_unit_test(test_parse_alat_cell),
        cmocka_unit_test(test_scf_stress_and_forces),
        cmocka_unit_test(test_max_steps),
        cmocka_unit_test(test_input_options),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fuse2_structure_free(&vc_final);
    fuse2_relax_result_free(&vc_result);
    return failed;
}
