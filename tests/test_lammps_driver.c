/* The LAMMPS driver (calculator "lammps", src/calc/lammps_calc.c) with the
 * real Debian `lmp`: SrTiO3 with the rigid-ion Buckingham model of
 * examples/srtio3/SrTiO3-buck.lib (no C6 sum, rmin 0, pair cut-off 10 Å, the
 * way tests/test_lammps.c matches LAMMPS' buck/coul/long: pair terms
 * truncated without shift, Coulomb constant 14.399645) against the built-in
 * calculator, single point and variable-cell relaxation; then the failure
 * classes (a LAMMPS ERROR, a failing command, the time limit, the geometry
 * pre-check), the scratch directory policy and the settings errors. Each
 * lmp run takes well under a second. A missing `lmp` is a failure: the
 * set-up installs LAMMPS. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuse2/calc.h"
#include "fuse2/external.h"
#include "fuse2/neighbors.h"
#include "fuse2/relax.h"
#include "fuse2/structure.h"

#define LAMMPS_METAL_QQR2E "14.399645"

static const char *const BUILTIN_LIBRARY =
    "species\nSr core 2.0\nTi core 4.0\nO core -2.0\n"
    "buck\n"
    "O core Sr core 1952.39   0.33685 19.22 10.0\n"
    "O core Ti core 4590.7279 0.261    0.0  10.0\n"
    "O core O  core 1388.77   0.36262 175.0 10.0\n";

/* "Ti O" comes out as "3 2" in the type order Sr O Ti (first appearance)
 * and must be swapped; "* *" gives the cation-cation pairs zero strength. */
static const char *const PAIR_COEFF = "* * 0.0 1.0 0.0\n"
                                      "Sr O 1952.39 0.33685 19.22\n"
                                      "Ti O 4590.7279 0.261 0.0\n"
                                      "O O 1388.77 0.36262 175.0\n";

enum { MAX_SETTINGS = 24 };

typedef struct settings_builder {
    fuse2_setting item[MAX_SETTINGS];
    int count;
    char scratch[4096];
} settings_builder;

static void set(settings_builder *b, const char *key, const char *value)
{
    for (int i = 0; i < b->count; i++)
        if (!strcmp(b->item[i].key, key)) {
            b->item[i].value = value;
            return;
        }
    assert_true(b->count < MAX_SETTINGS);
    b->item[b->count].key = key;
    b->item[b->count].value = value;
    b->item[b->count].origin = "campaign.yaml:7";
    b->count++;
}

static void unset(settings_builder *b, const char *key)
{
    for (int i = 0; i < b->count; i++)
        if (!strcmp(b->item[i].key, key)) {
            b->item[i] = b->item[--b->count];
            return;
        }
}

static fuse2_settings view(const settings_builder *b) { return (fuse2_settings){b->count, b->item}; }

/* The SrTiO3 model, scratch in a directory of its own (name). */
static void srtio3_settings(settings_builder *b, const char *name)
{
    memset(b, 0, sizeof *b);
    snprintf(b->scratch, sizeof b->scratch, "%s/%s", test_tmpdir(), name);
    set(b, "scratch", b->scratch);
    set(b, "pair_style", "buck/coul/long 10.0");
    set(b, "pair_coeff", PAIR_COEFF);
    set(b, "charges", "Sr 2 Ti 4 O -2");
    set(b, "kspace_style", "ewald 1e-10");
}

static void require_lammps(void)
{
    if (test_run_capture("command -v lmp >/dev/null 2>&1", NULL) != 0)
        fail_msg("LAMMPS executable 'lmp' not found: install the Debian package `lammps` "
                 "(apt-get install --no-install-recommends lammps)");
}

/* Cubic perovskite, strained, sheared and rattled; the lattice is not lower
 * triangular, so the driver's rotation to LAMMPS' frame and back is used. */
static void strained_srtio3(fuse2_structure *s)
{
    ASSERT_OK(fuse2_structure_init(s, 5));
    const double L[3][3] = {{4.05, 0.08, -0.04}, {0.03, 3.85, 0.06}, {-0.05, 0.02, 3.98}};
    memcpy(s->lattice, L, sizeof L);
    const double f[5][3] = {{0.01, 0.02, -0.01}, {0.52, 0.49, 0.51}, {0.5, 0.47, 0.03}, {0.48, 0.02, 0.5},
                            {0.03, 0.5, 0.49}};
    const int z[5] = {38, 22, 8, 8, 8};
    for (int i = 0; i < 5; i++) ASSERT_OK(fuse2_structure_add_atom(s, z[i], f[i]));
}

