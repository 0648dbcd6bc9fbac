/* Campaign configuration (YAML): FUSE2's parameters with FUSE2's defaults,
 * the derived sub-module edge and ideal density, file:line errors for every
 * kind of bad input, the resolved-YAML round trip and `fuse2 check`. */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/stat.h>

#include "fuse2/config.h"
#include "fuse2/elements.h"

/* The calculator section needs a readable library that gives every element
 * of the composition a charge (the builtin checks that at load); no
 * potential is evaluated. */
static const char *dummy_library(void)
{
    return test_write_file("dummy.lib", "species\nSr core 2.0\nTi core 4.0\nO core -2.0\nCa core 2.0\n"
                                        "Mn core 2.0\nCo core 2.0\nAs core -1.0\nLi core 1.0\nBr core -1.0\n"
                                        "Cl core -1.0\nF core -1.0\nHe core 0.0\nCu core 1.0\nS core -2.0\nPb core 2.0\n"
                                        "Si core 4.0\nAl core 3.0\nB core 3.0\nFe core 2.0\nNa core 1.0\n"
                                        "W core 4.0\nY core 3.0\nSn core 2.0\n");
}

/* A campaign file name.yaml in the test directory: the required keys (lines
 * 1-7, the calculator mapping last), then `extra` from line 8, then
 * `iterations: 100` (required; last, so that the line numbers of `extra`
 * stay put) unless `extra` sets it. */
static const char *campaign_atoms(const char *name, const char *composition, int max_atoms, int imax_atoms,
                                  const char *extra)
{
    dummy_library();
    static char text[8192];
    snprintf(text, sizeof text,
             "composition: %s\n"
             "max_atoms: %d\n"
             "imax_atoms: %d\n"
             "seed: 7\n"
             "calculator:\n"
             "  name: builtin\n"
             "  library: dummy.lib\n"
             "%s%s",
             composition, max_atoms, imax_atoms, extra, strstr(extra, "iterations:") ? "" : "iterations: 100\n");
    return test_write_file(name, text);
}

static const char *campaign(const char *name, const char *composition, const char *extra)
{
    return campaign_atoms(name, composition, 50, 50, extra);
}

static const char *example_path(void)
{
    static char path[4096];
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (!src) fail_msg("FUSE2_SOURCE_DIR is not set (run through ctest)");
    snprintf(path, sizeof path, "%s/examples/srtio3/campaign.yaml", src);
    return path;
}

/* Loading `path` fails with a message containing `needle`. */
/* Loading, then making the calculator (values, files, elements), as a
 * campaign does before any work, must fail with needle in the message. */
static void assert_load_fails(const char *path, const char *needle)
{
    fuse2_config cfg;
    fuse2_status st = fuse2_config_load(path, &cfg);
    if (st == FUSE2_OK) {
        fuse2_calc calc;
        st = fuse2_config_calculator_create(&cfg, &calc);
        if (st == FUSE2_OK) fuse2_calc_destroy(&calc);
        fuse2_config_free(&cfg);
        if (st == FUSE2_OK) fail_msg("%s loaded, expected an error containing '%s'", path, needle);
    }
    test_assert_error_contains(needle);
}

static void test_example_campaign_loads_with_srtio3_sub_module(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(example_path(), &cfg));
    assert_int_equal(cfg.apfu, 5);
    assert_int_equal(cfg.max_fus, 6);  /* floor(30 / 5) */
    assert_int_equal(cfg.imax_fus, 4); /* floor(20 / 5) */
    const int fu[5] = {38, 22, 8, 8, 8};
    for (int i = 0; i < 5; i++) assert_int_equal(cfg.fu_species[i], fu[i]);
    /* fuse2-algorithm.md §16 fact 1: SrTiO3 ap 4.672, rho_ideal 3.0567 (FUSE2 run values) */
    ASSERT_NEAR(cfg.ap, 4.672, 1e-12);
    ASSERT_NEAR(cfg.rho_ideal, 3.0567, 5e-5);
    assert_true(cfg.seed == 20250101u);
    assert_int_equal(cfg.walkers, 2);
    assert_int_equal(cfg.initial_gen, 10);
    assert_int_equal(cfg.iterations, 60);
    assert_string_equal(cfg.calc_name, "builtin");
    const char *lib = fuse2_settings_get(&cfg.calc_settings, "library", NULL);
    assert_non_null(lib);
    assert_true(lib[0] == '/');
    assert_non_null(strstr(lib, "/examples/srtio3/SrTiO3-buck.lib"));
    assert_string_equal(fuse2_settings_get(&cfg.calc_settings, "c6", NULL), "true");
    assert_int_equal(cfg.relax.optimizer, FUSE2_OPTIMIZER_LBFGS);
    ASSERT_NEAR(cfg.relax.fmax, 0.05, 0);
    assert_string_equal(cfg.campaign_file, "campaign.h5");
    fuse2_config_free(&cfg);
    /* the calculator can be created from these settings */
    fuse2_calc calc;
    ASSERT_OK(fuse2_config_load(example_path(), &cfg));
    ASSERT_OK(fuse2_calc_create(cfg.calc_name, &cfg.calc_settings, &calc));
    fuse2_calc_destroy(&calc);
    fuse2_config_free(&cfg);
}

/* fuse2-algorithm.md §16 fact 1: ap and rho_ideal of FUSE2 runs. */
static void test_derived_values_match_fuse2_run_values(void **state)
{
    (void)state;
    static const struct {
        const char *formula;
        double ap, rho;
    } facts[] = {
        {"Ca3Ti2O7", 4.6767, 2.4371},     {"CoAs2", 4.8933, 9.0683},
        {"Cu7S4", 4.7709, 7.1330},        {"Mn", 5.48, 5.1006},
        {"Pb5As3O12Cl", 4.2381, 9.3632},  {"Si6Al6B3Fe3NaO30F", 3.736, 4.6099},
        {"WCl2", 4.52, 12.8198},          {"YWB4", 4.3133, 6.8844},
        {"Li2Sn2S3Cl4", 4.8655, 5.1043},  {"Li3Si3O5Cl5", 4.225, 3.6939},
        {"Li4OBrCl", 5.2286, 2.0716},     {"SrTiO3", 4.672, 3.0567},
        {"Ca3Al2Si3O12", 4.238, 2.7876},
    };
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", facts[i].formula);
        fuse2_config cfg;
        ASSERT_OK(fuse2_config_load(campaign("fact1.yaml", quoted, ""), &cfg));
        if (fabs(cfg.ap - facts[i].ap) > 1e-12 || fabs(cfg.rho_ideal - facts[i].rho) > 5e-5)
            fail_msg("%s: ap %.6f rho %.6f, FUSE2 %.4f %.4f", facts[i].formula, cfg.ap, cfg.rho_ideal,
                     facts[i].ap, facts[i].rho);
        fuse2_config_free(&cfg);
    }
}

