/* fuse2 inspect and fuse2 export on campaign files written with the store
 * API: the numbers printed (best energies, acceptance, move statistics,
 * rates), the plot, the exported structures, clear errors, and inspection
 * of a file that another process keeps writing or left behind when killed.
 *
 * The reference numbers come from the fixture itself: the test writes a
 * campaign whose energies, moves and decisions it chooses, and computes the
 * expected statistics from those arrays with plain loops. */
#include "testutil.h"

#include <cairo.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuse2/store.h"
#include "fuse2/structure_io.h"

/* ---- running the CLI ---- */

/* ---- a small JSON reader for the CLI's output ---- */

/* Start of the value of "key" at nesting depth `depth` (1: the top-level
 * object) within [p, end); NULL if absent. */
static const char *json_find(const char *p, const char *end, const char *key, int depth)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    size_t len = strlen(pattern);
    int d = 0, in_string = 0;
    for (; p < end && *p; p++) {
        if (in_string) {
            if (*p == '\\') p++;
            else if (*p == '"') in_string = 0;
            continue;
        }
        if (*p == '{' || *p == '[') d++;
        else if (*p == '}' || *p == ']') d--;
        else if (*p == '"') {
            if (d == depth && !strncmp(p, pattern, len)) return p + len;
            in_string = 1;
        }
    }
    return NULL;
}

/* End of the object or array starting at p ('{' or '['). */
static const char *json_end(const char *p)
{
    int d = 0, in_string = 0;
    for (; *p; p++) {
        if (in_string) {
            if (*p == '\\') p++;
            else if (*p == '"') in_string = 0;
        } else if (*p == '"') in_string = 1;
        else if (*p == '{' || *p == '[') d++;
        else if ((*p == '}' || *p == ']') && --d == 0) return p + 1;
    }
    return p;
}

typedef struct span {
    const char *begin, *end;
} span;

static span json_object(span in, const char *key)
{
    const char *v = json_find(in.begin, in.end, key, 1);
    if (!v) fail_msg("no \"%s\" in:\n%.*s", key, (int)(in.end - in.begin), in.begin);
    if (*v != '{' && *v != '[') fail_msg("\"%s\" is not an object: %.40s", key, v);
    return (span){v, json_end(v)};
}

/* Element k of the array at `in`. */
static span json_element(span in, int k)
{
    const char *p = in.begin + 1;
    for (int i = 0;; i++) {
        while (p < in.end && *p != '{' && *p != ']') p++;
        if (p >= in.end || *p == ']') fail_msg("array has no element %d", k);
        const char *e = json_end(p);
        if (i == k) return (span){p, e};
        p = e;
    }
}

static double json_number_of(span in, const char *key)
{
    const char *v = json_find(in.begin, in.end, key, 1);
    if (!v) fail_msg("no \"%s\" in:\n%.*s", key, (int)(in.end - in.begin), in.begin);
    if (!strncmp(v, "null", 4)) return NAN;
    return strtod(v, NULL);
}

static span whole(const char *text)
{
    return (span){text, text + strlen(text)};
}

/* ---- the fixture campaign ---- */

enum {
    WALKERS = 3,
    MEMBERS = 4,
    TRIALS = 2,
    STEPS_RUN0 = 2,          /* steps 0..1 of every walker in run 0 */
    STEPS_RUN1 = 4,          /* steps 2..3 in run 1 */
    ITERATIONS = 40,
    MAX_ROWS = 64,
    MAX_STEPS = 16
};
#define FAILED_SCORE 5e9

/* What the fixture wrote, row by row (indices = row ids). */
typedef struct fixture {
    int nrows, nsteps;
    fuse2_store_structure_row rows[MAX_ROWS];
    fuse2_store_step_row steps[MAX_STEPS];
    int committed_rows, committed_steps;
    int64_t row_base;        /* ids of rows[0] (the live-writer test recycles the arrays) */
    char path[512];
} fixture;

static fixture fx;

static int spacegroup_of(int64_t id) { return 1 + (int)((id * 37) % 230); }
static int move_of(int w, int s, int t) { return 1 + (w * 5 + s * 3 + t) % 14; }

/* Distinct small NaCl cells, lattice in the a-along-x convention that CIF
 * read-back produces, so lattices compare directly. */