static void create_builtin(fuse2_calc *calc)
{
    const char *lib = test_write_file("srtio3-nodisp.lib", BUILTIN_LIBRARY);
    fuse2_setting items[] = {{"library", lib, "test"}, {"coulomb_constant", LAMMPS_METAL_QQR2E, "test"}};
    fuse2_settings settings = {2, items};
    ASSERT_OK(fuse2_calc_create("builtin", &settings, calc));
}

/* Scratch directories left in base. */
static int count_dirs(const char *base, char *last, int size)
{
    DIR *d = opendir(base);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "lammps-", 7)) {
            n++;
            if (last && snprintf(last, (size_t)size, "%s/%s", base, e->d_name) >= size) last[0] = '\0';
        }
    closedir(d);
    return n;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double max_abs_diff(const double *a, const double *b, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* ---- tests ---- */

static void test_registered_with_the_common_keys(void **state)
{
    (void)state;
    const fuse2_calc_ops *ops = fuse2_calc_find("lammps");
    assert_non_null(ops);
    assert_non_null(ops->relax);
    for (const char *const *k = fuse2_ext_common_keys; *k; k++) {
        if (!fuse2_calc_key_known(ops, *k)) fail_msg("common key '%s' not accepted by lammps", *k);
    }
}

static void test_single_point_equals_the_builtin_calculator(void **state)
{
    (void)state;
    require_lammps();
    settings_builder b;
    srtio3_settings(&b, "sp");
    fuse2_settings st = view(&b);
    fuse2_calc lmp, builtin;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &lmp));
    create_builtin(&builtin);
    fuse2_structure s;
    strained_srtio3(&s);
    fuse2_calc_result r1, r2;
    fuse2_calc_result_init(&r1);
    fuse2_calc_result_init(&r2);
    ASSERT_OK(fuse2_calc_compute(&lmp, &s, &r1));
    ASSERT_OK(fuse2_calc_compute(&builtin, &s, &r2));
    print_message("single point: lammps %.8f eV, builtin %.8f eV\n", r1.energy, r2.energy);
    ASSERT_NEAR(r1.energy, r2.energy, 1e-4);
    ASSERT_NEAR(r1.energy_per_atom, r2.energy / 5, 1e-4);
    /* forces and stress in the structure's own frame (rotated back) */
    double df = max_abs_diff(&r1.forces[0][0], &r2.forces[0][0], 15);
    double ds = max_abs_diff(&r1.stress[0][0], &r2.stress[0][0], 9);
    print_message("max |dF| %.2e eV/A, max |dsigma| %.2e eV/A^3\n", df, ds);
    assert_true(df < 1e-4);
    assert_true(ds < 1e-6);
    /* a successful run leaves no scratch directory */
    assert_int_equal(count_dirs(b.scratch, NULL, 0), 0);
    fuse2_calc_result_free(&r1);
    fuse2_calc_result_free(&r2);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&lmp);
    fuse2_calc_destroy(&builtin);
}

