/* Tiered relaxation (the "chain" calculator, src/calc/chain_calc.c):
 * nested YAML stages, each stage starting where the last ended, the stage
 * list in the result, failures stopping or not, and configuration errors
 * with their lines. The stages here are built-in calculators; the test with
 * Quantum ESPRESSO as the last stage is in test_qe_driver. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "fuse2/calc.h"
#include "fuse2/config.h"
#include "fuse2/relax.h"
#include "fuse2/structure_io.h"

static const char *source_dir(void)
{
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (!src) fail_msg("FUSE2_SOURCE_DIR is not set (run through ctest)");
    return src;
}

/* A campaign whose calculator section is `calculator` (indented YAML),
 * loaded and its calculator made once, as a campaign does before any work. */
static fuse2_status load(const char *name, const char *calculator, fuse2_config *cfg)
{
    char text[4096], file[128];
    snprintf(text, sizeof text,
             "composition: {Sr: 1, Ti: 1, O: 3}\n"
             "max_atoms: 10\n"
             "imax_atoms: 10\n"
             "seed: 3\n"
             "iterations: 5\n"
             "calculator:\n%s",
             calculator);
    snprintf(file, sizeof file, "%s.yaml", name);
    /* the library is given relative to the YAML file: copy it next to it */
    char lib[4096];
    snprintf(lib, sizeof lib, "%s/examples/srtio3/SrTiO3-buck.lib", source_dir());
    char *libtext = test_read_file(lib);
    assert_non_null(libtext);
    test_write_file("SrTiO3-buck.lib", libtext);
    free(libtext);
    fuse2_status st = fuse2_config_load(test_write_file(file, text), cfg);
    if (st != FUSE2_OK) return st;
    fuse2_calc calc;
    st = fuse2_config_calculator_create(cfg, &calc);
    if (st != FUSE2_OK) {
        fuse2_config_free(cfg);
        return st;
    }
    fuse2_calc_destroy(&calc);
    return FUSE2_OK;
}

static const char *TWO_STAGES = "  name: chain\n"
                                "  stages:\n"
                                "    - name: builtin\n"
                                "      library: SrTiO3-buck.lib\n"
                                "      c6: false\n"
                                "    - {name: builtin, library: SrTiO3-buck.lib, c6: true}\n";

static void rattled_perovskite(fuse2_structure *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/srtio3/SrTiO3-rattled.cif", source_dir());
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, s));
}

static void test_nested_stages_are_flattened_and_resolved(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(load("chain-flat", TWO_STAGES, &cfg));
    assert_string_equal(cfg.calc_name, "chain");
    const char *origin = NULL;
    const char *name0 = fuse2_settings_get(&cfg.calc_settings, "stages.0.name", &origin);
    assert_non_null(name0);
    assert_string_equal(name0, "builtin");
    assert_non_null(strstr(origin, "chain-flat.yaml:9"));
    const char *lib1 = fuse2_settings_get(&cfg.calc_settings, "stages.1.library", NULL);
    assert_non_null(lib1);
    assert_true(lib1[0] == '/'); /* resolved against the YAML file's directory */
    assert_non_null(strstr(lib1, "SrTiO3-buck.lib"));
    fuse2_settings sub;
    ASSERT_OK(fuse2_settings_subset(&cfg.calc_settings, "stages.1.", &sub));
    assert_int_equal(sub.count, 3);
    assert_string_equal(fuse2_settings_get(&sub, "c6", NULL), "true");
    free((void *)sub.items);
    fuse2_config_free(&cfg);
}

