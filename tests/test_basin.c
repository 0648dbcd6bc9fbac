/* Basin-hopping decisions and the evaluation of one structure
 * (fuse2-algorithm.md §9, §12, §16 facts 12-14, §17.4). No moves needed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "fuse2/rng.h"
#include "fuse2/search.h"
#include "fuse2/structure_io.h"

static fuse2_bh_params bh_params(int melt_threshold, int rmax)
{
    fuse2_bh_params p = {.T0 = 0.02, .e_prec = 1e-5, .melt_threshold = melt_threshold, .rmax = rmax};
    return p;
}

/* A walker at current = best = e (eV/atom) with a large budget. */
static void walker_at(fuse2_walker *w, const fuse2_bh_params *p, double e)
{
    ASSERT_OK(fuse2_walker_init(w, 0, p, 1000000));
    w->current_score = w->best_score = e;
}

static void test_energy_per_atom_is_rounded_half_even_to_e_prec(void **state)
{
    (void)state;
    /* §16 fact 14: -7.123456 is stored as -7.12346. */
    assert_true(fuse2_quantize(-7.123456, 1e-5) == -7.12346);
    /* Python round(0.5) = 0, round(1.5) = 2, round(2.5) = 2: half to even. */
    assert_true(fuse2_quantize(0.5e-5, 1e-5) == 0.0);
    assert_true(fuse2_quantize(1.5e-5, 1e-5) == 2e-5);
    assert_true(fuse2_quantize(2.5e-5, 1e-5) == 2e-5);
    ASSERT_NEAR(fuse2_acceptance_score(0, -7.123456, 5, 1e-5), -7.12346, 1e-12);
}

static void test_failed_ten_atom_structure_scores_1e19_per_atom(void **state)
{
    (void)state;
    /* §16 fact 14: E = 1e20 eV for a failure, per atom 1e19 for 10 atoms. */
    assert_true(fuse2_acceptance_score(1, -7.0, 10, 1e-5) == 1e19);
    assert_true(fuse2_acceptance_score(0, NAN, 10, 1e-5) == 1e19);
}

static void test_equal_energy_is_rejected_and_counts_toward_r_and_ca(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(150, 1000);
    fuse2_walker w;
    walker_at(&w, &p, -7.0);
    fuse2_decision d;
    const double trial[] = {-7.00000};
    /* u = 0 would accept any uphill step: equal energy must still be rejected. */
    ASSERT_OK(fuse2_walker_decide(&w, &p, trial, 1, 0.0, 0.5, &d));
    assert_false(d.accepted);
    assert_int_equal(w.r, 1);
    assert_int_equal(w.ca, 1);
    assert_int_equal(w.step, 1);
    ASSERT_NEAR(w.T, 0.02, 0.0);
    fuse2_walker_free(&w);
}

static void test_lower_by_one_quantum_is_accepted_and_resets_counters(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(2, 1000);
    fuse2_walker w;
    walker_at(&w, &p, -7.0);
    fuse2_decision d;
    /* Two rejections melt the walker: T rises, ca = 2, r = 2. */
    const double same[] = {-7.0};
    ASSERT_OK(fuse2_walker_decide(&w, &p, same, 1, 0.99, 0.5, &d));
    ASSERT_OK(fuse2_walker_decide(&w, &p, same, 1, 0.99, 0.5, &d));
    assert_true(w.melted);
    ASSERT_NEAR(w.T, 0.025, 1e-15);
    const double lower[] = {-7.00001};
    ASSERT_OK(fuse2_walker_decide(&w, &p, lower, 1, 0.99, 0.5, &d));
    assert_true(d.accepted && d.downhill && d.new_global_minimum);
    ASSERT_NEAR(d.dE_current, -1e-5, 1e-12);
    ASSERT_NEAR(w.T, 0.02, 0.0);
    assert_int_equal(w.ca, 0);
    assert_int_equal(w.r, 0);
    assert_false(w.melted);
    ASSERT_NEAR(w.current_score, -7.00001, 1e-12);
    ASSERT_NEAR(w.best_score, -7.00001, 1e-12);
    fuse2_walker_free(&w);
}