static void test_composition_mapping_order_defines_the_formula_unit(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("order.yaml", "{O: 7, Ti: 2, Ca: 3}", ""), &cfg));
    assert_int_equal(cfg.apfu, 12);
    const int fu[12] = {8, 8, 8, 8, 8, 8, 8, 22, 22, 20, 20, 20};
    for (int i = 0; i < 12; i++) assert_int_equal(cfg.fu_species[i], fu[i]);
    ASSERT_NEAR(cfg.ap, 4.6767, 1e-12); /* same as "Ca3Ti2O7": order does not change ap */
    assert_int_equal(cfg.max_fus, 4);   /* floor(50 / 12) */
    fuse2_config_free(&cfg);
    /* block-style mapping too */
    ASSERT_OK(fuse2_config_load(campaign("block.yaml", "\n  Co: 1\n  As: 2", ""), &cfg));
    assert_int_equal(cfg.composition.nelements, 2);
    assert_int_equal(cfg.composition.z[0], 27);
    assert_int_equal(cfg.composition.count[1], 2);
    fuse2_config_free(&cfg);
}

static void test_defaults_are_fuse2s(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("defaults.yaml", "Mn", ""), &cfg));
    /* fuse2-algorithm.md §1.1-§1.4, §17 */
    assert_int_equal(cfg.max_ax, 40);
    ASSERT_NEAR(cfg.ap_scale, 1.0, 0);
    ASSERT_NEAR(cfg.fixed_ap, 0.0, 0);
    assert_int_equal(cfg.vac_ratio, 4);
    ASSERT_NEAR(cfg.density_cutoff, 0.4, 0);
    assert_true(cfg.check_distances);
    ASSERT_NEAR(cfg.dist_cutoff, 1.0, 0);
    assert_true(cfg.check_bonds);
    ASSERT_NEAR(cfg.btol, 0.25, 0);
    ASSERT_NEAR(cfg.ratt_dist, 0.05, 0);
    assert_true(cfg.use_spglib);
    assert_int_equal(cfg.initial_gen, 20);
    assert_int_equal(cfg.iterations, 100); /* required: no default */
    assert_int_equal(cfg.search, 1);
    assert_int_equal(cfg.search_gen_bh, 1);
    ASSERT_NEAR(cfg.T, 0.02, 0);
    assert_int_equal(cfg.melt_threshold, 150);
    assert_int_equal(cfg.rmax, 1000);
    ASSERT_NEAR(cfg.e_prec, 1e-5, 0);
    for (int i = 0; i < FUSE2_NUM_MOVES; i++) {
        assert_int_equal(cfg.n_moves[i], 1);
        assert_int_equal(cfg.r_moves[i], 1);
    }
    ASSERT_NEAR(cfg.grid_spacing, 0.75, 0);
    ASSERT_NEAR(cfg.exclusion, 1.5, 0);
    assert_int_equal(cfg.revert_atoms, -1);
    assert_false(cfg.read_existing_structures);
    assert_true(cfg.pull_spp_rank);
    assert_false(cfg.pull_random);
    assert_int_equal(cfg.gn_search, FUSE2_GN_TPE);
    assert_int_equal(cfg.gn_max_step, 500);
    assert_int_equal(cfg.gn_zn_range[0], 1);
    assert_int_equal(cfg.gn_zn_range[1], 4);
    assert_int_equal(cfg.rank_gn_structures, FUSE2_GN_RANK_SINGLE);
    assert_false(cfg.restart);
    assert_true(cfg.write_all_structures);
    assert_int_equal(cfg.walkers, 1);
    ASSERT_NEAR(cfg.symprec, 1e-5, 0);
    ASSERT_NEAR(cfg.submodule_shrink, 0.8, 0);
    assert_false(cfg.has_oxidation_states);
    assert_int_equal(cfg.progress_steps, 0); /* a progress line every 10 s */
    assert_string_equal(cfg.stop_file, "stop.txt");
    assert_string_equal(cfg.campaign_file, "defaults.h5");
    assert_true(cfg.output_dir[0] == '/');
    fuse2_relax_options ro;
    fuse2_relax_options_default(&ro);
    ASSERT_NEAR(cfg.relax.fmax, ro.fmax, 0);
    assert_int_equal(cfg.relax.max_steps, ro.max_steps);
    /* Mn, one atom per formula unit */
    assert_int_equal(cfg.max_fus, 50);
    assert_int_equal(cfg.imax_fus, 50);
    fuse2_config_free(&cfg);
}

static void test_values_in_the_file_override_defaults(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(
        campaign("values.yaml", "SrTiO3",
                 "T: 0.005\nrmax: 500\nn_moves: {1: 3, 14: 2}\nrevert_atoms: False\n"
                 "read_existing_structures: true\npath_to_structures: .\ngn_zn_range: [1, 2, 3]\nrank_gn_structures: opti\n"
                 "ap_scale: 1.1\nsymprec: 0.01\nwalkers: 8\noutput_dir: out\nstop_file: halt\n"
                 "relax:\n  optimizer: fire+lbfgs\n  pressure: 1.0\n  fixed_cell: yes\n  time_limit: 60\n"),
        &cfg));
    ASSERT_NEAR(cfg.T, 0.005, 0);
    assert_int_equal(cfg.rmax, 500);
    /* a given move table switches unlisted moves off, as in FUSE2 */
    assert_int_equal(cfg.n_moves[0], 3);
    assert_int_equal(cfg.n_moves[1], 0);
    assert_int_equal(cfg.n_moves[13], 2);
    assert_int_equal(cfg.r_moves[1], 1);
    assert_int_equal(cfg.revert_atoms, 0);
    assert_true(cfg.read_existing_structures);
    assert_int_equal(cfg.gn_zn_range[1], 3);
    assert_int_equal(cfg.rank_gn_structures, FUSE2_GN_RANK_OPTI);
    ASSERT_NEAR(cfg.ap, 5.1392, 1e-12); /* round(4.672 * 1.1, 4) */
    ASSERT_NEAR(cfg.symprec, 0.01, 0);
    assert_int_equal(cfg.walkers, 8);
    char expect[4200];
    char *dir = realpath(test_tmpdir(), NULL);
    snprintf(expect, sizeof expect, "%s/out", dir);
    assert_string_equal(cfg.output_dir, expect);
    snprintf(expect, sizeof expect, "%s/dummy.lib", dir);
    assert_string_equal(fuse2_settings_get(&cfg.calc_settings, "library", NULL), expect);
    free(dir);
    assert_string_equal(cfg.stop_file, "halt");
    assert_int_equal(cfg.relax.optimizer, FUSE2_OPTIMIZER_FIRE_LBFGS);
    /* 1 GPa = 1e9 Pa * 1e-30 m^3/A^3 / 1.602176634e-19 J/eV = 0.00624150907 eV/A^3 */
    ASSERT_NEAR(cfg.relax.pressure, 0.00624150907, 1e-11);
    assert_true(cfg.relax.fixed_cell);
    ASSERT_NEAR(cfg.relax.time_limit, 60, 0);
    fuse2_config_free(&cfg);
    /* FUSE2's misspelling is the primary name */
    ASSERT_OK(fuse2_config_load(campaign("sic.yaml", "SrTiO3", "read_exisiting_structures: true\npath_to_structures: .\n"), &cfg));
    assert_true(cfg.read_existing_structures);
    fuse2_config_free(&cfg);
}

