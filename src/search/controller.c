/* The campaign controller (fuse2/controller.h): the state of every walker
 * and of the initial population, the campaign file, decisions, commits.
 * It never builds or relaxes a structure; tasks go to workers (possibly in
 * this process) and come back in any order.
 *
 * Restart rule: every decided step appends its trial rows and one step row
 * holding the walker's state after the step, so the last step row of each
 * walker in the committed prefix is its state; rows past the last
 * checkpoint are discarded by the store on resume and recomputed. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/clock.h"
#include "fuse2/config.h"
#include "fuse2/controller.h"
#include "fuse2/external_run.h"
#include "fuse2/moves.h"
#include "fuse2/pool.h"
#include "fuse2/store.h"
#include "fuse2/structure_io.h"

#ifndef FUSE2_VERSION
#define FUSE2_VERSION "unknown"
#endif
#ifndef FUSE2_GIT_HASH
#define FUSE2_GIT_HASH "unknown"
#endif

enum { PATH_LEN = 4096, READ_BLOCK = 65536 };

typedef enum { MEMBER_PENDING = 0, MEMBER_RUNNING, MEMBER_DONE } member_state;

typedef struct member {
    member_state state;
    double score;
    int64_t id;                 /* structure row */
} member;

typedef struct walker_slot {
    fuse2_walker w;             /* T, counters, scores, current (relaxed) and best structures */
    fuse2_structure current_start;
    int64_t current_id, best_id;
    int current_move;           /* the move that built current_start (0: a member) */
    int running;                /* its step task is out */
    /* §17.4 dealt ML-pool entries: taken from the deal in order and kept
     * here until a step reports them used. */
    int has_deal;
    fuse2_pool_deal deal;
    int nqueued;
    fuse2_structure queued[FUSE2_TASK_MAX_POOL];
    int queued_index[FUSE2_TASK_MAX_POOL]; /* their pool entries */
    int pool_used;              /* dealt entries its steps have used */
} walker_slot;

struct fuse2_controller {
    const fuse2_config *cfg;
    fuse2_controller_options opt;
    fuse2_store *store;
    char store_path[PATH_LEN];
    char stop_path[PATH_LEN];
    char structures_dir[PATH_LEN]; /* "" unless write_all_structures */
    int32_t run;
    fuse2_store_run_row run_row;
    fuse2_bh_params bh;
    fuse2_pool pool;            /* the campaign's ML pool, as stored in its file */
    fuse2_pool_index pool_view;

    int n_init;
    member *members;
    int members_done, next_member;
    int walkers_started;
    walker_slot *walkers;
    int P, next_walker;
    int running;

    int stop_requested;
    char stop_reason[FUSE2_STORE_NAME_LEN];
    int failed;

    double t_open, elapsed_base; /* elapsed = elapsed_base + (now - t_open) */
    double last_flush, last_checkpoint, last_progress, last_stop_check;
    int64_t progress_step_lines; /* progress_steps > 0: lines printed, = steps_run / progress_steps */
    int64_t relaxations, steps;  /* whole campaign */
    int64_t relaxations_run, steps_run; /* this invocation */
    double best_score;
    int best_walker;
    int converged_walkers;
};

static double elapsed(const fuse2_controller *c) { return c->elapsed_base + (fuse2_monotonic_seconds() - c->t_open); }

static void log_line(const fuse2_controller *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(const fuse2_controller *c, const char *fmt, ...)
{
    if (!c->opt.log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->opt.log(c->opt.log_user, line);
}

/* Copies src into dst[size], cut if longer (store fields are fixed-size). */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* name relative to output_dir unless absolute */
static fuse2_status output_path(const fuse2_config *cfg, const char *name, char *out)
{
    int n = name[0] == '/' ? snprintf(out, PATH_LEN, "%s", name)
                           : snprintf(out, PATH_LEN, "%s/%s", cfg->output_dir, name);
    if (n >= PATH_LEN) return FUSE2_RAISE(FUSE2_ERR_ARG, "path too long: %s/%s", cfg->output_dir, name);
    return FUSE2_OK;
}

/* ---- configuration texts ---- */

static fuse2_status resolved_text(const fuse2_config *cfg, char **out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot write the resolved configuration");
    fuse2_status st = fuse2_config_write_yaml(f, cfg);
    fclose(f);
    if (st != FUSE2_OK) {
        free(text);
        return st;
    }
    *out = text;
    return FUSE2_OK;
}

/* Keys that may differ between invocations of one campaign: the budget,
 * where files live and how often the run reports or commits (none of them
 * changes a result). Comment lines carry the source path. */
static int line_may_differ(const char *line, size_t len)
{
    static const char *const keys[] = {"iterations:", "output_dir:", "campaign_file:", "stop_file:", "restart:",
                                       "checkpoint_interval:", "progress_steps:", NULL};
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    if (len == 0 || line[0] == '#') return 1;
    for (int i = 0; keys[i]; i++)
        if (len >= strlen(keys[i]) && strncmp(line, keys[i], strlen(keys[i])) == 0) return 1;
    return 0;
}

static const char *next_significant_line(const char *p, size_t *len)
{
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (!line_may_differ(p, n)) {
            *len = n;
            return p;
        }
        p += n + (end ? 1 : 0);
    }
    *len = 0;
    return NULL;
}

static fuse2_status compare_resolved(const char *stored, const char *now, const char *path)
{
    const char *a = stored, *b = now;
    for (;;) {
        size_t la, lb;
        a = next_significant_line(a, &la);
        b = next_significant_line(b, &lb);
        if (!a && !b) return FUSE2_OK;
        if (!a || !b || la != lb || strncmp(a, b, la) != 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: the campaign in this file was run with another configuration "
                               "(only iterations and output paths may change); file has '%.*s', "
                               "configuration has '%.*s'; use another campaign_file for a new campaign",
                               path, a ? (int)la : 5, a ? a : "(end)", b ? (int)lb : 5, b ? b : "(end)");
        a += la;
        b += lb;
    }
}

/* ---- rows ---- */

/* §13 write_all_structures: every relaxation also as <output_dir>/structures/
 * I-<member>.cif (initial population) or S-w<walker>-s<step>-t<trial>.cif,
 * failed ones too (their last geometry); the data_ name carries the status.
 * A rerun after a restart rewrites the same files with the same content. */
static fuse2_status write_relaxed_structure(const fuse2_controller *c, const fuse2_record *r)
{
    if (!c->structures_dir[0]) return FUSE2_OK;
    char name[128], path[PATH_LEN], title[160];
    if (r->origin == FUSE2_ORIGIN_TRIAL)
        snprintf(name, sizeof name, "S-w%d-s%d-t%d", r->walker, r->step, r->trial);
    else
        snprintf(name, sizeof name, "I-%d", r->step);
    if (snprintf(path, sizeof path, "%s/%s.cif", c->structures_dir, name) >= (int)sizeof path)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "path too long: %s/%s.cif", c->structures_dir, name);
    snprintf(title, sizeof title, "%s_%s", name, fuse2_record_status_name(r->status));
    return fuse2_cif_write(path, &r->structure, title, 0, 0.0);
}

