/* fuse2 inspect: progress and statistics of a campaign file, also while the
 * campaign writes it (SWMR reader); --plot draws energy vs step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "plot.h"

/* Rows read per HDF5 call: a few MB, so a million rows need no big buffers. */
enum { STRUCTURE_BLOCK = 8192, STEP_BLOCK = 32768, NMOVES = 14 };

fuse2_status cli_campaign_open(const char *path, fuse2_store **st, fuse2_store_counts *counts,
                               fuse2_store_run_row *last_run, int *have_run)
{
    /* the store's messages name the file (missing, not HDF5, not a campaign) */
    FUSE2_CALL(fuse2_store_open_read(path, st));
    fuse2_status status = fuse2_store_counts_get(*st, counts);
    if (have_run) *have_run = 0;
    if (status == FUSE2_OK && last_run && counts->n_runs > 0) {
        status = fuse2_store_read_runs(*st, counts->n_runs - 1, 1, last_run);
        if (have_run) *have_run = status == FUSE2_OK;
    }
    if (status != FUSE2_OK) {
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        fuse2_store_close(*st); /* a reader's close has nothing to fail on */
        *st = NULL;
        return status;
    }
    return FUSE2_OK;
}

const char *cli_walker_stop_name(int stopped)
{
    switch (stopped) {
    case 0: return "running";
    case 1: return "converged";
    case 2: return "budget";
    default: return "unknown";
    }
}

void cmd_inspect_help(FILE *out)
{
    fprintf(out,
            "usage: fuse2 inspect CAMPAIGN.h5 [--json] [--plot FILE.png] [--width W] [--height H]\n"
            "                     [--committed]\n\n"
            "Progress and statistics of a campaign file: composition, runs, progress against\n"
            "the relaxation budget, best energy per atom overall and per walker with space\n"
            "groups, acceptance, move statistics, steps/s, relaxations/s and an ETA.\n"
            "Safe while fuse2-mpi writes the file (HDF5 SWMR reader), and on a file a killed\n"
            "run left. Failed relaxations never count as best energies. Units: eV/atom, s.\n\n"
            "  --json          one JSON object with the same numbers (docs/inspect-export.md)\n"
            "  --plot FILE     PNG: energy per atom vs walker step of every trial (a colour\n"
            "                  per walker) and the best-so-far line\n"
            "  --width W       plot width in pixels (default 1000)\n"
            "  --height H      plot height in pixels (default 650)\n"
            "  --committed     only rows committed by the last checkpoint (what a restart\n"
            "                  keeps); default: every row written so far\n");
}

typedef struct walker_stat {
    int64_t steps, relaxations, accepted, failed;
    int have_last;
    fuse2_store_step_row last;          /* the walker's latest decided step */
    double own_min;                     /* lowest non-failed trial, fallback best */
    int64_t own_min_id;
    /* resolved after the passes */
    int have_best, have_current;
    fuse2_store_structure_row best, current;
} walker_stat;

typedef struct move_stat {
    int64_t trials, failed, chosen, accepted, new_minima;
} move_stat;

typedef struct campaign_view {
    const char *path;
    fuse2_store_counts counts;
    int64_t n_structures, n_steps;      /* rows used (all written, or committed) */
    int committed_only;
    int have_checkpoint;
    fuse2_store_checkpoint_row checkpoint; /* the last one */
    int nruns;
    fuse2_store_run_row *runs;
    int nwalkers;
    walker_stat *w;
    move_stat moves[NMOVES + 1];
    int64_t initial_done, failed, steps_decided, steps_pending, accepted;
    int have_best;
    fuse2_store_structure_row best;
    /* the ML pool: entries, and how many seeded members / move-14 trials */
    int64_t pool_entries, pool_members, pool_trials;
    char best_pool_source[FUSE2_STORE_SOURCE_LEN];
    /* rates from the latest run */
    int64_t steps_at_run_start;
    int have_rate;
    const char *rate_source;
    double rate_window, steps_per_second, relaxations_per_second;
    /* plot data */
    int want_plot;
    int64_t npoints, cap_points;
    plot_point *points;
    int nbest;
    double *best_by_step;
    double initial_best;
} campaign_view;

static fuse2_status grow_walkers(campaign_view *v, int walker)
{
    if (walker < v->nwalkers) return FUSE2_OK;
    int n = walker + 1;
    walker_stat *w = realloc(v->w, (size_t)n * sizeof *w);
    if (!w) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d walkers", n);
    for (int i = v->nwalkers; i < n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].own_min = INFINITY;
        w[i].own_min_id = -1;
    }
    v->w = w;
    v->nwalkers = n;
    return FUSE2_OK;
}