static void test_seed_takes_the_full_64_bit_range(void **state)
{
    (void)state;
    dummy_library();
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(test_write_file("seed.yaml", "composition: Mn\nmax_atoms: 5\nimax_atoms: 5\n"
                                                             "seed: 18446744073709551615\niterations: 1\n"
                                                             "calculator: {name: builtin, library: dummy.lib}\n"),
                                &cfg));
    assert_true(cfg.seed == UINT64_MAX);
    fuse2_config_free(&cfg);
}

static void test_fixed_ap_replaces_the_sub_module_edge(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("fixed.yaml", "SrTiO3", "fixed_ap: 3.90004\nap_scale: 2\n"), &cfg));
    ASSERT_NEAR(cfg.ap, 3.9, 1e-12); /* rounded to 1e-4 */
    ASSERT_NEAR(cfg.rho_ideal, 3.0567, 5e-5);
    fuse2_config_free(&cfg);
}

/* §17.1: I_p = 2 (mean cation + mean anion Shannon radius) over the FU atoms.
 * Shannon, Acta Cryst. A32, 751 (1976), CN 6: Sr2+ 1.18, Ti4+ 0.605, O2- 1.40 A;
 * Ca2+ 1.00 A. */
static void test_oxidation_states_give_the_ionic_sub_module(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(
        campaign("ionic.yaml", "SrTiO3", "oxidation_states: {Sr: 2, Ti: 4, O: -2}\n"), &cfg));
    assert_true(cfg.has_oxidation_states);
    ASSERT_NEAR(cfg.ap, 2 * ((1.18 + 0.605) / 2 + 1.40), 1e-12); /* 4.585 */
    ASSERT_NEAR(cfg.rho_ideal, 3.0567, 5e-5);                      /* unchanged */
    fuse2_config_free(&cfg);
    ASSERT_OK(fuse2_config_load(
        campaign("ionic2.yaml", "Ca3Ti2O7", "oxidation_states: {Ca: 2, Ti: 4, O: -2}\n"), &cfg));
    /* cation mean over the 5 FU cations: (3 * 1.00 + 2 * 0.605) / 5 = 0.842 */
    ASSERT_NEAR(cfg.ap, round(2 * (0.842 + 1.40) * 1e4) / 1e4, 1e-12);
    fuse2_config_free(&cfg);
}

/* ---- every error names the file and line ---- */

static void test_unknown_keys_are_errors_with_a_suggestion(void **state)
{
    (void)state;
    assert_load_fails(campaign("unknown.yaml", "SrTiO3", "melt_treshold: 10\n"),
                      "unknown.yaml:8: unknown key 'melt_treshold' (did you mean 'melt_threshold'?)");
    assert_load_fails(campaign("unknown2.yaml", "SrTiO3", "colour: blue\n"), "unknown2.yaml:8: unknown key 'colour'");
    assert_load_fails(campaign("unknown3.yaml", "SrTiO3", "relax:\n  fmaxx: 0.1\n"),
                      "unknown3.yaml:9: unknown key 'fmaxx' in relax (did you mean 'fmax'?)");
    assert_load_fails(campaign("ctype.yaml", "SrTiO3", "ctype: gulp\n"),
                      "ctype.yaml:8: 'ctype' is a FUSE2 key that fuse2-mpi replaces by the 'calculator:' section");
}

static void test_wrong_types_are_errors(void **state)
{
    (void)state;
    assert_load_fails(campaign("type1.yaml", "SrTiO3", "T: hot\n"), "type1.yaml:8: 'T' must be a number, got 'hot'");
    assert_load_fails(campaign("type2.yaml", "SrTiO3", "rmax: 1.5\n"), "type2.yaml:8: 'rmax' must be an integer, got '1.5'");
    assert_load_fails(campaign("type3.yaml", "SrTiO3", "use_spglib: maybe\n"),
                      "type3.yaml:8: 'use_spglib' must be true or false, got 'maybe'");
    assert_load_fails(campaign("type4.yaml", "SrTiO3", "initial_gen: [1, 2]\n"),
                      "type4.yaml:8: 'initial_gen' must be an integer, got a list");
    assert_load_fails(campaign("type5.yaml", "SrTiO3", "relax: fast\n"), "type5.yaml:8: 'relax' must be a mapping");
    assert_load_fails(test_write_file("type6.yaml", "seed: -3\n"), "type6.yaml:1: 'seed' must be an integer");
    assert_load_fails(test_write_file("type6b.yaml", "seed: 18446744073709551616\n"),
                      "type6b.yaml:1: 'seed' must be an integer 0..18446744073709551615, got '18446744073709551616'");
    assert_load_fails(campaign("type7.yaml", "SrTiO3", "relax: {optimizer: bfgs}\n"),
                      "type7.yaml:8: unknown optimizer 'bfgs'");
    assert_load_fails(campaign("type8.yaml", "SrTiO3", "gn_search: grid\n"),
                      "type8.yaml:8: 'gn_search' must be rand, tpe or pso, got 'grid'");
}

static void test_out_of_range_values_are_errors(void **state)
{
    (void)state;
    assert_load_fails(campaign("range1.yaml", "SrTiO3", "T: -0.02\n"), "range1.yaml:8: 'T' must be > 0 (got -0.02)");
    assert_load_fails(campaign("range2.yaml", "SrTiO3", "btol: 1.5\n"), "range2.yaml:8: 'btol' must be <= 1 (got 1.5)");
    assert_load_fails(campaign("range3.yaml", "SrTiO3", "walkers: 0\n"), "range3.yaml:8: 'walkers' must be >= 1 (got 0)");
    assert_load_fails(campaign("range4.yaml", "SrTiO3", "submodule_shrink: 0\n"),
                      "range4.yaml:8: 'submodule_shrink' must be > 0 (got 0)");
    assert_load_fails(campaign("range5.yaml", "SrTiO3", "relax:\n  max_steps: 0\n"),
                      "range5.yaml:9: 'max_steps' must be >= 1 (got 0)");
    assert_load_fails(campaign("range6.yaml", "SrTiO3", "search: 2\n"), "range6.yaml:8: 'search' must be 1");
    assert_load_fails(campaign("range7.yaml", "SrTiO3", "n_moves: {15: 1}\n"),
                      "range7.yaml:8: 'n_moves': move '15' is not a move number 1..14");
    assert_load_fails(campaign("range8.yaml", "SrTiO3", "r_moves: {3: -1, 4: 1}\n"),
                      "range8.yaml:8: 'r_moves[3]' must be >= 0 (got -1)");
}

static void test_duplicate_keys_are_errors(void **state)
{
    (void)state;
    assert_load_fails(campaign("dup.yaml", "SrTiO3", "T: 0.1\nT: 0.2\n"),
                      "dup.yaml:9: duplicate key 'T' (first at line 8)");
    assert_load_fails(campaign("dup2.yaml", "{Sr: 1, Ti: 1, Sr: 3}", ""), "dup2.yaml:1: duplicate key 'Sr'");
}