static fuse2_status append_record(fuse2_controller *c, const fuse2_record *r, int spacegroup, int rank,
                                  int pool_entry, int64_t *id)
{
    fuse2_store_structure_row row;
    memset(&row, 0, sizeof row);
    row.pool_entry = pool_entry;
    row.origin = (int32_t)r->origin;
    row.walker = r->walker;
    row.step = r->step;
    row.trial = r->trial;
    row.move = r->move;
    row.status = (int32_t)r->status;
    row.relax_steps = r->relax_steps;
    row.rank = rank;
    row.spacegroup = spacegroup;
    row.energy = r->energy;
    row.energy_per_atom = r->energy_per_atom;
    row.score = r->score;
    row.wall_seconds = r->wall_seconds;
    copy_text(row.reason, sizeof row.reason, r->reason);
    copy_text(row.calculator, sizeof row.calculator, c->cfg->calc_name);
    FUSE2_CALL(fuse2_store_append_structure(c->store, &row, &r->structure, &r->start));
    *id = row.id;
    for (int k = 0; k < r->nstages; k++) {
        const fuse2_stage_result *sr = &r->stages[k];
        fuse2_store_stage_row stage;
        memset(&stage, 0, sizeof stage);
        stage.structure = row.id;
        stage.stage = k;
        stage.status = (int32_t)sr->status;
        stage.steps = sr->steps;
        stage.energy = sr->energy;
        stage.wall_seconds = sr->wall_seconds;
        copy_text(stage.calculator, sizeof stage.calculator, sr->calculator);
        copy_text(stage.reason, sizeof stage.reason, sr->reason);
        FUSE2_CALL(fuse2_store_append_stage(c->store, &stage));
    }
    FUSE2_CALL(write_relaxed_structure(c, r));
    c->relaxations++;
    c->relaxations_run++;
    return FUSE2_OK;
}

static void note_score(fuse2_controller *c, double score, int walker)
{
    if (score < c->best_score) {
        c->best_score = score;
        c->best_walker = walker;
    }
}

/* ---- walkers ---- */

static int walker_budget(const fuse2_controller *c, int w)
{
    return fuse2_walker_budget(c->cfg->iterations - c->n_init, c->P, w);
}

static fuse2_status load_structures(fuse2_controller *c, int64_t id, fuse2_structure *relaxed,
                                    fuse2_structure *start, double *score, int *move)
{
    fuse2_store_structure_row row;
    FUSE2_CALL(fuse2_store_read_structure_rows(c->store, id, 1, &row));
    if (move) *move = row.move;
    if (relaxed) FUSE2_CALL(fuse2_store_read_structure(c->store, &row, 0, relaxed));
    if (start) FUSE2_CALL(fuse2_store_read_structure(c->store, &row, 1, start));
    if (score) *score = row.score;
    return FUSE2_OK;
}

static fuse2_status init_walker_slot(fuse2_controller *c, int i)
{
    walker_slot *s = &c->walkers[i];
    FUSE2_CALL(fuse2_walker_init(&s->w, i, &c->bh, walker_budget(c, i)));
    FUSE2_CALL(fuse2_structure_init(&s->current_start, 0));
    for (int k = 0; k < FUSE2_TASK_MAX_POOL; k++) FUSE2_CALL(fuse2_structure_init(&s->queued[k], 0));
    return FUSE2_OK;
}

/* The next entry dealt to walker s that nobody has used (-1: none). */
static fuse2_status deal_next(walker_slot *s, fuse2_structure *out, int *index)
{
    *index = -1;
    if (s->has_deal) FUSE2_CALL(fuse2_pool_deal_next(&s->deal, out, index));
    return FUSE2_OK;
}

/* §11.3, §17.4: member m of the initial population is pool entry m; the
 * entries past the initial population are dealt to the walkers. Called
 * once the pool is known (new campaign: before anything runs; resumed: as
 * stored), before the walkers are restored. */
static fuse2_status setup_pool(fuse2_controller *c)
{
    fuse2_pool_index_view(&c->pool, &c->pool_view);
    for (int e = 0; e < c->pool.n && e < c->n_init; e++) c->pool.used[e] = 1;
    if (c->pool.n <= c->n_init) return FUSE2_OK;
    for (int i = 0; i < c->P; i++) {
        walker_slot *s = &c->walkers[i];
        FUSE2_CALL(fuse2_pool_deal_init(&s->deal, &c->pool_view, i, c->P, c->cfg->seed));
        s->has_deal = 1;
    }
    return FUSE2_OK;
}

/* §17.4: walker w starts from the member of energy rank (w mod n). */
static fuse2_status start_walkers(fuse2_controller *c)
{
    double *scores = malloc((size_t)c->n_init * sizeof *scores);
    int *start = malloc((size_t)c->P * sizeof *start);
    fuse2_status st = FUSE2_OK;
    if (!scores || !start) FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "out of memory starting the walkers");
    /* the members' structures are read back from the file */
    FUSE2_CALL_GOTO(st, fuse2_store_flush(c->store), out);
    for (int m = 0; m < c->n_init; m++) scores[m] = c->members[m].score;
    FUSE2_CALL_GOTO(st, fuse2_walker_start_members(scores, c->n_init, c->P, start), out);
    for (int i = 0; i < c->P; i++) {
        walker_slot *s = &c->walkers[i];
        const member *m = &c->members[start[i]];
        double score;
        FUSE2_CALL_GOTO(st, load_structures(c, m->id, &s->w.current, &s->current_start, &score, NULL), out);
        s->current_move = 0;
        FUSE2_CALL_GOTO(st, fuse2_structure_copy(&s->w.best, &s->w.current), out);
        s->w.current_score = s->w.best_score = m->score;
        s->current_id = s->best_id = m->id;
    }
    c->walkers_started = 1;
    log_line(c, "initial population relaxed: best %.5f eV/atom (member %d); %d walkers start", c->members[start[0]].score,
             start[0], c->P);