static void make_structure(int64_t id, int start, fuse2_structure *s)
{
    double p[6] = {4.0 + 0.01 * (double)id + 0.1 * start, 4.1, 4.2 + 0.001 * (double)id, 90, 95, 100};
    ASSERT_OK(fuse2_structure_init(s, 2));
    ASSERT_OK(fuse2_lattice_from_parameters(p, s->lattice));
    double na[3] = {0.01 * (double)(id % 7) + 0.05 * start, 0.02, 0.03};
    double cl[3] = {0.5, 0.5 + 0.003 * (double)id, 0.45 + 0.01 * start};
    ASSERT_OK(fuse2_structure_add_atom(s, 11, na));
    ASSERT_OK(fuse2_structure_add_atom(s, 17, cl));
}

static void append_row(fuse2_store *st, int walker, int step, int trial, int move, int status, double e)
{
    fuse2_store_structure_row row;
    memset(&row, 0, sizeof row);
    int64_t id = fx.row_base + fx.nrows;
    row.origin = walker < 0 ? 0 : 2;
    row.walker = walker;
    row.step = step;
    row.trial = trial;
    row.move = move;
    row.status = status;
    row.relax_steps = 10;
    row.spacegroup = spacegroup_of(id);
    row.energy_per_atom = e;
    row.energy = 2 * e;
    row.score = status == 2 ? FAILED_SCORE : e;
    row.wall_seconds = 0.1;
    snprintf(row.calculator, sizeof row.calculator, "builtin");
    if (status == 2) snprintf(row.reason, sizeof row.reason, "relaxation diverged");
    fuse2_structure relaxed = {0}, start = {0};
    make_structure(id, 0, &relaxed);
    make_structure(id, 1, &start);
    memcpy(row.cell, relaxed.lattice, sizeof row.cell);
    memcpy(row.start_cell, start.lattice, sizeof row.start_cell);
    ASSERT_OK(fuse2_store_append_structure(st, &row, &relaxed, &start));
    assert_int_equal(row.id, id);
    fx.rows[fx.nrows++] = row;
    fuse2_structure_free(&relaxed);
    fuse2_structure_free(&start);
}

/* Trial energies (eV/atom), chosen so that the 13 steps hold downhill,
 * accepted uphill and rejected steps (11 accepted, 8 new minima). Walker 1 step 2 trial 1 fails; its energy
 * field holds a spuriously low value, as an exploded relaxation might, which
 * must still never count as a best energy. Walker 0 step 4 trial 1 (written
 * after the last checkpoint) is the lowest energy of all. */
static double trial_energy(int w, int s, int t, int *status)
{
    *status = 0;
    if (w == 1 && s == 2 && t == 1) {
        *status = 2;
        return -40.0;
    }
    if (w == 0 && s == 4 && t == 1) return -3.5;
    return -3.0 - 0.1 * w - 0.02 * s + 0.03 * t + 0.06 * ((s * 7 + w * 3 + t * 5) % 4);
}

typedef struct walker_state {
    int64_t current_id, best_id;
    double current_score, best_score;
} walker_state;

static walker_state ws[WALKERS];

static void decide_step(fuse2_store *st, int w, int s, double elapsed)
{
    int64_t first = fx.row_base + fx.nrows;
    double scores[TRIALS];
    for (int t = 0; t < TRIALS; t++) {
        int status;
        double e = trial_energy(w, s, t, &status);
        append_row(st, w, s, t, move_of(w, s, t), status, e);
        scores[t] = status == 2 ? FAILED_SCORE : e;
    }
    int best = scores[1] < scores[0] ? 1 : 0;
    fuse2_store_step_row r;
    memset(&r, 0, sizeof r);
    r.first_structure = first;
    r.walker = w;
    r.step = s;
    r.ntrials = TRIALS;
    r.best_trial = best;
    r.move = move_of(w, s, best);
    r.score_before = ws[w].current_score;
    r.score_trial = scores[best];
    /* downhill always accepted; uphill accepted at steps 1, 4, ... */
    r.downhill = scores[best] < ws[w].current_score;
    r.accepted = r.downhill || s % 3 == 1;
    r.new_minimum = scores[best] < ws[w].best_score;
    if (r.accepted) {
        ws[w].current_id = first + best;
        ws[w].current_score = scores[best];
    }
    if (r.new_minimum) {
        ws[w].best_id = first + best;
        ws[w].best_score = scores[best];
    }
    r.current_id = ws[w].current_id;
    r.best_id = ws[w].best_id;
    r.current_score = ws[w].current_score;
    r.best_score = ws[w].best_score;
    r.T = r.T0 = 0.01 * (w + 1);
    r.r = s;
    r.stopped = (w == 2 && s == 3) ? 1 : (w == 1 && s == 3) ? 2 : 0;
    r.relaxations = TRIALS * (s + 1);
    r.elapsed = elapsed;
    ASSERT_OK(fuse2_store_append_step(st, &r));
    fx.steps[fx.nsteps++] = r;
}

