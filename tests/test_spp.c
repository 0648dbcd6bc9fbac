/* Statistical proxy potentials (SPP) in the built-in calculator: GULP
 * `spline` tables read from FUSE2's SPP_PATH/A-B/A-B.POT layout and
 * evaluated natively (natural cubic spline, analytic forces and stress,
 * GULP's cutp taper, no Coulomb).
 *
 * The published SPP library is not available: the tables here are a
 * Buckingham potential A exp(-r/rho) - C/r^6 tabulated every 0.01 A from 0.5
 * to 12 A, so the spline results can be compared with the analytic form
 * evaluated by the same calculator (same cutp 11 2 taper). */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse2/builtin.h"
#include "fuse2/calc.h"
#include "fuse2/elements.h"
#include "fuse2/neighbors.h"
#include "fuse2/relax.h"
#include "fuse2/rng.h"
#include "fuse2/spp.h"

static int Z(const char *sym) { return fuse2_element_z_from_symbol(sym); }

/* The synthetic model: Na-Cl attract, like ions repel (C small). */
typedef struct buck {
    const char *a, *b;
    double A, rho, C;
} buck;

static const buck MODEL[3] = {
    {"Na", "Cl", 1500.0, 0.30, 30.0},
    {"Na", "Na", 500.0, 0.30, 5.0},
    {"Cl", "Cl", 2000.0, 0.33, 60.0},
};

static const double TABLE_R0 = 0.5, TABLE_STEP = 0.01, TABLE_R1 = 12.0;

static double buck_energy(const buck *m, double r) { return m->A * exp(-r / m->rho) - m->C / pow(r, 6); }
static double buck_slope(const buck *m, double r) { return -m->A / m->rho * exp(-r / m->rho) + 6 * m->C / pow(r, 7); }

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) fail_msg("cannot create %s: %s", path, strerror(errno));
}