out:
    free(scores);
    free(start);
    return st;
}

/* Restores walker i from its last step row. */
static fuse2_status restore_walker(fuse2_controller *c, const fuse2_store_step_row *row)
{
    walker_slot *s = &c->walkers[row->walker];
    fuse2_walker *w = &s->w;
    FUSE2_CALL(load_structures(c, row->current_id, &w->current, &s->current_start, NULL, &s->current_move));
    FUSE2_CALL(load_structures(c, row->best_id, &w->best, NULL, NULL, NULL));
    s->current_id = row->current_id;
    s->best_id = row->best_id;
    w->current_score = row->current_score;
    w->best_score = row->best_score;
    w->T = row->T;
    w->T0 = row->T0;
    w->r = row->r;
    w->ca = row->ca;
    w->step = row->step + 1;
    w->relaxations = row->relaxations;
    w->melted = row->melted;
    w->stopped = (fuse2_walker_stop)row->stopped;
    /* `iterations` may have changed: the budget is the configuration's. */
    if (w->stopped == FUSE2_WALKER_BUDGET && w->relaxations < w->budget) w->stopped = FUSE2_WALKER_RUNNING;
    if (w->stopped == FUSE2_WALKER_RUNNING && w->relaxations >= w->budget) w->stopped = FUSE2_WALKER_BUDGET;
    /* the dealt pool entries its steps used are gone; the rest are dealt again */
    fuse2_structure skipped = {0};
    fuse2_status st = FUSE2_OK;
    for (s->pool_used = 0; s->pool_used < row->pool_used; s->pool_used++) {
        int index;
        FUSE2_CALL_GOTO(st, deal_next(s, &skipped, &index), out);
        if (index < 0)
            FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_ARG, "%s: walker %d used %d ML-pool entries, %d were dealt to it",
                             c->store_path, row->walker, row->pool_used, s->pool_used);
    }
out:
    fuse2_structure_free(&skipped);
    return st;
}

/* Reads the committed rows back into the controller's state. */
static fuse2_status resume(fuse2_controller *c, const fuse2_store_counts *n)
{
    const int64_t block = READ_BLOCK;
    fuse2_store_structure_row *rows = malloc((size_t)block * sizeof *rows);
    fuse2_store_step_row *steps = malloc((size_t)block * sizeof *steps);
    fuse2_store_step_row *last = calloc((size_t)c->P, sizeof *last);
    fuse2_status st = FUSE2_OK;
    if (!rows || !steps || !last) FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "out of memory resuming");
    for (int i = 0; i < c->P; i++) last[i].walker = -1;
    for (int64_t first = 0; first < n->n_structures; first += block) {
        int64_t m = n->n_structures - first < block ? n->n_structures - first : block;
        FUSE2_CALL_GOTO(st, fuse2_store_read_structure_rows(c->store, first, m, rows), out);
        for (int64_t k = 0; k < m; k++) {
            const fuse2_store_structure_row *r = &rows[k];
            if (r->score < c->best_score) note_score(c, r->score, r->walker);
            if (r->origin == FUSE2_ORIGIN_TRIAL) continue;
            if (r->step < 0 || r->step >= c->n_init)
                FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_ARG,
                                 "%s: initial-population member %d is beyond this configuration's %d "
                                 "(iterations cannot shrink below the initial population)",
                                 c->store_path, r->step, c->n_init);
            member *mb = &c->members[r->step];
            if (mb->state != MEMBER_DONE) c->members_done++;
            mb->state = MEMBER_DONE;
            mb->score = r->score;
            mb->id = r->id;
        }
    }
    c->relaxations = n->n_structures;
    for (int64_t first = 0; first < n->n_steps; first += block) {
        int64_t m = n->n_steps - first < block ? n->n_steps - first : block;
        FUSE2_CALL_GOTO(st, fuse2_store_read_step_rows(c->store, first, m, steps), out);
        for (int64_t k = 0; k < m; k++) {
            int w = steps[k].walker;
            if (w < 0 || w >= c->P)
                FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_ARG, "%s: step row %lld names walker %d of %d", c->store_path,
                                 (long long)(first + k), w, c->P);
            last[w] = steps[k];
        }
    }
    c->steps = n->n_steps;
    if (c->members_done == c->n_init) {
        FUSE2_CALL_GOTO(st, start_walkers(c), out);
        for (int i = 0; i < c->P; i++)
            if (last[i].walker == i) FUSE2_CALL_GOTO(st, restore_walker(c, &last[i]), out);
    } else if (n->n_steps > 0) {
        FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_ARG, "%s: walker steps recorded before the initial population was complete",
                         c->store_path);
    }
    for (int i = 0; c->walkers_started && i < c->P; i++)
        if (c->walkers[i].w.stopped == FUSE2_WALKER_CONVERGED) c->converged_walkers++;
out:
    free(rows);
    free(steps);
    free(last);
    return st;
}

static void check_stop_file(fuse2_controller *c, double now);

/* ---- opening ---- */

static fuse2_status fill_run_row(fuse2_controller *c, int resumed)
{
    fuse2_store_run_row *r = &c->run_row;
    memset(r, 0, sizeof *r);
    copy_text(r->version, sizeof r->version, FUSE2_VERSION);
    copy_text(r->git_hash, sizeof r->git_hash, FUSE2_GIT_HASH);
    copy_text(r->status, sizeof r->status, "running");
    copy_text(r->hosts, sizeof r->hosts, c->opt.hosts);
    if (!r->hosts[0]) {
        char host[256];
        if (gethostname(host, sizeof host) == 0) {
            host[sizeof host - 1] = '\0';
            copy_text(r->hosts, sizeof r->hosts, host);
        }
    }
    fuse2_composition_format(&c->cfg->composition, r->composition, (int)sizeof r->composition);
    r->seed = (int64_t)c->cfg->seed;
    r->walkers = c->P;
    r->initial_gen = c->cfg->initial_gen;
    r->iterations = c->cfg->iterations;
    r->ranks = c->opt.ranks > 0 ? c->opt.ranks : 1;
    r->resumed = resumed;
    r->start_time = fuse2_unix_seconds();
    r->structures_at_start = c->relaxations;
    return FUSE2_OK;
}