static fuse2_store_run_row run_row(int resumed, int64_t structures_at_start)
{
    fuse2_store_run_row run;
    memset(&run, 0, sizeof run);
    snprintf(run.version, sizeof run.version, "0.1.0");
    snprintf(run.git_hash, sizeof run.git_hash, "abc1234");
    snprintf(run.status, sizeof run.status, "running");
    snprintf(run.hosts, sizeof run.hosts, "node1,node2");
    snprintf(run.composition, sizeof run.composition, "NaCl");
    run.seed = 42;
    run.walkers = WALKERS;
    run.initial_gen = MEMBERS;
    run.iterations = ITERATIONS;
    run.ranks = 4;
    run.resumed = resumed;
    run.start_time = 1.7e9 + 1000 * resumed;
    run.structures_at_start = structures_at_start;
    return run;
}

static void checkpoint(fuse2_store *st, int run, int finished, double elapsed)
{
    fuse2_store_checkpoint_row cp;
    memset(&cp, 0, sizeof cp);
    cp.run = run;
    cp.finished = finished;
    cp.unix_time = 1.7e9 + elapsed;
    cp.elapsed = elapsed;
    ASSERT_OK(fuse2_store_checkpoint(st, &cp));
    fx.committed_rows = fx.nrows;
    fx.committed_steps = fx.nsteps;
}

/* Run 0: the initial population and steps 0..1 of every walker, then a
 * stop by signal. Run 1 (resumed): steps 2..3, a checkpoint, then step 4 of
 * walker 0 written but not committed. Step rows of run 1 are 0.5 s apart:
 * 2 steps/s and (2 trials each) 4 relaxations/s. */
static int setup_campaign(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    snprintf(fx.path, sizeof fx.path, "%s/campaign.h5", test_tmpdir());
    fuse2_store *st;
    ASSERT_OK(fuse2_store_create(fx.path, "composition: NaCl\n", "composition: NaCl\nseed: 42\n", &st));
    fuse2_store_run_row run0 = run_row(0, 0);
    int32_t run;
    ASSERT_OK(fuse2_store_begin_run(st, &run0, &run));
    for (int m = 0; m < MEMBERS; m++) append_row(st, -1, m, 0, 0, 0, -2.90 - 0.01 * m);
    for (int w = 0; w < WALKERS; w++) {
        /* walker w starts from member w */
        ws[w].current_id = ws[w].best_id = w;
        ws[w].current_score = ws[w].best_score = fx.rows[w].energy_per_atom;
    }
    checkpoint(st, 0, 0, 5);
    int k = 0;
    for (int s = 0; s < STEPS_RUN0; s++)
        for (int w = 0; w < WALKERS; w++) decide_step(st, w, s, 10 + 1.0 * k++);
    checkpoint(st, 0, 0, 20);
    snprintf(run0.status, sizeof run0.status, "signal");
    run0.stop_time = run0.start_time + 30;
    ASSERT_OK(fuse2_store_update_run(st, run, &run0));
    ASSERT_OK(fuse2_store_close(st));

    fuse2_store_counts committed;
    ASSERT_OK(fuse2_store_open_resume(fx.path, &st, &committed));
    assert_int_equal(committed.n_structures, fx.nrows);
    fuse2_store_run_row run1 = run_row(1, fx.nrows);
    ASSERT_OK(fuse2_store_begin_run(st, &run1, &run));
    assert_int_equal(run, 1);
    k = 0;
    for (int s = STEPS_RUN0; s < STEPS_RUN1; s++)
        for (int w = 0; w < WALKERS; w++) decide_step(st, w, s, 100 + 0.5 * k++);
    checkpoint(st, 1, 0, 102.6);
    decide_step(st, 0, 4, 100 + 0.5 * k++); /* written, not committed */
    ASSERT_OK(fuse2_store_flush(st));
    ASSERT_OK(fuse2_store_close(st));
    return 0;
}

/* ---- expected numbers, computed from the fixture arrays ---- */

static int usable(const fuse2_store_structure_row *r) { return r->status != 2; }

static int lowest_row(int nrows)
{
    int best = -1;
    for (int i = 0; i < nrows; i++)
        if (usable(&fx.rows[i]) && (best < 0 || fx.rows[i].energy_per_atom < fx.rows[best].energy_per_atom))
            best = i;
    return best;
}