/* dir/name/name.POT with `text` before the table of m (no table if m is NULL). */
static void write_pot(const char *dir, const char *name, const char *labels, const buck *m, const char *extra)
{
    char path[8400];
    make_dir(dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    make_dir(path);
    snprintf(path, sizeof path, "%s/%s/%s.POT", dir, name, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (extra) fputs(extra, f);
    if (m) {
        /* FUSE2/atsim layout: `spline cubic`, `A B rcut`, rows `energy separation` */
        fprintf(f, "spline cubic\n%s %.1f\n", labels, TABLE_R1);
        int n = (int)lround((TABLE_R1 - TABLE_R0) / TABLE_STEP);
        for (int k = 0; k <= n; k++) {
            double r = TABLE_R0 + k * TABLE_STEP;
            fprintf(f, "%.12e %.6f\n", buck_energy(m, r), r);
        }
        fputc('\n', f);
    }
    fclose(f);
}

/* The SPP directory of the model, with the names FUSE2's library may use:
 * B-A order for Na-Cl (found through the fallback), mixed case for Na-Na. */
static const char *spp_dir(void)
{
    static char dir[4200];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "%s/SPP", test_tmpdir());
    write_pot(dir, "CL-NA", "Na core Cl core", &MODEL[0], "# Na-Cl, written as CL-NA\n");
    write_pot(dir, "Na-Na", "Na Na", &MODEL[1], NULL);
    write_pot(dir, "CL-CL", "Cl core Cl core", &MODEL[2], NULL);
    return dir;
}

/* ---- settings ---- */

enum { MAX_SETTINGS = 8 };
typedef struct test_settings {
    char storage[MAX_SETTINGS][2][4200];
    fuse2_setting items[MAX_SETTINGS];
    fuse2_settings s;
} test_settings;

static void set(test_settings *t, const char *key, const char *value)
{
    int i = t->s.count;
    assert_true(i < MAX_SETTINGS);
    snprintf(t->storage[i][0], sizeof t->storage[i][0], "%s", value);
    snprintf(t->storage[i][1], sizeof t->storage[i][1], "test.yaml:%d", i + 1);
    t->items[i] = (fuse2_setting){key, t->storage[i][0], t->storage[i][1]};
    t->s.items = t->items;
    t->s.count = i + 1;
}

static void spp_calc(fuse2_calc *calc, const char *dir, int duplicates)
{
    static test_settings t;
    memset(&t, 0, sizeof t);
    set(&t, "spp_path", dir);
    if (duplicates) set(&t, "spp_legacy_duplicates", "true");
    ASSERT_OK(fuse2_calc_create("builtin", &t.s, calc));
}

/* The analytic reference: the same Buckingham terms (rmax 12), no charges,
 * cutp 11 2; `duplicates` adds the Na-Cl term twice. */
static fuse2_builtin *analytic_calc(int duplicates)
{
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    for (int k = 0; k < 3; k++)
        for (int copy = 0; copy < (duplicates && k == 0 ? 2 : 1); copy++) {
            fuse2_pair_term t = {.kind = FUSE2_PAIR_BUCKINGHAM, .z1 = Z(MODEL[k].a), .z2 = Z(MODEL[k].b),
                                 .param = {MODEL[k].A, MODEL[k].rho, MODEL[k].C, 0}, .rmin = 0, .rmax = TABLE_R1};
            ASSERT_OK(fuse2_potential_set_add_term(&p, &t));
        }
    p.has_cutp = 1;
    p.cutp_radius = FUSE2_SPP_CUTOFF;
    p.cutp_taper = FUSE2_SPP_TAPER;
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.no_coulomb = 1;
    fuse2_builtin *b;
    ASSERT_OK(fuse2_builtin_create(&p, &opt, &b));
    fuse2_potential_set_free(&p);
    return b;
}

/* A random triclinic Na_n Cl_n cell with no pair closer than dmin. */
static void random_cell(uint32_t seed, int n, double dmin, fuse2_structure *s)
{
    ASSERT_OK(fuse2_structure_init(s, 2 * n));
    fuse2_rng rng;
    fuse2_rng_init(&rng, 777, seed, 0, 0);
    for (;;) {
        double p[6];
        for (int k = 0; k < 3; k++) p[k] = fuse2_rng_uniform_range(&rng, 5.0, 7.0);
        for (int k = 3; k < 6; k++) p[k] = fuse2_rng_uniform_range(&rng, 70, 110);
        fuse2_error_clear();
        if (fuse2_lattice_from_parameters(p, s->lattice) == FUSE2_OK) break;
    }
    s->natoms = 0;
    for (int i = 0; i < 2 * n; i++) {
        for (int attempt = 0;; attempt++) {
            double f[3];
            for (int k = 0; k < 3; k++) f[k] = fuse2_rng_uniform(&rng);
            ASSERT_OK(fuse2_structure_add_atom(s, Z(i % 2 ? "Cl" : "Na"), f));
            double d = 1e9;
            for (int j = 0; j < s->natoms - 1; j++) d = fmin(d, fuse2_periodic_distance(s, j, s->natoms - 1));
            if (d > dmin) break;
            s->natoms--;
            assert_true(attempt < 100000);
        }
    }
}

/* ---- the spline itself ---- */

static void read_pair(const char *a, const char *b, fuse2_potential_set *p)
{
    fuse2_potential_set_init(p);
    ASSERT_OK(fuse2_spp_read_pair(spp_dir(), Z(a), Z(b), p));
    assert_int_equal(p->nterms, 1);
    assert_int_equal(p->terms[0].kind, FUSE2_PAIR_SPLINE);
    assert_non_null(p->terms[0].table);
}

/* The natural cubic spline through the 0.01 A table against the analytic
 * Buckingham: values and slopes, away from the first points (where the
 * natural end condition S'' = 0 is wrong for a steep repulsion). */
static void test_spline_interpolates_the_tabulated_buckingham(void **state)
{
    (void)state;
    double worst_e = 0, worst_f = 0;
    for (int k = 0; k < 3; k++) {
        fuse2_potential_set p;
        read_pair(MODEL[k].a, MODEL[k].b, &p);
        const fuse2_pair_term *t = &p.terms[0];
        assert_int_equal(t->table->n, 1151);
        ASSERT_NEAR(t->rmax, 12.0, 0);
        ASSERT_NEAR(t->param[0], 0.0, 0);
        for (double r = 1.5; r < 11.99; r += 0.00137) {
            double v[3];
            fuse2_spline_table_eval(t->table, r, v);
            double e = buck_energy(&MODEL[k], r), de = buck_slope(&MODEL[k], r);
            /* relative to the pair's scale at r (its energy or 1e-3 eV) */
            worst_e = fmax(worst_e, fabs(v[0] - e) / fmax(fabs(e), 1e-3));
            worst_f = fmax(worst_f, fabs(v[1] - de) / fmax(fabs(de), 1e-3));
        }
        /* the tabulated points themselves are exact */
        double v[3];
        fuse2_spline_table_eval(t->table, 2.0, v);
        ASSERT_NEAR(v[0], buck_energy(&MODEL[k], 2.0), 1e-11 * fabs(v[0]) + 1e-12);
        /* beyond the table: 0; below it: linear */
        fuse2_spline_table_eval(t->table, 12.01, v);
        assert_true(v[0] == 0 && v[1] == 0);
        double lo[3], lo2[3];
        fuse2_spline_table_eval(t->table, 0.3, lo);
        fuse2_spline_table_eval(t->table, 0.4, lo2);
        ASSERT_NEAR((lo2[0] - lo[0]) / 0.1, lo[1], 1e-9 * fabs(lo[1]));
        ASSERT_NEAR(lo[2], 0.0, 0);
        fuse2_potential_set_free(&p);
    }
    print_message("spline vs analytic Buckingham, 1.5-12 A: max relative error %.2g (energy), %.2g (dE/dr)\n",
                  worst_e, worst_f);
    assert_true(worst_e < 1e-6);
    assert_true(worst_f < 2e-5);
}

/* p1 shifts the table: E(r) = S(r + p1); rmin and rmax truncate as for
 * the other pair terms. */
static void test_pair_line_p1_and_cutoffs(void **state)
{
    (void)state;
    char text[20000];
    int len = snprintf(text, sizeof text, "spline\nNa core Cl core 0.25 1.0 9.0\n");
    for (int k = 0; k <= 100; k++) {
        double r = 0.5 + 0.1 * k;
        len += snprintf(text + len, sizeof text - (size_t)len, "%.12e %.3f\n", buck_energy(&MODEL[0], r), r);
    }
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    ASSERT_OK(fuse2_gulp_library_read_string(text, "shift.lib", &p));
    assert_int_equal(p.nterms, 1);
    ASSERT_NEAR(p.terms[0].param[0], 0.25, 0);
    ASSERT_NEAR(p.terms[0].rmin, 1.0, 0);
    ASSERT_NEAR(p.terms[0].rmax, 9.0, 0);
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.no_coulomb = 1;
    fuse2_builtin *b;
    ASSERT_OK(fuse2_builtin_create(&p, &opt, &b));
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    s.lattice[0][0] = s.lattice[1][1] = s.lattice[2][2] = 30.0;
    const double x0[3] = {0, 0, 0};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Na"), x0));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    const double rs[4] = {0.9, 2.75, 3.3, 9.5};
    for (int k = 0; k < 4; k++) {
        s.natoms = 1;
        const double x1[3] = {rs[k] / 30.0, 0, 0};
        ASSERT_OK(fuse2_structure_add_atom(&s, Z("Cl"), x1));
        ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
        double v[3];
        fuse2_spline_table_eval(p.terms[0].table, rs[k] + 0.25, v);
        double expect = rs[k] < 1.0 || rs[k] > 9.0 ? 0.0 : v[0];
        ASSERT_NEAR(r.energy, expect, 1e-9 * fabs(expect) + 1e-12);
    }
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
    fuse2_potential_set_free(&p);
}

/* ---- the calculator against the analytic model ---- */

static void test_energy_forces_stress_match_analytic_model(void **state)
{
    (void)state;
    fuse2_calc calc;
    spp_calc(&calc, spp_dir(), 0);
    fuse2_builtin *ref = analytic_calc(0);
    double worst_e = 0, worst_f = 0, worst_s = 0;
    for (uint32_t seed = 1; seed <= 6; seed++) {
        fuse2_structure s;
        random_cell(seed, 6, 1.9, &s);
        fuse2_calc_result a, b;
        fuse2_calc_result_init(&a);
        fuse2_calc_result_init(&b);
        ASSERT_OK(fuse2_calc_compute(&calc, &s, &a));
        ASSERT_OK(fuse2_builtin_compute(ref, &s, &b));
        /* no Coulomb at all: the whole energy is short range */
        ASSERT_NEAR(fuse2_calc_result_component(&a, "coulomb"), 0.0, 0);
        ASSERT_NEAR(fuse2_calc_result_component(&a, "short_range"), a.energy, 1e-12 * fabs(a.energy));
        worst_e = fmax(worst_e, fabs(a.energy - b.energy) / fabs(b.energy));
        double fscale = 0, sscale = 0;
        for (int i = 0; i < s.natoms; i++)
            for (int k = 0; k < 3; k++) fscale = fmax(fscale, fabs(b.forces[i][k]));
        for (int i = 0; i < s.natoms; i++)
            for (int k = 0; k < 3; k++) worst_f = fmax(worst_f, fabs(a.forces[i][k] - b.forces[i][k]) / fscale);
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++) sscale = fmax(sscale, fabs(b.stress[x][y]));
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++) worst_s = fmax(worst_s, fabs(a.stress[x][y] - b.stress[x][y]) / sscale);
        fuse2_calc_result_free(&a);
        fuse2_calc_result_free(&b);
        fuse2_structure_free(&s);
    }
    print_message("SPP tables vs analytic Buckingham (cutp 11 2), 6 random triclinic Na6Cl6 cells: "
                  "energy %.2g relative, forces %.2g and stress %.2g of the largest component\n",
                  worst_e, worst_f, worst_s);
    assert_true(worst_e < 1e-8);
    assert_true(worst_f < 2e-6);
    assert_true(worst_s < 2e-6);
    fuse2_builtin_destroy(ref);
    fuse2_calc_destroy(&calc);
}