static void test_relaxation_reaches_the_builtin_minimum(void **state)
{
    (void)state;
    require_lammps();
    settings_builder b;
    srtio3_settings(&b, "relax");
    fuse2_settings st = view(&b);
    fuse2_calc lmp, builtin;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &lmp));
    create_builtin(&builtin);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_structure s1, s2;
    strained_srtio3(&s1);
    strained_srtio3(&s2);
    fuse2_relax_result r1, r2;
    fuse2_relax_result_init(&r1);
    fuse2_relax_result_init(&r2);
    ASSERT_OK(fuse2_relax(&lmp, &s1, &opt, &r1));
    ASSERT_OK(fuse2_relax(&builtin, &s2, &opt, &r2));
    print_message("lammps: %s %s, %d steps, %.8f eV/atom, max force %.2e, max stress %.2e, %.2f s\n",
                  fuse2_relax_status_name(r1.status), r1.reason, r1.steps, r1.energy_per_atom, r1.max_force,
                  r1.max_stress, r1.wall_seconds);
    print_message("builtin: %s, %d steps, %.8f eV/atom\n", fuse2_relax_status_name(r2.status), r2.steps,
                  r2.energy_per_atom);
    assert_int_equal(r1.status, FUSE2_RELAX_CONVERGED);
    assert_int_equal(r2.status, FUSE2_RELAX_CONVERGED);
    assert_true(r1.steps > 0);
    ASSERT_NEAR(r1.energy_per_atom, r2.energy_per_atom, 1e-3);
    assert_true(r1.max_force <= opt.fmax);
    assert_true(r1.max_stress <= opt.smax);
    /* a sane cell: the cubic perovskite of the built-in relaxation */
    double p1[6], p2[6];
    fuse2_lattice_to_parameters(s1.lattice, p1);
    fuse2_lattice_to_parameters(s2.lattice, p2);
    for (int k = 0; k < 3; k++) ASSERT_NEAR(p1[k], p2[k], 2e-3);
    for (int k = 3; k < 6; k++) ASSERT_NEAR(p1[k], 90.0, 0.1);
    ASSERT_NEAR(fuse2_structure_volume(&s1), fuse2_structure_volume(&s2), 0.02);
    /* same atoms, same order, inside the cell */
    assert_int_equal(s1.natoms, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s1.species[i], s2.species[i]);
        for (int k = 0; k < 3; k++) assert_true(s1.frac[i][k] >= 0 && s1.frac[i][k] < 1);
    }
    assert_true(fuse2_structure_min_distance(&s1) > 1.9);
    /* the returned energy is that of the returned structure */
    fuse2_calc_result check;
    fuse2_calc_result_init(&check);
    ASSERT_OK(fuse2_calc_compute(&builtin, &s1, &check));
    ASSERT_NEAR(check.energy, r1.energy, 1e-4);
    assert_int_equal(count_dirs(b.scratch, NULL, 0), 0);
    fuse2_calc_result_free(&check);
    fuse2_relax_result_free(&r1);
    fuse2_relax_result_free(&r2);
    fuse2_structure_free(&s1);
    fuse2_structure_free(&s2);
    fuse2_calc_destroy(&lmp);
    fuse2_calc_destroy(&builtin);
}

static void test_relaxation_under_pressure_matches_the_builtin_enthalpy(void **state)
{
    (void)state;
    require_lammps();
    settings_builder b;
    srtio3_settings(&b, "pressure");
    fuse2_settings st = view(&b);
    fuse2_calc lmp, builtin;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &lmp));
    create_builtin(&builtin);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    /* eV/A^3, 0.8 GPa: box/relax gets it in bar. (At 8 GPa LAMMPS' line
     * search stalls, "linesearch alpha is zero" with forces of 0.2 eV/A,
     * which the driver reports as not converged.) */
    opt.pressure = 0.005;
    fuse2_structure s1, s2;
    strained_srtio3(&s1);
    strained_srtio3(&s2);
    fuse2_relax_result r1, r2;
    fuse2_relax_result_init(&r1);
    fuse2_relax_result_init(&r2);
    ASSERT_OK(fuse2_relax(&lmp, &s1, &opt, &r1));
    ASSERT_OK(fuse2_relax(&builtin, &s2, &opt, &r2));
    print_message("P = %g: lammps %s %s, H %.6f eV, V %.4f; builtin H %.6f eV, V %.4f\n", opt.pressure,
                  fuse2_relax_status_name(r1.status), r1.reason, r1.enthalpy, fuse2_structure_volume(&s1), r2.enthalpy,
                  fuse2_structure_volume(&s2));
    assert_int_equal(r1.status, FUSE2_RELAX_CONVERGED);
    ASSERT_NEAR(r1.enthalpy / 5, r2.enthalpy / 5, 1e-3);
    ASSERT_NEAR(fuse2_structure_volume(&s1), fuse2_structure_volume(&s2), 0.05);
    /* the stress balances the pressure: sigma = -P */
    for (int a = 0; a < 3; a++) ASSERT_NEAR(r1.final.stress[a][a], -opt.pressure, opt.smax);
    fuse2_relax_result_free(&r1);
    fuse2_relax_result_free(&r2);
    fuse2_structure_free(&s1);
    fuse2_structure_free(&s2);
    fuse2_calc_destroy(&lmp);
    fuse2_calc_destroy(&builtin);
}

/* A stand-in for lmp that leaves a final state with a NaN energy (types in
 * the order Sr O Ti of PAIR_COEFF; atoms Sr Ti O O O). */