/* the walker's latest step row within the first nsteps */
static const fuse2_store_step_row *last_step_of(int w, int nsteps)
{
    const fuse2_store_step_row *last = NULL;
    for (int i = 0; i < nsteps; i++)
        if (fx.steps[i].walker == w) last = &fx.steps[i];
    return last;
}

/* ---- tests ---- */

static void test_inspect_json_reports_best_energies_acceptance_and_moves(void **state)
{
    (void)state;
    char *out;
    int rc = test_run_cli(&out, "inspect '%s' --json", fx.path);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    span top = whole(out);
    assert_non_null(strstr(out, "\"composition\": \"NaCl\""));
    assert_non_null(strstr(out, "\"seed\": \"42\""));
    assert_int_equal((int)json_number_of(top, "walkers"), WALKERS);

    span runs = json_object(top, "runs");
    assert_non_null(strstr(json_element(runs, 0).begin, "\"status\": \"signal\""));
    assert_int_equal((int)json_number_of(json_element(runs, 1), "ranks"), 4);

    /* progress: 4 members + 13 steps x 2 trials = 30 of 40 */
    span progress = json_object(top, "progress");
    assert_int_equal((int)json_number_of(progress, "relaxations"), fx.nrows);
    assert_int_equal(fx.nrows, 30);
    assert_int_equal((int)json_number_of(progress, "iterations"), ITERATIONS);
    assert_int_equal((int)json_number_of(progress, "initial_done"), MEMBERS);
    assert_int_equal((int)json_number_of(progress, "initial_total"), MEMBERS);
    assert_int_equal((int)json_number_of(progress, "steps"), fx.nsteps);
    assert_int_equal((int)json_number_of(progress, "failed"), 1);

    span rows = json_object(top, "rows");
    assert_int_equal((int)json_number_of(rows, "structures_written"), fx.nrows);
    assert_int_equal((int)json_number_of(rows, "structures_committed"), fx.committed_rows);
    assert_int_equal((int)json_number_of(rows, "steps_written"), fx.nsteps);
    assert_int_equal((int)json_number_of(rows, "steps_committed"), fx.committed_steps);
    assert_int_equal((int)json_number_of(rows, "checkpoints"), 3);

    /* overall best: walker 0 step 4 trial 1 at -3.5, not the failed -40 */
    int b = lowest_row(fx.nrows);
    span best = json_object(top, "best");
    ASSERT_NEAR(json_number_of(best, "energy_per_atom"), fx.rows[b].energy_per_atom, 1e-12);
    ASSERT_NEAR(json_number_of(best, "energy_per_atom"), -3.5, 1e-12);
    assert_int_equal((int)json_number_of(best, "walker"), 0);
    assert_int_equal((int)json_number_of(best, "step"), 4);
    assert_int_equal((int)json_number_of(best, "trial"), 1);
    assert_int_equal((int)json_number_of(best, "spacegroup"), spacegroup_of(b));

    /* acceptance overall and per walker, per-walker best and state */
    int accepted = 0;
    for (int i = 0; i < fx.nsteps; i++) accepted += fx.steps[i].accepted;
    span acc = json_object(top, "acceptance");
    assert_int_equal((int)json_number_of(acc, "accepted"), accepted);
    ASSERT_NEAR(json_number_of(acc, "rate"), (double)accepted / fx.nsteps, 1e-9);
    const char *states[WALKERS] = {"running", "budget", "converged"};
    span walkers = json_object(top, "per_walker");
    for (int w = 0; w < WALKERS; w++) {
        span ow = json_element(walkers, w);
        int nsteps = 0, nacc = 0, nrel = 0;
        for (int i = 0; i < fx.nsteps; i++)
            if (fx.steps[i].walker == w) {
                nsteps++;
                nacc += fx.steps[i].accepted;
            }
        for (int i = 0; i < fx.nrows; i++) nrel += fx.rows[i].walker == w;
        assert_int_equal((int)json_number_of(ow, "walker"), w);
        assert_int_equal((int)json_number_of(ow, "steps"), nsteps);
        assert_int_equal((int)json_number_of(ow, "relaxations"), nrel);
        assert_int_equal((int)json_number_of(ow, "accepted"), nacc);
        ASSERT_NEAR(json_number_of(ow, "acceptance"), (double)nacc / nsteps, 1e-9);
        const fuse2_store_step_row *last = last_step_of(w, fx.nsteps);
        ASSERT_NEAR(json_number_of(ow, "current_energy_per_atom"), fx.rows[last->current_id].energy_per_atom, 1e-12);
        span wb = json_object(ow, "best");
        ASSERT_NEAR(json_number_of(wb, "energy_per_atom"), fx.rows[last->best_id].energy_per_atom, 1e-12);
        assert_int_equal((int)json_number_of(wb, "spacegroup"), spacegroup_of(last->best_id));
        assert_int_equal((int)json_number_of(wb, "id"), (int)last->best_id);
        ASSERT_NEAR(json_number_of(ow, "T"), 0.01 * (w + 1), 1e-12);
        assert_int_equal((int)json_number_of(ow, "r"), last->r);
        char want[64];
        snprintf(want, sizeof want, "\"state\": \"%s\"", states[w]);
        if (!strstr(ow.begin, want) || strstr(ow.begin, want) > ow.end) fail_msg("walker %d: no %s", w, want);
    }
    /* walker 1's best is never the failed record */
    for (int i = 0; i < fx.nrows; i++)
        if (fx.rows[i].status == 2) {
            assert_int_equal(fx.rows[i].walker, 1);
            assert_int_not_equal((int)json_number_of(json_object(json_element(walkers, 1), "best"), "id"), i);
        }

    /* move statistics against counts over the fixture rows */
    span moves = json_object(top, "moves");
    int total_trials = 0, total_failed = 0;
    for (int m = 1; m <= 14; m++) {
        int trials = 0, failed = 0, chosen = 0, macc = 0, newmin = 0;
        for (int i = 0; i < fx.nrows; i++)
            if (fx.rows[i].walker >= 0 && fx.rows[i].move == m) {
                trials++;
                failed += fx.rows[i].status == 2;
            }
        for (int i = 0; i < fx.nsteps; i++)
            if (fx.steps[i].move == m) {
                chosen++;
                macc += fx.steps[i].accepted;
                newmin += fx.steps[i].new_minimum;
            }
        span om = json_element(moves, m - 1);
        assert_int_equal((int)json_number_of(om, "move"), m);
        assert_int_equal((int)json_number_of(om, "trials"), trials);
        assert_int_equal((int)json_number_of(om, "failed"), failed);
        assert_int_equal((int)json_number_of(om, "chosen"), chosen);
        assert_int_equal((int)json_number_of(om, "accepted"), macc);
        assert_int_equal((int)json_number_of(om, "new_minima"), newmin);
        total_trials += trials;
        total_failed += failed;
    }
    assert_int_equal(total_trials, fx.nrows - MEMBERS);
    assert_int_equal(total_failed, 1);

    /* rates from run 1's step rows: 7 rows 0.5 s apart */
    span rate = json_object(top, "rate");
    ASSERT_NEAR(json_number_of(rate, "steps_per_second"), 2.0, 1e-9);
    ASSERT_NEAR(json_number_of(rate, "relaxations_per_second"), 4.0, 1e-9);
    /* ETA: (40 - 30) relaxations at 4 per second */
    ASSERT_NEAR(json_number_of(rate, "eta_seconds"), 2.5, 1e-9);
    free(out);
}