/* FUSE2's lib.lib holds every hetero table twice and GULP adds them: the
 * legacy mode reproduces that (Na-Cl counted double). */
static void test_legacy_duplicates_count_hetero_pairs_twice(void **state)
{
    (void)state;
    fuse2_calc calc;
    spp_calc(&calc, spp_dir(), 1);
    fuse2_builtin *ref = analytic_calc(1);
    fuse2_structure s;
    random_cell(11, 4, 1.9, &s);
    fuse2_calc_result a, b;
    fuse2_calc_result_init(&a);
    fuse2_calc_result_init(&b);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &a));
    ASSERT_OK(fuse2_builtin_compute(ref, &s, &b));
    ASSERT_NEAR(a.energy, b.energy, 1e-7 * fabs(b.energy));
    fuse2_calc_result_free(&a);
    fuse2_calc_result_free(&b);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(ref);
    fuse2_calc_destroy(&calc);
}

static double energy_of(fuse2_calc *calc, const fuse2_structure *s)
{
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(calc, s, &r));
    double e = r.energy;
    fuse2_calc_result_free(&r);
    return e;
}

static const double fd_offsets[4] = {-2, -1, 1, 2};
static double five_point(const double e[4], double h) { return (e[0] - 8 * e[1] + 8 * e[2] - e[3]) / (12 * h); }