/* The pool of a resumed campaign: the one its file holds. */
static fuse2_status read_stored_pool(fuse2_controller *c)
{
    int64_t n;
    FUSE2_CALL(fuse2_store_pool_count(c->store, &n));
    if (n == 0) return FUSE2_OK;
    fuse2_store_pool_row *rows = malloc((size_t)n * sizeof *rows);
    if (!rows) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: a pool of %lld entries", c->store_path, (long long)n);
    fuse2_structure s = {0};
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL_GOTO(st, fuse2_store_read_pool_rows(c->store, 0, n, rows), out); /* one read for all rows */
    for (int64_t i = 0; i < n; i++) {
        FUSE2_CALL_GOTO(st, fuse2_store_read_pool_structure(c->store, &rows[i], &s), out);
        FUSE2_CALL_GOTO(st, fuse2_pool_add(&c->pool, &s, rows[i].source, rows[i].rank_energy), out);
    }
out:
    free(rows);
    fuse2_structure_free(&s);
    return st;
}

/* The pool of a new campaign: the caller's, or the configuration's. */
static fuse2_status make_pool(fuse2_controller *c)
{
    const fuse2_pool *given = c->opt.pool;
    if (given) {
        for (int i = 0; i < given->n; i++)
            FUSE2_CALL(fuse2_pool_add(&c->pool, &given->structures[i], given->source[i], given->rank_energy[i]));
    } else if (c->cfg->read_existing_structures) {
        FUSE2_CALL(fuse2_pool_load_directory(c->cfg, c->opt.log, c->opt.log_user, &c->pool));
    }
    return FUSE2_OK;
}

static fuse2_status open_store(fuse2_controller *c)
{
    const fuse2_config *cfg = c->cfg;
    FUSE2_CALL(fuse2_make_directories(cfg->output_dir));
    FUSE2_CALL(output_path(cfg, cfg->campaign_file && cfg->campaign_file[0] ? cfg->campaign_file : "campaign.h5",
                           c->store_path));
    FUSE2_CALL(output_path(cfg, cfg->stop_file && cfg->stop_file[0] ? cfg->stop_file : "stop.txt", c->stop_path));
    if (cfg->write_all_structures) {
        FUSE2_CALL(output_path(cfg, "structures", c->structures_dir));
        FUSE2_CALL(fuse2_make_directories(c->structures_dir));
    }
    char *resolved = NULL, *given = NULL;
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL(resolved_text(cfg, &resolved));
    int resumed = access(c->store_path, F_OK) == 0;
    if (resumed) {
        fuse2_store_counts n;
        FUSE2_CALL_GOTO(st, fuse2_store_open_resume(c->store_path, &c->store, &n), out);
        char *stored = NULL;
        FUSE2_CALL_GOTO(st, fuse2_store_read_config(c->store, 1, &stored), out);
        st = compare_resolved(stored, resolved, c->store_path);
        free(stored);
        if (st != FUSE2_OK) goto out;
        fuse2_store_checkpoint_row cp;
        memset(&cp, 0, sizeof cp);
        if (n.n_checkpoints > 0) {
            FUSE2_CALL_GOTO(st, fuse2_store_read_checkpoints(c->store, n.n_checkpoints - 1, 1, &cp), out);
            c->elapsed_base = cp.elapsed;
        }
        if (n.n_runs > 0) {
            /* an invocation still "running" was killed: say so, ending at its last commit */
            fuse2_store_run_row last;
            FUSE2_CALL_GOTO(st, fuse2_store_read_runs(c->store, n.n_runs - 1, 1, &last), out);
            if (strcmp(last.status, "running") == 0) {
                copy_text(last.status, sizeof last.status, "killed");
                last.stop_time = cp.unix_time;
                FUSE2_CALL_GOTO(st, fuse2_store_update_run(c->store, (int32_t)(n.n_runs - 1), &last), out);
            }
        }
        FUSE2_CALL_GOTO(st, read_stored_pool(c), out);
        FUSE2_CALL_GOTO(st, setup_pool(c), out);
        FUSE2_CALL_GOTO(st, resume(c, &n), out);
        log_line(c, "campaign file %s: resuming at %lld relaxations, %lld steps (%d of %d initial members done)",
                 c->store_path, (long long)n.n_structures, (long long)n.n_steps, c->members_done, c->n_init);
    } else {
        if (cfg->restart)
            FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_IO, "%s: restart is set but the campaign file does not exist",
                             c->store_path);
        if (cfg->source) FUSE2_CALL_GOTO(st, fuse2_text_file_read(cfg->source, &given), out);
        FUSE2_CALL_GOTO(st, make_pool(c), out);
        FUSE2_CALL_GOTO(st, fuse2_store_create_with_pool(c->store_path, given ? given : "", resolved, c->pool.n,
                                                         c->pool.structures,
                                                         (const char(*)[FUSE2_STORE_SOURCE_LEN])c->pool.source,
                                                         c->pool.rank_energy, &c->store), out);
        FUSE2_CALL_GOTO(st, setup_pool(c), out);
        log_line(c, "campaign file %s: new campaign", c->store_path);
    }
    FUSE2_CALL_GOTO(st, fill_run_row(c, resumed), out);
    FUSE2_CALL_GOTO(st, fuse2_store_begin_run(c->store, &c->run_row, &c->run), out);
out:
    free(resolved);
    free(given);
    return st;
}