static void test_inspect_committed_ignores_rows_after_the_last_checkpoint(void **state)
{
    (void)state;
    char *out;
    int rc = test_run_cli(&out, "inspect '%s' --json --committed", fx.path);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    span top = whole(out);
    int b = lowest_row(fx.committed_rows);
    span best = json_object(top, "best");
    ASSERT_NEAR(json_number_of(best, "energy_per_atom"), fx.rows[b].energy_per_atom, 1e-12);
    assert_true(fx.rows[b].energy_per_atom > -3.5);
    assert_int_equal((int)json_number_of(best, "id"), b);
    assert_int_equal((int)json_number_of(json_object(top, "progress"), "steps"), fx.committed_steps);
    span w0 = json_element(json_object(top, "per_walker"), 0);
    const fuse2_store_step_row *last = last_step_of(0, fx.committed_steps);
    ASSERT_NEAR(json_number_of(json_object(w0, "best"), "energy_per_atom"),
                fx.rows[last->best_id].energy_per_atom, 1e-12);
    free(out);
}

static void test_inspect_text_names_best_walker_and_space_group(void **state)
{
    (void)state;
    char *out;
    int rc = test_run_cli(&out, "inspect '%s'", fx.path);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    int b = lowest_row(fx.nrows);
    char want[128];
    snprintf(want, sizeof want, "best: -3.500000 eV/atom, walker 0 step 4 trial 1 (move %d), space group %d",
             fx.rows[b].move, spacegroup_of(b));
    if (!strstr(out, want)) fail_msg("no '%s' in:\n%s", want, out);
    assert_non_null(strstr(out, "NaCl, seed 42, 3 walkers"));
    assert_non_null(strstr(out, "progress: 30 of 40 relaxations (75.0 %)"));
    assert_non_null(strstr(out, "converged (rmax)"));
    assert_non_null(strstr(out, "budget used"));
    free(out);
}