static void test_downhill_step_above_the_minimum_keeps_r(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(150, 1000);
    fuse2_walker w;
    walker_at(&w, &p, -7.5);
    w.current_score = -7.0; /* after an accepted uphill step */
    w.r = 5;
    w.ca = 5;
    fuse2_decision d;
    const double trial[] = {-7.2};
    ASSERT_OK(fuse2_walker_decide(&w, &p, trial, 1, 0.5, 0.5, &d));
    assert_true(d.accepted && d.downhill);
    assert_false(d.new_global_minimum);
    assert_int_equal(w.r, 5);
    assert_int_equal(w.ca, 0);
    ASSERT_NEAR(w.best_score, -7.5, 0.0);
    fuse2_walker_free(&w);
}

/* §16 fact 12: dE = 0.02 at T = 0.02 is accepted iff U <= e^-1. */
static void test_uphill_step_accepted_iff_u_at_most_exp_minus_dE_over_T(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(150, 1000);
    const double trial[] = {-6.98};
    const double u_values[] = {exp(-1.0) - 1e-9, exp(-1.0), exp(-1.0) + 1e-9, 0.9};
    const int expected[] = {1, 1, 0, 0};
    for (int i = 0; i < 4; i++) {
        fuse2_walker w;
        walker_at(&w, &p, -7.0);
        fuse2_decision d;
        ASSERT_OK(fuse2_walker_decide(&w, &p, trial, 1, u_values[i], 0.5, &d));
        ASSERT_NEAR(d.dE_current, 0.02, 1e-15);
        if (d.accepted != expected[i]) fail_msg("u = %.12f: accepted %d, expected %d", u_values[i], d.accepted, expected[i]);
        /* Accepted or not, an uphill trial counts toward r and ca. */
        assert_int_equal(w.r, 1);
        assert_int_equal(w.ca, 1);
        ASSERT_NEAR(w.current_score, expected[i] ? -6.98 : -7.0, 1e-12);
        ASSERT_NEAR(w.best_score, -7.0, 0.0);
        fuse2_walker_free(&w);
    }
}

/* §16 fact 13: after melt_threshold non-downhill trials every rejected step adds U[0, 0.01) to T. */
static void test_melting_raises_T_by_u_over_100_after_threshold(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(3, 1000);
    fuse2_walker w;
    walker_at(&w, &p, -7.0);
    fuse2_decision d;
    const double up[] = {-6.5};
    ASSERT_OK(fuse2_walker_decide(&w, &p, up, 1, 0.99, 0.7, &d));
    ASSERT_OK(fuse2_walker_decide(&w, &p, up, 1, 0.99, 0.7, &d));
    ASSERT_NEAR(w.T, 0.02, 0.0); /* ca = 2 < 3 */
    assert_false(w.melted);
    ASSERT_OK(fuse2_walker_decide(&w, &p, up, 1, 0.99, 0.7, &d));
    assert_true(d.melt_raised && w.melted);
    ASSERT_NEAR(w.T, 0.027, 1e-15);
    ASSERT_OK(fuse2_walker_decide(&w, &p, up, 1, 0.99, 0.25, &d));
    ASSERT_NEAR(w.T, 0.0295, 1e-15);
    /* An accepted uphill step does not raise T (u = 0 accepts dE = 0.5 at any T > 0). */
    ASSERT_OK(fuse2_walker_decide(&w, &p, up, 1, 0.0, 0.9, &d));
    assert_true(d.accepted);
    assert_false(d.melt_raised);
    ASSERT_NEAR(w.T, 0.0295, 1e-15);
    assert_int_equal(w.ca, 5);
    fuse2_walker_free(&w);
}

static void test_failed_trial_is_rejected_even_with_u_zero(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(150, 1000);
    fuse2_walker w;
    walker_at(&w, &p, -7.0);
    w.T = 1e6;
    fuse2_decision d;
    const double failed[] = {fuse2_acceptance_score(1, 0.0, 10, 1e-5)};
    ASSERT_OK(fuse2_walker_decide(&w, &p, failed, 1, 0.0, 0.5, &d));
    assert_false(d.accepted);
    ASSERT_NEAR(w.current_score, -7.0, 0.0);
    fuse2_walker_free(&w);
}

