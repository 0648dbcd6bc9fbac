/* Relaxer behaviour: collapse and failures are statuses (never crashes or
 * silent huge energies), fixed cell, pressure, step limits, optimisers. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "fuse2/builtin.h"
#include "fuse2/elements.h"
#include "fuse2/relax.h"

static int Z(const char *sym) { return fuse2_element_z_from_symbol(sym); }

/* Na+ Cl- with a Born-Mayer repulsion that acts only beyond rmin. */
static fuse2_builtin *nacl_model(double rmin, double A)
{
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    ASSERT_OK(fuse2_potential_set_add_species(&p, Z("Na"), 1.0));
    ASSERT_OK(fuse2_potential_set_add_species(&p, Z("Cl"), -1.0));
    fuse2_pair_term t = {.kind = FUSE2_PAIR_BUCKINGHAM, .z1 = Z("Na"), .z2 = Z("Cl"),
                         .param = {A, 0.3, 0.0, 0}, .rmin = rmin, .rmax = 10.0};
    ASSERT_OK(fuse2_potential_set_add_term(&p, &t));
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    fuse2_builtin *b;
    ASSERT_OK(fuse2_builtin_create(&p, &opt, &b));
    fuse2_potential_set_free(&p);
    return b;
}

static void rock_salt(double a, fuse2_structure *s)
{
    ASSERT_OK(fuse2_structure_init(s, 8));
    double par[6] = {a, a * 1.02, a * 0.97, 91, 89, 90.5};
    ASSERT_OK(fuse2_lattice_from_parameters(par, s->lattice));
    const double fcc[4][3] = {{0, 0, 0}, {0, 0.5, 0.5}, {0.5, 0, 0.5}, {0.5, 0.5, 0}};
    for (int i = 0; i < 4; i++) {
        double f[3] = {fcc[i][0] + 0.01 * i, fcc[i][1], fcc[i][2] - 0.01};
        ASSERT_OK(fuse2_structure_add_atom(s, Z("Na"), f));
        f[0] += 0.5;
        ASSERT_OK(fuse2_structure_add_atom(s, Z("Cl"), f));
    }
}

/* fuse2_relax of s with the calculator b; the caller frees *res. */
static void relax_with(fuse2_builtin *b, fuse2_structure *s, const fuse2_relax_options *opt,
                       fuse2_relax_result *res)
{
    fuse2_calc calc;
    test_calc_from_builtin(b, &calc);
    fuse2_relax_result_init(res);
    ASSERT_OK(fuse2_relax(&calc, s, opt, res));
}

static void test_relaxes_distorted_rock_salt_to_cubic(void **state)
{
    (void)state;
    fuse2_builtin *b = nacl_model(0, 1200.0);
    const fuse2_optimizer opts[3] = {FUSE2_OPTIMIZER_LBFGS, FUSE2_OPTIMIZER_FIRE,
                                     FUSE2_OPTIMIZER_FIRE_LBFGS};
    double energies[3];
    for (int k = 0; k < 3; k++) {
        fuse2_structure s;
        rock_salt(5.6, &s);
        fuse2_relax_options opt;
        fuse2_relax_options_default(&opt);
        opt.optimizer = opts[k];
        opt.fmax = 1e-5;
        opt.smax = 1e-7;
        opt.max_steps = 5000;
        fuse2_relax_result res;
        relax_with(b, &s, &opt, &res);
        assert_int_equal(res.status, FUSE2_RELAX_CONVERGED);
        assert_true(res.max_force <= 1e-5 && res.max_stress <= 1e-7);
        double p[6];
        fuse2_lattice_to_parameters(s.lattice, p);
        ASSERT_NEAR(p[0], p[1], 1e-4);
        ASSERT_NEAR(p[0], p[2], 1e-4);
        for (int i = 3; i < 6; i++) ASSERT_NEAR(p[i], 90.0, 1e-3);
        energies[k] = res.energy;
        fuse2_relax_result_free(&res);
        fuse2_structure_free(&s);
    }
    ASSERT_NEAR(energies[1], energies[0], 1e-6);
    ASSERT_NEAR(energies[2], energies[0], 1e-6);
    fuse2_builtin_destroy(b);
}

/* With no repulsion below rmin, Na and Cl fall onto each other: the relaxer
 * must stop with status "failed" and a reason naming the collapse. */