fuse2_status fuse2_controller_open(const fuse2_config *cfg, const fuse2_controller_options *opt,
                                   fuse2_controller **out)
{
    if (!cfg || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "controller: missing argument");
    *out = NULL;
    if (cfg->walkers < 1) return FUSE2_RAISE(FUSE2_ERR_ARG, "walkers must be >= 1 (got %d)", cfg->walkers);
    if (cfg->search_gen_bh < 1 || cfg->search_gen_bh > FUSE2_MAX_TRIALS_PER_STEP)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "search_gen_bh must be 1..%d (got %d)", FUSE2_MAX_TRIALS_PER_STEP,
                           cfg->search_gen_bh);
    if (!cfg->output_dir || !cfg->output_dir[0]) return FUSE2_RAISE(FUSE2_ERR_ARG, "no output_dir");
    fuse2_controller *c = calloc(1, sizeof *c);
    if (!c) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory for the controller");
    c->cfg = cfg;
    if (opt) c->opt = *opt;
    if (!(c->opt.checkpoint_seconds > 0)) c->opt.checkpoint_seconds = cfg->checkpoint_interval > 0 ? cfg->checkpoint_interval : 30;
    if (!(c->opt.flush_seconds > 0)) c->opt.flush_seconds = 1;
    if (!(c->opt.progress_seconds > 0)) c->opt.progress_seconds = 10;
    c->bh.T0 = cfg->T;
    c->bh.e_prec = cfg->e_prec;
    c->bh.melt_threshold = cfg->melt_threshold;
    c->bh.rmax = cfg->rmax;
    c->n_init = cfg->initial_gen < cfg->iterations ? cfg->initial_gen : cfg->iterations;
    c->P = cfg->walkers;
    c->best_score = INFINITY;
    c->best_walker = -1;
    c->t_open = c->last_flush = c->last_checkpoint = c->last_progress = c->last_stop_check = fuse2_monotonic_seconds();
    fuse2_status st = FUSE2_OK;
    c->members = calloc(c->n_init > 0 ? (size_t)c->n_init : 1, sizeof *c->members);
    c->walkers = calloc((size_t)c->P, sizeof *c->walkers);
    if (!c->members || !c->walkers) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NOMEM, "out of memory for the campaign");
    for (int i = 0; i < c->P; i++) FUSE2_CALL_GOTO(st, init_walker_slot(c, i), fail);
    if (c->n_init < 1) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "the campaign has no initial population (iterations %d, initial_gen %d)",
                                        cfg->iterations, cfg->initial_gen);
    FUSE2_CALL_GOTO(st, open_store(c), fail);
    check_stop_file(c, fuse2_monotonic_seconds());
    log_line(c, "campaign %s: %d walkers, budget %d relaxations, initial population %d, %d ranks",
             cfg->source ? cfg->source : "", c->P, cfg->iterations, c->n_init, c->run_row.ranks);
    *out = c;
    return FUSE2_OK;
fail:
    c->failed = 1;
    fuse2_controller_close(c, NULL);
    return st;
}

/* ---- tasks ---- */

/* Refills walker s's queue of dealt pool entries (§17.4). */
static fuse2_status refill_pool_queue(walker_slot *s)
{
    if (!s->has_deal) return FUSE2_OK;
    while (s->nqueued < FUSE2_TASK_MAX_POOL) {
        int index;
        FUSE2_CALL(deal_next(s, &s->queued[s->nqueued], &index));
        if (index < 0) break;
        s->queued_index[s->nqueued++] = index;
    }
    return FUSE2_OK;
}

static fuse2_status member_task(fuse2_controller *c, int m, fuse2_task *t)
{
    t->kind = FUSE2_TASK_MEMBER;
    t->walker = -1;
    t->step = m;
    t->ntrials = 1;
    if (m < c->pool.n) { /* §11.3: pool entries in order, then the generator */
        FUSE2_CALL(fuse2_structure_copy(&t->pool[0], &c->pool.structures[m]));
        t->npool = 1;
    }
    return FUSE2_OK;
}

static fuse2_status step_task(fuse2_controller *c, walker_slot *s, fuse2_task *t)
{
    const fuse2_walker *w = &s->w;
    t->kind = FUSE2_TASK_STEP;
    t->walker = w->id;
    t->step = w->step;
    int n = c->cfg->search_gen_bh;
    if (n > w->budget - w->relaxations) n = w->budget - w->relaxations;
    t->ntrials = n;
    t->melted = w->melted;
    FUSE2_CALL(fuse2_structure_copy(&t->current, &w->current));
    FUSE2_CALL(fuse2_structure_copy(&t->current_start, &s->current_start));
    t->current_move = s->current_move;
    FUSE2_CALL(refill_pool_queue(s));
    for (int k = 0; k < s->nqueued; k++) FUSE2_CALL(fuse2_structure_copy(&t->pool[k], &s->queued[k]));
    t->npool = s->nqueued;
    return FUSE2_OK;
}

int fuse2_controller_done(const fuse2_controller *c)
{
    if (!c || c->stop_requested || c->failed) return 1;
    if (!c->walkers_started) return 0;
    for (int i = 0; i < c->P; i++)
        if (c->walkers[i].w.stopped == FUSE2_WALKER_RUNNING) return 0;
    return 1;
}

int fuse2_controller_running(const fuse2_controller *c) { return c ? c->running : 0; }

fuse2_status fuse2_controller_next_task(fuse2_controller *c, fuse2_task *task, int *have)
{
    if (!c || !task || !have) return FUSE2_RAISE(FUSE2_ERR_ARG, "controller: missing argument");
    *have = 0;
    if (c->stop_requested || c->failed) return FUSE2_OK;
    if (!c->walkers_started && c->members_done == c->n_init) FUSE2_CALL(start_walkers(c));
    if (fuse2_controller_done(c)) return FUSE2_OK;
    fuse2_task_free(task);
    if (!c->walkers_started) {
        for (; c->next_member < c->n_init; c->next_member++) {
            if (c->members[c->next_member].state != MEMBER_PENDING) continue;
            int m = c->next_member++;
            FUSE2_CALL(member_task(c, m, task));
            c->members[m].state = MEMBER_RUNNING;
            c->running++;
            *have = 1;
            return FUSE2_OK;
        }
        return FUSE2_OK;
    }
    for (int k = 0; k < c->P; k++) {
        int i = (c->next_walker + k) % c->P;
        walker_slot *s = &c->walkers[i];
        if (s->running || s->w.stopped != FUSE2_WALKER_RUNNING) continue;
        FUSE2_CALL(step_task(c, s, task));
        s->running = 1;
        c->running++;
        c->next_walker = (i + 1) % c->P;
        *have = 1;
        return FUSE2_OK;
    }
    return FUSE2_OK;
}

/* ---- results ---- */