static fuse2_status add_point(campaign_view *v, int32_t x, double y, int32_t series)
{
    if (v->npoints == v->cap_points) {
        int64_t cap = v->cap_points ? 2 * v->cap_points : 4096;
        plot_point *p = realloc(v->points, (size_t)cap * sizeof *p);
        if (!p) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %lld plot points", (long long)cap);
        v->points = p;
        v->cap_points = cap;
    }
    v->points[v->npoints++] = (plot_point){y, x, series};
    return FUSE2_OK;
}

static int is_usable(const fuse2_store_structure_row *r)
{
    return r->status != 2 && isfinite(r->energy_per_atom);
}

static fuse2_status read_checkpoints(fuse2_store *st, campaign_view *v)
{
    int64_t n = v->counts.n_checkpoints;
    v->have_checkpoint = n > 0;
    if (!n) return FUSE2_OK;
    FUSE2_CALL(fuse2_store_read_checkpoints(st, n - 1, 1, &v->checkpoint));
    /* The latest run started from the last commit of an earlier run (a
     * resume discards later rows); scan back to it for the rate window. */
    int latest_run = v->nruns - 1;
    fuse2_store_checkpoint_row buf[256];
    for (int64_t end = n; end > 0 && latest_run > 0;) {
        int64_t first = end > 256 ? end - 256 : 0;
        FUSE2_CALL(fuse2_store_read_checkpoints(st, first, end - first, buf));
        for (int64_t i = end - 1; i >= first; i--)
            if (buf[i - first].run < latest_run) {
                v->steps_at_run_start = buf[i - first].n_steps;
                return FUSE2_OK;
            }
        end = first;
    }
    return FUSE2_OK;
}

/* Rates of the latest run from the checkpoints it committed (used while it
 * has fewer than two decided steps, e.g. in the initial population). */
static fuse2_status checkpoint_rates(fuse2_store *st, campaign_view *v)
{
    int64_t n = v->counts.n_checkpoints;
    if (n < 2 || v->nruns < 1) return FUSE2_OK;
    fuse2_store_checkpoint_row last = v->checkpoint, first = last;
    int found = 0;
    fuse2_store_checkpoint_row buf[256];
    for (int64_t end = n; end > 0;) {
        int64_t lo = end > 256 ? end - 256 : 0;
        FUSE2_CALL(fuse2_store_read_checkpoints(st, lo, end - lo, buf));
        int64_t i = end - 1;
        for (; i >= lo && buf[i - lo].run == last.run; i--) {
            first = buf[i - lo];
            found++;
        }
        if (i >= lo) break;
        end = lo;
    }
    double span = last.elapsed - first.elapsed;
    if (found >= 2 && span > 0) {
        v->have_rate = 1;
        v->rate_source = "checkpoints";
        v->rate_window = span;
        v->steps_per_second = (double)(last.n_steps - first.n_steps) / span;
        v->relaxations_per_second = (double)(last.n_structures - first.n_structures) / span;
    }
    return FUSE2_OK;
}

