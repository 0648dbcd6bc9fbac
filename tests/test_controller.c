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

/* ---- ML pool: a fixed list of rock-salt-free perovskite cells ---- */
typedef struct test_pool {
    fuse2_structure entries[12];
    int used[12];
    int n;
    int taken;
} test_pool;

static int pool_available(void *user)
{
    test_pool *p = user;
    for (int i = 0; i < p->n; i++)
        if (!p->used[i]) return 1;
    return 0;
}

static fuse2_status pool_take(void *user, fuse2_rng *rng, fuse2_structure *out, int *taken)
{
    test_pool *p = user;
    int left = 0;
    for (int i = 0; i < p->n; i++) left += !p->used[i];
    *taken = 0;
    if (!left) return FUSE2_OK;
    int pick = fuse2_rng_int(rng, 0, left - 1);
    for (int i = 0; i < p->n; i++) {
        if (p->used[i]) continue;
        if (pick-- == 0) {
            FUSE2_CALL(fuse2_structure_copy(out, &p->entries[i]));
            p->used[i] = 1;
            p->taken++;
            *taken = 1;
            return FUSE2_OK;
        }
    }
    return FUSE2_OK;
}

static int pool_count(void *user) { return ((test_pool *)user)->n; }

static fuse2_status pool_take_index(void *user, int index, fuse2_structure *out, int *taken)
{
    test_pool *p = user;
    *taken = 0;
    if (p->used[index]) return FUSE2_OK;
    FUSE2_CALL(fuse2_structure_copy(out, &p->entries[index]));
    p->used[index] = 1;
    p->taken++;
    *taken = 1;
    return FUSE2_OK;
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

static void test_pool_entries_travel_with_tasks_and_feed_move_14(void **state)
{
    (void)state;
    static test_pool pool;
    memset(&pool, 0, sizeof pool);
    pool.n = 12;
    for (int i = 0; i < pool.n; i++) perovskite(&pool.entries[i], 3.7 + 0.05 * i, 1 + i % 2);
    fuse2_pool_source source = {.user = &pool, .available = pool_available, .take = pool_take};
    fuse2_pool_index index = {.user = &pool, .count = pool_count, .take_index = pool_take_index};
    fuse2_controller_options opt = {.pool = &source, .pool_index = &index};
    fuse2_config cfg;
    /* only move 14: every trial takes a dealt entry while the walker has one */
    load_campaign("ctl-pool", 11, 25, 2, "n_moves: {14: 1}\n", &cfg);
    fuse2_campaign_summary s;
    run_shuffled(&cfg, &opt, 3, 5, 1000000, &s);
    assert_true(s.finished);
    /* 5 members took 5 entries; the 7 left were dealt to the 2 walkers by
     * index (at most 6 each) and all used within their 10 steps each */
    assert_int_equal(pool.taken, 12);
    char *csv = read_output(&cfg, "steps.csv");
    int pool_members = 0, move14 = 0;
    for (const char *p = csv; (p = strchr(p, '\n')) && p[1]; p++) {
        if (!strncmp(p + 1, "initial_pool,", 13)) pool_members++;
        if (!strncmp(p + 1, "trial,", 6) && strstr(p + 1, ",14,") && strstr(p + 1, ",14,") < strchr(p + 1, '.'))
            move14++;
    }
    assert_int_equal(pool_members, 5);
    assert_int_equal(move14, 20);
    free(csv);
    for (int i = 0; i < pool.n; i++) fuse2_structure_free(&pool.entries[i]);
    fuse2_config_free(&cfg);
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