static void test_forces_and_stress_match_finite_differences(void **state)
{
    (void)state;
    fuse2_calc calc;
    spp_calc(&calc, spp_dir(), 0);
    double worst_f = 0, worst_s = 0;
    for (uint32_t seed = 21; seed <= 23; seed++) {
        fuse2_structure s, t;
        random_cell(seed, 5, 1.9, &s);
        ASSERT_OK(fuse2_structure_init(&t, s.natoms));
        fuse2_calc_result r;
        fuse2_calc_result_init(&r);
        ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
        double inv[3][3];
        ASSERT_OK(fuse2_lattice_inverse(s.lattice, inv));
        double fscale = 0, sscale = 0;
        for (int i = 0; i < s.natoms; i++)
            for (int k = 0; k < 3; k++) fscale = fmax(fscale, fabs(r.forces[i][k]));
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++) sscale = fmax(sscale, fabs(r.stress[a][c]));
        const double h = 1e-4;
        for (int i = 0; i < s.natoms; i++)
            for (int k = 0; k < 3; k++) {
                double e[4];
                for (int m = 0; m < 4; m++) {
                    ASSERT_OK(fuse2_structure_copy(&t, &s));
                    for (int c = 0; c < 3; c++) t.frac[i][c] += fd_offsets[m] * h * inv[k][c];
                    e[m] = energy_of(&calc, &t);
                }
                worst_f = fmax(worst_f, fabs(-five_point(e, h) - r.forces[i][k]) / fscale);
            }
        const double V = fuse2_structure_volume(&s), hs = 1e-5;
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++) {
                double e[4];
                for (int m = 0; m < 4; m++) {
                    ASSERT_OK(fuse2_structure_copy(&t, &s));
                    for (int row = 0; row < 3; row++) t.lattice[row][c] += fd_offsets[m] * hs * s.lattice[row][a];
                    e[m] = energy_of(&calc, &t);
                }
                worst_s = fmax(worst_s, fabs(five_point(e, hs) / V - r.stress[a][c]) / sscale);
            }
        fuse2_calc_result_free(&r);
        fuse2_structure_free(&t);
        fuse2_structure_free(&s);
    }
    print_message("SPP finite differences: forces %.2g, stress %.2g of the largest component\n", worst_f, worst_s);
    assert_true(worst_f < 1e-6);
    assert_true(worst_s < 1e-6);
    fuse2_calc_destroy(&calc);
}