static fuse2_status complete_member(fuse2_controller *c, const fuse2_task_result *res)
{
    int m = res->step;
    if (m < 0 || m >= c->n_init || c->members[m].state != MEMBER_RUNNING || res->ntrials != 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "result for initial member %d that is not running", m);
    const fuse2_record *r = &res->trials[0];
    member *mb = &c->members[m];
    int entry = r->origin == FUSE2_ORIGIN_POOL && m < c->pool.n ? m : -1;
    FUSE2_CALL(append_record(c, r, res->spacegroup[0], res->rank, entry, &mb->id));
    mb->state = MEMBER_DONE;
    mb->score = r->score;
    c->members_done++;
    note_score(c, r->score, -1);
    return FUSE2_OK;
}

static fuse2_status complete_step(fuse2_controller *c, const fuse2_task_result *res)
{
    int i = res->walker;
    if (i < 0 || i >= c->P || !c->walkers[i].running || c->walkers[i].w.step != res->step || res->ntrials < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "result for walker %d step %d that is not running", i, res->step);
    walker_slot *s = &c->walkers[i];
    fuse2_walker *w = &s->w;
    double scores[FUSE2_MAX_TRIALS_PER_STEP];
    int64_t ids[FUSE2_MAX_TRIALS_PER_STEP];
    for (int k = 0; k < res->ntrials; k++) scores[k] = res->trials[k].score;
    fuse2_store_step_row row;
    memset(&row, 0, sizeof row);
    row.score_before = w->current_score;
    fuse2_decision d;
    FUSE2_CALL(fuse2_walker_accept(w, &c->bh, c->cfg->seed, scores, res->ntrials, &d));
    for (int k = 0; k < res->ntrials; k++) {
        int slot = res->trials[k].pool_slot;
        int entry = slot >= 0 && slot < s->nqueued ? s->queued_index[slot] : -1;
        FUSE2_CALL(append_record(c, &res->trials[k], res->spacegroup[k], res->rank, entry, &ids[k]));
        note_score(c, scores[k], i);
    }
    const fuse2_record *best = &res->trials[d.best_trial];
    if (d.accepted) {
        FUSE2_CALL(fuse2_structure_copy(&w->current, &best->structure));
        FUSE2_CALL(fuse2_structure_copy(&s->current_start, &best->start));
        s->current_move = best->move;
        s->current_id = ids[d.best_trial];
    }
    if (d.new_global_minimum) {
        FUSE2_CALL(fuse2_structure_copy(&w->best, &best->structure));
        s->best_id = ids[d.best_trial];
    }
    /* dealt pool entries consumed by the step leave the queue */
    int used = res->pool_used < s->nqueued ? res->pool_used : s->nqueued;
    if (used > 0) { /* the rest move to the front in order, the used ones to the back */
        for (int k = 0; k + used < s->nqueued; k++) {
            fuse2_structure tmp = s->queued[k];
            s->queued[k] = s->queued[k + used];
            s->queued[k + used] = tmp;
            s->queued_index[k] = s->queued_index[k + used];
        }
        s->nqueued -= used;
        s->pool_used += used;
    }
    row.first_structure = ids[0];
    row.current_id = s->current_id;
    row.best_id = s->best_id;
    row.walker = i;
    row.step = res->step;
    row.ntrials = res->ntrials;
    row.best_trial = d.best_trial;
    row.move = best->move;
    row.accepted = d.accepted;
    row.downhill = d.downhill;
    row.new_minimum = d.new_global_minimum;
    row.melted = w->melted;
    row.stopped = (int32_t)w->stopped;
    row.r = w->r;
    row.ca = w->ca;
    row.relaxations = w->relaxations;
    row.pool_used = s->pool_used;
    row.score_trial = best->score;
    row.current_score = w->current_score;
    row.best_score = w->best_score;
    row.T = w->T;
    row.T0 = w->T0;
    row.elapsed = elapsed(c);
    FUSE2_CALL(fuse2_store_append_step(c->store, &row));
    c->steps++;
    c->steps_run++;
    s->running = 0;
    if (d.new_global_minimum)
        log_line(c, "walker %d step %d: new minimum %.5f eV/atom (move %d)", i, res->step, best->score, best->move);
    if (d.converged) {
        c->converged_walkers++;
        log_line(c, "walker %d converged: %d trials without a new minimum (rmax %d)", i, w->r, c->cfg->rmax);
    }
    return FUSE2_OK;
}

fuse2_status fuse2_controller_complete(fuse2_controller *c, const fuse2_task_result *res)
{
    if (!c || !res) return FUSE2_RAISE(FUSE2_ERR_ARG, "controller: missing argument");
    fuse2_status st;
    if (res->kind == FUSE2_TASK_MEMBER)
        st = complete_member(c, res);
    else if (res->kind == FUSE2_TASK_STEP)
        st = complete_step(c, res);
    else
        return FUSE2_RAISE(FUSE2_ERR_ARG, "result of unknown kind %d", (int)res->kind);
    if (st != FUSE2_OK) {
        c->failed = 1; /* a half-recorded step must never be committed */
        return st;
    }
    c->running--;
    return FUSE2_OK;
}

/* ---- housekeeping ---- */

static fuse2_status checkpoint(fuse2_controller *c, int finished)
{
    fuse2_store_checkpoint_row cp;
    memset(&cp, 0, sizeof cp);
    cp.run = c->run;
    cp.finished = finished;
    cp.unix_time = fuse2_unix_seconds();
    cp.elapsed = elapsed(c);
    FUSE2_CALL(fuse2_store_checkpoint(c->store, &cp));
    c->last_checkpoint = c->last_flush = fuse2_monotonic_seconds();
    return FUSE2_OK;
}

static void progress_line(fuse2_controller *c)
{
    double dt = fuse2_monotonic_seconds() - c->t_open;
    log_line(c,
             "progress: %lld/%d relaxations, %lld steps, %.2f steps/s, %.2f relaxations/s, best %.5f eV/atom, "
             "%d tasks running",
             (long long)c->relaxations, c->cfg->iterations, (long long)c->steps, dt > 0 ? c->steps_run / dt : 0.0,
             dt > 0 ? c->relaxations_run / dt : 0.0, c->best_score, c->running);
}

