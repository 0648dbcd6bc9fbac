/* End-to-end serial campaign (fuse2-algorithm.md §11.3, §12, §13, §17.4):
 * SrTiO3 with the Buckingham model of examples/srtio3, small budgets. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "fuse2/config.h"
#include "fuse2/search.h"
#include "fuse2/structure_io.h"

/* Cubic perovskite with this model: -31.71670925 eV/atom
 * (docs/builtin-calculator.md; the model agrees with GULP to 1e-8 eV). */
static const double PEROVSKITE_EV_PER_ATOM = -31.71670925;

static const char *source_dir(void)
{
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (!src) fail_msg("FUSE2_SOURCE_DIR is not set (run through ctest)");
    return src;
}

/* Writes a campaign YAML (output_dir = <tmp>/<name>) with `extra` keys and
 * loads it. */
static void load_campaign_with(const char *name, unsigned seed, int initial_gen, int iterations, int walkers,
                               int imax_atoms, const char *extra, fuse2_config *cfg)
{
    char text[4096], file[256];
    snprintf(text, sizeof text,
             "composition: {Sr: 1, Ti: 1, O: 3}\n"
             "max_atoms: 15\n"
             "imax_atoms: %d\n"
             "seed: %u\n"
             "initial_gen: %d\n"
             "iterations: %d\n"
             "rmax: 30\n"
             "walkers: %d\n"
             "output_dir: %s\n"
             "%s"
             "calculator:\n"
             "  name: builtin\n"
             "  library: %s/examples/srtio3/SrTiO3-buck.lib\n"
             "  c6: true\n"
             "relax:\n"
             "  fmax: 0.05\n"
             "  smax: 0.0005\n"
             "  max_steps: 500\n",
             imax_atoms, seed, initial_gen, iterations, walkers, name, extra, source_dir());
    snprintf(file, sizeof file, "%s.yaml", name);
    ASSERT_OK(fuse2_config_load(test_write_file(file, text), cfg));
}

static void load_campaign(const char *name, unsigned seed, int initial_gen, int iterations, int walkers,
                          fuse2_config *cfg)
{
    load_campaign_with(name, seed, initial_gen, iterations, walkers, 10, "", cfg);
}

static void collect_line(void *user, const char *line)
{
    int *count = user;
    assert_non_null(line);
    (*count)++;
}

typedef struct csv_row {
    char origin[32];
    int walker, step, trial, move;
    double energy;
    char accepted[8];
    double T, wall;
    char status[32];
} csv_row;

/* Reads steps.csv of dir into rows (at most max); returns the row count. */
static int read_steps_csv(const char *dir, csv_row *rows, int max)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/steps.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s missing", path);
    char line[2048];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "origin,walker,step,trial,move,energy_per_atom,accepted,T,wall_seconds,status,reason\n");
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (n >= max) fail_msg("more than %d rows", max);
        csv_row *r = &rows[n];
        int got = sscanf(line, "%31[^,],%d,%d,%d,%d,%lf,%7[^,],%lf,%lf,%31[^,\n]", r->origin, &r->walker,
                         &r->step, &r->trial, &r->move, &r->energy, r->accepted, &r->T, &r->wall, r->status);
        if (got != 10) fail_msg("steps.csv row %d unreadable (%d fields): %s", n + 2, got, line);
        n++;
    }
    fclose(f);
    return n;
}