static fuse2_status scan_steps(fuse2_store *st, campaign_view *v)
{
    fuse2_store_step_row *rows = malloc(STEP_BLOCK * sizeof *rows);
    if (!rows) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d step rows", STEP_BLOCK);
    fuse2_status status = FUSE2_OK;
    int64_t run_steps = 0, run_trials = 0, all_steps = 0, all_trials = 0;
    double t_first = 0, t_last = 0, all_first = 0, all_last = 0;
    for (int64_t first = 0; first < v->n_steps; first += STEP_BLOCK) {
        int64_t n = v->n_steps - first < STEP_BLOCK ? v->n_steps - first : STEP_BLOCK;
        FUSE2_CALL_GOTO(status, fuse2_store_read_step_rows(st, first, n, rows), out);
        for (int64_t i = 0; i < n; i++) {
            const fuse2_store_step_row *r = &rows[i];
            /* A live writer may make the step table visible before the
             * structures it points to: count such a step as pending. */
            if (r->walker < 0 || r->first_structure + r->ntrials > v->n_structures ||
                r->best_id >= v->n_structures || r->current_id >= v->n_structures) {
                v->steps_pending++;
                continue;
            }
            FUSE2_CALL_GOTO(status, grow_walkers(v, r->walker), out);
            walker_stat *w = &v->w[r->walker];
            w->steps++;
            w->accepted += r->accepted != 0;
            if (!w->have_last || r->step >= w->last.step) w->last = *r;
            w->have_last = 1;
            v->steps_decided++;
            v->accepted += r->accepted != 0;
            if (r->move >= 1 && r->move <= NMOVES) {
                move_stat *m = &v->moves[r->move];
                m->chosen++;
                m->accepted += r->accepted != 0;
                m->new_minima += r->new_minimum != 0;
            }
            if (all_steps == 0) all_first = r->elapsed;
            else all_trials += r->ntrials;
            all_last = r->elapsed;
            all_steps++;
            if (first + i >= v->steps_at_run_start) {
                if (run_steps == 0) t_first = r->elapsed;
                else run_trials += r->ntrials;
                t_last = r->elapsed;
                run_steps++;
            }
        }
    }
    if (run_steps >= 2 && t_last > t_first) {
        v->have_rate = 1;
        v->rate_source = "steps";
        v->rate_window = t_last - t_first;
        v->steps_per_second = (double)(run_steps - 1) / v->rate_window;
        v->relaxations_per_second = (double)run_trials / v->rate_window;
    } else if (all_steps >= 2 && all_last > all_first) {
        /* the latest run decided too little (a resume of a finished
         * campaign, say): the campaign's clock runs on across runs */
        v->have_rate = 1;
        v->rate_source = "steps of all runs";
        v->rate_window = all_last - all_first;
        v->steps_per_second = (double)(all_steps - 1) / v->rate_window;
        v->relaxations_per_second = (double)all_trials / v->rate_window;
    }
out:
    free(rows);
    return status;
}

static fuse2_status scan_structures(fuse2_store *st, campaign_view *v)
{
    fuse2_store_structure_row *rows = malloc(STRUCTURE_BLOCK * sizeof *rows);
    if (!rows) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d structure rows", STRUCTURE_BLOCK);
    fuse2_status status = FUSE2_OK;
    for (int64_t first = 0; first < v->n_structures; first += STRUCTURE_BLOCK) {
        int64_t n = v->n_structures - first < STRUCTURE_BLOCK ? v->n_structures - first : STRUCTURE_BLOCK;
        FUSE2_CALL_GOTO(status, fuse2_store_read_structure_rows(st, first, n, rows), out);
        for (int64_t i = 0; i < n; i++) {
            const fuse2_store_structure_row *r = &rows[i];
            int usable = is_usable(r);
            if (r->status == 2) v->failed++;
            if (r->pool_entry >= 0) {
                if (r->walker < 0) v->pool_members++;
                else v->pool_trials++;
            }
            if (r->walker < 0) {
                v->initial_done++;
                if (usable && r->energy_per_atom < v->initial_best) v->initial_best = r->energy_per_atom;
            } else {
                FUSE2_CALL_GOTO(status, grow_walkers(v, r->walker), out);
                walker_stat *w = &v->w[r->walker];
                w->relaxations++;
                w->failed += r->status == 2;
                if (r->move >= 1 && r->move <= NMOVES) {
                    v->moves[r->move].trials++;
                    v->moves[r->move].failed += r->status == 2;
                }
                if (usable && r->energy_per_atom < w->own_min) {
                    w->own_min = r->energy_per_atom;
                    w->own_min_id = r->id;
                }
                if (usable && v->want_plot && r->step >= 0) {
                    FUSE2_CALL_GOTO(status, add_point(v, r->step, r->energy_per_atom, r->walker), out);
                    if (r->step >= v->nbest) v->nbest = r->step + 1;
                }
            }
            /* rows come in id order, so strict < keeps the lowest id on ties */
            if (usable && (!v->have_best || r->energy_per_atom < v->best.energy_per_atom)) {
                v->best = *r;
                v->have_best = 1;
            }
        }
    }
out:
    free(rows);
    return status;
}

/* Best-so-far after each step: the initial population, then the running
 * minimum of every walker's trials up to that step. */
static fuse2_status best_so_far(campaign_view *v)
{
    if (!v->want_plot) return FUSE2_OK;
    if (v->nbest == 0) v->nbest = 1;
    v->best_by_step = malloc((size_t)v->nbest * sizeof *v->best_by_step);
    if (!v->best_by_step) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d steps", v->nbest);
    for (int s = 0; s < v->nbest; s++) v->best_by_step[s] = INFINITY;
    for (int64_t i = 0; i < v->npoints; i++)
        if (v->points[i].y < v->best_by_step[v->points[i].x]) v->best_by_step[v->points[i].x] = v->points[i].y;
    double run = v->initial_best;
    for (int s = 0; s < v->nbest; s++) {
        if (v->best_by_step[s] < run) run = v->best_by_step[s];
        v->best_by_step[s] = isfinite(run) ? run : NAN;
    }
    return FUSE2_OK;
}