static void test_yaml_syntax_errors_give_the_line(void **state)
{
    (void)state;
    assert_load_fails(campaign("syntax.yaml", "SrTiO3", "T: [0.1\nrmax: 3\n"), "syntax.yaml:9: YAML syntax error");
    test_assert_error_contains("while parsing a flow sequence (started at line 8)");
    assert_load_fails(test_write_file("syntax2.yaml", "composition: SrTiO3\n  max_atoms: 3\n"),
                      "syntax2.yaml:2: YAML syntax error");
    assert_load_fails(test_write_file("two.yaml", "composition: Mn\n---\nmax_atoms: 3\n"),
                      "two.yaml:3: a campaign file holds one YAML document, found a second");
    assert_load_fails(test_write_file("empty.yaml", "# nothing\n"), "empty.yaml:1: the campaign file is empty");
    assert_load_fails(test_write_file("list.yaml", "- a\n- b\n"), "list.yaml:1: the campaign file must be a mapping");
}

static void test_missing_required_keys_are_errors(void **state)
{
    (void)state;
    dummy_library();
    assert_load_fails(test_write_file("req.yaml", "max_atoms: 50\nimax_atoms: 50\nseed: 1\n"
                                                  "calculator: {name: builtin, library: dummy.lib}\n"),
                      "req.yaml:1: missing required key 'composition'");
    assert_load_fails(test_write_file("req2.yaml", "composition: Mn\nimax_atoms: 50\nseed: 1\n"
                                                   "calculator: {name: builtin, library: dummy.lib}\n"),
                      "req2.yaml:1: missing required key 'max_atoms'");
    assert_load_fails(test_write_file("req3.yaml", "composition: Mn\nmax_atoms: 50\nseed: 1\n"
                                                   "calculator: {name: builtin, library: dummy.lib}\n"),
                      "req3.yaml:1: missing required key 'imax_atoms'");
    assert_load_fails(test_write_file("req4.yaml", "composition: Mn\nmax_atoms: 50\nimax_atoms: 5\nseed: 1\n"),
                      "req4.yaml:1: missing required key 'calculator'");
    assert_load_fails(test_write_file("req5.yaml", "composition: Mn\nmax_atoms: 50\nimax_atoms: 5\n"
                                                   "calculator: {name: builtin, library: dummy.lib}\n"),
                      "req5.yaml:1: missing required key 'seed'");
    assert_load_fails(test_write_file("req6.yaml", "composition: Mn\nmax_atoms: 50\nimax_atoms: 5\nseed: 1\n"
                                                   "calculator: {library: dummy.lib}\n"),
                      "req6.yaml:5: calculator: missing 'name'");
}

static void test_inconsistent_values_are_errors(void **state)
{
    (void)state;
    /* Ca3Ti2O7 has 12 atoms per formula unit */
    assert_load_fails(campaign_atoms("small.yaml", "Ca3Ti2O7", 50, 11, ""),
                      "small.yaml:3: imax_atoms (11) is smaller than one formula unit (12 atoms)");
    assert_load_fails(campaign_atoms("small2.yaml", "Ca3Ti2O7", 10, 50, ""),
                      "small2.yaml:2: max_atoms (10) is smaller than one formula unit (12 atoms)");
    assert_load_fails(campaign("moves.yaml", "SrTiO3", "n_moves: {1: 0, 2: 0}\n"),
                      "moves.yaml:8: 'n_moves': every move weight is 0");
    assert_load_fails(campaign("elem.yaml", "{Sr: 1, Xx: 1, O: 3}", ""),
                      "elem.yaml:1: unknown element 'Xx' in composition");
    assert_load_fails(campaign("elem2.yaml", "SrTiQ3", ""), "elem2.yaml:1: composition:");
    assert_load_fails(campaign("count.yaml", "{Sr: 0, O: 1}", ""), "count.yaml:1: 'Sr' must be >= 1 (got 0)");
    assert_load_fails(campaign("he.yaml", "HeO", ""), "he.yaml:1: element 'He' is not supported by FUSE");
    assert_load_fails(campaign("ox.yaml", "SrTiO3", "oxidation_states:\n  Sr: 2\n  Ti: 4\n  O: -2\n  Ca: 2\n"),
                      "ox.yaml:12: oxidation_states: 'Ca' is not an element of the composition");
    assert_load_fails(campaign("ox2.yaml", "SrTiO3", "oxidation_states: {Sr: 2, O: -2}\n"),
                      "ox2.yaml:8: oxidation_states: no oxidation state for 'Ti'");
    assert_load_fails(campaign("ox3.yaml", "SrTiO3", "oxidation_states:\n  Sr: 2\n  Ti: 7\n  O: -2\n"),
                      "ox3.yaml:10: no Shannon radius for Ti+7");
    assert_load_fails(campaign("ox4.yaml", "SrTiO3", "oxidation_states: {Sr: 2, Ti: 4, O: 0}\n"),
                      "ox4.yaml:8: 'oxidation_states[O]' must not be 0");
}

/* `iterations` has no usable default: FUSE2's 0 relaxes nothing, and the run
 * would only fail when it starts. */
static void test_iterations_is_a_required_budget_of_at_least_one(void **state)
{
    (void)state;
    dummy_library();
    assert_load_fails(test_write_file("noiter.yaml", "composition: Mn\nmax_atoms: 5\nimax_atoms: 5\nseed: 1\n"
                                                     "calculator: {name: builtin, library: dummy.lib}\n"),
                      "noiter.yaml:1: missing required key 'iterations' (the campaign's total relaxation budget, "
                      "initial population + basin-hopping trials, >= 1; FUSE2's default 0 would relax nothing)");
    assert_load_fails(campaign("iter0.yaml", "SrTiO3", "iterations: 0\n"),
                      "iter0.yaml:8: 'iterations' must be >= 1 (got 0): it is the campaign's total relaxation "
                      "budget (initial population + basin-hopping trials)");
    assert_load_fails(campaign("iter-1.yaml", "SrTiO3", "T: 0.01\niterations: -5\n"),
                      "iter-1.yaml:9: 'iterations' must be >= 1 (got -5)");
    assert_load_fails(campaign("iterx.yaml", "SrTiO3", "iterations: many\n"),
                      "iterx.yaml:8: 'iterations' must be an integer, got 'many'");
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("iter1.yaml", "SrTiO3", "iterations: 1\n"), &cfg));
    assert_int_equal(cfg.iterations, 1);
    fuse2_config_free(&cfg);
}

/* The controller refuses more than FUSE2_MAX_TRIALS_PER_STEP trials per step
 * (each trial has its own rattle stream); `fuse2 check` must say so first. */
static void test_search_gen_bh_is_limited_to_256_trials_per_step(void **state)
{
    (void)state;
    assert_load_fails(campaign("sgb.yaml", "SrTiO3", "search_gen_bh: 257\n"),
                      "sgb.yaml:8: 'search_gen_bh' must be <= 256 (got 257)");
    assert_load_fails(campaign("sgb0.yaml", "SrTiO3", "search_gen_bh: 0\n"),
                      "sgb0.yaml:8: 'search_gen_bh' must be >= 1 (got 0)");
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("sgb256.yaml", "SrTiO3", "search_gen_bh: 256\n"), &cfg));
    assert_int_equal(cfg.search_gen_bh, 256);
    fuse2_config_free(&cfg);
}