static void test_serial_campaign_finds_cubic_perovskite_and_writes_outputs(void **state)
{
    (void)state;
    fuse2_config cfg;
    /* Seed 5: neither initial member is the perovskite, the walkers find it. */
    load_campaign("run5", 5, 2, 40, 2, &cfg);
    int lines = 0;
    fuse2_campaign_options opt = {.log = collect_line, .log_user = &lines, .progress_seconds = 10};
    fuse2_campaign_summary sum;
    ASSERT_OK(fuse2_campaign_run_serial(&cfg, &opt, &sum));
    assert_int_equal(sum.relaxations, 40);
    assert_int_equal(sum.initial_relaxed, 2);
    assert_int_equal(sum.steps, 38); /* search_gen_bh = 1 */
    assert_false(sum.stopped_by_file);
    assert_true(lines >= 4); /* progress every 10 relaxations */
    ASSERT_NEAR(sum.best_score, PEROVSKITE_EV_PER_ATOM, 1e-3);

    csv_row rows[64];
    int n = read_steps_csv(cfg.output_dir, rows, 64);
    assert_int_equal(n, 40);
    int per_walker[2] = {0, 0};
    double best_initial = INFINITY, best_trial = INFINITY;
    for (int i = 0; i < n; i++) {
        if (i < 2) {
            assert_string_equal(rows[i].origin, "initial");
            assert_string_equal(rows[i].accepted, "-");
            if (rows[i].energy < best_initial) best_initial = rows[i].energy;
            continue;
        }
        assert_string_equal(rows[i].origin, "trial");
        assert_true(rows[i].walker == 0 || rows[i].walker == 1);
        assert_true(rows[i].move >= 1 && rows[i].move <= 14);
        assert_true(!strcmp(rows[i].accepted, "True") || !strcmp(rows[i].accepted, "False"));
        assert_true(rows[i].T >= 0.02);
        per_walker[rows[i].walker]++;
        if (rows[i].energy < best_trial) best_trial = rows[i].energy;
    }
    /* Budget 40 - 2 initial = 38 split 19 + 19. */
    assert_int_equal(per_walker[0], 19);
    assert_int_equal(per_walker[1], 19);
    assert_true(best_initial > PEROVSKITE_EV_PER_ATOM + 0.1);
    ASSERT_NEAR(best_trial, PEROVSKITE_EV_PER_ATOM, 1e-3);

    /* best.cif holds a structure with the reported energy. */
    char path[4096];
    snprintf(path, sizeof path, "%s/best.cif", cfg.output_dir);
    fuse2_structure best;
    ASSERT_OK(fuse2_structure_init(&best, 0));
    ASSERT_OK(fuse2_cif_read(path, 1e-4, &best));
    assert_int_equal(best.natoms % 5, 0);
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create(cfg.calc_name, &cfg.calc_settings, &calc));
    fuse2_calc_result res;
    fuse2_calc_result_init(&res);
    ASSERT_OK(fuse2_calc_compute(&calc, &best, &res));
    ASSERT_NEAR(res.energy_per_atom, PEROVSKITE_EV_PER_ATOM, 1e-3);
    for (int w = 0; w < 2; w++) {
        snprintf(path, sizeof path, "%s/best-walker-%03d.cif", cfg.output_dir, w);
        ASSERT_OK(fuse2_cif_read(path, 1e-4, &best));
        assert_int_equal(best.natoms % 5, 0);
    }
    fuse2_calc_result_free(&res);
    fuse2_calc_destroy(&calc);
    fuse2_structure_free(&best);
    fuse2_config_free(&cfg);
}

static void test_same_seed_gives_same_campaign(void **state)
{
    (void)state;
    csv_row a[32], b[32];
    int n[2];
    for (int run = 0; run < 2; run++) {
        fuse2_config cfg;
        load_campaign(run == 0 ? "det_a" : "det_b", 7, 2, 16, 3, &cfg);
        fuse2_campaign_summary sum;
        ASSERT_OK(fuse2_campaign_run_serial(&cfg, NULL, &sum));
        n[run] = read_steps_csv(cfg.output_dir, run == 0 ? a : b, 32);
        fuse2_config_free(&cfg);
    }
    assert_int_equal(n[0], 16);
    assert_int_equal(n[0], n[1]);
    for (int i = 0; i < n[0]; i++) {
        assert_string_equal(a[i].origin, b[i].origin);
        assert_int_equal(a[i].walker, b[i].walker);
        assert_int_equal(a[i].step, b[i].step);
        assert_int_equal(a[i].move, b[i].move);
        ASSERT_NEAR(a[i].energy, b[i].energy, 0.0);
        assert_string_equal(a[i].accepted, b[i].accepted);
        ASSERT_NEAR(a[i].T, b[i].T, 0.0);
    }
}

static void test_stop_file_stops_campaign_before_any_relaxation(void **state)
{
    (void)state;
    fuse2_config cfg;
    load_campaign("stopped", 5, 2, 40, 1, &cfg);
    char dir[4096];
    snprintf(dir, sizeof dir, "mkdir -p %s && touch %s/stop.txt", cfg.output_dir, cfg.output_dir);
    assert_int_equal(system(dir), 0);
    fuse2_campaign_summary sum;
    ASSERT_OK(fuse2_campaign_run_serial(&cfg, NULL, &sum));
    assert_true(sum.stopped_by_file);
    assert_int_equal(sum.relaxations, 0);
    snprintf(dir, sizeof dir, "%s/stop.txt", cfg.output_dir);
    assert_int_not_equal(access(dir, F_OK), 0); /* removed, as FUSE2 does */
    fuse2_config_free(&cfg);
}