static void test_nan_energy_is_non_finite(void **state)
{
    (void)state;
    settings_builder b;
    srtio3_settings(&b, "nan");
    set(&b, "command", "printf 'fuse2_final 3 nan 0 0 0 0 0 0 4 4 4 0 0 0\\n' > fuse2_final.txt && "
                       "printf 'ITEM: NUMBER OF ATOMS\\n5\\nITEM: ATOMS id type xs ys zs fx fy fz\\n"
                       "1 1 0 0 0 0 0 0\\n2 3 .5 .5 .5 0 0 0\\n3 2 .5 .5 0 0 0 0\\n"
                       "4 2 .5 0 .5 0 0 0\\n5 2 0 .5 .5 0 0 0\\n' > final.dump && "
                       "echo '  Stopping criterion = force tolerance' > log.lammps");
    fuse2_settings st = view(&b);
    fuse2_calc c;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &c));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_structure s;
    strained_srtio3(&s);
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&c, &s, &opt, &r));
    print_message("%s\n", r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    assert_true(!strncmp(r.reason, "non_finite: ", 12));

    /* the same files with a finite energy parse as a converged run */
    set(&b, "command", "printf 'fuse2_final 3 -150.5 0 0 0 0 0 0 4 4 4 0 0 0\\n' > fuse2_final.txt && "
                       "printf 'ITEM: NUMBER OF ATOMS\\n5\\nITEM: ATOMS id type xs ys zs fx fy fz\\n"
                       "1 1 0 0 0 0 0 0\\n2 3 .5 .5 .5 0 0 0\\n3 2 .5 .5 0 0 0 0\\n"
                       "4 2 .5 0 .5 0 0 0\\n5 2 0 .5 .5 0 0 0\\n' > final.dump && "
                       "echo '  Stopping criterion = force tolerance' > log.lammps");
    st = view(&b);
    fuse2_calc c2;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &c2));
    ASSERT_OK(fuse2_relax(&c2, &s, &opt, &r));
    assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
    ASSERT_NEAR(r.energy, -150.5, 1e-12);
    assert_int_equal(r.steps, 3);
    /* a 4 A cube, in the frame of the input lattice: same parameters */
    double p[6];
    fuse2_lattice_to_parameters(s.lattice, p);
    for (int k = 0; k < 3; k++) ASSERT_NEAR(p[k], 4.0, 1e-9);
    for (int k = 3; k < 6; k++) ASSERT_NEAR(p[k], 90.0, 1e-9);
    ASSERT_NEAR(fuse2_structure_volume(&s), 64.0, 1e-9);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&c);
    fuse2_calc_destroy(&c2);
}

static void test_fixed_cell_and_too_few_iterations(void **state)
{
    (void)state;
    require_lammps();
    settings_builder b;
    srtio3_settings(&b, "fixed");
    fuse2_settings st = view(&b);
    fuse2_calc lmp;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &lmp));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.fixed_cell = 1;
    fuse2_structure s;
    strained_srtio3(&s);
    double L0[3][3];
    memcpy(L0, s.lattice, sizeof L0);
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&lmp, &s, &opt, &r));
    assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
    assert_true(max_abs_diff(&L0[0][0], &s.lattice[0][0], 9) < 1e-9);
    assert_true(r.max_force <= opt.fmax);

    /* 2 iterations cannot relax the strained cell: not converged, with the
     * structure LAMMPS reached */
    fuse2_structure_free(&s);
    strained_srtio3(&s);
    set(&b, "maxiter", "2");
    st = view(&b);
    fuse2_calc lmp2;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &lmp2));
    fuse2_relax_options_default(&opt);
    ASSERT_OK(fuse2_relax(&lmp2, &s, &opt, &r));
    print_message("maxiter 2: %s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_MAX_STEPS);
    assert_non_null(strstr(r.reason, "max iterations"));
    assert_int_equal(r.steps, 2);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&lmp);
    fuse2_calc_destroy(&lmp2);
}