/* ---- lookup, settings, errors ---- */

static void test_pair_files_are_found_in_either_order_and_case(void **state)
{
    (void)state;
    char path[4200], tried[20000];
    const char *dir = spp_dir();
    assert_int_equal(fuse2_spp_find_pair_file(dir, "Na", "Cl", path, sizeof path, tried, sizeof tried), 1);
    assert_non_null(strstr(path, "/CL-NA/CL-NA.POT"));
    assert_int_equal(fuse2_spp_find_pair_file(dir, "Na", "Na", path, sizeof path, tried, sizeof tried), 1);
    assert_non_null(strstr(path, "/Na-Na/Na-Na.POT"));
    assert_int_equal(fuse2_spp_find_pair_file(dir, "Cl", "O", path, sizeof path, tried, sizeof tried), 0);
    /* every name tried, upper case first */
    assert_non_null(strstr(tried, "/CL-O/CL-O.POT, "));
    assert_non_null(strstr(tried, "/Cl-O/Cl-O.POT, "));
    assert_non_null(strstr(tried, "/O-CL/O-CL.POT, "));
    assert_non_null(strstr(tried, "/O-Cl/O-Cl.POT"));
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    assert_int_equal(fuse2_spp_read_pair(dir, Z("O"), Z("Cl"), &p), FUSE2_ERR_IO);
    test_assert_error_contains("no table for the pair O-Cl");
    test_assert_error_contains("/O-CL/O-CL.POT");
    assert_int_equal(p.nterms, 0);
}