/* §17.6: the stop file ends the run; it is removed so the next run continues. */
static void check_stop_file(fuse2_controller *c, double now)
{
    c->last_stop_check = now;
    if (c->stop_requested || access(c->stop_path, F_OK) != 0) return;
    remove(c->stop_path);
    log_line(c, "stop file %s found: stopping", c->stop_path);
    fuse2_controller_request_stop(c, "stop_file");
}

fuse2_status fuse2_controller_poll(fuse2_controller *c)
{
    if (!c) return FUSE2_RAISE(FUSE2_ERR_ARG, "controller missing");
    if (c->failed) return FUSE2_RAISE(FUSE2_ERR_ARG, "the controller stopped after an error");
    double now = fuse2_monotonic_seconds();
    if (now - c->last_stop_check >= 0.5) check_stop_file(c, now);
    fuse2_status st = FUSE2_OK;
    if (now - c->last_checkpoint >= c->opt.checkpoint_seconds) {
        st = checkpoint(c, 0);
    } else if (now - c->last_flush >= c->opt.flush_seconds) {
        st = fuse2_store_flush(c->store);
        c->last_flush = now;
    }
    if (st != FUSE2_OK) {
        /* disk full, permission...: stop; the file keeps its last commit */
        c->failed = 1;
        return st;
    }
    if (c->cfg->progress_steps > 0) {
        /* one line per progress_steps decided steps of this invocation (not
         * per poll: with many ranks several steps can be decided between polls) */
        int64_t due = c->steps_run / c->cfg->progress_steps;
        if (due > c->progress_step_lines) {
            c->progress_step_lines = due;
            progress_line(c);
        }
    } else if (now - c->last_progress >= c->opt.progress_seconds) {
        c->last_progress = now;
        progress_line(c);
    }
    return FUSE2_OK;
}

void fuse2_controller_request_stop(fuse2_controller *c, const char *reason)
{
    if (!c || c->stop_requested) return;
    c->stop_requested = 1;
    copy_text(c->stop_reason, sizeof c->stop_reason, reason && reason[0] ? reason : "signal");
    log_line(c, "stopping (%s): no new tasks; %d running tasks are dropped and rerun on restart", c->stop_reason,
             c->running);
}

/* ---- outputs at the end ---- */

typedef struct csv_item {
    int64_t id;
    int origin_rank;            /* 0 members, 1 trials */
    int key1, key2, key3;
} csv_item;

static int compare_csv(const void *a, const void *b)
{
    const csv_item *x = a, *y = b;
    if (x->origin_rank != y->origin_rank) return x->origin_rank - y->origin_rank;
    if (x->key1 != y->key1) return x->key1 < y->key1 ? -1 : 1;
    if (x->key2 != y->key2) return x->key2 < y->key2 ? -1 : 1;
    return (x->key3 > y->key3) - (x->key3 < y->key3);
}

/* steps.csv: every committed relaxation, members by index, then trials by
 * (step, walker, trial): the same file whatever the rank count. */
static fuse2_status write_steps_csv(fuse2_controller *c)
{
    fuse2_store_counts n;
    FUSE2_CALL(fuse2_store_counts_get(c->store, &n));
    char path[PATH_LEN];
    FUSE2_CALL(output_path(c->cfg, "steps.csv", path));
    fuse2_store_structure_row *rows = NULL;
    fuse2_store_step_row *steps = NULL;
    csv_item *items = NULL;
    unsigned char *accepted = NULL;
    double *temps = NULL;
    FILE *f = NULL;
    fuse2_status st = FUSE2_OK;
    size_t ns = (size_t)(n.n_structures > 0 ? n.n_structures : 1), nt = (size_t)(n.n_steps > 0 ? n.n_steps : 1);
    rows = malloc(ns * sizeof *rows);
    steps = malloc(nt * sizeof *steps);
    items = malloc(ns * sizeof *items);
    accepted = calloc(ns, 1);
    temps = malloc(ns * sizeof *temps);
    if (!rows || !steps || !items || !accepted || !temps)
        FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "out of memory writing %s", path);
    if (n.n_structures > 0) FUSE2_CALL_GOTO(st, fuse2_store_read_structure_rows(c->store, 0, n.n_structures, rows), out);
    if (n.n_steps > 0) FUSE2_CALL_GOTO(st, fuse2_store_read_step_rows(c->store, 0, n.n_steps, steps), out);
    for (int64_t k = 0; k < n.n_structures; k++) temps[k] = c->cfg->T;
    for (int64_t k = 0; k < n.n_steps; k++) {
        const fuse2_store_step_row *sr = &steps[k];
        for (int t = 0; t < sr->ntrials; t++) {
            int64_t id = sr->first_structure + t;
            if (id < 0 || id >= n.n_structures) continue;
            temps[id] = sr->T;
            accepted[id] = (unsigned char)(1 + (sr->accepted && t == sr->best_trial));
        }
    }
    for (int64_t k = 0; k < n.n_structures; k++) {
        const fuse2_store_structure_row *r = &rows[k];
        int trial = r->origin == FUSE2_ORIGIN_TRIAL;
        items[k] = (csv_item){.id = k, .origin_rank = trial, .key1 = r->step, .key2 = trial ? r->walker : 0,
                              .key3 = r->trial};
    }
    qsort(items, (size_t)n.n_structures, sizeof *items, compare_csv);
    f = fopen(path, "w");
    if (!f) FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "origin,walker,step,trial,move,energy_per_atom,accepted,T,wall_seconds,status,reason\n");
    for (int64_t k = 0; k < n.n_structures; k++) {
        const fuse2_store_structure_row *r = &rows[items[k].id];
        const char *origin = r->origin == FUSE2_ORIGIN_TRIAL ? "trial" : r->origin == FUSE2_ORIGIN_POOL ? "initial_pool" : "initial";
        const char *acc = accepted[items[k].id] == 0 ? "-" : accepted[items[k].id] == 2 ? "True" : "False";
        char reason[FUSE2_STORE_REASON_LEN];
        copy_text(reason, sizeof reason, r->reason);
        for (char *p = reason; *p; p++)
            if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') *p = ';';
        /* %.5f matches e_prec's default; failure scores (~1e19) in exponent form */
        fprintf(f, r->status == FUSE2_RECORD_FAILED ? "%s,%d,%d,%d,%d,%.6e,%s,%.8g,%.4f,%s,%s\n"
                                                    : "%s,%d,%d,%d,%d,%.5f,%s,%.8g,%.4f,%s,%s\n",
                origin, r->walker, r->step, r->trial, r->move, r->energy_per_atom, acc, temps[items[k].id],
                r->wall_seconds, fuse2_record_status_name((fuse2_record_status)r->status), reason);
    }
    if (fclose(f) != 0) {
        f = NULL;
        FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_IO, "%s: write failed", path);
    }
    f = NULL;