/* Log lines starting with "progress:", kept for inspection. */
typedef struct progress_log {
    int lines;                 /* every log line */
    int nprogress;
    long long steps[64];       /* the step count of each progress line */
    int has_rates[64];         /* it carries steps/s and the best energy */
    /* stop-file test: create `stop_path` when a progress line reports this many steps */
    long long stop_at_steps;
    const char *stop_path;
    int stop_created;
    long long relaxations_at_stop;
} progress_log;

static void collect_progress(void *user, const char *line)
{
    progress_log *log = user;
    log->lines++;
    if (strncmp(line, "progress: ", 10) != 0) return;
    long long relaxations = 0, steps = 0;
    int budget = 0;
    if (sscanf(line, "progress: %lld/%d relaxations, %lld steps,", &relaxations, &budget, &steps) != 3)
        fail_msg("unreadable progress line: %s", line);
    if (log->nprogress < 64) {
        log->steps[log->nprogress] = steps;
        log->has_rates[log->nprogress] = strstr(line, " steps/s, ") && strstr(line, ", best -");
    }
    log->nprogress++;
    if (log->stop_path && !log->stop_created && steps == log->stop_at_steps) {
        FILE *f = fopen(log->stop_path, "w");
        assert_non_null(f);
        fclose(f);
        log->stop_created = 1;
        log->relaxations_at_stop = relaxations;
        /* the controller looks for the stop file every 0.5 s: wait for it, so
         * the stop comes within the next task, not after the whole budget */
        usleep(600000);
    }
}

/* progress_steps N: one progress line per N decided steps (with steps/s and
 * the best energy), plus the final line of a finished campaign. */
static void test_progress_steps_prints_a_line_every_n_steps(void **state)
{
    (void)state;
    fuse2_config cfg;
    load_campaign_with("progress4", 7, 2, 24, 1, 10, "progress_steps: 4\n", &cfg);
    assert_int_equal(cfg.progress_steps, 4);
    progress_log log;
    memset(&log, 0, sizeof log);
    fuse2_campaign_options opt = {.log = collect_progress, .log_user = &log};
    fuse2_campaign_summary sum;
    ASSERT_OK(fuse2_campaign_run_serial(&cfg, &opt, &sum));
    assert_true(sum.finished);
    assert_int_equal(sum.steps, 22); /* 24 - 2 members, search_gen_bh 1, rmax 30 not reached */
    /* steps 4, 8, ..., 20, then the final line at 22 */
    assert_int_equal(log.nprogress, 22 / 4 + 1);
    for (int i = 0; i < 22 / 4; i++) {
        assert_int_equal(log.steps[i], 4 * (i + 1));
        assert_true(log.has_rates[i]);
    }
    assert_int_equal(log.steps[22 / 4], 22);
    fuse2_config_free(&cfg);

    /* two walkers: the count is over all walkers' steps */
    load_campaign_with("progress3", 7, 2, 20, 2, 10, "progress_steps: 3\n", &cfg);
    memset(&log, 0, sizeof log);
    ASSERT_OK(fuse2_campaign_run_serial(&cfg, &opt, &sum));
    assert_int_equal(sum.steps, 18);
    assert_int_equal(log.nprogress, 18 / 3 + 1);
    for (int i = 0; i < 18 / 3; i++) assert_int_equal(log.steps[i], 3 * (i + 1));
    fuse2_config_free(&cfg);
}

/* FUSE2's chain (one walker) from a single generated member, for a fixed set
 * of seeds (the first six, none left out): every run reaches the cubic
 * perovskite. Measured (build-h2, 2026): the first relaxation at the
 * perovskite energy is no. 1, 11, 3, 2, 2, 12 for seeds 1-6 (seed 1: the
 * initial member itself; the others: basin-hopping trials), so a budget of
 * 40 relaxations leaves a margin of more than 3x. */