static void test_progress_steps_is_a_count_of_steps(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("prog.yaml", "SrTiO3", "progress_steps: 50\n"), &cfg));
    assert_int_equal(cfg.progress_steps, 50);
    fuse2_config_free(&cfg);
    assert_load_fails(campaign("prog2.yaml", "SrTiO3", "progress_steps: -1\n"),
                      "prog2.yaml:8: 'progress_steps' must be >= 0 (got -1)");
    assert_load_fails(campaign("prog3.yaml", "SrTiO3", "progress_steps: 2.5\n"),
                      "prog3.yaml:8: 'progress_steps' must be an integer, got '2.5'");
}

static void test_system_type_other_than_neutral_is_an_error(void **state)
{
    (void)state;
    assert_load_fails(campaign("systype.yaml", "SrTiO3", "system_type: ionic\n"),
                      "systype.yaml:8: system_type must be 'neutral' (FUSE2's ionic paths are dead code); give "
                      "'oxidation_states' for the ionic sub-module size");
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("systype2.yaml", "SrTiO3", "system_type: neutral\n"), &cfg));
    fuse2_config_free(&cfg);
}

static void test_bad_gn_zn_range_is_an_error(void **state)
{
    (void)state;
    assert_load_fails(campaign("zn1.yaml", "SrTiO3", "gn_zn_range: 4\n"),
                      "zn1.yaml:8: 'gn_zn_range' must be a list of formula-unit counts, e.g. [1, 4]");
    assert_load_fails(campaign("zn2.yaml", "SrTiO3", "gn_zn_range: []\n"),
                      "zn2.yaml:8: 'gn_zn_range' must be a list of formula-unit counts, e.g. [1, 4]");
    assert_load_fails(campaign("zn3.yaml", "SrTiO3", "gn_zn_range: [0, 2]\n"),
                      "zn3.yaml:8: 'gn_zn_range' entries must be >= 1 (got 0)");
    assert_load_fails(campaign("zn4.yaml", "SrTiO3", "gn_zn_range: [4, 1]\n"),
                      "zn4.yaml:8: 'gn_zn_range' must run from the smallest to the largest Z");
    assert_load_fails(campaign("zn5.yaml", "SrTiO3", "gn_zn_range:\n  - 1\n  - x\n"),
                      "zn5.yaml:10: 'gn_zn_range' must be an integer, got 'x'");
}

static void test_bad_ranking_settings_are_errors(void **state)
{
    (void)state;
    assert_load_fails(campaign("rankgn.yaml", "SrTiO3", "rank_gn_structures: best\n"),
                      "rankgn.yaml:8: 'rank_gn_structures' must be none, opti or single, got 'best'");
    assert_load_fails(campaign("ranking.yaml", "SrTiO3", "ranking: mixed\n"),
                      "ranking.yaml:8: 'ranking' must be 'calculator' (the campaign calculator ranks the pool in "
                      "fuse2-mpi), got 'mixed'");
    /* FUSE2's None for rank_gn_structures, and the one valid ranking */
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("rankok.yaml", "SrTiO3", "rank_gn_structures: None\nranking: calculator\n"),
                                &cfg));
    assert_int_equal(cfg.rank_gn_structures, FUSE2_GN_RANK_NONE);
    fuse2_config_free(&cfg);
}

static void test_bad_compositions_are_errors(void **state)
{
    (void)state;
    assert_load_fails(campaign("complist.yaml", "[Sr, Ti, O]", ""),
                      "complist.yaml:1: 'composition' must be a formula or a mapping element: count, got a list");
    assert_load_fails(campaign("compempty.yaml", "{}", ""), "compempty.yaml:1: composition is empty");
    assert_load_fails(campaign("compstr.yaml", "\"\"", ""), "compstr.yaml:1: composition: ");
    /* FUSE2_COMPOSITION_MAX_ELEMENTS = 16 */
    assert_load_fails(campaign("comp17.yaml",
                               "\n  H: 1\n  Li: 1\n  Be: 1\n  B: 1\n  C: 1\n  N: 1\n  O: 1\n  F: 1\n  Na: 1\n"
                               "  Mg: 1\n  Al: 1\n  Si: 1\n  P: 1\n  S: 1\n  Cl: 1\n  K: 1\n  Ca: 1",
                               ""),
                      "comp17.yaml:18: composition: more than 16 elements");
    assert_load_fails(campaign("comp17f.yaml", "HLiBeBCNOFNaMgAlSiPSClKCa", ""),
                      "comp17f.yaml:1: composition: formula 'HLiBeBCNOFNaMgAlSiPSClKCa': more than 16 elements");
    assert_load_fails(campaign("compcount.yaml", "{Sr: 1, Ti: one}", ""),
                      "compcount.yaml:1: 'Ti' must be an integer, got 'one'");
}

static void test_keys_must_be_plain_names(void **state)
{
    (void)state;
    assert_load_fails(campaign("key1.yaml", "SrTiO3", "[a, b]: 1\n"),
                      "key1.yaml:8: keys must be plain names, got a list");
    assert_load_fails(campaign("key2.yaml", "SrTiO3", "relax:\n  {a: 1}: 2\n"),
                      "key2.yaml:9: keys must be plain names, got a mapping");
}

static void test_oxidation_states_need_cations_and_anions(void **state)
{
    (void)state;
    assert_load_fails(campaign("cations.yaml", "SrTi", "oxidation_states: {Sr: 2, Ti: 4}\n"),
                      "cations.yaml:8: oxidation_states: the ionic sub-module size needs at least one cation and one "
                      "anion");
    assert_load_fails(campaign("anions.yaml", "OF2", "oxidation_states:\n  O: -2\n  F: -1\n"),
                      "anions.yaml:9: oxidation_states: the ionic sub-module size needs at least one cation and one "
                      "anion");
}

static void test_calculator_settings_are_checked_before_anything_runs(void **state)
{
    (void)state;
    assert_load_fails(campaign("calc.yaml", "SrTiO3", "  libary: x.lib\n"),
                      "calc.yaml:8: unknown setting 'libary' for calculator 'builtin' (did you mean 'library'?)");
    assert_load_fails(test_write_file("calc2.yaml", "composition: Mn\nmax_atoms: 5\nimax_atoms: 5\nseed: 1\n"
                                                    "calculator:\n  name: castep\n"),
                      "calc2.yaml:6: unknown calculator 'castep' (registered: builtin");
    assert_load_fails(test_write_file("calc3.yaml", "composition: Mn\nmax_atoms: 5\nimax_atoms: 5\nseed: 1\n"
                                                    "calculator:\n  name: builtin\n  library: missing.lib\n"),
                      "calc3.yaml:7: cannot read the potential library");
    assert_load_fails(campaign("calc4.yaml", "SrTiO3", "  c6: [1]\n"),
                      "calc4.yaml:8: calculator setting 'c6' must be a single value, got a list or mapping");
    /* values are checked by making the calculator once (nothing runs) */
    assert_load_fails(campaign("calc6.yaml", "SrTiO3", "  accuracy: lots\n"), "calc6.yaml:");
    test_assert_error_contains("calculator 'builtin': ");
    test_assert_error_contains("accuracy");
    /* values are passed through as text with their origin */
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(campaign("calc5.yaml", "SrTiO3", "  accuracy: 10\n"), &cfg));
    const char *origin = NULL;
    assert_string_equal(fuse2_settings_get(&cfg.calc_settings, "accuracy", &origin), "10");
    assert_non_null(strstr(origin, "calc5.yaml:8"));
    fuse2_config_free(&cfg);
}