out:
    if (f) fclose(f);
    free(rows);
    free(steps);
    free(items);
    free(accepted);
    free(temps);
    return st;
}

static fuse2_status write_best_files(fuse2_controller *c, fuse2_campaign_summary *sum)
{
    char name[64], path[PATH_LEN], title[64];
    int best = -1;
    for (int i = 0; c->walkers_started && i < c->P; i++) {
        const fuse2_walker *w = &c->walkers[i].w;
        if (w->best.natoms == 0) continue;
        snprintf(name, sizeof name, "best-walker-%03d.cif", i);
        FUSE2_CALL(output_path(c->cfg, name, path));
        snprintf(title, sizeof title, "walker%d_%.5f_eV_per_atom", i, w->best_score);
        FUSE2_CALL(fuse2_cif_write(path, &w->best, title, 0, c->cfg->symprec));
        if (best < 0 || w->best_score < c->walkers[best].w.best_score) best = i;
    }
    if (best >= 0) {
        const fuse2_walker *w = &c->walkers[best].w;
        FUSE2_CALL(output_path(c->cfg, "best.cif", path));
        snprintf(title, sizeof title, "best_%.5f_eV_per_atom", w->best_score);
        FUSE2_CALL(fuse2_cif_write(path, &w->best, title, 0, c->cfg->symprec));
        if (sum) {
            sum->best_score = w->best_score;
            sum->best_walker = best;
        }
    }
    return FUSE2_OK;
}

static void free_controller(fuse2_controller *c)
{
    for (int i = 0; c->walkers && i < c->P; i++) {
        walker_slot *s = &c->walkers[i];
        fuse2_walker_free(&s->w);
        fuse2_structure_free(&s->current_start);
        for (int k = 0; k < FUSE2_TASK_MAX_POOL; k++) fuse2_structure_free(&s->queued[k]);
        if (s->has_deal) fuse2_pool_deal_free(&s->deal);
    }
    free(c->walkers);
    free(c->members);
    fuse2_pool_free(&c->pool);
    free(c);
}

fuse2_status fuse2_controller_close(fuse2_controller *c, fuse2_campaign_summary *summary)
{
    if (!c) return FUSE2_OK;
    fuse2_status st = FUSE2_OK;
    int finished = !c->failed && !c->stop_requested && fuse2_controller_done(c);
    if (summary) {
        memset(summary, 0, sizeof *summary);
        summary->best_score = c->best_score;
        summary->best_walker = c->best_walker;
    }
    if (c->store && !c->failed) {
        FUSE2_CALL_GOTO(st, checkpoint(c, finished), out);
        copy_text(c->run_row.status, sizeof c->run_row.status,
                  finished ? "finished" : c->stop_requested ? c->stop_reason : "stopped");
        c->run_row.stop_time = fuse2_unix_seconds();
        FUSE2_CALL_GOTO(st, fuse2_store_update_run(c->store, c->run, &c->run_row), out);
        FUSE2_CALL_GOTO(st, write_steps_csv(c), out);
        FUSE2_CALL_GOTO(st, write_best_files(c, summary), out);
        if (finished) progress_line(c);
        for (int i = 0; c->walkers_started && i < c->P; i++) {
            const fuse2_walker *w = &c->walkers[i].w;
            log_line(c, "walker %d: %d steps, %d relaxations, best %.5f eV/atom, T %.5f, r %d, %s", i, w->step,
                     w->relaxations, w->best_score, w->T, w->r,
                     w->stopped == FUSE2_WALKER_CONVERGED ? "converged (rmax)"
                     : w->stopped == FUSE2_WALKER_BUDGET  ? "budget used"
                                                          : "running");
        }
    } else if (c->store) {
        /* after an error: rows past the last commit are dropped on resume */
        c->run_row.stop_time = fuse2_unix_seconds();
        copy_text(c->run_row.status, sizeof c->run_row.status, "error");
        (void)fuse2_store_update_run(c->store, c->run, &c->run_row);
    }
out:
    if (summary) {
        summary->relaxations = (int)c->relaxations;
        summary->initial_relaxed = c->members_done;
        summary->steps = (int)c->steps;
        summary->walkers_converged = c->converged_walkers;
        summary->stopped_by_file = c->stop_requested && strcmp(c->stop_reason, "stop_file") == 0;
        summary->wall_seconds = fuse2_monotonic_seconds() - c->t_open;
        summary->finished = finished;
    }
    if (c->store) {
        fuse2_status cs = fuse2_store_close(c->store);
        if (st == FUSE2_OK) st = cs;
    }
    free_controller(c);
    return st;
}

fuse2_status fuse2_controller_run_local(fuse2_controller *c, fuse2_task_execute_fn execute, void *user,
                                        void (*before_task)(void *user, fuse2_controller *c), void *before_user)
{
    if (!c || !execute) return FUSE2_RAISE(FUSE2_ERR_ARG, "controller: missing argument");
    fuse2_task task;
    fuse2_task_result *res = NULL;
    FUSE2_CALL(fuse2_task_init(&task));
    fuse2_status st = fuse2_task_result_create(&res);
    while (st == FUSE2_OK) {
        if (before_task) before_task(before_user, c);
        if (fuse2_controller_done(c)) break;
        int have = 0, interrupted = 0;
        FUSE2_CALL_GOTO(st, fuse2_controller_next_task(c, &task, &have), out);
        if (!have) break; /* one process: nothing can be running */
        FUSE2_CALL_GOTO(st, execute(user, &task, res, &interrupted), out);
        if (interrupted) continue;
        res->rank = 0;
        FUSE2_CALL_GOTO(st, fuse2_controller_complete(c, res), out);
        FUSE2_CALL_GOTO(st, fuse2_controller_poll(c), out);
    }
out:
    fuse2_task_free(&task);
    fuse2_task_result_destroy(res);
    return st;
}
