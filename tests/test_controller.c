/* The campaign as tasks (include/fuse2/controller.h) without MPI: tasks
 * handed out several at a time and completed in shuffled order (what many
 * ranks do), a stop and resume, a changed budget, a refused configuration
 * change, and ML-pool entries travelling with the tasks. SrTiO3 with the
 * Buckingham model of examples/srtio3. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "fuse2/config.h"
#include "fuse2/controller.h"
#include "fuse2/moves.h"
#include "fuse2/pool.h"
#include "fuse2/search.h"
#include "fuse2/store.h"

static const char *source_dir(void)
{
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (!src) fail_msg("FUSE2_SOURCE_DIR is not set (run through ctest)");
    return src;
}

/* Writes a campaign YAML (output_dir = <tmp>/<name>, removed first) and loads it. */
static void load_campaign(const char *name, unsigned seed, int iterations, int walkers, const char *extra,
                          fuse2_config *cfg)
{
    char text[4096], file[256], cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", test_tmpdir(), name);
    assert_int_equal(system(cmd), 0);
    snprintf(text, sizeof text,
             "composition: {Sr: 1, Ti: 1, O: 3}\n"
             "max_atoms: 15\n"
             "imax_atoms: 10\n"
             "seed: %u\n"
             "initial_gen: 5\n"
             "iterations: %d\n"
             "rmax: 1000\n"
             "walkers: %d\n"
             "write_all_structures: false\n"
             "output_dir: %s\n"
             "%s"
             "calculator:\n"
             "  name: builtin\n"
             "  library: %s/examples/srtio3/SrTiO3-buck.lib\n"
             "  c6: true\n"
             "relax:\n"
             "  fmax: 0.05\n"
             "  smax: 0.0005\n"
             "  max_steps: 300\n",
             seed, iterations, walkers, name, extra ? extra : "", source_dir());
    snprintf(file, sizeof file, "%s.yaml", name);
    ASSERT_OK(fuse2_config_load(test_write_file(file, text), cfg));
}

/* Runs the campaign with `width` tasks out at once, completing a randomly
 * chosen one each time (seeded), until done or `max_tasks` completions. */
static void run_shuffled(const fuse2_config *cfg, const fuse2_controller_options *opt, int width,
                         uint64_t order_seed, int max_tasks, fuse2_campaign_summary *sum)
{
    fuse2_worker *worker;
    ASSERT_OK(fuse2_worker_create(cfg, &worker));
    fuse2_controller *ctl;
    ASSERT_OK(fuse2_controller_open(cfg, opt, &ctl));
    fuse2_task tasks[16];
    fuse2_task_result *res;
    ASSERT_OK(fuse2_task_result_create(&res));
    for (int i = 0; i < width; i++) ASSERT_OK(fuse2_task_init(&tasks[i]));
    test_rng_seed(order_seed);
    int out = 0, completed = 0;
    while (completed < max_tasks) {
        while (out < width) {
            int have = 0;
            ASSERT_OK(fuse2_controller_next_task(ctl, &tasks[out], &have));
            if (!have) break;
            out++;
        }
        assert_int_equal(fuse2_controller_running(ctl), out);
        if (out == 0) break;
        int k = test_uniform_int(0, out - 1);
        int interrupted = 0;
        ASSERT_OK(fuse2_worker_execute(worker, &tasks[k], res, &interrupted));
        assert_false(interrupted);
        ASSERT_OK(fuse2_controller_complete(ctl, res));
        completed++;
        fuse2_task swap = tasks[k];
        tasks[k] = tasks[out - 1];
        tasks[out - 1] = swap;
        out--;
        ASSERT_OK(fuse2_controller_poll(ctl));
    }
    if (completed >= max_tasks) fuse2_controller_request_stop(ctl, "test");
    ASSERT_OK(fuse2_controller_close(ctl, sum));
    for (int i = 0; i < width; i++) fuse2_task_free(&tasks[i]);
    fuse2_task_result_destroy(res);
    fuse2_worker_destroy(worker);
}

static char *read_output(const fuse2_config *cfg, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cfg->output_dir, name);
    char *text = test_read_file(path);
    assert_non_null(text);
    return text;
}

/* steps.csv without the wall-time column (index 8). */
static char *strip_wall_times(const char *csv)
{
    char *out = malloc(strlen(csv) + 1), *o = out;
    int col = 0;
    for (const char *p = csv; *p; p++) {
        if (*p == '\n') col = 0;
        if (col != 8 || *p == ',') *o++ = *p;
        if (*p == ',') col++;
    }
    *o = '\0';
    return out;
}