static void test_stages_continue_from_each_other(void **state)
{
    (void)state;
    fuse2_config cfg;
    ASSERT_OK(load("chain-run", TWO_STAGES, &cfg));
    fuse2_calc chain;
    ASSERT_OK(fuse2_calc_create("chain", &cfg.calc_settings, &chain));
    fuse2_structure s = {0}, t = {0};
    rattled_perovskite(&s);
    ASSERT_OK(fuse2_structure_copy(&t, &s));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.fmax = 1e-3;
    opt.smax = 1e-5;
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&chain, &s, &opt, &r));
    assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
    assert_int_equal(r.nstages, 2);
    assert_string_equal(r.stages[0].calculator, "builtin");
    assert_int_equal(r.stages[0].status, FUSE2_RELAX_CONVERGED);
    assert_int_equal(r.stages[1].status, FUSE2_RELAX_CONVERGED);
    assert_true(r.stages[0].steps > 5);
    /* the second stage starts from the first one's minimum: C6 changes the
     * model a little, so it needs few steps */
    assert_true(r.stages[1].steps < r.stages[0].steps);
    assert_true(fabs(r.energy - r.stages[1].energy) < 1e-12);
    assert_true(r.steps == r.stages[0].steps + r.stages[1].steps);
    /* the chain's minimum is the last stage's model's minimum */
    fuse2_settings sub;
    ASSERT_OK(fuse2_settings_subset(&cfg.calc_settings, "stages.1.", &sub));
    fuse2_setting items[8];
    int n = 0;
    for (int i = 0; i < sub.count; i++)
        if (strcmp(sub.items[i].key, "name")) items[n++] = sub.items[i];
    fuse2_settings plain = {.count = n, .items = items};
    fuse2_calc builtin;
    ASSERT_OK(fuse2_calc_create("builtin", &plain, &builtin));
    fuse2_relax_result r2;
    fuse2_relax_result_init(&r2);
    ASSERT_OK(fuse2_relax(&builtin, &t, &opt, &r2));
    assert_int_equal(r2.nstages, 0);
    assert_true(fabs(r.energy_per_atom - r2.energy_per_atom) < 1e-5);
    assert_true(fabs(r.energy_per_atom - -31.7167) < 1e-3);
    fuse2_relax_result_free(&r);
    fuse2_relax_result_free(&r2);
    fuse2_calc_destroy(&builtin);
    fuse2_calc_destroy(&chain);
    free((void *)sub.items);
    fuse2_structure_free(&s);
    fuse2_structure_free(&t);
    fuse2_config_free(&cfg);
}

static void test_a_failed_stage_stops_the_chain_unless_told(void **state)
{
    (void)state;
    for (int cont = 0; cont <= 1; cont++) {
        char calc[1024];
        snprintf(calc, sizeof calc,
                 "  name: chain\n"
                 "  stages:\n"
                 "    - {name: builtin, library: SrTiO3-buck.lib, on_failure: %s}\n"
                 "    - {name: builtin, library: SrTiO3-buck.lib, c6: true}\n",
                 cont ? "continue" : "stop");
        fuse2_config cfg;
        ASSERT_OK(load("chain-fail", calc, &cfg));
        fuse2_calc chain;
        ASSERT_OK(fuse2_calc_create("chain", &cfg.calc_settings, &chain));
        /* Ti on top of O: inside the Buckingham barrier, a collapse */
        fuse2_structure s = {0};
        rattled_perovskite(&s);
        s.frac[1][0] = s.frac[2][0] + 0.01;
        s.frac[1][1] = s.frac[2][1];
        s.frac[1][2] = s.frac[2][2];
        fuse2_relax_options opt;
        fuse2_relax_options_default(&opt);
        fuse2_relax_result r;
        fuse2_relax_result_init(&r);
        ASSERT_OK(fuse2_relax(&chain, &s, &opt, &r));
        assert_int_equal(r.status, FUSE2_RELAX_FAILED);
        assert_int_equal(r.stages[0].status, FUSE2_RELAX_FAILED);
        if (!cont) {
            assert_int_equal(r.nstages, 1);
            assert_non_null(strstr(r.reason, "stage 1 (builtin): "));
        } else {
            assert_int_equal(r.nstages, 2); /* the second stage ran (and failed too) */
        }
        fuse2_relax_result_free(&r);
        fuse2_calc_destroy(&chain);
        fuse2_structure_free(&s);
        fuse2_config_free(&cfg);
    }
}

/* A stage that cannot run a structure at all (here pw.x has no
 * pseudopotential for Sr, Ti and O: its inputs cannot be written) is a
 * failed stage in the list, not an error of the chain; with `continue` the
 * next stage starts from the structure the failed stage was given. */