static int count_files(const char *dir, const char *prefix, char names[][256], int max)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && n < max) snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char t[256];
                memcpy(t, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], t, 256);
            }
    return n;
}

static void assert_same_structure(const fuse2_structure *a, const fuse2_structure *b)
{
    assert_int_equal(a->natoms, b->natoms);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) ASSERT_NEAR(a->lattice[i][j], b->lattice[i][j], 1e-8);
    for (int i = 0; i < a->natoms; i++) {
        assert_int_equal(a->species[i], b->species[i]);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(a->frac[i][k], b->frac[i][k], 1e-8);
    }
}

/* The n lowest non-failed rows, ties by id (the fixture has no ties). */
static void lowest_rows(int n, int *ids)
{
    int used[MAX_ROWS] = {0};
    for (int k = 0; k < n; k++) {
        int best = -1;
        for (int i = 0; i < fx.nrows; i++)
            if (!used[i] && usable(&fx.rows[i]) &&
                (best < 0 || fx.rows[i].energy_per_atom < fx.rows[best].energy_per_atom))
                best = i;
        used[best] = 1;
        ids[k] = best;
    }
}

static void check_best_export(const char *format, const char *ext)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/best-%s", test_tmpdir(), format);
    char *out;
    int rc = test_run_cli(&out, "export '%s' --best 3 --format %s -o '%s'", fx.path, format, dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    free(out);
    char names[8][256];
    assert_int_equal(count_files(dir, "best-", names, 8), 3);
    int ids[3];
    lowest_rows(3, ids);
    fuse2_store *st;
    ASSERT_OK(fuse2_store_open_read(fx.path, &st));
    double last_e = -INFINITY;
    for (int k = 0; k < 3; k++) {
        const fuse2_store_structure_row *r = &fx.rows[ids[k]];
        char want[256];
        snprintf(want, sizeof want, "best-%03d_w%d_s%d_t%d.%s", k + 1, r->walker, r->step, r->trial, ext);
        assert_string_equal(names[k], want);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        fuse2_structure got = {0}, stored = {0};
        ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, &got));
        ASSERT_OK(fuse2_store_read_structure(st, r, 0, &stored));
        assert_same_structure(&got, &stored);
        /* the energy per atom is in the file's comment, in ascending order */
        char *text = test_read_file(path);
        const char *p = strstr(text, !strcmp(format, "cif") ? "energy_per_atom " : "E/atom ");
        assert_non_null(p);
        double e = strtod(strchr(p, ' ') + 1, NULL);
        ASSERT_NEAR(e, r->energy_per_atom, 1e-9);
        assert_true(e >= last_e);
        last_e = e;
        free(text);
        fuse2_structure_free(&got);
        fuse2_structure_free(&stored);
    }
    ASSERT_OK(fuse2_store_close(st));
}

static void test_export_best_writes_lowest_structures_in_energy_order(void **state)
{
    (void)state;
    check_best_export("cif", "cif");
    check_best_export("poscar", "vasp");
}

static void test_export_walker_step_member_and_start_structures(void **state)
{
    (void)state;
    char dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s/chosen", test_tmpdir());
    char *out;
    /* every trial of walker 1 step 2, the failed one included */
    int rc = test_run_cli(&out, "export '%s' --walker 1 --step 2 -o '%s'", fx.path, dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    free(out);
    char names[8][256];
    assert_int_equal(count_files(dir, "w1_s2_", names, 8), 2);
    assert_string_equal(names[0], "w1_s2_t0.cif");
    assert_string_equal(names[1], "w1_s2_t1.cif");

    /* one trial, the start structure, as POSCAR */
    rc = test_run_cli(&out, "export '%s' --walker 0 --step 1 --trial 1 --start --format poscar -o '%s'", fx.path, dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    free(out);
    int id = -1;
    for (int i = 0; i < fx.nrows; i++)
        if (fx.rows[i].walker == 0 && fx.rows[i].step == 1 && fx.rows[i].trial == 1) id = i;
    assert_true(id >= 0);
    fuse2_structure got = {0}, want = {0};
    snprintf(path, sizeof path, "%s/w0_s1_t1_start.vasp", dir);
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_POSCAR, &got));
    make_structure(id, 1, &want);
    assert_same_structure(&got, &want);
    fuse2_structure_free(&got);
    fuse2_structure_free(&want);

    /* an initial-population member */
    rc = test_run_cli(&out, "export '%s' --member 3 -o '%s'", fx.path, dir);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    free(out);
    snprintf(path, sizeof path, "%s/m3.cif", dir);
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_CIF, &got));
    make_structure(3, 0, &want);
    assert_same_structure(&got, &want);
    fuse2_structure_free(&got);
    fuse2_structure_free(&want);
}