static void assert_same_campaign(const fuse2_config *a, const fuse2_config *b)
{
    char *x = read_output(a, "steps.csv"), *y = read_output(b, "steps.csv");
    char *sx = strip_wall_times(x), *sy = strip_wall_times(y);
    assert_string_equal(sx, sy);
    free(x);
    free(y);
    free(sx);
    free(sy);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++) n += *p == '\n';
    return n;
}

static void test_out_of_order_completion_gives_the_serial_campaign(void **state)
{
    (void)state;
    fuse2_config serial, shuffled;
    load_campaign("ctl-serial", 77, 45, 3, NULL, &serial);
    load_campaign("ctl-shuffled", 77, 45, 3, NULL, &shuffled);
    fuse2_campaign_summary s1, s2;
    ASSERT_OK(fuse2_campaign_run_serial(&serial, NULL, &s1));
    run_shuffled(&shuffled, NULL, 4, 99, 1000000, &s2);
    assert_true(s1.finished);
    assert_true(s2.finished);
    assert_int_equal(s1.relaxations, 45);
    assert_int_equal(s2.relaxations, 45);
    assert_int_equal(s1.steps, 40);
    ASSERT_NEAR(s1.best_score, s2.best_score, 0.0);
    assert_same_campaign(&serial, &shuffled);
    char *csv = read_output(&serial, "steps.csv");
    assert_int_equal(count_lines(csv), 46);
    free(csv);
    fuse2_config_free(&serial);
    fuse2_config_free(&shuffled);
}

static void test_stopped_campaign_resumes_to_the_same_content(void **state)
{
    (void)state;
    fuse2_config whole, parts;
    load_campaign("ctl-whole", 5, 40, 2, NULL, &whole);
    load_campaign("ctl-parts", 5, 40, 2, "checkpoint_interval: 0.001\n", &parts);
    fuse2_campaign_summary s;
    ASSERT_OK(fuse2_campaign_run_serial(&whole, NULL, &s));
    assert_true(s.finished);
    /* stop after 3, then 11 more, then the rest, with different widths */
    run_shuffled(&parts, NULL, 2, 1, 3, &s);
    assert_false(s.finished);
    assert_int_equal(s.relaxations, 3);
    run_shuffled(&parts, NULL, 3, 2, 11, &s);
    assert_false(s.finished);
    assert_int_equal(s.relaxations, 14);
    run_shuffled(&parts, NULL, 1, 3, 1000000, &s);
    assert_true(s.finished);
    assert_int_equal(s.relaxations, 40);
    assert_same_campaign(&whole, &parts);
    /* the file has one provenance row per invocation */
    char path[4096];
    snprintf(path, sizeof path, "%s/ctl-parts.h5", parts.output_dir);
    fuse2_store *st;
    ASSERT_OK(fuse2_store_open_read(path, &st));
    fuse2_store_counts n;
    ASSERT_OK(fuse2_store_counts_get(st, &n));
    assert_int_equal(n.n_runs, 3);
    assert_int_equal(n.n_structures, 40);
    fuse2_store_run_row runs[3];
    ASSERT_OK(fuse2_store_read_runs(st, 0, 3, runs));
    assert_int_equal(runs[0].resumed, 0);
    assert_int_equal(runs[2].resumed, 1);
    assert_string_equal(runs[0].status, "test");
    assert_string_equal(runs[2].status, "finished");
    assert_int_equal((int)runs[2].structures_at_start, 14);
    ASSERT_OK(fuse2_store_close(st));
    fuse2_config_free(&whole);
    fuse2_config_free(&parts);
}

static void test_raising_iterations_continues_a_finished_campaign(void **state)
{
    (void)state;
    fuse2_config small, large, direct;
    load_campaign("ctl-grow", 8, 20, 2, NULL, &small);
    fuse2_campaign_summary s;
    ASSERT_OK(fuse2_campaign_run_serial(&small, NULL, &s));
    assert_true(s.finished);
    assert_int_equal(s.relaxations, 20);
    /* same file, iterations 30: the walkers' budgets grow by 5 each */
    char text[4096];
    snprintf(text, sizeof text, "%s/ctl-grow.yaml", test_tmpdir());
    char *yaml = test_read_file(text);
    char *it = strstr(yaml, "iterations: 20");
    assert_non_null(it);
    memcpy(it, "iterations: 30", 14);
    ASSERT_OK(fuse2_config_load(test_write_file("ctl-grow.yaml", yaml), &large));
    free(yaml);
    ASSERT_OK(fuse2_campaign_run_serial(&large, NULL, &s));
    assert_true(s.finished);
    assert_int_equal(s.relaxations, 30);
    assert_int_equal(s.steps, 25);
    /* a walker's history does not depend on the budget it had */
    load_campaign("ctl-direct", 8, 30, 2, NULL, &direct);
    ASSERT_OK(fuse2_campaign_run_serial(&direct, NULL, &s));
    assert_same_campaign(&large, &direct);
    fuse2_config_free(&small);
    fuse2_config_free(&large);
    fuse2_config_free(&direct);
}