static void test_lammps_error_is_a_crash_and_keeps_the_directory(void **state)
{
    (void)state;
    require_lammps();
    settings_builder b;
    srtio3_settings(&b, "error");
    set(&b, "pair_coeff", "* * 0.0 1.0 0.0\nSr O 1952.39 0.33685\n");
    fuse2_settings st = view(&b);
    fuse2_calc lmp;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &lmp));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_structure s;
    strained_srtio3(&s);
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&lmp, &s, &opt, &r));
    print_message("%s\n", r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    assert_true(!strncmp(r.reason, "crashed: ", 9));
    assert_non_null(strstr(r.reason, "ERROR: Incorrect args for pair coefficients"));
    /* kept for inspection, with its inputs and log */
    char dir[4200], path[4400];
    assert_int_equal(count_dirs(b.scratch, dir, sizeof dir), 1);
    assert_non_null(strstr(r.reason, dir));
    snprintf(path, sizeof path, "%s/log.lammps", dir);
    char *log = test_read_file(path);
    assert_non_null(log);
    assert_non_null(strstr(log, "ERROR"));
    free(log);

    /* compute: an error naming the outcome and the LAMMPS message */
    fuse2_calc_result cr;
    fuse2_calc_result_init(&cr);
    assert_int_equal(fuse2_calc_compute(&lmp, &s, &cr), FUSE2_ERR_EXTERNAL);
    test_assert_error_contains("crashed");
    test_assert_error_contains("Incorrect args for pair coefficients");
    fuse2_error_clear();
    fuse2_calc_result_free(&cr);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&lmp);
}

static void test_failing_command_sleep_and_collapsed_geometry(void **state)
{
    (void)state;
    settings_builder b;
    srtio3_settings(&b, "fail");
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_structure s;
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);

    set(&b, "command", "false");
    fuse2_settings st = view(&b);
    fuse2_calc c1;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &c1));
    strained_srtio3(&s);
    ASSERT_OK(fuse2_relax(&c1, &s, &opt, &r));
    print_message("false: %s\n", r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    assert_true(!strncmp(r.reason, "crashed: ", 9));
    assert_non_null(strstr(r.reason, "exit code 1"));
    fuse2_calc_destroy(&c1);

    set(&b, "command", "sleep 30");
    set(&b, "time_limit", "1");
    st = view(&b);
    fuse2_calc c2;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &c2));
    double t0 = seconds_now();
    ASSERT_OK(fuse2_relax(&c2, &s, &opt, &r));
    double took = seconds_now() - t0;
    print_message("sleep: %s (%.2f s)\n", r.reason, took);
    assert_int_equal(r.status, FUSE2_RELAX_TIMED_OUT);
    assert_true(!strncmp(r.reason, "timed_out: ", 11));
    assert_true(took < 5.0);
    fuse2_calc_destroy(&c2);

    /* atoms 0.5 A apart: unphysical without running (the command would fail) */
    unset(&b, "time_limit");
    st = view(&b);
    fuse2_calc c3;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &c3));
    int before = count_dirs(b.scratch, NULL, 0);
    double f[3] = {s.frac[0][0] + 0.5 / 4.05, s.frac[0][1], s.frac[0][2]};
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, f));
    ASSERT_OK(fuse2_relax(&c3, &s, &opt, &r));
    print_message("close atoms: %s\n", r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    assert_true(!strncmp(r.reason, "unphysical: ", 12));
    assert_non_null(strstr(r.reason, "min_distance"));
    assert_int_equal(count_dirs(b.scratch, NULL, 0), before);
    fuse2_calc_destroy(&c3);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
}

static void test_inputs_map_elements_to_types(void **state)
{
    (void)state;
    require_lammps();
    settings_builder b;
    srtio3_settings(&b, "inputs");
    set(&b, "keep_scratch", "true");
    set(&b, "elements", "Sr Ti O");
    set(&b, "masses", "O 16.0");
    set(&b, "extra_commands", "neigh_modify one 3000\nthermo 1\n");
    set(&b, "pair_coeff", "pair_coeff * * 0.0 1.0 0.0; O Sr 1952.39 0.33685 19.22\n"
                          "# a comment\n Ti O 4590.7279 0.261 0.0\n3 3 1388.77 0.36262 175.0\n");
    /* "mpirun"-style commands: the input also comes on stdin */
    set(&b, "command", "lmp -log none");
    fuse2_settings st = view(&b);
    fuse2_calc lmp;
    ASSERT_OK(fuse2_calc_create("lammps", &st, &lmp));
    fuse2_structure s;
    strained_srtio3(&s);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&lmp, &s, &r));
    assert_true(r.energy < -150 && r.energy > -160);
    char dir[4200], path[4400];
    assert_int_equal(count_dirs(b.scratch, dir, sizeof dir), 1); /* keep_scratch */
    snprintf(path, sizeof path, "%s/in.lammps", dir);
    char *in = test_read_file(path);
    assert_non_null(in);
    assert_non_null(strstr(in, "pair_coeff * * 0.0 1.0 0.0\n"));
    assert_non_null(strstr(in, "pair_coeff 1 3 1952.39 0.33685 19.22\n"));
    assert_non_null(strstr(in, "pair_coeff 2 3 4590.7279 0.261 0.0\n"));
    assert_non_null(strstr(in, "pair_coeff 3 3 1388.77"));
    assert_non_null(strstr(in, "atom_style charge"));
    assert_non_null(strstr(in, "pair_modify table 16\nneighbor"));
    assert_non_null(strstr(in, "neigh_modify one 3000\nthermo 1\n"));
    assert_null(strstr(in, "minimize"));
    free(in);
    snprintf(path, sizeof path, "%s/data.lammps", dir);
    char *data = test_read_file(path);
    assert_non_null(data);
    assert_non_null(strstr(data, "3 atom types"));
    assert_non_null(strstr(data, "3 16 # O"));
    assert_non_null(strstr(data, "1 87.62 # Sr"));
    free(data);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&lmp);
}