static fuse2_status resolve_walkers(fuse2_store *st, campaign_view *v)
{
    for (int k = 0; k < v->nwalkers; k++) {
        walker_stat *w = &v->w[k];
        if (w->have_last) {
            FUSE2_CALL(fuse2_store_read_structure_rows(st, w->last.current_id, 1, &w->current));
            w->have_current = 1;
            FUSE2_CALL(fuse2_store_read_structure_rows(st, w->last.best_id, 1, &w->best));
            w->have_best = is_usable(&w->best);
        }
        /* a walker whose best record failed (e.g. a failed start member) */
        if (!w->have_best && w->own_min_id >= 0) {
            FUSE2_CALL(fuse2_store_read_structure_rows(st, w->own_min_id, 1, &w->best));
            w->have_best = 1;
        }
    }
    return FUSE2_OK;
}

static fuse2_status build_view(const char *path, int committed_only, int want_plot, campaign_view *v,
                               fuse2_store **stp)
{
    v->path = path;
    v->committed_only = committed_only;
    v->want_plot = want_plot;
    v->initial_best = INFINITY;
    FUSE2_CALL(cli_campaign_open(path, stp, &v->counts, NULL, NULL)); /* the runs are read below */
    fuse2_store *st = *stp;
    FUSE2_CALL(fuse2_store_pool_count(st, &v->pool_entries));
    v->nruns = (int)v->counts.n_runs;
    if (v->nruns > 0) {
        v->runs = malloc((size_t)v->nruns * sizeof *v->runs);
        if (!v->runs) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d runs", v->nruns);
        FUSE2_CALL(fuse2_store_read_runs(st, 0, v->nruns, v->runs));
        FUSE2_CALL(grow_walkers(v, v->runs[v->nruns - 1].walkers - 1));
    }
    FUSE2_CALL(read_checkpoints(st, v));
    v->n_structures = v->counts.n_structures;
    v->n_steps = v->counts.n_steps;
    if (committed_only) {
        v->n_structures = v->have_checkpoint ? v->checkpoint.n_structures : 0;
        v->n_steps = v->have_checkpoint ? v->checkpoint.n_steps : 0;
        if (v->n_structures > v->counts.n_structures) v->n_structures = v->counts.n_structures;
        if (v->n_steps > v->counts.n_steps) v->n_steps = v->counts.n_steps;
    }
    FUSE2_CALL(scan_steps(st, v));
    if (!v->have_rate) FUSE2_CALL(checkpoint_rates(st, v));
    FUSE2_CALL(scan_structures(st, v));
    FUSE2_CALL(resolve_walkers(st, v));
    if (v->have_best && v->best.pool_entry >= 0 && v->best.pool_entry < v->pool_entries) {
        fuse2_store_pool_row prow;
        FUSE2_CALL(fuse2_store_read_pool_rows(st, v->best.pool_entry, 1, &prow));
        snprintf(v->best_pool_source, sizeof v->best_pool_source, "%s", prow.source);
    }
    FUSE2_CALL(best_so_far(v));
    return FUSE2_OK;
}

static void free_view(campaign_view *v)
{
    free(v->runs);
    free(v->w);
    free(v->points);
    free(v->best_by_step);
}