static void test_resuming_with_another_configuration_is_refused(void **state)
{
    (void)state;
    fuse2_config a, b;
    load_campaign("ctl-refuse", 3, 8, 1, NULL, &a);
    fuse2_campaign_summary s;
    ASSERT_OK(fuse2_campaign_run_serial(&a, NULL, &s));
    /* same output_dir and file name, another T */
    char text[4096];
    snprintf(text, sizeof text, "%s/ctl-refuse.yaml", test_tmpdir());
    char *yaml = test_read_file(text);
    size_t len = strlen(yaml);
    char *changed = malloc(len + 32);
    snprintf(changed, len + 32, "T: 0.05\n%s", yaml);
    ASSERT_OK(fuse2_config_load(test_write_file("ctl-refuse.yaml", changed), &b));
    fuse2_controller *ctl = NULL;
    assert_int_not_equal(fuse2_controller_open(&b, NULL, &ctl), FUSE2_OK);
    test_assert_error_contains("another configuration");
    test_assert_error_contains("T: 0.05");
    assert_null(ctl);
    free(yaml);
    free(changed);
    fuse2_config_free(&a);
    fuse2_config_free(&b);
}

/* Cubic SrTiO3 with lattice constant a, `cells` cells along c. */
static void perovskite(fuse2_structure *s, double a, int cells)
{
    ASSERT_OK(fuse2_structure_init(s, 5 * cells));
    double lat[3][3] = {{a, 0, 0}, {0, a, 0}, {0, 0, a * cells}};
    memcpy(s->lattice, lat, sizeof lat);
    for (int c = 0; c < cells; c++) {
        double z0 = (double)c / cells, h = 0.5 / cells;
        const double f[5][3] = {{0, 0, z0}, {0.5, 0.5, z0 + h}, {0.5, 0.5, z0}, {0.5, 0, z0 + h}, {0, 0.5, z0 + h}};
        const int zs[5] = {38, 22, 8, 8, 8};
        for (int k = 0; k < 5; k++) ASSERT_OK(fuse2_structure_add_atom(s, zs[k], f[k]));
    }
}

/* 12 perovskite cells of different sizes: 5 seed the initial population,
 * 7 are dealt to the walkers' move 14. */
static void make_test_pool(fuse2_pool *pool)
{
    fuse2_pool_init(pool);
    for (int i = 0; i < 12; i++) {
        fuse2_structure s = {0};
        perovskite(&s, 3.7 + 0.05 * i, 1 + i % 2);
        char name[32];
        snprintf(name, sizeof name, "entry-%02d.cif", i);
        ASSERT_OK(fuse2_pool_add(pool, &s, name, -30.0 - 0.01 * i));
        fuse2_structure_free(&s);
    }
}

/* pool_entry of every structure row (members: entries[member index];
 * trials after them in file order), and the last pool_used of each walker */
static void read_pool_use(const fuse2_config *cfg, int *entries, int64_t *n, int *walker_used, int walkers)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cfg->output_dir, cfg->campaign_file);
    fuse2_store *st;
    ASSERT_OK(fuse2_store_open_read(path, &st));
    fuse2_store_counts c;
    ASSERT_OK(fuse2_store_counts_get(st, &c));
    fuse2_store_structure_row *rows = calloc((size_t)c.n_structures, sizeof *rows);
    fuse2_store_step_row *steps = calloc((size_t)c.n_steps, sizeof *steps);
    ASSERT_OK(fuse2_store_read_structure_rows(st, 0, c.n_structures, rows));
    ASSERT_OK(fuse2_store_read_step_rows(st, 0, c.n_steps, steps));
    int members = 0;
    for (int64_t i = 0; i < c.n_structures; i++)
        if (rows[i].origin != FUSE2_ORIGIN_TRIAL) {
            entries[rows[i].step] = rows[i].pool_entry;
            members++;
        }
    for (int64_t i = 0, k = members; i < c.n_structures; i++)
        if (rows[i].origin == FUSE2_ORIGIN_TRIAL) entries[k++] = rows[i].pool_entry;
    *n = c.n_structures;
    for (int w = 0; w < walkers; w++) walker_used[w] = 0;
    for (int64_t i = 0; i < c.n_steps; i++) walker_used[steps[i].walker] = steps[i].pool_used;
    /* the pool itself is in the file, in its order, with names and ranks */
    int64_t np;
    ASSERT_OK(fuse2_store_pool_count(st, &np));
    assert_int_equal(np, 12);
    fuse2_store_pool_row prow[12];
    ASSERT_OK(fuse2_store_read_pool_rows(st, 0, 12, prow));
    fuse2_structure s = {0};
    for (int i = 0; i < 12; i++) {
        char name[32];
        snprintf(name, sizeof name, "entry-%02d.cif", i);
        assert_string_equal(prow[i].source, name);
        assert_int_equal(prow[i].index, i);
        assert_true(fabs(prow[i].rank_energy - (-30.0 - 0.01 * i)) < 1e-12);
        ASSERT_OK(fuse2_store_read_pool_structure(st, &prow[i], &s));
        assert_int_equal(s.natoms, 5 * (1 + i % 2));
        assert_true(fabs(s.lattice[0][0] - (3.7 + 0.05 * i)) < 1e-12);
    }
    fuse2_structure_free(&s);
    free(rows);
    free(steps);
    ASSERT_OK(fuse2_store_close(st));
}