static void test_single_walker_reaches_cubic_perovskite_for_several_seeds(void **state)
{
    (void)state;
    static const unsigned seeds[] = {1, 2, 3, 4, 5, 6};
    enum { BUDGET = 40 };
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        char name[64];
        snprintf(name, sizeof name, "chain-seed%u", seeds[k]);
        fuse2_config cfg;
        /* initial_gen 1, members up to 3 formula units: the walker's moves,
         * not a large initial population, have to find the perovskite */
        load_campaign_with(name, seeds[k], 1, BUDGET, 1, 15, "write_all_structures: false\n", &cfg);
        fuse2_campaign_summary sum;
        ASSERT_OK(fuse2_campaign_run_serial(&cfg, NULL, &sum));
        csv_row rows[BUDGET + 1];
        int n = read_steps_csv(cfg.output_dir, rows, BUDGET + 1);
        assert_int_equal(n, sum.relaxations);
        int first = -1;
        for (int i = 0; i < n && first < 0; i++)
            if (rows[i].energy <= PEROVSKITE_EV_PER_ATOM + 1e-3) first = i + 1;
        if (fabs(sum.best_score - PEROVSKITE_EV_PER_ATOM) > 1e-3)
            fail_msg("seed %u: best %.6f eV/atom after %d relaxations (%d steps), not the cubic perovskite "
                     "%.6f",
                     seeds[k], sum.best_score, sum.relaxations, sum.steps, PEROVSKITE_EV_PER_ATOM);
        assert_true(first >= 1);
        print_message("seed %u: cubic perovskite at relaxation %d of %d\n", seeds[k], first, sum.relaxations);
        fuse2_config_free(&cfg);
    }
}

static void assert_same_rows(const csv_row *a, int na, const csv_row *b, int nb)
{
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        assert_string_equal(a[i].origin, b[i].origin);
        assert_int_equal(a[i].walker, b[i].walker);
        assert_int_equal(a[i].step, b[i].step);
        assert_int_equal(a[i].trial, b[i].trial);
        assert_int_equal(a[i].move, b[i].move);
        ASSERT_NEAR(a[i].energy, b[i].energy, 0.0);
        assert_string_equal(a[i].accepted, b[i].accepted);
        ASSERT_NEAR(a[i].T, b[i].T, 0.0);
        assert_string_equal(a[i].status, b[i].status);
    }
}

/* §17.6: stop.txt created while the campaign runs (from the log hook, after
 * step 10) stops it cleanly: fewer relaxations than the budget, the file is
 * removed, and the next invocation resumes to exactly what an uninterrupted
 * run gives. */
static void test_stop_file_during_the_run_stops_and_resume_gives_the_same_campaign(void **state)
{
    (void)state;
    enum { BUDGET = 40 };
    fuse2_config whole, parts;
    load_campaign_with("stopmid-whole", 5, 2, BUDGET, 1, 10, "", &whole);
    load_campaign_with("stopmid-parts", 5, 2, BUDGET, 1, 10, "progress_steps: 1\n", &parts);
    fuse2_campaign_summary sum;
    ASSERT_OK(fuse2_campaign_run_serial(&whole, NULL, &sum));
    assert_true(sum.finished);
    assert_int_equal(sum.relaxations, BUDGET);

    char stop_path[4096];
    snprintf(stop_path, sizeof stop_path, "%s/%s", parts.output_dir, parts.stop_file);
    progress_log log;
    memset(&log, 0, sizeof log);
    log.stop_at_steps = 10;
    log.stop_path = stop_path;
    fuse2_campaign_options opt = {.log = collect_progress, .log_user = &log};
    ASSERT_OK(fuse2_campaign_run_serial(&parts, &opt, &sum));
    assert_true(log.stop_created);
    assert_int_equal(log.relaxations_at_stop, 12); /* 2 members + 10 steps */
    assert_true(sum.stopped_by_file);
    assert_false(sum.finished);
    /* stopped soon after the file appeared, long before the budget */
    assert_true(sum.relaxations >= 12 && sum.relaxations < BUDGET);
    assert_int_not_equal(access(stop_path, F_OK), 0); /* removed, as FUSE2 does */
    csv_row a[BUDGET + 1], b[BUDGET + 1];
    assert_int_equal(read_steps_csv(parts.output_dir, b, BUDGET + 1), sum.relaxations);
    int stopped_at = sum.relaxations;

    /* the next invocation continues where the first stopped */
    ASSERT_OK(fuse2_campaign_run_serial(&parts, NULL, &sum));
    assert_true(sum.finished);
    assert_false(sum.stopped_by_file);
    assert_int_equal(sum.relaxations, BUDGET);
    int na = read_steps_csv(whole.output_dir, a, BUDGET + 1);
    int nb = read_steps_csv(parts.output_dir, b, BUDGET + 1);
    assert_same_rows(a, na, b, nb);
    print_message("stopped after %d of %d relaxations, resumed to the uninterrupted campaign\n", stopped_at,
                  BUDGET);
    fuse2_config_free(&whole);
    fuse2_config_free(&parts);
}