/* name.yaml: composition SrTiO3 (line 1), `calculator:` on line 6, then
 * the block (`  name: ...` on line 7, the settings from line 8). */
static const char *srtio3_with(const char *name, const char *calculator)
{
    static char text[8192 + 128];
    snprintf(text, sizeof text,
             "composition: SrTiO3\nmax_atoms: 50\nimax_atoms: 50\nseed: 7\niterations: 10\ncalculator:\n%s",
             calculator);
    return test_write_file(name, text);
}

static void make_dirs(const char *path)
{
    char buf[4200];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", buf, strerror(errno));
}

static void touch(const char *dir, const char *name, const char *text)
{
    char path[4400];
    make_dirs(dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* An SPP pair table (a GULP spline, 2 rows) dir/A-B/A-B.POT. */
static void spp_table(const char *dir, const char *a, const char *b)
{
    char sub[4300], name[64], text[256];
    snprintf(name, sizeof name, "%s-%s", a, b);
    snprintf(sub, sizeof sub, "%s/%s", dir, name);
    snprintf(text, sizeof text, "spline cubic\n%s %s 6.0\n1.0 1.0\n0.5 2.0\n0.2 3.0\n0.0 6.0\n", a, b);
    snprintf(name, sizeof name, "%s-%s.POT", a, b);
    touch(sub, name, text);
}

/* Settings that would fail every structure fail the load instead, naming the
 * element and the setting (fuse2_calc_check_elements with the composition). */
static void test_calculator_must_cover_the_composition(void **state)
{
    (void)state;
    char dir[4200], block[8192];
    fuse2_config cfg;

    /* qe: a pseudopotential per element */
    snprintf(dir, sizeof dir, "%s/pseudo", test_tmpdir());
    touch(dir, "Sr.UPF", "fake\n");
    touch(dir, "Ti.UPF", "fake\n");
    touch(dir, "O.UPF", "fake\n");
    snprintf(block, sizeof block, "  name: qe\n  pseudo_dir: %s\n  ecutwfc: 30\n  pseudopotentials: {Sr: Sr.UPF, Ti: Ti.UPF}\n",
             dir);
    assert_load_fails(srtio3_with("qe-missing.yaml", block), "qe-missing.yaml:7: calculator 'qe': ");
    test_assert_error_contains("qe-missing.yaml:10: 'pseudopotentials' has no file for O, an element of the composition");
    snprintf(block, sizeof block, "  name: qe\n  pseudo_dir: %s\n  ecutwfc: 30\n  pseudopotentials: Sr Sr.UPF Ti Ti.UPF O O.UPF\n",
             dir);
    ASSERT_OK(fuse2_config_load(srtio3_with("qe-ok.yaml", block), &cfg));
    fuse2_config_free(&cfg);

    /* vasp: a POTCAR per element (setups name the variant) */
    snprintf(dir, sizeof dir, "%s/pp/potpaw_PBE", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/pp/potpaw_PBE/Sr_sv", test_tmpdir());
    touch(dir, "POTCAR", "fake\n");
    snprintf(dir, sizeof dir, "%s/pp/potpaw_PBE/Ti", test_tmpdir());
    touch(dir, "POTCAR", "fake\n");
    snprintf(dir, sizeof dir, "%s/pp", test_tmpdir());
    snprintf(block, sizeof block, "  name: vasp\n  potcar_dir: %s\n  kspacing: 0.3\n  setups: {Sr: _sv}\n", dir);
    assert_load_fails(srtio3_with("vasp-missing.yaml", block), "vasp-missing.yaml:7: calculator 'vasp': ");
    test_assert_error_contains("vasp-missing.yaml:8: no POTCAR for O, an element of the composition");
    test_assert_error_contains("/pp/potpaw_PBE/O/POTCAR");
    snprintf(block, sizeof block, "  name: vasp\n  potcar_dir: %s\n  kspacing: 0.3\n", dir);
    assert_load_fails(srtio3_with("vasp-setup.yaml", block), "no POTCAR for Sr");
    snprintf(dir, sizeof dir, "%s/pp/potpaw_PBE/O", test_tmpdir());
    touch(dir, "POTCAR", "fake\n");
    snprintf(dir, sizeof dir, "%s/pp", test_tmpdir());
    snprintf(block, sizeof block, "  name: vasp\n  potcar_dir: %s\n  kspacing: 0.3\n  setups: {Sr: _sv}\n", dir);
    ASSERT_OK(fuse2_config_load(srtio3_with("vasp-ok.yaml", block), &cfg));
    fuse2_config_free(&cfg);

    /* builtin library: a charge per element (unless coulomb: false) */
    test_write_file("no-o.lib", "species\nSr core 2.0\nTi core 4.0\nbuck\nSr core Ti core 1.0 0.3 0.0 0.0 10.0\n");
    assert_load_fails(srtio3_with("lib-missing.yaml", "  name: builtin\n  library: no-o.lib\n"),
                      "lib-missing.yaml:7: calculator 'builtin': ");
    test_assert_error_contains("lib-missing.yaml:8: element O of the composition has no charge in the potential library");
    ASSERT_OK(fuse2_config_load(srtio3_with("lib-nocoul.yaml", "  name: builtin\n  library: no-o.lib\n  coulomb: false\n"),
                                &cfg));
    fuse2_config_free(&cfg);

    /* builtin and gulp spp_path: a table per pair, A-A included */
    snprintf(dir, sizeof dir, "%s/spp", test_tmpdir());
    spp_table(dir, "SR", "SR");
    spp_table(dir, "SR", "TI");
    spp_table(dir, "SR", "O");
    spp_table(dir, "TI", "TI");
    spp_table(dir, "O", "O");
    snprintf(block, sizeof block, "  name: builtin\n  spp_path: %s\n", dir);
    assert_load_fails(srtio3_with("spp-missing.yaml", block), "spp-missing.yaml:7: calculator 'builtin': ");
    test_assert_error_contains("spp-missing.yaml:8: spp_path: ");
    test_assert_error_contains("no table for the pair Ti-O");
    snprintf(block, sizeof block, "  name: gulp\n  spp_path: %s\n", dir);
    assert_load_fails(srtio3_with("gspp-missing.yaml", block), "gspp-missing.yaml:7: calculator 'gulp': ");
    test_assert_error_contains("gspp-missing.yaml:8: spp_path: no SPP table for the pair Ti-O of the composition");
    spp_table(dir, "O", "TI");
    snprintf(block, sizeof block, "  name: builtin\n  spp_path: %s\n", dir);
    ASSERT_OK(fuse2_config_load(srtio3_with("spp-ok.yaml", block), &cfg));
    fuse2_config_free(&cfg);
    snprintf(block, sizeof block, "  name: gulp\n  spp_path: %s\n", dir);
    ASSERT_OK(fuse2_config_load(srtio3_with("gspp-ok.yaml", block), &cfg));
    fuse2_config_free(&cfg);

    /* lammps: elements, charges, and the pairs pair_coeff must set */
    static const char *const buck_pairs = "  pair_coeff: |\n    Sr O 1952.39 0.33685 19.22\n    Ti O 4590.7279 0.261 0.0\n"
                                          "    O O 1388.77 0.36262 175.0\n    Sr Sr 0.0 1.0 0.0\n"
                                          "    Sr Ti 0.0 1.0 0.0\n    Ti Ti 0.0 1.0 0.0\n";
    snprintf(block, sizeof block, "  name: lammps\n  pair_style: buck 10.0\n  elements: Sr O\n  pair_coeff: \"* * 0 1 0\"\n");
    assert_load_fails(srtio3_with("lmp-elements.yaml", block),
                      "lmp-elements.yaml:9: 'elements' does not list Ti, an element of the composition");
    snprintf(block, sizeof block, "  name: lammps\n  pair_style: buck 10.0\n  charges: Sr 2 O -2\n%s", buck_pairs);
    assert_load_fails(srtio3_with("lmp-charges.yaml", block),
                      "lmp-charges.yaml:9: 'charges' has no charge for Ti, an element of the composition");
    /* buck does not mix: the Sr-Ti line is needed */
    snprintf(block, sizeof block,
             "  name: lammps\n  pair_style: buck 10.0\n  pair_coeff: |\n    Sr O 1952.39 0.33685 19.22\n"
             "    Ti O 4590.7279 0.261 0.0\n    O O 1388.77 0.36262 175.0\n    Sr Sr 0.0 1.0 0.0\n"
             "    Ti Ti 0.0 1.0 0.0\n");
    assert_load_fails(srtio3_with("lmp-pair.yaml", block), "lmp-pair.yaml:9: 'pair_coeff' sets no Sr-Ti pair");
    /* lj/cut mixes I-J, but I-I is always needed */
    snprintf(block, sizeof block,
             "  name: lammps\n  pair_style: lj/cut 8.0\n  pair_coeff: |\n    Sr Sr 0.1 3.0\n    O O 0.1 3.0\n");
    assert_load_fails(srtio3_with("lmp-self.yaml", block), "'pair_coeff' sets no Ti-Ti pair");
    snprintf(block, sizeof block,
             "  name: lammps\n  pair_style: lj/cut 8.0\n  pair_coeff: |\n    Sr Sr 0.1 3.0\n    O O 0.1 3.0\n"
             "    * * 0.1 3.0\n");
    ASSERT_OK(fuse2_config_load(srtio3_with("lmp-star.yaml", block), &cfg));
    fuse2_config_free(&cfg);
    snprintf(block, sizeof block, "  name: lammps\n  pair_style: buck/coul/long 10.0\n  charges: Sr 2 Ti 4 O -2\n%s"
             "  kspace_style: ewald 1e-6\n", buck_pairs);
    ASSERT_OK(fuse2_config_load(srtio3_with("lmp-ok.yaml", block), &cfg));
    fuse2_config_free(&cfg);
}

static void test_several_errors_are_reported_together(void **state)
{
    (void)state;
    assert_load_fails(campaign("many.yaml", "SrTiO3", "T: hot\nrmax: -1\n"), "many.yaml:8: 'T' must be a number");
    test_assert_error_contains("many.yaml:9: 'rmax' must be >= 1 (got -1)");
}

/* ---- resolved YAML ---- */

static void assert_same_config(const fuse2_config *a, const fuse2_config *b)
{
    assert_memory_equal(&a->composition, &b->composition, sizeof a->composition);
    assert_int_equal(a->max_atoms, b->max_atoms);
    assert_int_equal(a->imax_atoms, b->imax_atoms);
    assert_int_equal(a->max_ax, b->max_ax);
    assert_true(a->ap_scale == b->ap_scale && a->fixed_ap == b->fixed_ap);
    assert_int_equal(a->vac_ratio, b->vac_ratio);
    assert_true(a->density_cutoff == b->density_cutoff && a->dist_cutoff == b->dist_cutoff);
    assert_true(a->btol == b->btol && a->ratt_dist == b->ratt_dist);
    assert_int_equal(a->check_distances, b->check_distances);
    assert_int_equal(a->check_bonds, b->check_bonds);
    assert_int_equal(a->use_spglib, b->use_spglib);
    assert_int_equal(a->initial_gen, b->initial_gen);
    assert_int_equal(a->iterations, b->iterations);
    assert_int_equal(a->search_gen_bh, b->search_gen_bh);
    assert_true(a->T == b->T && a->e_prec == b->e_prec);
    assert_int_equal(a->melt_threshold, b->melt_threshold);
    assert_int_equal(a->rmax, b->rmax);
    assert_memory_equal(a->n_moves, b->n_moves, sizeof a->n_moves);
    assert_memory_equal(a->r_moves, b->r_moves, sizeof a->r_moves);
    assert_true(a->grid_spacing == b->grid_spacing && a->exclusion == b->exclusion);
    assert_int_equal(a->revert_atoms, b->revert_atoms);
    assert_int_equal(a->read_existing_structures, b->read_existing_structures);
    assert_string_equal(a->path_to_structures, b->path_to_structures);
    assert_int_equal(a->pull_spp_rank, b->pull_spp_rank);
    assert_int_equal(a->pull_random, b->pull_random);
    assert_int_equal(a->generate_gn_boss_structures, b->generate_gn_boss_structures);
    assert_string_equal(a->gn_boss_command, b->gn_boss_command);
    assert_string_equal(a->gn_template_path, b->gn_template_path);
    assert_int_equal(a->gn_search, b->gn_search);
    assert_int_equal(a->gn_max_step, b->gn_max_step);
    assert_memory_equal(a->gn_zn_range, b->gn_zn_range, sizeof a->gn_zn_range);
    assert_int_equal(a->rank_gn_structures, b->rank_gn_structures);
    assert_int_equal(a->clear_previous_gn_structures, b->clear_previous_gn_structures);
    assert_int_equal(a->generate_structures_only, b->generate_structures_only);
    assert_int_equal(a->restart, b->restart);
    assert_int_equal(a->write_all_structures, b->write_all_structures);
    assert_string_equal(a->output_dir, b->output_dir);
    assert_string_equal(a->campaign_file, b->campaign_file);
    assert_string_equal(a->stop_file, b->stop_file);
    assert_int_equal(a->walkers, b->walkers);
    assert_true(a->checkpoint_interval == b->checkpoint_interval);
    assert_int_equal(a->progress_steps, b->progress_steps);
    assert_true(a->seed == b->seed);
    assert_true(a->symprec == b->symprec && a->submodule_shrink == b->submodule_shrink);
    assert_int_equal(a->has_oxidation_states, b->has_oxidation_states);
    assert_memory_equal(a->oxidation_state, b->oxidation_state, sizeof a->oxidation_state);
    assert_string_equal(a->calc_name, b->calc_name);
    assert_int_equal(a->calc_settings.count, b->calc_settings.count);
    for (int i = 0; i < a->calc_settings.count; i++) {
        assert_string_equal(a->calc_settings.items[i].key, b->calc_settings.items[i].key);
        assert_string_equal(a->calc_settings.items[i].value, b->calc_settings.items[i].value);
    }
    assert_memory_equal(&a->relax, &b->relax, sizeof a->relax);
    assert_true(a->pressure_gpa == b->pressure_gpa);
    assert_int_equal(a->apfu, b->apfu);
    assert_memory_equal(a->fu_species, b->fu_species, (size_t)a->apfu * sizeof *a->fu_species);
    assert_int_equal(a->max_fus, b->max_fus);
    assert_int_equal(a->imax_fus, b->imax_fus);
    assert_true(a->ap == b->ap && a->rho_ideal == b->rho_ideal);
}

static void round_trip(const char *path)
{
    fuse2_config a, b;
    ASSERT_OK(fuse2_config_load(path, &a));
    char out[4200];
    snprintf(out, sizeof out, "%s/resolved.yaml", test_tmpdir());
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    ASSERT_OK(fuse2_config_write_yaml(f, &a));
    fclose(f);
    if (fuse2_config_load(out, &b) != FUSE2_OK) {
        char *text = test_read_file(out);
        fail_msg("resolved YAML does not load: %s\n%s", fuse2_error_message(), text);
    }
    assert_same_config(&a, &b);
    fuse2_config_free(&a);
    fuse2_config_free(&b);
}

static void test_resolved_yaml_loads_back_to_the_same_configuration(void **state)
{
    (void)state;
    round_trip(example_path());
    round_trip(campaign("rt.yaml", "{Li: 4, O: 1, Br: 1, Cl: 1}",
                        "T: 0.00123456789012345\nfixed_ap: 4.5\nrevert_atoms: true\nn_moves: {2: 5, 7: 1}\n"
                        "oxidation_states: {Li: 1, O: -2, Br: -1, Cl: -1}\ngn_search: pso\n"
                        "gn_boss_command: \"run \\\"gn\\\" --x\"\nprogress_steps: 25\n"
                        "relax: {optimizer: fire, pressure: 2.5, fixed_cell: true}\n"));
}

/* ---- fuse2 check ---- */

static int run_cli(char **out, const char *args)
{
    const char *cli = getenv("FUSE2_CLI");
    if (!cli) fail_msg("FUSE2_CLI is not set (run through ctest)");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", cli, args);
    return test_run_capture(cmd, out);
}

static void test_check_prints_the_resolved_configuration(void **state)
{
    (void)state;
    char args[4200], *out;
    snprintf(args, sizeof args, "check '%s'", example_path());
    int rc = run_cli(&out, args);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, "# ap: 4.672 A"));
    assert_non_null(strstr(out, "# rho_ideal: 3.0567 amu/A^3"));
    assert_non_null(strstr(out, "rmax: 30\n"));
    assert_non_null(strstr(out, "melt_threshold: 150\n")); /* default filled in */
    free(out);
}

static void test_check_reports_errors_and_exits_1(void **state)
{
    (void)state;
    char args[4200], *out;
    snprintf(args, sizeof args, "check '%s'",
             campaign("bad.yaml", "SrTiO3", "  libary: x.lib\nT: hot\n"));
    int rc = run_cli(&out, args);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "bad.yaml:8: unknown setting 'libary' for calculator 'builtin'"));
    assert_non_null(strstr(out, "bad.yaml:9: 'T' must be a number, got 'hot'"));
    free(out);
    /* values of calculator settings are checked by creating the calculator once */
    snprintf(args, sizeof args, "check '%s'", campaign("badvalue.yaml", "SrTiO3", "  c6: maybe\n"));
    rc = run_cli(&out, args);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "badvalue.yaml:8: 'c6' must be true or false (got 'maybe')"));
    free(out);
    /* limits the run would hit only when it starts */
    snprintf(args, sizeof args, "check '%s'", campaign("badsgb.yaml", "SrTiO3", "search_gen_bh: 1000\niterations: 0\n"));
    rc = run_cli(&out, args);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "badsgb.yaml:8: 'search_gen_bh' must be <= 256 (got 1000)"));
    assert_non_null(strstr(out, "badsgb.yaml:9: 'iterations' must be >= 1 (got 0)"));
    free(out);
    rc = run_cli(&out, "check --help");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "usage: fuse2 check"));
    free(out);
    rc = run_cli(&out, "check");
    assert_int_equal(rc, 2);
    free(out);
}