static void test_settings_and_creation_without_elements(void **state)
{
    (void)state;
    test_settings t;
    fuse2_calc calc;
    /* created without knowing any element (config validation, workers) */
    memset(&t, 0, sizeof t);
    set(&t, "spp_path", spp_dir());
    set(&t, "spp_cutoff", "10.0");
    set(&t, "spp_taper", "1.5");
    ASSERT_OK(fuse2_calc_create("builtin", &t.s, &calc));
    fuse2_calc_destroy(&calc);
    memset(&t, 0, sizeof t);
    set(&t, "spp_taper", "1.5");
    assert_int_not_equal(fuse2_calc_create("builtin", &t.s, &calc), FUSE2_OK);
    test_assert_error_contains("'spp_taper' needs 'spp_path'");
    memset(&t, 0, sizeof t);
    set(&t, "spp_path", "/nonexistent/spp");
    assert_int_not_equal(fuse2_calc_create("builtin", &t.s, &calc), FUSE2_OK);
    test_assert_error_contains("not a readable directory");
    memset(&t, 0, sizeof t);
    set(&t, "spp_path", spp_dir());
    set(&t, "spp_cutoff", "5");
    set(&t, "spp_taper", "6");
    assert_int_not_equal(fuse2_calc_create("builtin", &t.s, &calc), FUSE2_OK);
    test_assert_error_contains("spp_taper <= spp_cutoff");
    /* a shorter cut-off changes the energy as the analytic model does */
    memset(&t, 0, sizeof t);
    set(&t, "spp_path", spp_dir());
    set(&t, "spp_cutoff", "8.0");
    set(&t, "spp_taper", "0");
    ASSERT_OK(fuse2_calc_create("builtin", &t.s, &calc));
    fuse2_structure s;
    random_cell(31, 3, 1.9, &s);
    double e8 = energy_of(&calc, &s);
    fuse2_calc_destroy(&calc);
    spp_calc(&calc, spp_dir(), 0);
    double e11 = energy_of(&calc, &s);
    fuse2_calc_destroy(&calc);
    assert_true(fabs(e8 - e11) > 1e-6);
    fuse2_structure_free(&s);
}

/* A missing pair fails the compute (and a relaxation, as failed with the
 * reason), naming the files tried; the calculator stays usable. */