static void test_best_of_several_trials_is_the_first_lowest(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(150, 1000);
    fuse2_walker w;
    walker_at(&w, &p, -7.0);
    fuse2_decision d;
    const double trials[] = {-6.9, -7.1, 1e19, -7.1};
    ASSERT_OK(fuse2_walker_decide(&w, &p, trials, 4, 0.5, 0.5, &d));
    assert_int_equal(d.best_trial, 1);
    assert_true(d.accepted);
    /* Rejected steps add all trials to r: */
    const double worse[] = {-6.0, -6.5};
    ASSERT_OK(fuse2_walker_decide(&w, &p, worse, 2, 0.99, 0.5, &d));
    assert_int_equal(w.r, 2);
    assert_int_equal(w.ca, 2);
    fuse2_walker_free(&w);
}

static void test_walker_stops_when_r_reaches_rmax(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(150, 3);
    fuse2_walker w;
    walker_at(&w, &p, -7.0);
    fuse2_decision d;
    const double worse[] = {-6.0, -6.5};
    ASSERT_OK(fuse2_walker_decide(&w, &p, worse, 2, 0.99, 0.5, &d));
    assert_false(d.converged);
    assert_int_equal(w.stopped, FUSE2_WALKER_RUNNING);
    ASSERT_OK(fuse2_walker_decide(&w, &p, worse, 2, 0.99, 0.5, &d));
    assert_true(d.converged);
    assert_int_equal(w.r, 4);
    assert_int_equal(w.stopped, FUSE2_WALKER_CONVERGED);
    fuse2_walker_free(&w);
}

static void test_walker_stops_when_its_budget_is_used(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(150, 1000);
    fuse2_walker w;
    ASSERT_OK(fuse2_walker_init(&w, 2, &p, 3));
    w.current_score = w.best_score = -7.0;
    fuse2_decision d;
    const double worse[] = {-6.0, -6.5};
    ASSERT_OK(fuse2_walker_decide(&w, &p, worse, 2, 0.99, 0.5, &d));
    assert_int_equal(w.stopped, FUSE2_WALKER_RUNNING);
    ASSERT_OK(fuse2_walker_decide(&w, &p, worse, 1, 0.99, 0.5, &d));
    assert_int_equal(w.stopped, FUSE2_WALKER_BUDGET);
    fuse2_walker_free(&w);
    ASSERT_OK(fuse2_walker_init(&w, 0, &p, 0));
    assert_int_equal(w.stopped, FUSE2_WALKER_BUDGET);
    fuse2_walker_free(&w);
}

static void test_budget_split_gives_remainder_to_first_walkers(void **state)
{
    (void)state;
    /* rest 10, P 3: 4, 3, 3. */
    assert_int_equal(fuse2_walker_budget(10, 3, 0), 4);
    assert_int_equal(fuse2_walker_budget(10, 3, 1), 3);
    assert_int_equal(fuse2_walker_budget(10, 3, 2), 3);
    /* rest 2, P 3: 1, 1, 0. */
    assert_int_equal(fuse2_walker_budget(2, 3, 0), 1);
    assert_int_equal(fuse2_walker_budget(2, 3, 1), 1);
    assert_int_equal(fuse2_walker_budget(2, 3, 2), 0);
    assert_int_equal(fuse2_walker_budget(0, 3, 0), 0);
    assert_int_equal(fuse2_walker_budget(-5, 1, 0), 0);
    /* The shares always add up to the rest. */
    for (int rest = 0; rest < 50; rest++)
        for (int P = 1; P < 9; P++) {
            int sum = 0;
            for (int w = 0; w < P; w++) sum += fuse2_walker_budget(rest, P, w);
            assert_int_equal(sum, rest);
        }
}