static void test_gn_oa_switches_are_refused(void **state)
{
    (void)state;
    const char *keys[] = {"generate_gn_boss_structures", "generate_structures_only", "clear_previous_gn_structures"};
    for (int k = 0; k < 3; k++) {
        char extra[256];
        snprintf(extra, sizeof extra, "%s: true\n", keys[k]);
        fuse2_config cfg;
        assert_int_not_equal(fuse2_config_load(campaign("gn.yaml", "SrTiO3", extra), &cfg), FUSE2_OK);
        char want[256];
        snprintf(want, sizeof want, "'%s: true' needs the GN-OA ML generator", keys[k]);
        test_assert_error_contains(want);
        snprintf(extra, sizeof extra, "%s: false\n", keys[k]);
        ASSERT_OK(fuse2_config_load(campaign("gn.yaml", "SrTiO3", extra), &cfg));
        fuse2_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gn_oa_switches_are_refused),
        cmocka_unit_test(test_example_campaign_loads_with_srtio3_sub_module),
        cmocka_unit_test(test_derived_values_match_fuse2_run_values),
        cmocka_unit_test(test_composition_mapping_order_defines_the_formula_unit),
        cmocka_unit_test(test_defaults_are_fuse2s),
        cmocka_unit_test(test_values_in_the_file_override_defaults),
        cmocka_unit_test(test_seed_takes_the_full_64_bit_range),
        cmocka_unit_test(test_fixed_ap_replaces_the_sub_module_edge),
        cmocka_unit_test(test_oxidation_states_give_the_ionic_sub_module),
        cmocka_unit_test(test_unknown_keys_are_errors_with_a_suggestion),
        cmocka_unit_test(test_wrong_types_are_errors),
        cmocka_unit_test(test_out_of_range_values_are_errors),
        cmocka_unit_test(test_duplicate_keys_are_errors),
        cmocka_unit_test(test_yaml_syntax_errors_give_the_line),
        cmocka_unit_test(test_missing_required_keys_are_errors),
        cmocka_unit_test(test_inconsistent_values_are_errors),
        cmocka_unit_test(test_iterations_is_a_required_budget_of_at_least_one),
        cmocka_unit_test(test_search_gen_bh_is_limited_to_256_trials_per_step),
        cmocka_unit_test(test_progress_steps_is_a_count_of_steps),
        cmocka_unit_test(test_system_type_other_than_neutral_is_an_error),
        cmocka_unit_test(test_bad_gn_zn_range_is_an_error),
        cmocka_unit_test(test_bad_ranking_settings_are_errors),
        cmocka_unit_test(test_bad_compositions_are_errors),
        cmocka_unit_test(test_keys_must_be_plain_names),
        cmocka_unit_test(test_oxidation_states_need_cations_and_anions),
        cmocka_unit_test(test_calculator_settings_are_checked_before_anything_runs),
        cmocka_unit_test(test_calculator_must_cover_the_composition),
        cmocka_unit_test(test_several_errors_are_reported_together),
        cmocka_unit_test(test_resolved_yaml_loads_back_to_the_same_configuration),
        cmocka_unit_test(test_check_prints_the_resolved_configuration),
        cmocka_unit_test(test_check_reports_errors_and_exits_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