static void test_missing_pair_is_a_failed_relaxation(void **state)
{
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/SPP-partial", test_tmpdir());
    write_pot(dir, "NA-NA", "Na Na", &MODEL[1], NULL);
    write_pot(dir, "CL-CL", "Cl Cl", &MODEL[2], NULL);
    fuse2_calc calc;
    spp_calc(&calc, dir, 0);
    fuse2_structure s;
    random_cell(41, 2, 2.2, &s);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    assert_int_equal(fuse2_calc_compute(&calc, &s, &r), FUSE2_ERR_IO);
    test_assert_error_contains("no table for the pair");
    test_assert_error_contains("NA-CL/NA-CL.POT");
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    fuse2_status st = fuse2_relax(&calc, &s, &opt, &res);
    assert_true(st == FUSE2_OK);
    assert_int_equal(res.status, FUSE2_RELAX_FAILED);
    assert_non_null(strstr(res.reason, "CL-NA/CL-NA.POT"));
    fuse2_relax_result_free(&res);
    /* a structure of the elements that do have tables still works */
    fuse2_structure na;
    ASSERT_OK(fuse2_structure_init(&na, 1));
    memcpy(na.lattice, s.lattice, sizeof na.lattice);
    const double x[3] = {0.1, 0.2, 0.3};
    ASSERT_OK(fuse2_structure_add_atom(&na, Z("Na"), x));
    ASSERT_OK(fuse2_calc_compute(&calc, &na, &r));
    fuse2_structure_free(&na);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* A malformed table fails with its file:line; so does a table of another pair. */
static void test_malformed_tables_report_file_and_line(void **state)
{
    (void)state;
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/SPP-bad", test_tmpdir());
    make_dir(dir);
    make_dir(strcat(strcpy(path, dir), "/NA-NA"));
    FILE *f = fopen(strcat(path, "/NA-NA.POT"), "w");
    assert_non_null(f);
    fputs("spline cubic\nNa Na 5.0\n3.0 1.0\n2.0 1.5\n1.0 1.4\n0.0 2.0\n", f);
    fclose(f);
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    assert_int_equal(fuse2_spp_read_pair(dir, Z("Na"), Z("Na"), &p), FUSE2_ERR_PARSE);
    test_assert_error_contains("NA-NA.POT:5: spline Na-Na: separations must increase strictly");
    f = fopen(path, "w");
    fputs("spline cubic\nNa Cl 5.0\n3.0 1.0\n2.0 1.5\n1.0 2.0\n0.0 2.5\n", f);
    fclose(f);
    assert_int_equal(fuse2_spp_read_pair(dir, Z("Na"), Z("Na"), &p), FUSE2_ERR_PARSE);
    test_assert_error_contains("NA-NA.POT:2: a Na-Cl potential in the SPP table of Na-Na");
    f = fopen(path, "w");
    fputs("spline cubic\nNa Na 5.0\n3.0 1.0\n2.0 1.5\n", f);
    fclose(f);
    assert_int_equal(fuse2_spp_read_pair(dir, Z("Na"), Z("Na"), &p), FUSE2_ERR_PARSE);
    test_assert_error_contains("NA-NA.POT:2: spline Na-Na has 2 table rows, needs at least 4");
    assert_int_equal(p.nterms, 0);
    /* through the calculator: the compute fails with the same message */
    fuse2_calc calc;
    spp_calc(&calc, dir, 0);
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 1));
    s.lattice[0][0] = s.lattice[1][1] = s.lattice[2][2] = 5.0;
    const double x[3] = {0, 0, 0};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Na"), x));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    assert_int_equal(fuse2_calc_compute(&calc, &s, &r), FUSE2_ERR_PARSE);
    test_assert_error_contains("NA-NA.POT:2:");
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* A distorted rock-salt cell relaxes to a minimum with the SPP stage. */
static void test_relaxation_with_spp_converges(void **state)
{
    (void)state;
    fuse2_calc calc;
    spp_calc(&calc, spp_dir(), 0);
    fuse2_structure s;
    test_rock_salt(&s, 5.4);
    test_rng_seed(5);
    for (int i = 0; i < s.natoms; i++)
        for (int k = 0; k < 3; k++) s.frac[i][k] += test_uniform(-0.02, 0.02);
    s.lattice[0][1] += 0.2;
    double e0 = energy_of(&calc, &s);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
    if (res.status != FUSE2_RELAX_CONVERGED)
        fail_msg("relaxation %s: %s", fuse2_relax_status_name(res.status), res.reason);
    double e1 = energy_of(&calc, &s);
    print_message("SPP relaxation of distorted NaCl (8 atoms): %.6f -> %.6f eV in %d steps\n", e0, e1, res.steps);
    assert_true(e1 < e0);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    for (int i = 0; i < s.natoms; i++)
        for (int k = 0; k < 3; k++) assert_true(fabs(r.forces[i][k]) <= opt.fmax * 1.0001);
    fuse2_calc_result_free(&r);
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spline_interpolates_the_tabulated_buckingham),
        cmocka_unit_test(test_pair_line_p1_and_cutoffs),
        cmocka_unit_test(test_energy_forces_stress_match_analytic_model),
        cmocka_unit_test(test_legacy_duplicates_count_hetero_pairs_twice),
        cmocka_unit_test(test_forces_and_stress_match_finite_differences),
        cmocka_unit_test(test_pair_files_are_found_in_either_order_and_case),
        cmocka_unit_test(test_settings_and_creation_without_elements),
        cmocka_unit_test(test_missing_pair_is_a_failed_relaxation),
        cmocka_unit_test(test_malformed_tables_report_file_and_line),
        cmocka_unit_test(test_relaxation_with_spp_converges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