static void test_pool_entries_travel_with_tasks_and_feed_move_14(void **state)
{
    (void)state;
    fuse2_pool pool;
    make_test_pool(&pool);
    fuse2_controller_options opt = {.pool = &pool};
    fuse2_config cfg;
    /* only move 14: every trial takes a dealt entry while the walker has one */
    load_campaign("ctl-pool", 11, 25, 2, "n_moves: {14: 1}\n", &cfg);
    fuse2_campaign_summary s;
    run_shuffled(&cfg, &opt, 3, 5, 1000000, &s);
    assert_true(s.finished);
    char *csv = read_output(&cfg, "steps.csv");
    int pool_members = 0;
    for (const char *p = csv; (p = strchr(p, '\n')) && p[1]; p++)
        if (!strncmp(p + 1, "initial_pool,", 13)) pool_members++;
    assert_int_equal(pool_members, 5);
    free(csv);
    /* members 0..4 are entries 0..4; the 7 others were dealt by index
     * (entry i to walker i mod 2) and each used by exactly one move-14 trial */
    int entries[64], used[2];
    int64_t n;
    read_pool_use(&cfg, entries, &n, used, 2);
    assert_int_equal(n, 25);
    int seen[12] = {0};
    for (int64_t i = 0; i < n; i++) {
        if (i < 5) assert_int_equal(entries[i], i);
        if (entries[i] >= 0) seen[entries[i]]++;
    }
    for (int e = 0; e < 12; e++) assert_int_equal(seen[e], 1);
    assert_int_equal(used[0], 3); /* entries 6, 8, 10 */
    assert_int_equal(used[1], 4); /* entries 5, 7, 9, 11 */
    fuse2_config_free(&cfg);

    /* stopped twice and resumed: the same campaign, pool use included; the
     * resumed runs read the pool from the file (none is passed) */
    fuse2_config part;
    load_campaign("ctl-pool-resumed", 11, 25, 2, "n_moves: {14: 1}\n", &part);
    run_shuffled(&part, &opt, 2, 9, 8, &s);
    assert_false(s.finished);
    fuse2_controller_options none = {0};
    run_shuffled(&part, &none, 3, 10, 9, &s);
    assert_false(s.finished);
    run_shuffled(&part, &none, 1, 11, 1000000, &s);
    assert_true(s.finished);
    int entries2[64], used2[2];
    int64_t n2;
    read_pool_use(&part, entries2, &n2, used2, 2);
    load_campaign("ctl-pool", 11, 25, 2, "n_moves: {14: 1}\n", &cfg);
    run_shuffled(&cfg, &opt, 3, 5, 1000000, &s);
    assert_same_campaign(&cfg, &part);
    assert_int_equal(used2[0], used[0]);
    assert_int_equal(used2[1], used[1]);
    int seen2[12] = {0};
    for (int64_t i = 0; i < n2; i++)
        if (entries2[i] >= 0) seen2[entries2[i]]++;
    for (int e = 0; e < 12; e++) assert_int_equal(seen2[e], 1);
    fuse2_config_free(&cfg);
    fuse2_config_free(&part);
    fuse2_pool_free(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_completion_gives_the_serial_campaign),
        cmocka_unit_test(test_stopped_campaign_resumes_to_the_same_content),
        cmocka_unit_test(test_raising_iterations_continues_a_finished_campaign),
        cmocka_unit_test(test_resuming_with_another_configuration_is_refused),
        cmocka_unit_test(test_pool_entries_travel_with_tasks_and_feed_move_14),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