static void test_collapse_ends_with_failed_status_and_reason(void **state)
{
    (void)state;
    /* a repulsion too weak to balance the Madelung attraction, cut at 2.4 A */
    fuse2_builtin *b = nacl_model(2.4, 150.0);
    fuse2_structure s;
    rock_salt(5.6, &s); /* nearest neighbours near 2.8 A: outside rmin */
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result res;
    relax_with(b, &s, &opt, &res);
    assert_int_equal(res.status, FUSE2_RELAX_FAILED);
    assert_non_null(strstr(res.reason, "collapse"));
    assert_true(res.steps >= 1);
    assert_string_equal(fuse2_relax_status_name(res.status), "failed");
    /* the structure returned is the last sane geometry, with a finite energy */
    assert_true(isfinite(res.energy));
    ASSERT_OK(fuse2_structure_validate(&s, "relaxed"));
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);

    /* already inside the barrier: fails at once, and no energy is reported */
    rock_salt(4.4, &s);
    relax_with(b, &s, &opt, &res);
    assert_int_equal(res.status, FUSE2_RELAX_FAILED);
    assert_int_equal(res.steps, 0);
    assert_non_null(strstr(res.reason, "barrier at 2.4"));
    assert_true(isnan(res.energy));
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
}

static void test_fixed_cell_moves_only_atoms(void **state)
{
    (void)state;
    fuse2_builtin *b = nacl_model(0, 1200.0);
    fuse2_structure s;
    rock_salt(5.6, &s);
    double L[3][3];
    memcpy(L, s.lattice, sizeof L);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.fixed_cell = 1;
    opt.fmax = 1e-4;
    fuse2_relax_result res;
    relax_with(b, &s, &opt, &res);
    assert_int_equal(res.status, FUSE2_RELAX_CONVERGED);
    assert_memory_equal(L, s.lattice, sizeof L);
    assert_true(res.max_force <= 1e-4);
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
}

static void test_pressure_balances_stress_and_shrinks_cell(void **state)
{
    (void)state;
    fuse2_builtin *b = nacl_model(0, 1200.0);
    double volume[2];
    const double P = 5.0 / 160.21766208; /* 5 GPa in eV/A^3 */
    for (int k = 0; k < 2; k++) {
        fuse2_structure s;
        rock_salt(5.6, &s);
        fuse2_relax_options opt;
        fuse2_relax_options_default(&opt);
        opt.pressure = k ? P : 0;
        opt.fmax = 1e-5;
        opt.smax = 1e-7;
        fuse2_relax_result res;
        relax_with(b, &s, &opt, &res);
        assert_int_equal(res.status, FUSE2_RELAX_CONVERGED);
        for (int a = 0; a < 3; a++) ASSERT_NEAR(res.final.stress[a][a], -opt.pressure, 2e-7);
        volume[k] = fuse2_structure_volume(&s);
        ASSERT_NEAR(res.enthalpy, res.energy + opt.pressure * volume[k], 1e-9);
        fuse2_relax_result_free(&res);
        fuse2_structure_free(&s);
    }
    assert_true(volume[1] < 0.99 * volume[0]);
    fuse2_builtin_destroy(b);
}

static void test_step_limit_gives_not_converged(void **state)
{
    (void)state;
    fuse2_builtin *b = nacl_model(0, 1200.0);
    fuse2_structure s;
    rock_salt(5.0, &s);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.max_steps = 2;
    fuse2_relax_result res;
    relax_with(b, &s, &opt, &res);
    assert_int_equal(res.status, FUSE2_RELAX_MAX_STEPS);
    assert_int_equal(res.steps, 2);
    assert_non_null(strstr(res.reason, "step limit"));
    assert_string_equal(fuse2_relax_status_name(res.status), "not_converged");
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
}

static void test_bad_arguments_are_errors(void **state)
{
    (void)state;
    fuse2_builtin *b = nacl_model(0, 1200.0);
    fuse2_calc calc;
    test_calc_from_builtin(b, &calc);
    fuse2_structure s;
    rock_salt(5.6, &s);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    opt.fmax = 0;
    assert_int_equal(fuse2_relax(&calc, &s, &opt, &res), FUSE2_ERR_ARG);
    fuse2_relax_options_default(&opt);
    s.frac[3][1] = NAN;
    assert_int_not_equal(fuse2_relax(&calc, &s, &opt, &res), FUSE2_OK);
    test_assert_error_contains("non-finite");
    fuse2_optimizer o;
    assert_int_equal(fuse2_optimizer_parse("bfgs", &o), FUSE2_ERR_ARG);
    ASSERT_OK(fuse2_optimizer_parse("fire+lbfgs", &o));
    assert_int_equal(o, FUSE2_OPTIMIZER_FIRE_LBFGS);
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relaxes_distorted_rock_salt_to_cubic),
        cmocka_unit_test(test_collapse_ends_with_failed_status_and_reason),
        cmocka_unit_test(test_fixed_cell_moves_only_atoms),
        cmocka_unit_test(test_pressure_balances_stress_and_shrinks_cell),
        cmocka_unit_test(test_step_limit_gives_not_converged),
        cmocka_unit_test(test_bad_arguments_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