static void test_walker_w_starts_from_energy_rank_w_mod_n_ties_by_id(void **state)
{
    (void)state;
    const double scores[] = {-5.0, -7.0, -6.0, -7.0, -5.5};
    int start[7];
    ASSERT_OK(fuse2_walker_start_members(scores, 5, 7, start));
    const int expected[] = {1, 3, 2, 4, 0, 1, 3};
    for (int w = 0; w < 7; w++) assert_int_equal(start[w], expected[w]);
    assert_int_equal(fuse2_walker_start_members(scores, 0, 1, start), FUSE2_ERR_ARG);
}

static void test_same_stream_key_gives_same_decision(void **state)
{
    (void)state;
    fuse2_bh_params p = bh_params(1, 1000);
    const uint64_t seed = 987654321u;
    const double trial[] = {-6.99}; /* uphill dE = 0.01: accepted with probability e^-0.5 */
    int accepted[2][20];
    double T[2][20];
    for (int run = 0; run < 2; run++) {
        fuse2_walker w;
        ASSERT_OK(fuse2_walker_init(&w, 3, &p, 1000));
        for (int s = 0; s < 20; s++) {
            w.current_score = w.best_score = -7.0;
            fuse2_decision d;
            ASSERT_OK(fuse2_walker_accept(&w, &p, seed, trial, 1, &d));
            accepted[run][s] = d.accepted;
            T[run][s] = w.T;
        }
        fuse2_walker_free(&w);
    }
    int n_accepted = 0;
    for (int s = 0; s < 20; s++) {
        assert_int_equal(accepted[0][s], accepted[1][s]);
        ASSERT_NEAR(T[0][s], T[1][s], 0.0);
        n_accepted += accepted[0][s];
    }
    /* 20 draws with p = 0.61 give neither all nor none (probability < 1e-4). */
    assert_true(n_accepted > 0 && n_accepted < 20);
    /* The numbers are those of the documented stream (seed, walker, step, ACCEPT). */
    fuse2_walker w;
    ASSERT_OK(fuse2_walker_init(&w, 3, &p, 1000));
    w.step = 7;
    w.current_score = w.best_score = -7.0;
    fuse2_rng rng;
    fuse2_rng_init(&rng, seed, 3, 7, FUSE2_RNG_PURPOSE_BH_ACCEPT);
    double u = fuse2_rng_uniform(&rng);
    fuse2_decision d;
    ASSERT_OK(fuse2_walker_accept(&w, &p, seed, trial, 1, &d));
    assert_int_equal(d.accepted, exp(-0.5) >= u);
    fuse2_walker_free(&w);
}

/* ---- evaluation with the builtin calculator ---- */
static const char *example_path(const char *name)
{
    static char path[4096];
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (!src) fail_msg("FUSE2_SOURCE_DIR is not set (run through ctest)");
    snprintf(path, sizeof path, "%s/examples/srtio3/%s", src, name);
    return path;
}

static void make_builtin(fuse2_calc *calc)
{
    char lib[4096];
    snprintf(lib, sizeof lib, "%s", example_path("SrTiO3-buck.lib"));
    const fuse2_setting items[] = {{"library", lib, "test"}, {"c6", "true", "test"}};
    fuse2_settings settings = {2, items};
    ASSERT_OK(fuse2_calc_create("builtin", &settings, calc));
}

static fuse2_eval_options eval_options(void)
{
    fuse2_eval_options o;
    memset(&o, 0, sizeof o);
    o.use_spglib = 1;
    o.symprec = 1e-5;
    o.ratt_dist = 0.05;
    o.check_distances = 1;
    o.dist_cutoff = 1.0;
    o.e_prec = 1e-5;
    fuse2_relax_options_default(&o.relax);
    o.relax.fmax = 1e-3;
    o.relax.smax = 1e-5;
    return o;
}