static void test_bad_files_and_selections_give_clear_errors(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(test_run_cli(&out, "inspect /nonexistent/campaign.h5"), 1);
    assert_non_null(strstr(out, "/nonexistent/campaign.h5"));
    free(out);
    const char *text = test_write_file("notes.h5", "not a campaign\n");
    assert_int_equal(test_run_cli(&out, "inspect '%s'", text), 1);
    assert_non_null(strstr(out, "not a fuse2 campaign file"));
    free(out);
    /* an HDF5 file that is not a campaign */
    char h5[512];
    snprintf(h5, sizeof h5, "%s/other.h5", test_tmpdir());
    hid_t f = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    H5Fclose(f);
    assert_int_equal(test_run_cli(&out, "export '%s' --best 1", h5), 1);
    assert_non_null(strstr(out, "not a fuse2 campaign file"));
    free(out);

    assert_int_equal(test_run_cli(&out, "export '%s' --walker 7 --step 0 -o '%s'", fx.path, test_tmpdir()), 1);
    assert_non_null(strstr(out, "walker 7 out of range"));
    free(out);
    assert_int_equal(test_run_cli(&out, "export '%s' --walker 1 --step 9 -o '%s'", fx.path, test_tmpdir()), 1);
    assert_non_null(strstr(out, "walker 1 has no step 9 (steps 0..3 are decided)"));
    free(out);
    assert_int_equal(test_run_cli(&out, "export '%s' --walker 1 --step 1 --trial 5 -o '%s'", fx.path, test_tmpdir()), 1);
    assert_non_null(strstr(out, "no trial 5"));
    free(out);
    assert_int_equal(test_run_cli(&out, "export '%s' --member 4 -o '%s'", fx.path, test_tmpdir()), 1);
    assert_non_null(strstr(out, "member 4 out of range"));
    free(out);
    /* usage errors exit 2 */
    assert_int_equal(test_run_cli(&out, "export '%s'", fx.path), 2);
    free(out);
    assert_int_equal(test_run_cli(&out, "inspect '%s' --bogus", fx.path), 2);
    free(out);
    assert_int_equal(test_run_cli(&out, "inspect --help"), 0);
    assert_non_null(strstr(out, "usage: fuse2 inspect"));
    free(out);
    assert_int_equal(test_run_cli(&out, "export --help"), 0);
    assert_non_null(strstr(out, "usage: fuse2 export"));
    free(out);
}

/* Pixels of the PNG that are not white, and those clearly coloured. */
static void png_pixels(const char *path, int *width, int *height, long *non_white, long *coloured)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    *width = cairo_image_surface_get_width(s);
    *height = cairo_image_surface_get_height(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    *non_white = *coloured = 0;
    for (int y = 0; y < *height; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < *width; x++) {
            uint32_t p = row[x];
            int r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
            if ((p & 0xffffff) != 0xffffff) (*non_white)++;
            int mx = r > g ? (r > b ? r : b) : (g > b ? g : b), mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
            if (mx - mn > 80) (*coloured)++;
        }
    }
    cairo_surface_destroy(s);
}

static void test_plot_is_a_png_of_the_requested_size_with_content(void **state)
{
    (void)state;
    char png[512];
    snprintf(png, sizeof png, "%s/energy.png", test_tmpdir());
    char *out;
    int rc = test_run_cli(&out, "inspect '%s' --plot '%s' --width 640 --height 480", fx.path, png);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    free(out);
    int w, h;
    long non_white, coloured;
    png_pixels(png, &w, &h, &non_white, &coloured);
    assert_int_equal(w, 640);
    assert_int_equal(h, 480);
    /* axes, text, grid and markers: well above nothing, well below all */
    assert_true(non_white > 640 * 480 / 50);
    assert_true(non_white < 640 * 480 / 2);
    /* 25 trials as round markers of radius ~2.7 px (about 20 coloured
     * pixels each; about 600 measured), the legend's 3 swatches alone about
     * 100: so the markers are there */
    assert_true(coloured >= 400);
}