static void format_time(double unix_seconds, char *buf, size_t size)
{
    if (!(unix_seconds > 0)) {
        snprintf(buf, size, "-");
        return;
    }
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void format_duration(double s, char *buf, size_t size)
{
    if (!isfinite(s)) snprintf(buf, size, "-");
    else if (s < 120) snprintf(buf, size, "%.0f s", s);
    else if (s < 7200) snprintf(buf, size, "%.1f min", s / 60);
    else if (s < 172800) snprintf(buf, size, "%.1f h", s / 3600);
    else snprintf(buf, size, "%.1f d", s / 86400);
}

static const fuse2_store_run_row *last_run(const campaign_view *v)
{
    return v->nruns > 0 ? &v->runs[v->nruns - 1] : NULL;
}

static int64_t remaining_relaxations(const campaign_view *v)
{
    const fuse2_store_run_row *run = last_run(v);
    if (!run) return 0;
    int64_t rest = (int64_t)run->iterations - v->n_structures;
    return rest > 0 ? rest : 0;
}


static int campaign_finished(const campaign_view *v)
{
    return v->have_checkpoint && v->checkpoint.finished;
}

static double eta_seconds(const campaign_view *v)
{
    if (campaign_finished(v)) return 0;
    if (!v->have_rate || !(v->relaxations_per_second > 0)) return NAN;
    return (double)remaining_relaxations(v) / v->relaxations_per_second;
}

static int config_walkers(const campaign_view *v)
{
    const fuse2_store_run_row *run = last_run(v);
    return run ? run->walkers : v->nwalkers;
}

static double ratio(int64_t a, int64_t b)
{
    return b > 0 ? (double)a / (double)b : NAN;
}

static void json_structure_ref(json_writer *w, const char *key, const fuse2_store_structure_row *r)
{
    json_begin_object(w, key);
    json_number(w, "energy_per_atom", r->energy_per_atom);
    json_int(w, "id", (long)r->id);
    json_int(w, "walker", r->walker);
    json_int(w, "step", r->step);
    json_int(w, "trial", r->trial);
    json_int(w, "move", r->move);
    json_int(w, "spacegroup", r->spacegroup);
    json_end_object(w);
}

static void print_json(const campaign_view *v)
{
    json_writer w = {stdout, 0, {0}};
    const fuse2_store_run_row *run = last_run(v);
    char text[64];
    json_begin_object(&w, NULL);
    json_string(&w, "file", v->path);
    json_string(&w, "composition", run ? run->composition : "");
    /* a uint64 seed as a string: JSON readers lose bits above 2^53 */
    snprintf(text, sizeof text, "%llu", run ? (unsigned long long)(uint64_t)run->seed : 0ULL);
    json_string(&w, "seed", text);
    json_int(&w, "walkers", config_walkers(v));
    json_int(&w, "initial_gen", run ? run->initial_gen : 0);
    json_int(&w, "iterations", run ? run->iterations : 0);
    json_bool(&w, "finished", campaign_finished(v));

    json_begin_array(&w, "runs");
    for (int i = 0; i < v->nruns; i++) {
        const fuse2_store_run_row *r = &v->runs[i];
        json_begin_object(&w, NULL);
        json_int(&w, "index", i);
        json_string(&w, "status", r->status);
        json_string(&w, "version", r->version);
        json_string(&w, "git_hash", r->git_hash);
        json_int(&w, "ranks", r->ranks);
        json_string(&w, "hosts", r->hosts);
        json_bool(&w, "resumed", r->resumed);
        json_number(&w, "start_time", r->start_time);
        if (r->stop_time > 0) json_number(&w, "stop_time", r->stop_time);
        else json_null(&w, "stop_time");
        json_int(&w, "structures_at_start", (long)r->structures_at_start);
        json_end_object(&w);
    }
    json_end_array(&w);

    json_begin_object(&w, "progress");
    json_int(&w, "relaxations", (long)v->n_structures);
    json_int(&w, "iterations", run ? run->iterations : 0);
    json_number(&w, "fraction", run && run->iterations > 0 ? (double)v->n_structures / run->iterations : NAN);
    json_int(&w, "remaining", (long)remaining_relaxations(v));
    json_int(&w, "initial_done", (long)v->initial_done);
    json_int(&w, "initial_total", run ? run->initial_gen : 0);
    json_int(&w, "steps", (long)v->steps_decided);
    json_int(&w, "steps_pending", (long)v->steps_pending);
    json_int(&w, "failed", (long)v->failed);
    json_end_object(&w);

    json_begin_object(&w, "rows");
    json_string(&w, "counted", v->committed_only ? "committed" : "written");
    json_int(&w, "structures_written", (long)v->counts.n_structures);
    json_int(&w, "structures_committed", v->have_checkpoint ? (long)v->checkpoint.n_structures : 0);
    json_int(&w, "steps_written", (long)v->counts.n_steps);
    json_int(&w, "steps_committed", v->have_checkpoint ? (long)v->checkpoint.n_steps : 0);
    json_int(&w, "atoms_written", (long)v->counts.n_atoms);
    json_int(&w, "atoms_committed", v->have_checkpoint ? (long)v->checkpoint.n_atoms : 0);
    json_int(&w, "checkpoints", (long)v->counts.n_checkpoints);
    if (v->have_checkpoint) json_number(&w, "last_checkpoint_time", v->checkpoint.unix_time);
    else json_null(&w, "last_checkpoint_time");
    json_end_object(&w);

    if (v->have_best) json_structure_ref(&w, "best", &v->best);
    else json_null(&w, "best");

    json_begin_object(&w, "pool");
    json_int(&w, "entries", (long)v->pool_entries);
    json_int(&w, "initial_members", (long)v->pool_members);
    json_int(&w, "move14_trials", (long)v->pool_trials);
    json_end_object(&w);

    json_begin_object(&w, "acceptance");
    json_int(&w, "accepted", (long)v->accepted);
    json_int(&w, "steps", (long)v->steps_decided);
    json_number(&w, "rate", ratio(v->accepted, v->steps_decided));
    json_end_object(&w);

    json_begin_array(&w, "per_walker");
    for (int k = 0; k < v->nwalkers; k++) {
        const walker_stat *ws = &v->w[k];
        json_begin_object(&w, NULL);
        json_int(&w, "walker", k);
        json_int(&w, "steps", (long)ws->steps);
        json_int(&w, "relaxations", (long)ws->relaxations);
        json_int(&w, "failed", (long)ws->failed);
        json_int(&w, "accepted", (long)ws->accepted);
        json_number(&w, "acceptance", ratio(ws->accepted, ws->steps));
        if (ws->have_current && is_usable(&ws->current))
            json_number(&w, "current_energy_per_atom", ws->current.energy_per_atom);
        else json_null(&w, "current_energy_per_atom");
        if (ws->have_best) json_structure_ref(&w, "best", &ws->best);
        else json_null(&w, "best");
        if (ws->have_last) {
            json_number(&w, "T", ws->last.T);
            json_int(&w, "r", ws->last.r);
            json_bool(&w, "melted", ws->last.melted);
            json_string(&w, "state", cli_walker_stop_name(ws->last.stopped));
        } else {
            json_null(&w, "T");
            json_null(&w, "r");
            json_bool(&w, "melted", 0);
            json_string(&w, "state", "not started");
        }
        json_end_object(&w);
    }
    json_end_array(&w);

    json_begin_array(&w, "moves");
    for (int m = 1; m <= NMOVES; m++) {
        const move_stat *ms = &v->moves[m];
        json_begin_object(&w, NULL);
        json_int(&w, "move", m);
        json_int(&w, "trials", (long)ms->trials);
        json_int(&w, "failed", (long)ms->failed);
        json_int(&w, "chosen", (long)ms->chosen);
        json_int(&w, "accepted", (long)ms->accepted);
        json_int(&w, "new_minima", (long)ms->new_minima);
        json_end_object(&w);
    }
    json_end_array(&w);

    json_begin_object(&w, "rate");
    if (v->have_rate) {
        json_string(&w, "source", v->rate_source);
        json_number(&w, "window_seconds", v->rate_window);
        json_number(&w, "steps_per_second", v->steps_per_second);
        json_number(&w, "relaxations_per_second", v->relaxations_per_second);
    } else {
        json_null(&w, "source");
        json_null(&w, "window_seconds");
        json_null(&w, "steps_per_second");
        json_null(&w, "relaxations_per_second");
    }
    json_number(&w, "eta_seconds", eta_seconds(v));
    json_end_object(&w);
    json_end_object(&w);
}

static void format_energy(char *buf, size_t size, int have, double e)
{
    if (have && isfinite(e)) snprintf(buf, size, "%.6f", e);
    else snprintf(buf, size, "-");
}

static void format_spacegroup(char *buf, size_t size, int sg)
{
    if (sg > 0) snprintf(buf, size, "%d", sg);
    else snprintf(buf, size, "?");
}

static void format_percent(char *buf, size_t size, double fraction)
{
    if (isfinite(fraction)) snprintf(buf, size, "%.1f %%", 100 * fraction);
    else snprintf(buf, size, "-");
}

static void format_rate(char *buf, size_t size, double rate)
{
    if (rate >= 100) snprintf(buf, size, "%.0f", rate);
    else snprintf(buf, size, "%.3g", rate);
}

static void describe_record(char *buf, size_t size, const fuse2_store_structure_row *r)
{
    char sg[16];
    format_spacegroup(sg, sizeof sg, r->spacegroup);
    if (r->walker < 0) snprintf(buf, size, "initial member %d, space group %s (row %lld)", r->step, sg, (long long)r->id);
    else
        snprintf(buf, size, "walker %d step %d trial %d (move %d), space group %s (row %lld)", r->walker, r->step,
                 r->trial, r->move, sg, (long long)r->id);
}

static void print_text(const campaign_view *v)
{
    const fuse2_store_run_row *run = last_run(v);
    char a[64], b[64], c[64], line[256];
    if (run)
        printf("%s: %s, seed %llu, %d walkers, initial population %d, budget %d relaxations\n", v->path,
               run->composition, (unsigned long long)(uint64_t)run->seed, run->walkers, run->initial_gen,
               run->iterations);
    else printf("%s: no run recorded yet\n", v->path);

    printf("runs:\n");
    for (int i = 0; i < v->nruns; i++) {
        const fuse2_store_run_row *r = &v->runs[i];
        format_time(r->start_time, a, sizeof a);
        format_time(r->stop_time, b, sizeof b);
        printf("  #%d %-9s %s -> %s, %d ranks on %s, fuse2 %s (%s)%s\n", i, r->status, a,
               r->stop_time > 0 ? b : "(no stop time)", r->ranks, r->hosts[0] ? r->hosts : "?", r->version,
               r->git_hash, r->resumed ? ", resumed" : "");
    }

    format_percent(a, sizeof a, run && run->iterations > 0 ? (double)v->n_structures / run->iterations : NAN);
    printf("progress: %lld of %d relaxations (%s), initial population %lld/%d, %lld steps decided, %lld failed%s\n",
           (long long)v->n_structures, run ? run->iterations : 0, a, (long long)v->initial_done,
           run ? run->initial_gen : 0, (long long)v->steps_decided, (long long)v->failed,
           campaign_finished(v) ? ", finished" : "");
    printf("rows: structures %lld written, %lld committed; steps %lld written, %lld committed; %lld checkpoints",
           (long long)v->counts.n_structures, v->have_checkpoint ? (long long)v->checkpoint.n_structures : 0LL,
           (long long)v->counts.n_steps, v->have_checkpoint ? (long long)v->checkpoint.n_steps : 0LL,
           (long long)v->counts.n_checkpoints);
    if (v->have_checkpoint) {
        format_time(v->checkpoint.unix_time, a, sizeof a);
        printf(", last %s", a);
    }
    printf("%s\n", v->committed_only ? " (statistics: committed rows only)" : "");
    if (v->steps_pending) printf("      %lld step rows wait for their structure rows (live writer)\n", (long long)v->steps_pending);

    if (v->have_best) {
        describe_record(line, sizeof line, &v->best);
        printf("best: %.6f eV/atom, %s", v->best.energy_per_atom, line);
        if (v->best_pool_source[0]) printf(", from ML-pool entry %d (%s)", v->best.pool_entry, v->best_pool_source);
        printf("\n");
    } else printf("best: none yet\n");
    if (v->pool_entries > 0)
        printf("ML pool: %lld entries; %lld seeded the initial population, %lld taken by move 14\n",
               (long long)v->pool_entries, (long long)v->pool_members, (long long)v->pool_trials);
    format_percent(a, sizeof a, ratio(v->accepted, v->steps_decided));
    printf("acceptance: %lld of %lld steps (%s)\n", (long long)v->accepted, (long long)v->steps_decided, a);

    printf("\nwalkers (energies in eV/atom, T in eV/atom):\n");
    printf("  %6s %7s %8s %14s %14s %6s %11s %7s %6s %9s  %s\n", "walker", "steps", "relaxed", "current", "best",
           "SG", "best at", "T", "r", "accepted", "state");
    for (int k = 0; k < v->nwalkers; k++) {
        const walker_stat *ws = &v->w[k];
        char cur[32], best[32], sg[16], at[32], T[32], r[16], acc[16];
        format_energy(cur, sizeof cur, ws->have_current && is_usable(&ws->current), ws->current.energy_per_atom);
        format_energy(best, sizeof best, ws->have_best, ws->best.energy_per_atom);
        format_spacegroup(sg, sizeof sg, ws->have_best ? ws->best.spacegroup : 0);
        if (!ws->have_best) snprintf(at, sizeof at, "-");
        else if (ws->best.walker < 0) snprintf(at, sizeof at, "member %d", ws->best.step);
        else snprintf(at, sizeof at, "step %d", ws->best.step);
        if (ws->have_last) {
            snprintf(T, sizeof T, "%.4g", ws->last.T);
            snprintf(r, sizeof r, "%d", ws->last.r);
        } else {
            snprintf(T, sizeof T, "-");
            snprintf(r, sizeof r, "-");
        }
        format_percent(acc, sizeof acc, ratio(ws->accepted, ws->steps));
        const char *state = ws->have_last ? cli_walker_stop_name(ws->last.stopped) : "not started";
        if (ws->have_last && ws->last.stopped == 1) state = "converged (rmax)";
        else if (ws->have_last && ws->last.stopped == 2) state = "budget used";
        printf("  %6d %7lld %8lld %14s %14s %6s %11s %7s %6s %9s  %s%s\n", k, (long long)ws->steps,
               (long long)ws->relaxations, cur, best, sg, at, T, r, acc, state,
               ws->have_last && ws->last.melted ? ", melted" : "");
    }

    printf("\nmoves (trials relaxed; chosen: the step's best trial came from it):\n");
    printf("  %4s %9s %8s %8s %9s %10s %9s\n", "move", "trials", "failed", "chosen", "accepted", "new minima",
           "accept %");
    for (int m = 1; m <= NMOVES; m++) {
        const move_stat *ms = &v->moves[m];
        format_percent(a, sizeof a, ratio(ms->accepted, ms->chosen));
        printf("  %4d %9lld %8lld %8lld %9lld %10lld %9s\n", m, (long long)ms->trials, (long long)ms->failed,
               (long long)ms->chosen, (long long)ms->accepted, (long long)ms->new_minima, a);
    }

    printf("\n");
    if (v->have_rate) {
        format_duration(v->rate_window, a, sizeof a);
        format_rate(b, sizeof b, v->steps_per_second);
        format_rate(c, sizeof c, v->relaxations_per_second);
        printf("rate (%s, over %s from the %s): %s steps/s, %s relaxations/s\n",
               strcmp(v->rate_source, "steps of all runs") ? "latest run" : "whole campaign", a, v->rate_source, b, c);
    } else printf("rate: not known yet (needs two decided steps or two checkpoints in the latest run)\n");
    if (campaign_finished(v)) printf("ETA: finished\n");
    else {
        format_duration(eta_seconds(v), b, sizeof b);
        snprintf(c, sizeof c, "%lld", (long long)remaining_relaxations(v));
        printf("ETA: %s for %s remaining relaxations\n", b, c);
    }
}

int cmd_inspect(int argc, char **argv)
{
    const char *file = NULL, *plot = NULL;
    int json = 0, committed = 0, width = 1000, height = 650;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--json")) json = 1;
        else if (!strcmp(o, "--committed")) committed = 1;
        else if (!strcmp(o, "--plot") || !strcmp(o, "--width") || !strcmp(o, "--height")) {
            if (i + 1 >= argc) return cli_usage_error("inspect", "%s needs a value", o);
            const char *value = argv[++i];
            if (!strcmp(o, "--plot")) plot = value;
            else if (!cli_parse_int("inspect", o, value, !strcmp(o, "--width") ? &width : &height)) return 2;
        } else if (o[0] != '-' && !file) file = o;
        else return cli_usage_error("inspect", "unknown option '%s'", o);
    }
    if (!file) return cli_usage_error("inspect", "no campaign file given");
    if (width < 200 || height < 150 || width > 20000 || height > 20000)
        return cli_usage_error("inspect", "plot size %dx%d: expected 200..20000 x 150..20000 pixels", width, height);

    campaign_view v;
    memset(&v, 0, sizeof v);
    fuse2_store *st = NULL;
    int rc = 0;
    if (build_view(file, committed, plot != NULL, &v, &st) != FUSE2_OK) {
        rc = cli_fail("inspect");
        goto out;
    }
    if (plot) {
        char title[160];
        const fuse2_store_run_row *run = last_run(&v);
        snprintf(title, sizeof title, "%s: energy per atom of every trial", run ? run->composition : file);
        energy_plot p = {width, height, title, v.nwalkers, v.npoints, v.points, v.nbest, v.best_by_step};
        if (energy_plot_write_png(&p, plot) != FUSE2_OK) {
            rc = cli_fail("inspect");
            goto out;
        }
    }
    if (json) print_json(&v);
    else {
        print_text(&v);
        if (plot) printf("plot: %s (%lld trials)\n", plot, (long long)v.npoints);
    }
out:
    free_view(&v);
    if (st && fuse2_store_close(st) != FUSE2_OK && rc == 0) rc = cli_fail("inspect");
    return rc;
}
