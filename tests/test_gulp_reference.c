/* The built-in calculator and relaxer against real GULP 4.3.5 runs
 * (../shared/testdata/gulp/ysrtio-icsd-*: lib2.lib, `opti conp c6`). The
 * reference numbers are read from GULP's own output files. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/builtin.h"
#include "fuse2/relax.h"
#include "fuse2/structure_io.h"
#include "fuse2/symmetry.h"

static const char *const runs[] = {"ysrtio-icsd-1", "ysrtio-icsd-3", "ysrtio-icsd-4",
                                   "ysrtio-icsd-5", "ysrtio-icsd-11"};
enum { NRUNS = sizeof runs / sizeof runs[0] };

typedef struct gulp_reference {
    double interatomic, coulomb, dispersion, total; /* first components block */
    double final_energy, final_volume;
} gulp_reference;

/* The number after '=' on the first (or last) line starting with `label`. */
static int value_after(const char *text, const char *label, int last, double *out)
{
    const char *hit = NULL, *p = text;
    while ((p = strstr(p, label))) {
        hit = p;
        if (!last) break;
        p += strlen(label);
    }
    if (!hit) return 0;
    const char *eq = strchr(hit, '=');
    if (!eq) return 0;
    *out = strtod(eq + 1, NULL);
    return 1;
}

static gulp_reference read_reference(const char *run)
{
    char rel[256];
    snprintf(rel, sizeof rel, "testdata/gulp/%s/gulp.got", run);
    const char *path = test_shared_path(rel);
    char *text = test_read_file(path);
    if (!text) fail_msg("cannot open %s", path);
    gulp_reference g;
    assert_true(value_after(text, "Interatomic potentials     =", 0, &g.interatomic));
    assert_true(value_after(text, "Monopole - monopole (total)=", 0, &g.coulomb));
    assert_true(value_after(text, "Dispersion (real+recip)    =", 0, &g.dispersion));
    assert_true(value_after(text, "Total lattice energy       =", 0, &g.total));
    assert_true(value_after(text, "Final energy =", 0, &g.final_energy));
    assert_true(value_after(text, "Primitive cell volume =", 1, &g.final_volume));
    free(text);
    return g;
}

static fuse2_builtin *lib2_calculator(void)
{
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    ASSERT_OK(fuse2_gulp_library_read(test_shared_path("potentials/lib2.lib"), &p));
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt); /* GULP's Coulomb constant and accuracy 12 */
    opt.c6 = 1;
    fuse2_builtin *b;
    ASSERT_OK(fuse2_builtin_create(&p, &opt, &b));
    fuse2_potential_set_free(&p);
    return b;
}

static void read_structure(const char *run, const char *file, fuse2_structure *s)
{
    char rel[256];
    snprintf(rel, sizeof rel, "testdata/gulp/%s/%s", run, file);
    ASSERT_OK(fuse2_structure_init(s, 0));
    ASSERT_OK(fuse2_structure_read(test_shared_path(rel), FUSE2_FORMAT_AUTO, s));
}

static void test_single_points_reproduce_gulp_components(void **state)
{
    (void)state;
    fuse2_builtin *b = lib2_calculator();
    for (int k = 0; k < NRUNS; k++) {
        gulp_reference g = read_reference(runs[k]);
        fuse2_structure s;
        read_structure(runs[k], "gulp.gin", &s);
        fuse2_calc_result r;
        fuse2_calc_result_init(&r);
        ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
        /* GULP prints 8 decimals; 1e-5 eV is the tolerance */
        ASSERT_NEAR(r.energy, g.total, 1e-5);
        ASSERT_NEAR(fuse2_calc_result_component(&r, "short_range"), g.interatomic, 1e-5);
        ASSERT_NEAR(fuse2_calc_result_component(&r, "coulomb"), g.coulomb, 1e-5);
        ASSERT_NEAR(fuse2_calc_result_component(&r, "dispersion"), g.dispersion, 1e-5);
        fuse2_calc_result_free(&r);
        fuse2_structure_free(&s);
    }
    fuse2_builtin_destroy(b);
}

static void relax_and_compare(const char *start_file, fuse2_optimizer optimizer)
{
    fuse2_builtin *b = lib2_calculator();
    fuse2_calc calc;
    test_calc_from_builtin(b, &calc);
    for (int k = 0; k < NRUNS; k++) {
        gulp_reference g = read_reference(runs[k]);
        fuse2_structure s, gulp_final;
        read_structure(runs[k], start_file, &s);
        read_structure(runs[k], "temp.res", &gulp_final);
        fuse2_relax_options opt;
        fuse2_relax_options_default(&opt);
        opt.optimizer = optimizer;
        opt.fmax = 1e-4;
        opt.smax = 1e-6;
        opt.max_steps = 3000;
        fuse2_relax_result res;
        fuse2_relax_result_init(&res);
        ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
        if (res.status != FUSE2_RELAX_CONVERGED)
            fail_msg("%s from %s: %s (%s)", runs[k], start_file, fuse2_relax_status_name(res.status),
                     res.reason);
        ASSERT_NEAR(res.energy, g.final_energy, 1e-3);
        ASSERT_NEAR(fabs(fuse2_structure_volume(&s)), g.final_volume, 1e-2);
        /* GULP's final structure (its dump file) and ours have the same space group */
        fuse2_spacegroup ours, theirs;
        ASSERT_OK(fuse2_symmetry_spacegroup(&s, 1e-3, &ours));
        ASSERT_OK(fuse2_symmetry_spacegroup(&gulp_final, 1e-3, &theirs));
        if (ours.number != theirs.number)
            fail_msg("%s from %s: space group %s, GULP's %s", runs[k], start_file, ours.international,
                     theirs.international);
        fuse2_relax_result_free(&res);
        fuse2_structure_free(&s);
        fuse2_structure_free(&gulp_final);
    }
    fuse2_builtin_destroy(b);
}

static void test_relaxation_from_gulp_input_reaches_gulp_minimum(void **state)
{
    (void)state;
    relax_and_compare("gulp.gin", FUSE2_OPTIMIZER_LBFGS);
}

static void test_relaxation_from_experimental_structure_reaches_gulp_minimum(void **state)
{
    (void)state;
    relax_and_compare("POSCAR", FUSE2_OPTIMIZER_LBFGS);
}

static void test_fire_reaches_the_same_minima(void **state)
{
    (void)state;
    relax_and_compare("gulp.gin", FUSE2_OPTIMIZER_FIRE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_points_reproduce_gulp_components),
        cmocka_unit_test(test_relaxation_from_gulp_input_reaches_gulp_minimum),
        cmocka_unit_test(test_relaxation_from_experimental_structure_reaches_gulp_minimum),
        cmocka_unit_test(test_fire_reaches_the_same_minima),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