static void test_bad_settings_name_the_key_and_origin(void **state)
{
    (void)state;
    settings_builder b;
    fuse2_calc c;
    fuse2_settings st;

    srtio3_settings(&b, "bad");
    unset(&b, "pair_style");
    st = view(&b);
    assert_int_not_equal(fuse2_calc_create("lammps", &st, &c), FUSE2_OK);
    test_assert_error_contains("pair_style");
    fuse2_error_clear();

    srtio3_settings(&b, "bad");
    set(&b, "pair_coeff", "Sr Xx 1 2 3");
    st = view(&b);
    assert_int_not_equal(fuse2_calc_create("lammps", &st, &c), FUSE2_OK);
    test_assert_error_contains("campaign.yaml:7: 'pair_coeff' line 1: 'Xx'");
    fuse2_error_clear();

    srtio3_settings(&b, "bad");
    set(&b, "elements", "Sr O");
    st = view(&b);
    assert_int_not_equal(fuse2_calc_create("lammps", &st, &c), FUSE2_OK);
    test_assert_error_contains("Ti");
    test_assert_error_contains("not in 'elements'");
    fuse2_error_clear();

    srtio3_settings(&b, "bad");
    set(&b, "charges", "Sr 2 O -2");
    set(&b, "pair_coeff", "Sr O 1 1 1");
    st = view(&b);
    ASSERT_OK(fuse2_calc_create("lammps", &st, &c));
    fuse2_structure s;
    strained_srtio3(&s);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    /* Ti has no charge: a settings error, not a run */
    assert_int_equal(fuse2_calc_compute(&c, &s, &r), FUSE2_ERR_ARG);
    test_assert_error_contains("no charge for Ti");
    fuse2_error_clear();
    fuse2_calc_destroy(&c);
    fuse2_structure_free(&s);
    fuse2_calc_result_free(&r);

    srtio3_settings(&b, "bad");
    set(&b, "min_style", "fire");
    st = view(&b);
    assert_int_not_equal(fuse2_calc_create("lammps", &st, &c), FUSE2_OK);
    test_assert_error_contains("box/relax");
    fuse2_error_clear();

    srtio3_settings(&b, "bad");
    set(&b, "maxiter", "2.5");
    st = view(&b);
    assert_int_not_equal(fuse2_calc_create("lammps", &st, &c), FUSE2_OK);
    test_assert_error_contains("'maxiter'");
    fuse2_error_clear();

    srtio3_settings(&b, "bad");
    set(&b, "pair_sytle", "buck 10");
    st = view(&b);
    assert_int_not_equal(fuse2_calc_create("lammps", &st, &c), FUSE2_OK);
    test_assert_error_contains("unknown setting 'pair_sytle'");
    fuse2_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered_with_the_common_keys),
        cmocka_unit_test(test_single_point_equals_the_builtin_calculator),
        cmocka_unit_test(test_relaxation_reaches_the_builtin_minimum),
        cmocka_unit_test(test_relaxation_under_pressure_matches_the_builtin_enthalpy),
        cmocka_unit_test(test_fixed_cell_and_too_few_iterations),
        cmocka_unit_test(test_nan_energy_is_non_finite),
        cmocka_unit_test(test_lammps_error_is_a_crash_and_keeps_the_directory),
        cmocka_unit_test(test_failing_command_sleep_and_collapsed_geometry),
        cmocka_unit_test(test_inputs_map_elements_to_types),
        cmocka_unit_test(test_bad_settings_name_the_key_and_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