static void test_a_stage_that_cannot_run_is_recorded_and_skipped(void **state)
{
    (void)state;
    char lib[4096], scratch[4096];
    snprintf(lib, sizeof lib, "%s/examples/srtio3/SrTiO3-buck.lib", source_dir());
    snprintf(scratch, sizeof scratch, "%s/chain-scratch", test_tmpdir());
    const fuse2_setting items[] = {
        {"stages.0.name", "qe", "t.yaml:1"},
        {"stages.0.pseudopotentials", "Si Si.pz-vbc.UPF", "t.yaml:2"},
        {"stages.0.ecutwfc", "12", "t.yaml:3"},
        {"stages.0.scratch", scratch, "t.yaml:4"},
        {"stages.0.on_failure", "continue", "t.yaml:5"},
        {"stages.1.name", "builtin", "t.yaml:6"},
        {"stages.1.library", lib, "t.yaml:7"},
        {"stages.1.c6", "true", "t.yaml:8"},
        {"stages.1.fmax", "0.001", "t.yaml:9"},
        {"stages.1.smax", "0.00001", "t.yaml:10"},
    };
    fuse2_settings settings = {.count = (int)(sizeof items / sizeof items[0]), .items = items};
    fuse2_calc chain;
    ASSERT_OK(fuse2_calc_create("chain", &settings, &chain));
    fuse2_structure s = {0};
    rattled_perovskite(&s);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.fmax = 0.5; /* the stage's own fmax/smax (tight) apply to stage 2 */
    opt.smax = 0.1;
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&chain, &s, &opt, &r));
    assert_int_equal(r.nstages, 2);
    assert_string_equal(r.stages[0].calculator, "qe");
    assert_int_equal(r.stages[0].status, FUSE2_RELAX_FAILED);
    assert_non_null(strstr(r.stages[0].reason, "error: "));
    assert_true(isnan(r.stages[0].energy));
    assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
    assert_true(r.max_force <= 0.001 + 1e-12); /* the stage's fmax, not the campaign's 0.5 */
    assert_true(fabs(r.energy_per_atom - -31.7167) < 1e-3);
    fuse2_relax_result_free(&r);

    /* without `continue` the chain stops there, failed, naming the stage */
    fuse2_setting stop_items[10];
    memcpy(stop_items, items, sizeof stop_items);
    stop_items[4].value = "stop";
    settings.items = stop_items;
    fuse2_calc stopper;
    ASSERT_OK(fuse2_calc_create("chain", &settings, &stopper));
    fuse2_relax_result_init(&r);
    ASSERT_OK(fuse2_relax(&stopper, &s, &opt, &r));
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    assert_int_equal(r.nstages, 1);
    assert_non_null(strstr(r.reason, "stage 1 (qe): error: "));
    fuse2_relax_result_free(&r);
    fuse2_calc_destroy(&stopper);
    fuse2_calc_destroy(&chain);
    fuse2_structure_free(&s);
}

static void expect_error(const char *name, const char *calculator, const char *needle, const char *needle2)
{
    fuse2_config cfg;
    assert_int_not_equal(load(name, calculator, &cfg), FUSE2_OK);
    test_assert_error_contains(needle);
    if (needle2) test_assert_error_contains(needle2);
}

static void test_configuration_errors_name_the_line(void **state)
{
    (void)state;
    expect_error("chain-noname", "  name: chain\n  stages:\n    - {library: SrTiO3-buck.lib}\n",
                 "stage 1 of the chain has no 'name'", "chain-noname.yaml:");
    expect_error("chain-unknown", "  name: chain\n  stages:\n    - {name: castep}\n",
                 "stage 1: unknown calculator 'castep'", "chain-unknown.yaml:9");
    expect_error("chain-nested", "  name: chain\n  stages:\n    - {name: chain}\n",
                 "a chain cannot be a stage of a chain", NULL);
    expect_error("chain-onfail", "  name: chain\n  stages:\n    - {name: builtin, library: SrTiO3-buck.lib, on_failure: maybe}\n",
                 "on_failure must be stop or continue", NULL);
    expect_error("chain-badkey",
                 "  name: chain\n  stages:\n    - name: builtin\n      library: SrTiO3-buck.lib\n      c7: true\n",
                 "stage 1 (builtin): ", "unknown setting 'c7'");
    expect_error("chain-fmax", "  name: chain\n  stages:\n    - {name: builtin, library: SrTiO3-buck.lib, fmax: -1}\n",
                 "stage 1: 'fmax' must be a positive number", NULL);
    /* every stage must cover the composition (SrTiO3): caught at load, not per structure */
    expect_error("chain-elements",
                 "  name: chain\n  stages:\n    - {name: builtin, library: SrTiO3-buck.lib}\n"
                 "    - {name: qe, ecutwfc: 12, pseudopotentials: {Si: Si.pz-vbc.UPF}}\n",
                 "stage 2 (qe): ", "an element of the composition");
    expect_error("chain-empty", "  name: chain\n  stages: []\n", "'stages' is an empty list", NULL);
    expect_error("chain-flat-key", "  name: chain\n  stages: builtin\n", "'stages' takes nested entries", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_stages_are_flattened_and_resolved),
        cmocka_unit_test(test_stages_continue_from_each_other),
        cmocka_unit_test(test_a_failed_stage_stops_the_chain_unless_told),
        cmocka_unit_test(test_a_stage_that_cannot_run_is_recorded_and_skipped),
        cmocka_unit_test(test_configuration_errors_name_the_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