static void test_evaluating_rattled_perovskite_reaches_cubic_energy(void **state)
{
    (void)state;
    fuse2_calc calc;
    make_builtin(&calc);
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 0));
    ASSERT_OK(fuse2_cif_read(example_path("SrTiO3-rattled.cif"), 1e-3, &s));
    fuse2_eval_options o = eval_options();
    fuse2_rng rng;
    fuse2_rng_init(&rng, 42, 0, 0, FUSE2_RNG_PURPOSE_RATTLE_INITIAL);
    fuse2_record rec;
    ASSERT_OK(fuse2_record_init(&rec));
    ASSERT_OK(fuse2_evaluate_structure(&calc, &s, &o, &rng, &rec));
    if (rec.status != FUSE2_RECORD_CONVERGED) fail_msg("status %s: %s", fuse2_record_status_name(rec.status), rec.reason);
    /* Cubic perovskite with this model: -31.71670925 eV/atom (docs/builtin-calculator.md,
     * the model's energies agree with GULP to 1e-8 eV). */
    ASSERT_NEAR(rec.energy_per_atom, -31.7167, 1e-3);
    ASSERT_NEAR(rec.energy / rec.structure.natoms, -31.7167, 1e-3);
    assert_int_equal(rec.structure.natoms, 10);
    /* Stored per-atom energy is quantised to e_prec. */
    ASSERT_NEAR(rec.energy_per_atom, fuse2_quantize(rec.energy_per_atom, 1e-5), 1e-12);
    assert_true(rec.score == rec.energy_per_atom);
    assert_true(rec.wall_seconds >= 0.0);
    fuse2_record_free(&rec);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

static void test_collapsed_structure_gives_failed_record(void **state)
{
    (void)state;
    fuse2_calc calc;
    make_builtin(&calc);
    /* Cubic SrTiO3 with an O 0.05 A from Ti: a Buckingham collapse. */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 5));
    const double a = 3.905;
    double L[3][3] = {{a, 0, 0}, {0, a, 0}, {0, 0, a}};
    memcpy(s.lattice, L, sizeof L);
    ASSERT_OK(fuse2_structure_add_atom(&s, 38, (double[3]){0, 0, 0}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 22, (double[3]){0.5, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (double[3]){0.5 + 0.05 / a, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (double[3]){0.5, 0.0, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (double[3]){0.0, 0.5, 0.5}));
    fuse2_eval_options o = eval_options();
    o.ratt_dist = 0.0;
    fuse2_record rec;
    ASSERT_OK(fuse2_record_init(&rec));
    ASSERT_OK(fuse2_evaluate_structure(&calc, &s, &o, NULL, &rec));
    assert_int_equal(rec.status, FUSE2_RECORD_FAILED);
    assert_true(rec.reason[0] != '\0');
    assert_true(rec.score == 1e20 / 5);
    fuse2_record_free(&rec);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_energy_per_atom_is_rounded_half_even_to_e_prec),
        cmocka_unit_test(test_failed_ten_atom_structure_scores_1e19_per_atom),
        cmocka_unit_test(test_equal_energy_is_rejected_and_counts_toward_r_and_ca),
        cmocka_unit_test(test_lower_by_one_quantum_is_accepted_and_resets_counters),
        cmocka_unit_test(test_downhill_step_above_the_minimum_keeps_r),
        cmocka_unit_test(test_uphill_step_accepted_iff_u_at_most_exp_minus_dE_over_T),
        cmocka_unit_test(test_melting_raises_T_by_u_over_100_after_threshold),
        cmocka_unit_test(test_failed_trial_is_rejected_even_with_u_zero),
        cmocka_unit_test(test_best_of_several_trials_is_the_first_lowest),
        cmocka_unit_test(test_walker_stops_when_r_reaches_rmax),
        cmocka_unit_test(test_walker_stops_when_its_budget_is_used),
        cmocka_unit_test(test_budget_split_gives_remainder_to_first_walkers),
        cmocka_unit_test(test_walker_w_starts_from_energy_rank_w_mod_n_ties_by_id),
        cmocka_unit_test(test_same_stream_key_gives_same_decision),
        cmocka_unit_test(test_evaluating_rattled_perovskite_reaches_cubic_energy),
        cmocka_unit_test(test_collapsed_structure_gives_failed_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