/* A writer in a child process keeps appending and flushing; inspect runs
 * meanwhile, then once more after the writer is killed. */
static void test_inspect_follows_a_file_another_process_writes(void **state)
{
    (void)state;
    char path[512], png[512];
    snprintf(path, sizeof path, "%s/live.h5", test_tmpdir());
    snprintf(png, sizeof png, "%s/live.png", test_tmpdir());
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        fuse2_store *st;
        if (fuse2_store_create(path, "composition: NaCl\n", "composition: NaCl\n", &st) != FUSE2_OK) _exit(3);
        fuse2_store_run_row run0 = run_row(0, 0);
        run0.iterations = 1000000;
        int32_t run;
        if (fuse2_store_begin_run(st, &run0, &run) != FUSE2_OK) _exit(4);
        memset(&fx, 0, sizeof fx);
        for (int m = 0; m < MEMBERS; m++) append_row(st, -1, m, 0, 0, 0, -2.9 - 0.01 * m);
        for (int w = 0; w < WALKERS; w++) {
            ws[w].current_id = ws[w].best_id = w;
            ws[w].current_score = ws[w].best_score = fx.rows[w].energy_per_atom;
        }
        if (fuse2_store_flush(st) != FUSE2_OK) _exit(5);
        if (write(ready[1], "r", 1) != 1) _exit(6);
        struct timespec pause = {0, 3000000};
        for (int s = 0; s < 2000; s++) {
            for (int w = 0; w < WALKERS; w++) {
                if (fx.nrows + TRIALS > MAX_ROWS || fx.nsteps >= MAX_STEPS) {
                    fx.row_base += fx.nrows;
                    fx.nrows = fx.nsteps = 0;
                }
                decide_step(st, w, s, 0.01 * s);
            }
            if (fuse2_store_flush(st) != FUSE2_OK) _exit(7);
            if (s % 10 == 9) {
                fuse2_store_checkpoint_row cp = {0};
                cp.unix_time = 1.7e9 + s;
                cp.elapsed = 0.01 * s;
                if (fuse2_store_checkpoint(st, &cp) != FUSE2_OK) _exit(8);
            }
            nanosleep(&pause, NULL);
        }
        fuse2_store_close(st);
        _exit(0);
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    int64_t last_steps = -1;
    for (int i = 0; i < 6; i++) {
        char *out;
        int rc = test_run_cli(&out, i == 3 ? "inspect '%s' --json --plot '%s'" : "inspect '%s' --json", path, png);
        if (rc != 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("inspect of a file being written, run %d: exit %d:\n%s", i, rc, out);
        }
        int64_t steps = (int64_t)json_number_of(json_object(whole(out), "progress"), "steps");
        assert_true(steps >= last_steps);
        last_steps = steps;
        free(out);
        struct timespec pause = {0, 60000000};
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(last_steps > 0); /* it did see the writer's progress */

    /* the file a killed writer left: committed <= written, still readable */
    char *out;
    int rc = test_run_cli(&out, "inspect '%s' --json", path);
    if (rc != 0) fail_msg("inspect after SIGKILL: exit %d:\n%s", rc, out);
    span rows = json_object(whole(out), "rows");
    assert_true(json_number_of(rows, "structures_committed") <= json_number_of(rows, "structures_written"));
    assert_true(json_number_of(rows, "steps_written") >= (double)last_steps);
    free(out);
    rc = test_run_cli(&out, "export '%s' --best 2 --committed -o '%s/killed'", path, test_tmpdir());
    if (rc != 0) fail_msg("export after SIGKILL: exit %d:\n%s", rc, out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect_json_reports_best_energies_acceptance_and_moves),
        cmocka_unit_test(test_inspect_committed_ignores_rows_after_the_last_checkpoint),
        cmocka_unit_test(test_inspect_text_names_best_walker_and_space_group),
        cmocka_unit_test(test_export_best_writes_lowest_structures_in_energy_order),
        cmocka_unit_test(test_export_walker_step_member_and_start_structures),
        cmocka_unit_test(test_bad_files_and_selections_give_clear_errors),
        cmocka_unit_test(test_plot_is_a_png_of_the_requested_size_with_content),
        cmocka_unit_test(test_inspect_follows_a_file_another_process_writes),
    };
    return cmocka_run_group_tests(tests, setup_campaign, NULL);
}