/* Counts the CIFs in <output_dir>/structures, checks each reads back and
 * counts the initial (I-*) and trial (S-w<w>-*) ones; -1 if no directory. */
static int count_structure_files(const char *output_dir, int *initial, int trials_per_walker[3])
{
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s/structures", output_dir);
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    *initial = 0;
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 0));
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".cif") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, &s));
        assert_int_equal(s.natoms % 5, 0); /* whole SrTiO3 formula units */
        int w, st, t;
        if (e->d_name[0] == 'I') {
            (*initial)++;
        } else {
            assert_int_equal(sscanf(e->d_name, "S-w%d-s%d-t%d.cif", &w, &st, &t), 3);
            assert_true(w >= 0 && w < 3);
            assert_int_equal(t, 0); /* search_gen_bh = 1 */
            trials_per_walker[w]++;
        }
        n++;
    }
    closedir(d);
    fuse2_structure_free(&s);
    return n;
}

static void test_write_all_structures_writes_one_cif_per_relaxation(void **state)
{
    (void)state;
    fuse2_config cfg;
    load_campaign("allcif", 7, 2, 12, 2, &cfg);
    assert_true(cfg.write_all_structures); /* FUSE2's default */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cfg.output_dir);
    assert_int_equal(system(cmd), 0);
    fuse2_campaign_summary sum;
    ASSERT_OK(fuse2_campaign_run_serial(&cfg, NULL, &sum));
    assert_int_equal(sum.relaxations, 12);
    int initial = 0, per_walker[3] = {0, 0, 0};
    assert_int_equal(count_structure_files(cfg.output_dir, &initial, per_walker), 12);
    assert_int_equal(initial, 2);
    /* Budget 12 - 2 initial = 10 split 5 + 5. */
    assert_int_equal(per_walker[0], 5);
    assert_int_equal(per_walker[1], 5);
    char path[4096];
    snprintf(path, sizeof path, "%s/structures/I-0.cif", cfg.output_dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/structures/I-1.cif", cfg.output_dir);
    assert_int_equal(access(path, F_OK), 0);
    fuse2_config_free(&cfg);

    load_campaign("nocif", 7, 2, 12, 2, &cfg);
    cfg.write_all_structures = 0;
    snprintf(cmd, sizeof cmd, "rm -rf %s", cfg.output_dir);
    assert_int_equal(system(cmd), 0);
    ASSERT_OK(fuse2_campaign_run_serial(&cfg, NULL, &sum));
    assert_int_equal(sum.relaxations, 12);
    assert_int_equal(count_structure_files(cfg.output_dir, &initial, per_walker), -1);
    fuse2_config_free(&cfg);
}

static void test_fuse2_mpi_reports_bad_yaml_and_exits_1(void **state)
{
    (void)state;
    const char *cli = getenv("FUSE2_CLI");
    if (!cli) fail_msg("FUSE2_CLI is not set (run through ctest)");
    char exe[4096];
    snprintf(exe, sizeof exe, "%s", cli);
    char *slash = strrchr(exe, '/');
    assert_non_null(slash);
    snprintf(slash + 1, sizeof exe - (size_t)(slash + 1 - exe), "fuse2-mpi");
    if (access(exe, X_OK) != 0) fail_msg("%s is not built (build the fuse2-mpi target)", exe);
    const char *yaml = test_write_file("bad.yaml", "composition: {Sr: 1, Ti: 1, O: 3}\nmax_atoms: 15\n");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", exe, yaml);
    char *out = NULL;
    assert_int_equal(test_run_capture(cmd, &out), 1);
    assert_non_null(strstr(out, "bad.yaml:"));
    assert_non_null(strstr(out, "seed"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_campaign_finds_cubic_perovskite_and_writes_outputs),
        cmocka_unit_test(test_same_seed_gives_same_campaign),
        cmocka_unit_test(test_stop_file_stops_campaign_before_any_relaxation),
        cmocka_unit_test(test_stop_file_during_the_run_stops_and_resume_gives_the_same_campaign),
        cmocka_unit_test(test_progress_steps_prints_a_line_every_n_steps),
        cmocka_unit_test(test_single_walker_reaches_cubic_perovskite_for_several_seeds),
        cmocka_unit_test(test_write_all_structures_writes_one_cif_per_relaxation),
        cmocka_unit_test(test_fuse2_mpi_reports_bad_yaml_and_exits_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
